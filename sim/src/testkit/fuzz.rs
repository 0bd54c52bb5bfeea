//! The engine of the seeded, structured fuzzers that every protocol runs in its tests: byte
//! mutators, edge-case values, an iteration budget, and delivery of whatever still decodes to
//! live nodes, with a panic report that names the seed and iteration.
//!
//! A protocol supplies what only it knows (one message of every kind, hostile values built
//! from its own types, nodes in interesting states); the engine mangles frames and payloads,
//! keeps what decodes and hands it to the nodes. Every draw comes from one seeded ChaCha8
//! stream, so a failure replays exactly with the same seed and budget.
//!
//! The budgets are small enough for `cargo test` in a debug build (overflow checks on, which is
//! the point: arithmetic on a hostile value panics there). Set `FAULTLINE_FUZZ_ITERS` to run
//! every layer that many iterations instead, for a longer hunt on a developer's machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::faults::byzantine::{Lie, TwistCx};
use crate::node::{BoxNode, Message, Node, NodeId, ProtoEvent, TimerId};
use crate::runtime::wire;
use crate::testkit::Bench;

/// The variable that overrides every layer's iteration budget.
pub const ITERS_VAR: &str = "FAULTLINE_FUZZ_ITERS";

/// Hostile messages kept for delivery; past it, new ones replace random old ones.
const HOSTILE_KEPT_MAX: usize = 4096;

/// Deliveries before the targets are built afresh: hostile terms and epochs soon push a node
/// where it ignores everything, and fresh nodes in their planned states see more code.
const DELIVERIES_PER_BUILD: usize = 256;

/// Integers that break careless arithmetic: counters at their ends, 32-bit ends, sign bits.
const EDGES: [u64; 10] = [
    0,
    1,
    2,
    u64::MAX,
    u64::MAX - 1,
    u32::MAX as u64,
    u32::MAX as u64 + 1,
    u16::MAX as u64,
    i64::MAX as u64,
    1 << 63,
];

/// A node to deliver hostile messages to, with its surroundings.
pub struct Target<M, E> {
    /// The node.
    pub node: BoxNode<M, E>,
    /// Its clock, randomness and store, already run through whatever made its state.
    pub bench: Bench<M, E>,
    /// The timers it arms, fired between messages.
    pub timers: Vec<TimerId>,
}

/// One fuzzing run: a seed and the stream drawn from it.
pub struct Fuzzer {
    /// The seed, printed when a run panics.
    seed: u64,
    /// Every draw.
    rng: ChaCha8Rng,
}

/// Prints the seed and iteration when dropped during a panic (a test's panic unwinds through
/// it), so that a failure names what replays it.
struct Report {
    /// The run's seed.
    seed: u64,
    /// The layer under way.
    layer: &'static str,
    /// The iteration under way.
    iteration: usize,
}

impl Drop for Report {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "fuzz: panic in layer {} at seed {} iteration {} (replay: same seed, same {ITERS_VAR})",
                self.layer, self.seed, self.iteration
            );
        }
    }
}

