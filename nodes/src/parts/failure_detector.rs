//! A heartbeat failure detector: when each watched peer was last heard, and which have been
//! silent too long. It sends nothing itself: the host sends the heartbeats, tells it whom it
//! heard and when, and asks whom to probe ([`FailureDetector::suspects`]) and whom to drop
//! ([`FailureDetector::expire`]).

use std::collections::BTreeMap;

use faultline_sim::NodeId;

/// The peers' last-heard times.
#[derive(Clone, Debug)]
pub struct FailureDetector {
    /// When each watched peer was last heard (µs).
    heard_us: BTreeMap<NodeId, u64>,
    /// Silence after which a peer is taken for dead (µs).
    timeout_us: u64,
    /// Most peers watched; a newcomer past it is not watched (the host's bound on its group).
    peers_max: usize,
}

impl FailureDetector {
    /// Watches nobody yet; a peer silent for more than `timeout_ms` is dead.
    pub fn new(timeout_ms: u64, peers_max: usize) -> FailureDetector {
        FailureDetector {
            heard_us: BTreeMap::new(),
            timeout_us: timeout_ms.saturating_mul(1000),
            peers_max,
        }
    }

    /// Notes that a watched `peer` was heard at `now_us`; false when it is not watched.
    pub fn refresh(&mut self, peer: NodeId, now_us: u64) -> bool {
        match self.heard_us.get_mut(&peer) {
            Some(heard) => {
                *heard = (*heard).max(now_us);
                true
            }
            None => false,
        }
    }

    /// Starts watching `peer`, heard at `now_us`; false when it was watched already or the
    /// bound is reached.
    pub fn watch(&mut self, peer: NodeId, now_us: u64) -> bool {
        if self.heard_us.contains_key(&peer) || self.heard_us.len() >= self.peers_max {
            return false;
        }
        self.heard_us.insert(peer, now_us);
        true
    }

    /// Stops watching `peer` (it said goodbye); false when it was not watched.
    pub fn forget(&mut self, peer: NodeId) -> bool {
        self.heard_us.remove(&peer).is_some()
    }

    /// Whether `peer` is watched.
    pub fn watches(&self, peer: NodeId) -> bool {
        self.heard_us.contains_key(&peer)
    }

    /// Stops watching every peer silent for longer than the timeout at `now_us`, and returns
    /// them in id order.
    pub fn expire(&mut self, now_us: u64) -> Vec<NodeId> {
        let dead = self.silent_for(now_us, self.timeout_us);
        for peer in &dead {
            self.heard_us.remove(peer);
        }
        dead
    }

    /// Peers silent for longer than half the timeout at `now_us`, in id order: worth a direct
    /// probe before they are taken for dead, so a few lost heartbeats do not look like a
    /// crash.
    pub fn suspects(&self, now_us: u64) -> Vec<NodeId> {
        self.silent_for(now_us, self.timeout_us / 2)
    }

    fn silent_for(&self, now_us: u64, silence_us: u64) -> Vec<NodeId> {
        self.heard_us
            .iter()
            .filter(|(_, heard)| now_us.saturating_sub(**heard) > silence_us)
            .map(|(peer, _)| *peer)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u16) -> NodeId {
        NodeId(id)
    }

    #[test]
    fn a_silent_peer_is_suspected_at_half_the_timeout_and_dead_past_it() {
        let mut fd = FailureDetector::new(1000, 8);
        assert!(fd.watch(n(1), 0));
        assert!(fd.watch(n(2), 0));
        assert!(fd.refresh(n(2), 600_000));
        assert_eq!(fd.suspects(500_000), []);
        assert_eq!(fd.suspects(500_001), [n(1)]);
        assert_eq!(fd.expire(1_000_000), []);
        assert_eq!(fd.expire(1_000_001), [n(1)]);
        assert!(!fd.watches(n(1)));
        assert!(fd.watches(n(2)));
        // A heartbeat keeps a peer alive however long the run.
        assert!(fd.refresh(n(2), 1_500_000));
        assert_eq!(fd.expire(2_400_000), []);
    }

    #[test]
    fn only_watched_peers_are_refreshed_and_the_bound_holds() {
        let mut fd = FailureDetector::new(1000, 2);
        assert!(!fd.refresh(n(1), 5));
        assert!(fd.watch(n(1), 5));
        assert!(!fd.watch(n(1), 6), "watched twice");
        assert!(fd.watch(n(2), 5));
        assert!(!fd.watch(n(3), 5), "past the bound");
        assert!(fd.forget(n(1)));
        assert!(!fd.forget(n(1)));
        assert!(fd.watch(n(3), 5));
    }

    #[test]
    fn an_old_heartbeat_arriving_late_does_not_move_the_time_back() {
        let mut fd = FailureDetector::new(1000, 8);
        fd.watch(n(1), 900_000);
        fd.refresh(n(1), 100_000);
        assert_eq!(fd.expire(1_500_000), []);
    }
}
