//! Group membership: who else is in the group and what each is (server, client, replica...),
//! learned from what they send, with members dropped on a goodbye or after a silence
//! ([`FailureDetector`]). The host reports the changes it is told of.

use std::collections::BTreeMap;

use faultline_sim::NodeId;

use super::failure_detector::FailureDetector;

/// This node's picture of the group. It never contains the node itself.
#[derive(Clone, Debug)]
pub struct Membership<K> {
    /// This node.
    me: NodeId,
    /// The other members and what each is.
    kinds: BTreeMap<NodeId, K>,
    /// When each member was last heard.
    detector: FailureDetector,
}

impl<K: Copy + Eq> Membership<K> {
    /// An empty group for `me`; a member silent for `timeout_ms` is dropped, and at most
    /// `members_max` others are held (a newcomer past it joins once a member leaves).
    pub fn new(me: NodeId, timeout_ms: u64, members_max: usize) -> Membership<K> {
        Membership {
            me,
            kinds: BTreeMap::new(),
            detector: FailureDetector::new(timeout_ms, members_max),
        }
    }

    /// Notes that `from` was heard at `now_us`; `kind` is what its message says it is
    /// (`None` only refreshes a known member). Returns true when it joined.
    pub fn heard(&mut self, from: NodeId, kind: Option<K>, now_us: u64) -> bool {
        if from == self.me {
            return false;
        }
        if self.detector.refresh(from, now_us) {
            if let (Some(kind), Some(known)) = (kind, self.kinds.get_mut(&from)) {
                *known = kind;
            }
            return false;
        }
        let Some(kind) = kind else {
            return false;
        };
        if !self.detector.watch(from, now_us) {
            return false;
        }
        self.kinds.insert(from, kind);
        debug_assert_eq!(self.kinds.len(), self.members_len());
        true
    }

    /// Drops `from` after its goodbye; true when it was a member.
    pub fn leave(&mut self, from: NodeId) -> bool {
        self.detector.forget(from);
        self.kinds.remove(&from).is_some()
    }

    /// Drops every member silent for the timeout at `now_us`; returns them in id order.
    pub fn expire(&mut self, now_us: u64) -> Vec<NodeId> {
        let gone = self.detector.expire(now_us);
        for node in &gone {
            self.kinds.remove(node);
        }
        gone
    }

    /// Members silent for half the timeout: worth a direct probe.
    pub fn suspects(&self, now_us: u64) -> Vec<NodeId> {
        self.detector.suspects(now_us)
    }

    /// Every member and this node, sorted.
    pub fn members_with_me(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self.kinds.keys().copied().collect();
        all.push(self.me);
        all.sort();
        all
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: NodeId) -> bool {
        self.kinds.contains_key(&node)
    }

    /// What `node` is, if it is a member.
    pub fn kind_of(&self, node: NodeId) -> Option<K> {
        self.kinds.get(&node).copied()
    }

    /// The members of one kind, in id order.
    pub fn of_kind(&self, kind: K) -> Vec<NodeId> {
        self.kinds
            .iter()
            .filter(|(_, k)| **k == kind)
            .map(|(id, _)| *id)
            .collect()
    }

    fn members_len(&self) -> usize {
        self.kinds
            .keys()
            .filter(|n| self.detector.watches(**n))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u16) -> NodeId {
        NodeId(id)
    }

    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    enum Kind {
        Server,
        Client,
    }

    #[test]
    fn members_join_by_what_they_say_they_are_and_leave_or_time_out() {
        let mut m = Membership::new(n(2), 1000, 8);
        assert!(!m.heard(n(2), Some(Kind::Server), 0), "never itself");
        assert!(
            !m.heard(n(5), None, 0),
            "an unknown sender says nothing of itself"
        );
        assert!(m.heard(n(5), Some(Kind::Server), 0));
        assert!(!m.heard(n(5), Some(Kind::Server), 10), "joined once");
        assert!(m.heard(n(7), Some(Kind::Client), 0));
        assert!(m.heard(n(1), Some(Kind::Server), 0));
        assert_eq!(m.members_with_me(), [n(1), n(2), n(5), n(7)]);
        assert_eq!(m.of_kind(Kind::Server), [n(1), n(5)]);
        assert_eq!(m.kind_of(n(7)), Some(Kind::Client));
        // A client that turns out to be a server.
        m.heard(n(7), Some(Kind::Server), 0);
        assert_eq!(m.of_kind(Kind::Server), [n(1), n(5), n(7)]);
        assert!(m.leave(n(7)));
        assert!(!m.leave(n(7)));
        // Only 5 keeps talking.
        m.heard(n(5), None, 900_000);
        assert_eq!(m.suspects(900_000), [n(1)]);
        assert_eq!(m.expire(1_000_001), [n(1)]);
        assert_eq!(m.members_with_me(), [n(2), n(5)]);
        assert!(!m.contains(n(1)));
    }

    #[test]
    fn a_full_group_turns_newcomers_away_until_a_member_goes() {
        let mut m = Membership::new(n(0), 1000, 1);
        assert!(m.heard(n(1), Some(Kind::Server), 0));
        assert!(!m.heard(n(2), Some(Kind::Server), 0));
        assert!(!m.contains(n(2)));
        m.leave(n(1));
        assert!(m.heard(n(2), Some(Kind::Server), 0));
    }
}
