//! Random draws keyed by what they decide: the link and the datagram's number on it.
//!
//! The network draws a latency and a fate (lost, corrupted, doubled) for every datagram.
//! Drawn from one stream, each draw would depend on every datagram sent before it anywhere
//! in the cluster: take one fault out of a schedule and every later datagram gets another
//! latency, so the run no longer resembles the one that failed, and shrinking stalls.
//! Keyed by (seed, purpose, sender, receiver, number on that link), a datagram keeps its
//! draw as long as its own link carried the same traffic before it, so removing a fault
//! disturbs only what that fault touched.

/// SplitMix64's output function: a bijection of `u64` that mixes every bit into every bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The golden-ratio increment of SplitMix64.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// One datagram's draws: as many independent `u64`s as its decisions need.
#[derive(Copy, Clone, Debug)]
pub struct Draw(u64);

impl Draw {
    /// The `k`-th independent value of this datagram.
    pub fn value(self, k: u64) -> u64 {
        mix(self.0.wrapping_add(k.wrapping_mul(GAMMA)))
    }

    /// True with probability `p` (clamped to 0..=1), from the `k`-th value.
    pub fn chance(self, k: u64, p: f64) -> bool {
        // No draw can fall below 0: a fault that is off (every datagram's loss, noise and
        // duplication in most runs) costs no mixing. The answer is the one the draw gives.
        if p <= 0.0 {
            return false;
        }
        // 53 random bits give a uniform float in [0, 1).
        let unit = (self.value(k) >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        unit < p
    }

    /// Uniform over `lo..=hi`, from the `k`-th value.
    // Only the simulated network draws latencies; the real flavor keeps it for its tests.
    #[cfg_attr(not(madsim), allow(dead_code))]
    pub fn between(self, k: u64, lo: u64, hi: u64) -> u64 {
        let span = hi.saturating_sub(lo).saturating_add(1);
        // Multiply-shift: unbiased enough for spans far below 2^64, and no division.
        lo + ((self.value(k) as u128 * span as u128) >> 64) as u64
    }
}

/// Per-link draw streams for one purpose (latency, fate) of one run.
pub struct LinkDraws {
    /// Nodes; link `from * nodes + to`, over `nodes + 1` rows of senders: the last row
    /// holds every sender the network does not know (a Byzantine node's forged id).
    nodes: usize,
    /// The streams' common key, from the seed and the purpose; each link's key derives from
    /// it when drawn (a table of keys would be 8 MB per purpose at 1,024 nodes).
    base: u64,
    /// Datagrams drawn for so far, per link.
    counts: Vec<u64>,
}

impl LinkDraws {
    /// Streams for `nodes` nodes under `seed`; `purpose` separates independent uses.
    pub fn new(nodes: usize, seed: u64, purpose: u64) -> LinkDraws {
        let base = mix(mix(seed) ^ purpose.wrapping_mul(GAMMA));
        let links = (nodes + 1) * nodes;
        LinkDraws {
            nodes,
            base,
            counts: vec![0; links],
        }
    }

    /// The draw of the next datagram from `from` to `to` (a receiver is always a node of
    /// the run; an id past the last is taken as the last, so that nothing panics).
    pub fn next(&mut self, from: u16, to: u16) -> Draw {
        let row = (from as usize).min(self.nodes);
        let link = row * self.nodes + (to as usize).min(self.nodes.saturating_sub(1));
        let Some(count) = self.counts.get_mut(link) else {
            // No nodes at all: nothing is ever sent, but never panic.
            return Draw(0);
        };
        let key = mix(self.base ^ (link as u64).wrapping_mul(GAMMA));
        *count += 1;
        Draw(mix(key.wrapping_add(count.wrapping_mul(GAMMA))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_keeps_its_draws_whatever_other_links_carry() {
        let mut quiet = LinkDraws::new(3, 7, 1);
        let mut busy = LinkDraws::new(3, 7, 1);
        for _ in 0..50 {
            busy.next(1, 2);
            busy.next(2, 0);
        }
        let a: Vec<u64> = (0..20).map(|_| quiet.next(0, 1).value(0)).collect();
        let b: Vec<u64> = (0..20).map(|_| busy.next(0, 1).value(0)).collect();
        assert_eq!(a, b);
        // ...and links, seeds and purposes each draw differently.
        let mut other_seed = LinkDraws::new(3, 8, 1);
        let mut other_purpose = LinkDraws::new(3, 7, 2);
        let mut fresh = LinkDraws::new(3, 7, 1);
        let first = fresh.next(0, 1).value(0);
        assert_ne!(first, fresh.next(0, 1).value(0));
        assert_ne!(first, LinkDraws::new(3, 7, 1).next(1, 0).value(0));
        assert_ne!(first, other_seed.next(0, 1).value(0));
        assert_ne!(first, other_purpose.next(0, 1).value(0));
    }

    #[test]
    fn draws_are_uniform_enough_and_in_range() {
        let mut draws = LinkDraws::new(5, 1, 0);
        let n = 20_000;
        let (mut hits, mut sum) = (0, 0);
        for i in 0..n {
            let d = draws.next((i % 5) as u16, ((i + 1) % 5) as u16);
            hits += d.chance(0, 0.25) as u32;
            let v = d.between(1, 3, 9);
            assert!((3..=9).contains(&v));
            sum += v;
        }
        let rate = hits as f64 / n as f64;
        assert!((0.23..0.27).contains(&rate), "rate {rate}");
        let mean = sum as f64 / n as f64;
        assert!((5.9..6.1).contains(&mean), "mean {mean}");
        let d = draws.next(0, 1);
        assert!(!d.chance(0, 0.0) && d.chance(0, 1.0));
        assert_eq!(d.between(0, 4, 4), 4);
    }

    #[test]
    fn unknown_senders_and_receivers_never_panic() {
        let mut draws = LinkDraws::new(2, 0, 0);
        draws.next(60_000, 1);
        draws.next(0, 9);
        LinkDraws::new(0, 0, 0).next(0, 0);
    }
}
