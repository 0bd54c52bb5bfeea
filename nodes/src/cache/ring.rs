//! Consistent hashing with virtual nodes: each cache node owns `vnodes` points on a 64-bit
//! circle and a key's home is the owner of the first point at or after the key's hash, so a
//! join or a leave moves only the keys between the changed points (about K/N of them).

use faultline_sim::NodeId;

/// FNV-1a over `bytes`, then a splitmix finaliser: FNV alone clusters short inputs.
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Where key `key` sits on the circle.
pub(crate) fn key_point(key: u32) -> u64 {
    hash(&[b"key".as_slice(), &key.to_le_bytes()].concat())
}

/// The circle for one membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ring {
    /// Points in circle order, each with its node; empty when there are no members.
    points: Vec<(u64, NodeId)>,
}

impl Ring {
    /// The circle of `members` with `vnodes` points each. `salt` changes every point: the
    /// planted bug `ring-moves-every-key` passes the member count, a correct ring 0.
    pub(crate) fn new(members: &[NodeId], vnodes: u32, salt: u64) -> Ring {
        let mut points = Vec::with_capacity(members.len() * vnodes as usize);
        for m in members {
            for v in 0..vnodes {
                let bytes = [
                    salt.to_le_bytes().as_slice(),
                    &m.0.to_le_bytes(),
                    &v.to_le_bytes(),
                ]
                .concat();
                points.push((hash(&bytes), *m));
            }
        }
        // Ties (vanishingly rare) are broken by node id, so every node builds the same circle.
        points.sort_unstable();
        points.dedup_by_key(|p| p.0);
        Ring { points }
    }

    /// The home of `key`, or `None` for an empty ring.
    pub(crate) fn home(&self, key: u32) -> Option<NodeId> {
        let at = key_point(key);
        let i = self.points.partition_point(|(p, _)| *p < at);
        self.points
            .get(i)
            .or_else(|| self.points.first())
            .map(|(_, n)| *n)
    }

    /// How many of the keys `0..keys` have another home on `other`.
    pub(crate) fn moved(&self, other: &Ring, keys: u32) -> u32 {
        (0..keys)
            .filter(|k| self.home(*k) != other.home(*k))
            .count() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: u16) -> Vec<NodeId> {
        (0..n).map(|i| NodeId(10 + i)).collect()
    }

    #[test]
    fn every_key_has_a_home_among_the_members_and_spread_is_fair() {
        let ring = Ring::new(&nodes(4), 64, 0);
        let mut count = [0u32; 4];
        for k in 0..4000 {
            let h = ring.home(k).unwrap();
            count[(h.0 - 10) as usize] += 1;
        }
        for c in count {
            assert!((600..1400).contains(&c), "unfair spread {count:?}");
        }
        assert_eq!(Ring::new(&[], 64, 0).home(3), None);
    }

    #[test]
    fn a_join_moves_about_k_over_n_keys_and_only_to_the_newcomer() {
        let keys = 1000;
        let before = Ring::new(&nodes(3), 64, 0);
        let after = Ring::new(&nodes(4), 64, 0);
        let moved = before.moved(&after, keys);
        // K/N = 250; virtual nodes keep it within a modest margin.
        assert!((150..=350).contains(&moved), "moved {moved}");
        for k in 0..keys {
            if before.home(k) != after.home(k) {
                assert_eq!(after.home(k), Some(NodeId(13)));
            }
        }
        // A leave is a join backwards.
        assert_eq!(after.moved(&before, keys), moved);
    }

    #[test]
    fn a_salt_that_follows_the_membership_moves_nearly_every_key() {
        // The planted bug: the test proves the join bound can fail.
        let keys = 1000;
        let before = Ring::new(&nodes(3), 64, 3);
        let after = Ring::new(&nodes(4), 64, 4);
        assert!(before.moved(&after, keys) > 600);
    }
}