impl Fuzzer {
    /// A run from `seed`.
    pub fn new(seed: u64) -> Fuzzer {
        Fuzzer {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A layer's budget: `default`, or what `FAULTLINE_FUZZ_ITERS` says.
    pub fn iters(default: usize) -> usize {
        std::env::var(ITERS_VAR)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// The random source, for a protocol's own draws.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// Runs `body` `iters` times; a panic inside names the seed, `layer` and iteration.
    pub fn run(&mut self, layer: &'static str, iters: usize, mut body: impl FnMut(&mut Fuzzer)) {
        for iteration in 0..iters {
            let _report = Report {
                seed: self.seed,
                layer,
                iteration,
            };
            body(self);
        }
    }

    /// Mostly an edge value, sometimes a small or an arbitrary one.
    pub fn u64(&mut self) -> u64 {
        match self.rng.gen_range(0..4) {
            0 | 1 => EDGES[self.rng.gen_range(0..EDGES.len())],
            2 => self.rng.gen_range(0..8),
            _ => self.rng.gen(),
        }
    }

    /// A coin toss.
    pub fn bool(&mut self) -> bool {
        self.rng.gen()
    }

    /// A node id: mostly one of the `nodes` of the run, else one outside it (a newcomer, an
    /// absurd 9999, the end of the range).
    pub fn node(&mut self, nodes: u16) -> NodeId {
        if self.rng.gen_bool(0.7) {
            return NodeId(self.rng.gen_range(0..nodes.max(1)));
        }
        let outside = [nodes, nodes.saturating_add(3), 9999, u16::MAX - 1, u16::MAX];
        NodeId(outside[self.rng.gen_range(0..outside.len())])
    }

    /// A length around `bound`: empty, one, the bound, one past it, or anything below.
    pub fn len(&mut self, bound: usize) -> usize {
        match self.rng.gen_range(0..6) {
            0 => 0,
            1 => 1,
            2 => bound,
            3 => bound + 1,
            _ => self.rng.gen_range(0..=bound.min(64)),
        }
    }

    /// A string of about `len(bound)` bytes, some of them multi-byte characters.
    pub fn text(&mut self, bound: usize) -> String {
        let len = self.len(bound);
        let mut text = String::with_capacity(len);
        while text.len() < len {
            text.push(if self.rng.gen_bool(0.9) { 'x' } else { 'é' });
        }
        text
    }

    /// Mangles `bytes` in one to four ways: flipped bits, random or edge-valued integers
    /// written over them, cut, lengthened, spans spliced, dropped or repeated.
    pub fn mutate(&mut self, bytes: &mut Vec<u8>) {
        for _ in 0..self.rng.gen_range(1..=4) {
            let len = bytes.len();
            let at = self.rng.gen_range(0..=len);
            match self.rng.gen_range(0..8) {
                0 if len > 0 => {
                    let bit = self.rng.gen_range(0..len * 8);
                    bytes[bit / 8] ^= 1 << (bit % 8);
                }
                1 => bytes.truncate(at),
                2 => {
                    let extra = self.rng.gen_range(1..=32);
                    bytes.extend((0..extra).map(|_| self.rng.gen::<u8>()));
                }
                3 => {
                    let span = self.rng.gen_range(0..=len - at);
                    let fresh: Vec<u8> = (0..self.rng.gen_range(0..=16))
                        .map(|_| self.rng.gen())
                        .collect();
                    bytes.splice(at..at + span, fresh);
                }
                4 => {
                    let span = self.rng.gen_range(0..=(len - at).min(16));
                    bytes.drain(at..at + span);
                }
                5 => {
                    let span = self.rng.gen_range(0..=(len - at).min(32));
                    let copy = bytes[at..at + span].to_vec();
                    bytes.splice(at..at, copy);
                }
                6 => {
                    // Postcard writes integers as varints: replace one with an edge value.
                    let span = self.rng.gen_range(0..=(len - at).min(10));
                    let edge = varint(EDGES[self.rng.gen_range(0..EDGES.len())]);
                    bytes.splice(at..at + span, edge);
                }
                _ => {
                    // Fixed-width fields (the frame header): little-endian edge values.
                    let width = [2, 4, 8][self.rng.gen_range(0..3)];
                    let edge = EDGES[self.rng.gen_range(0..EDGES.len())].to_le_bytes();
                    let end = (at + width).min(len);
                    bytes.splice(at..end, edge[..width].iter().copied());
                }
            }
        }
    }

    /// `corpus` and, for every message of it, the lies the protocol tells in its place.
    pub fn with_twists<M: Message>(&mut self, corpus: Vec<M>, nodes: u16) -> Vec<M> {
        let mut all = corpus.clone();
        for msg in &corpus {
            for _ in 0..6 {
                all.extend(self.twist(msg, nodes));
            }
        }
        all
    }

    /// A lie the protocol tells in place of `msg` (forged or equivocated, at random).
    pub fn twist<M: Message>(&mut self, msg: &M, nodes: u16) -> Option<M> {
        let lie = if self.bool() {
            Lie::Forge
        } else {
            Lie::Equivocate
        };
        let mut cx = TwistCx {
            me: self.node(nodes),
            nodes,
            to: Some(self.node(nodes)),
            rng: &mut self.rng,
        };
        msg.twist(lie, &mut cx)
    }

    /// Every layer with its default budget: `corpus` (one message of every kind) and its lies
    /// mangled as frames and as payloads, `generate`d hostile values, lies told about them,
    /// and whatever of it all
    /// decodes delivered to the targets `build` makes, from senders of a run of `nodes`.
    pub fn hunt<M: Message, E: ProtoEvent>(
        &mut self,
        corpus: Vec<M>,
        nodes: u16,
        mut generate: impl FnMut(&mut Fuzzer) -> M,
        build: impl Fn() -> Vec<Target<M, E>>,
    ) {
        let corpus = self.with_twists(corpus, nodes);
        let mut hostile = corpus.clone();
        self.frames(&corpus, Fuzzer::iters(40_000), &mut hostile);
        self.payloads(&corpus, Fuzzer::iters(40_000), &mut hostile);
        self.run("generate", Fuzzer::iters(20_000), |f| {
            let msg = generate(f);
            f.keep(&mut hostile, msg);
        });
        // A Byzantine node twists what its honest half sends, and that half may have adopted
        // a hostile value (an epoch at its end): lies about hostile messages must not panic.
        self.run("lies", Fuzzer::iters(20_000), |f| {
            let msg = &hostile[f.rng.gen_range(0..hostile.len())];
            if let Some(lie) = f.twist(msg, nodes) {
                f.keep(&mut hostile, lie);
            }
        });
        self.deliver(build, &hostile, nodes, Fuzzer::iters(60_000));
    }

    /// Layer 1: frames of `corpus` mangled and decoded; half of them resealed (length and
    /// checksum made right) so the mangled payload reaches the message decoder. Decoding must
    /// refuse or succeed, never panic; what decodes is added to `hostile`.
    pub fn frames<M: Message>(&mut self, corpus: &[M], iters: usize, hostile: &mut Vec<M>) {
        let mut frame = Vec::new();
        self.run("frames", iters, |f| {
            let msg = &corpus[f.rng.gen_range(0..corpus.len())];
            let from = f.node(8);
            wire::encode(from, f.rng.gen(), msg, &mut frame).expect("corpus fits a datagram");
            f.mutate(&mut frame);
            if f.bool() {
                wire::reseal(&mut frame);
            }
            if let Ok(envelope) = wire::decode::<M>(&frame) {
                f.keep(hostile, envelope.msg);
            }
        });
    }

    /// Layer 2: postcard encodings of `corpus` mangled and decoded, past any checksum: what
    /// decodes is a hostile but well-formed message, added to `hostile`.
    pub fn payloads<M: Message>(&mut self, corpus: &[M], iters: usize, hostile: &mut Vec<M>) {
        self.run("payloads", iters, |f| {
            let msg = &corpus[f.rng.gen_range(0..corpus.len())];
            let mut bytes = postcard::to_stdvec(msg).expect("corpus encodes");
            f.mutate(&mut bytes);
            if let Ok(msg) = postcard::from_bytes::<M>(&bytes) {
                f.keep(hostile, msg);
            }
        });
    }

    /// Adds `msg` to `hostile`, or past the bound puts it in a random old one's place.
    pub fn keep<M>(&mut self, hostile: &mut Vec<M>, msg: M) {
        if hostile.len() < HOSTILE_KEPT_MAX {
            hostile.push(msg);
        } else {
            let at = self.rng.gen_range(0..hostile.len());
            hostile[at] = msg;
        }
    }

    /// Layer 3: `iters` deliveries of `hostile` messages, each through the wire as a real
    /// node would get it, from random senders of a run of `nodes` (and from outside it), to
    /// the targets `build` makes, with their timers fired in between. No node may panic.
    pub fn deliver<M: Message, E: ProtoEvent>(
        &mut self,
        build: impl Fn() -> Vec<Target<M, E>>,
        hostile: &[M],
        nodes: u16,
        iters: usize,
    ) {
        assert!(!hostile.is_empty(), "nothing hostile to deliver");
        let mut targets = build();
        let mut frame = Vec::new();
        let mut done = 0;
        self.run("deliver", iters, |f| {
            done += 1;
            if done % DELIVERIES_PER_BUILD == 0 {
                targets = build();
            }
            let pick = f.rng.gen_range(0..targets.len());
            let target = &mut targets[pick];
            if f.rng.gen_bool(0.15) && !target.timers.is_empty() {
                let timer = target.timers[f.rng.gen_range(0..target.timers.len())];
                target.bench.advance_ms(f.rng.gen_range(0..2000));
                let node = &mut target.node;
                target.bench.run(|cx| node.on_timer(timer, cx));
                return;
            }
            let msg = &hostile[f.rng.gen_range(0..hostile.len())];
            let from = f.node(nodes);
            if wire::encode(from, f.rng.gen(), msg, &mut frame).is_err() {
                return;
            }
            let envelope = wire::decode::<M>(&frame).expect("an intact frame decodes");
            let node = &mut target.node;
            target
                .bench
                .run(|cx| node.on_message(envelope.from, envelope.msg, cx));
        });
    }
}

/// `v` as postcard writes it: seven bits a byte, low first, high bit set on all but the last.
fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_postcard() {
        for v in EDGES {
            assert_eq!(varint(v), postcard::to_stdvec(&v).unwrap(), "{v}");
        }
    }

    #[test]
    fn a_resealed_frame_passes_the_checks() {
        let mut fuzzer = Fuzzer::new(1);
        for _ in 0..100 {
            let mut frame = b"FL\x01".to_vec();
            frame.resize(21 + fuzzer.rng().gen_range(0..64), 0);
            fuzzer.mutate(&mut frame);
            frame.splice(0..3.min(frame.len()), *b"FL\x01");
            if frame.len() >= 21 {
                wire::reseal(&mut frame);
                assert_eq!(wire::check(&frame).map(|_| ()), Ok(()));
            }
        }
    }
}
