//! The cache nodes' membership over time: who is on the ring in each epoch. The schedule of
//! joins and leaves is part of the configuration, so every node computes the same epoch from
//! the time; messages carry their epoch, and a node refuses a grant from an older one.

use std::sync::Arc;

use faultline_sim::NodeId;

use super::ring::Ring;

/// One epoch: from when, who, and their ring.
#[derive(Debug)]
pub(crate) struct Epoch {
    /// When it begins (ms).
    pub(crate) from_ms: u64,
    /// Members, in id order.
    pub(crate) members: Vec<NodeId>,
    /// Every node that was a member in this epoch or before: only they can hold entries,
    /// so a home that lost its directory recalls the key from them.
    pub(crate) ever: Vec<NodeId>,
    /// Their ring.
    pub(crate) ring: Ring,
    /// Keys whose home differs from the previous epoch's (0 for the first).
    pub(crate) moved: u32,
}

/// The whole schedule, shared by every node of a run.
#[derive(Clone, Debug)]
pub(crate) struct Membership {
    /// Epochs in time order; never empty.
    epochs: Arc<Vec<Epoch>>,
}

impl Membership {
    /// The schedule of `caches`, of which `joins` come later and `leaves` go, each at its time;
    /// `keys` counts moved keys, `salted` is the planted bug `ring-moves-every-key`.
    pub(crate) fn new(
        caches: &[NodeId],
        joins: &[(NodeId, u64)],
        leaves: &[(NodeId, u64)],
        vnodes: u32,
        keys: u32,
        salted: bool,
    ) -> Membership {
        let mut changes: Vec<(u64, NodeId, bool)> = joins
            .iter()
            .map(|(n, t)| (*t, *n, true))
            .chain(leaves.iter().map(|(n, t)| (*t, *n, false)))
            .collect();
        changes.sort();
        let salt = |members: &[NodeId]| if salted { members.len() as u64 } else { 0 };
        let mut members: Vec<NodeId> = caches
            .iter()
            .filter(|c| !joins.iter().any(|(j, _)| j == *c))
            .copied()
            .collect();
        let ring = Ring::new(&members, vnodes, salt(&members));
        let mut epochs = vec![Epoch {
            from_ms: 0,
            ever: members.clone(),
            members: members.clone(),
            ring,
            moved: 0,
        }];
        for (at_ms, node, join) in changes {
            if join {
                if !members.contains(&node) {
                    members.push(node);
                    members.sort();
                }
            } else {
                members.retain(|m| *m != node);
            }
            let ring = Ring::new(&members, vnodes, salt(&members));
            let last = epochs.last().expect("never empty");
            let moved = last.ring.moved(&ring, keys);
            let mut ever = last.ever.clone();
            for m in &members {
                if !ever.contains(m) {
                    ever.push(*m);
                }
            }
            ever.sort();
            epochs.push(Epoch {
                from_ms: at_ms,
                members: members.clone(),
                ever,
                ring,
                moved,
            });
        }
        Membership {
            epochs: Arc::new(epochs),
        }
    }

    /// The epoch number at `now_ms`.
    pub(crate) fn epoch_at(&self, now_ms: u64) -> u32 {
        let n = self.epochs.partition_point(|e| e.from_ms <= now_ms);
        n.saturating_sub(1) as u32
    }

    /// Epoch number `e` (the last one past the end).
    pub(crate) fn epoch(&self, e: u32) -> &Epoch {
        let i = (e as usize).min(self.epochs.len() - 1);
        &self.epochs[i]
    }

    /// Every epoch, in order.
    pub(crate) fn epochs(&self) -> &[Epoch] {
        &self.epochs
    }

    /// When the epoch after `e` begins, if one does.
    pub(crate) fn next_change_ms(&self, e: u32) -> Option<u64> {
        self.epochs.get(e as usize + 1).map(|x| x.from_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_follow_the_schedule() {
        let c = [NodeId(3), NodeId(4), NodeId(5), NodeId(6)];
        let m = Membership::new(
            &c,
            &[(NodeId(6), 1000)],
            &[(NodeId(4), 2000)],
            32,
            64,
            false,
        );
        assert_eq!(m.epoch_at(0), 0);
        assert_eq!(m.epoch(0).members, vec![NodeId(3), NodeId(4), NodeId(5)]);
        assert_eq!(m.epoch_at(1000), 1);
        assert_eq!(m.epoch(1).members.len(), 4);
        assert_eq!(m.epoch_at(5000), 2);
        assert_eq!(m.epoch(2).members, vec![NodeId(3), NodeId(5), NodeId(6)]);
        assert_eq!(m.epoch(2).ever.len(), 4);
        assert!(m.epoch(1).moved > 0 && m.epoch(1).moved < 64);
        assert_eq!(m.next_change_ms(0), Some(1000));
        assert_eq!(m.next_change_ms(2), None);
    }
}
