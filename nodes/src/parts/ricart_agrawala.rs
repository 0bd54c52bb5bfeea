//! Ricart-Agrawala mutual exclusion among a fixed set of peers, guarding one resource.
//!
//! To enter, a node stamps a request with its Lamport clock and sends it to every peer; it
//! enters once every live peer replied. A peer replies at once unless it holds the resource
//! or wants it with priority, where priority is the smaller `(timestamp, node id)`; then it
//! defers the reply until it releases. One instance guards one resource: a host guarding
//! several keeps one per resource and tags the messages.
//!
//! What real systems add to the textbook algorithm:
//! - Loss and crashes: [`RicartAgrawala::retry`] sends the request again to every peer that
//!   has not replied (the host calls it on a timer). Receiving a request twice is harmless: a
//!   peer answers it by the same rule, and a deferred request is kept once.
//! - A dead peer: the host (its failure detector) calls [`RicartAgrawala::peer_down`]; the
//!   peer no longer blocks entry. This is only as safe as the detector: a peer wrongly
//!   declared dead while it holds the resource lets two nodes in, which the
//!   mutual-exclusion check reports. [`RicartAgrawala::peer_up`] makes the peer count again,
//!   also for a request in progress (its restarted state may have lost our request).
//! - Restarts: every request carries a [`RequestId`] of the requester's incarnation and a
//!   sequence number, and every reply names the request it answers. A reply to a request of
//!   an earlier incarnation or an earlier attempt (delayed in the network, or deferred by a
//!   peer before the requester crashed) is ignored, so a stale reply never counts twice
//!   towards a grant; a peer keeps only the newest request of each requester. The host
//!   keeps the incarnation in its durable store and increments it at every start.
//!
//! Every queue is bounded by the peer set: one deferred request and one newest request id
//! per peer, and a set of replies no larger than the peers. Messages from a node outside
//! the peer set, from itself, or naming a request that is not the current one are ignored.

use std::collections::{BTreeMap, BTreeSet};

use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

use super::lamport_clock::LamportClock;

/// Which algorithm runs: the correct one or a planted bug.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Priority by `(timestamp, node id)`: two requests never tie.
    #[default]
    Correct,
    /// Planted bug: priority by timestamp alone. Two requests with equal timestamps each
    /// think the other has no priority, both reply, and both enter.
    NoTieBreak,
}

/// Names one request across restarts: the requester's incarnation, then its attempt.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestId {
    /// The requester's incarnation (incremented by the host at every start).
    pub incarnation: u64,
    /// The request's number within the incarnation, from 1.
    pub seq: u64,
}

/// What Ricart-Agrawala sends; the host wraps it into its own message enum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RaMsg {
    /// "May I enter?", stamped with the requester's Lamport clock.
    Request {
        /// The request.
        id: RequestId,
        /// Its Lamport timestamp: the priority, with the requester's id as tie-break.
        ts: u64,
    },
    /// "You may, as far as I am concerned", for one request.
    Reply {
        /// The request it answers.
        id: RequestId,
    },
}

impl RaMsg {
    /// A short name for timelines.
    pub fn label(&self) -> &'static str {
        match self {
            RaMsg::Request { .. } => "RA-REQUEST",
            RaMsg::Reply { .. } => "RA-REPLY",
        }
    }
}

/// Where this node stands with the resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaState {
    /// Neither wants nor holds it.
    Idle,
    /// Asked for it; waiting for replies.
    Requesting {
        /// The request.
        id: RequestId,
        /// Its timestamp.
        ts: u64,
    },
    /// In the critical section.
    Holding {
        /// The request that was granted.
        id: RequestId,
        /// Its timestamp.
        ts: u64,
    },
}

/// What a call asks the host to do and tells it happened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// Messages to send, in order.
    pub send: Vec<(NodeId, RaMsg)>,
    /// The node entered the critical section with this request during the call: the host
    /// does its work and calls [`RicartAgrawala::release`] when done.
    pub entered: Option<RequestId>,
}

/// Why a call was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaError {
    /// A request is already in progress or granted: one at a time.
    Busy(RaState),
    /// Release without holding the resource.
    NotHolding(RaState),
}

impl std::error::Error for RaError {}

impl std::fmt::Display for RaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RaError::Busy(state) => write!(f, "already requesting or holding: {state:?}"),
            RaError::NotHolding(state) => write!(f, "release while not holding: {state:?}"),
        }
    }
}

/// One node's side of Ricart-Agrawala.
#[derive(Clone, Debug)]
pub struct RicartAgrawala {
    /// This node.
    me: NodeId,
    /// The other nodes that contend for the resource.
    peers: BTreeSet<NodeId>,
    /// Peers the host declared dead: they do not block entry.
    dead: BTreeSet<NodeId>,
    /// Correct or the planted bug.
    variant: Variant,
    /// This incarnation, from the host's durable store.
    incarnation: u64,
    /// Requests made in this incarnation.
    seq: u64,
    /// Where this node stands.
    state: RaState,
    /// Peers that replied to the current request.
    replied: BTreeSet<NodeId>,
    /// Requests this node owes a reply, one per peer (the newest).
    deferred: BTreeMap<NodeId, RequestId>,
    /// The newest request seen from each peer: an older one is stale and ignored.
    newest: BTreeMap<NodeId, RequestId>,
}

impl RicartAgrawala {
    /// A node `me` contending with `peers` (`me` among them is ignored), in incarnation
    /// `incarnation` (a number the host makes larger at every start, from its durable store).
    pub fn new(
        me: NodeId,
        peers: impl IntoIterator<Item = NodeId>,
        incarnation: u64,
        variant: Variant,
    ) -> RicartAgrawala {
        RicartAgrawala {
            me,
            peers: peers.into_iter().filter(|p| *p != me).collect(),
            dead: BTreeSet::new(),
            variant,
            incarnation,
            seq: 0,
            state: RaState::Idle,
            replied: BTreeSet::new(),
            deferred: BTreeMap::new(),
            newest: BTreeMap::new(),
        }
    }

    /// Where this node stands.
    pub fn state(&self) -> &RaState {
        &self.state
    }

    /// Whether this node is in the critical section.
    pub fn holding(&self) -> bool {
        matches!(self.state, RaState::Holding { .. })
    }

    /// Peers whose reply the current request still waits for (empty unless requesting).
    pub fn awaiting(&self) -> Vec<NodeId> {
        match self.state {
            RaState::Requesting { .. } => self
                .live_peers()
                .filter(|p| !self.replied.contains(p))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Peers this node owes a deferred reply.
    pub fn deferred(&self) -> Vec<NodeId> {
        self.deferred.keys().copied().collect()
    }

    /// Asks for the resource: ticks `clock` for the request's stamp and sends it to every
    /// live peer. Enters at once when no live peer is left to ask.
    pub fn request(&mut self, clock: &mut LamportClock) -> Result<Step, RaError> {
        if self.state != RaState::Idle {
            return Err(RaError::Busy(self.state.clone()));
        }
        self.seq += 1;
        let id = RequestId {
            incarnation: self.incarnation,
            seq: self.seq,
        };
        let ts = clock.tick();
        self.state = RaState::Requesting { id, ts };
        self.replied.clear();
        let send = self
            .live_peers()
            .map(|p| (p, RaMsg::Request { id, ts }))
            .collect();
        let mut step = Step {
            send,
            entered: None,
        };
        self.enter_if_granted(&mut step);
        Ok(step)
    }

    /// Sends the current request again to every live peer that has not replied (after loss,
    /// or a peer's restart). Nothing unless requesting.
    pub fn retry(&self) -> Vec<(NodeId, RaMsg)> {
        match self.state {
            RaState::Requesting { id, ts } => self
                .awaiting()
                .into_iter()
                .map(|p| (p, RaMsg::Request { id, ts }))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Leaves the critical section: sends every deferred reply.
    pub fn release(&mut self) -> Result<Step, RaError> {
        if !self.holding() {
            return Err(RaError::NotHolding(self.state.clone()));
        }
        self.state = RaState::Idle;
        self.replied.clear();
        let send = std::mem::take(&mut self.deferred)
            .into_iter()
            .map(|(p, id)| (p, RaMsg::Reply { id }))
            .collect();
        Ok(Step {
            send,
            entered: None,
        })
    }

    /// Handles a message from `from`; `clock` merges a request's stamp.
    pub fn on_message(&mut self, from: NodeId, msg: RaMsg, clock: &mut LamportClock) -> Step {
        let mut step = Step::default();
        if !self.peers.contains(&from) {
            return step;
        }
        match msg {
            RaMsg::Request { id, ts } => {
                clock.merge(ts);
                self.on_request(from, id, ts, &mut step);
            }
            RaMsg::Reply { id } => {
                if matches!(self.state, RaState::Requesting { id: mine, .. } if mine == id) {
                    self.replied.insert(from);
                    self.enter_if_granted(&mut step);
                }
            }
        }
        step
    }

    /// The host's failure detector says `peer` is dead: it no longer blocks entry, and the
    /// reply it is owed is dropped (a restarted peer asks again).
    pub fn peer_down(&mut self, peer: NodeId) -> Step {
        let mut step = Step::default();
        if !self.peers.contains(&peer) {
            return step;
        }
        self.dead.insert(peer);
        self.deferred.remove(&peer);
        self.enter_if_granted(&mut step);
        step
    }

    /// `peer` is alive again: it counts again, and a request in progress that it has not
    /// answered is sent to it (its restarted state may not know it).
    pub fn peer_up(&mut self, peer: NodeId) -> Step {
        let mut step = Step::default();
        if !self.dead.remove(&peer) {
            return step;
        }
        if let RaState::Requesting { id, ts } = self.state {
            if !self.replied.contains(&peer) {
                step.send.push((peer, RaMsg::Request { id, ts }));
            }
        }
        step
    }

    /// Answers or defers a peer's request.
    fn on_request(&mut self, from: NodeId, id: RequestId, ts: u64, step: &mut Step) {
        if self.newest.get(&from).is_some_and(|newest| id < *newest) {
            return; // a stale request from an earlier attempt or incarnation
        }
        self.newest.insert(from, id);
        let defer = match self.state {
            RaState::Idle => false,
            RaState::Holding { .. } => true,
            RaState::Requesting { ts: mine, .. } => self.before((mine, self.me), (ts, from)),
        };
        if defer {
            // Replaces an older request of the same peer: only the newest is owed a reply.
            self.deferred.insert(from, id);
        } else {
            self.deferred.remove(&from);
            step.send.push((from, RaMsg::Reply { id }));
        }
        debug_assert!(self.deferred.len() <= self.peers.len());
    }

    /// Whether request `a` has priority over request `b`.
    fn before(&self, a: (u64, NodeId), b: (u64, NodeId)) -> bool {
        match self.variant {
            Variant::Correct => a < b,
            Variant::NoTieBreak => a.0 < b.0,
        }
    }

    /// Enters when requesting and every live peer has replied.
    fn enter_if_granted(&mut self, step: &mut Step) {
        if let RaState::Requesting { id, ts } = self.state {
            if self.live_peers().all(|p| self.replied.contains(&p)) {
                self.state = RaState::Holding { id, ts };
                step.entered = Some(id);
            }
        }
    }

    /// Peers not declared dead.
    fn live_peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.peers
            .iter()
            .copied()
            .filter(|p| !self.dead.contains(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: NodeId = NodeId(0);
    const B: NodeId = NodeId(1);
    const C: NodeId = NodeId(2);

    /// A node and its clock.
    struct Peer {
        ra: RicartAgrawala,
        clock: LamportClock,
    }

    fn peers(variant: Variant) -> BTreeMap<NodeId, Peer> {
        [A, B, C]
            .into_iter()
            .map(|me| {
                let ra = RicartAgrawala::new(me, [A, B, C], 1, variant);
                (
                    me,
                    Peer {
                        ra,
                        clock: LamportClock::new(),
                    },
                )
            })
            .collect()
    }

    /// Delivers messages (from, to, msg) until none is left, in FIFO order; returns who
    /// entered, in order.
    fn run(
        nodes: &mut BTreeMap<NodeId, Peer>,
        mut queue: Vec<(NodeId, NodeId, RaMsg)>,
    ) -> Vec<NodeId> {
        let mut entered = Vec::new();
        let mut i = 0;
        while i < queue.len() {
            let (from, to, msg) = queue[i].clone();
            i += 1;
            let node = nodes.get_mut(&to).unwrap();
            let step = node.ra.on_message(from, msg, &mut node.clock);
            if step.entered.is_some() {
                entered.push(to);
            }
            queue.extend(step.send.into_iter().map(|(p, m)| (to, p, m)));
        }
        entered
    }

    fn request(nodes: &mut BTreeMap<NodeId, Peer>, who: NodeId) -> Vec<(NodeId, NodeId, RaMsg)> {
        let node = nodes.get_mut(&who).unwrap();
        let step = node.ra.request(&mut node.clock).unwrap();
        assert_eq!(step.entered, None);
        step.send.into_iter().map(|(p, m)| (who, p, m)).collect()
    }

    fn holders(nodes: &BTreeMap<NodeId, Peer>) -> Vec<NodeId> {
        nodes
            .iter()
            .filter(|(_, n)| n.ra.holding())
            .map(|(id, _)| *id)
            .collect()
    }

    #[test]
    fn a_lone_request_enters_once_every_peer_replied() {
        let mut nodes = peers(Variant::Correct);
        let out = request(&mut nodes, B);
        assert_eq!(out.len(), 2);
        assert_eq!(run(&mut nodes, out), vec![B]);
        assert_eq!(holders(&nodes), vec![B]);
        let step = nodes.get_mut(&B).unwrap().ra.release().unwrap();
        assert!(step.send.is_empty());
        assert_eq!(*nodes[&B].ra.state(), RaState::Idle);
    }

    #[test]
    fn equal_timestamps_are_broken_by_node_id_and_the_loser_enters_after_release() {
        let mut nodes = peers(Variant::Correct);
        // Both stamp 1: a tie only the node id breaks.
        let mut out = request(&mut nodes, A);
        out.extend(request(&mut nodes, C));
        assert_eq!(run(&mut nodes, out), vec![A]);
        assert_eq!(holders(&nodes), vec![A]);
        assert_eq!(nodes[&A].ra.deferred(), vec![C]);
        let step = nodes.get_mut(&A).unwrap().ra.release().unwrap();
        let out = step.send.into_iter().map(|(p, m)| (A, p, m)).collect();
        assert_eq!(run(&mut nodes, out), vec![C]);
        assert_eq!(holders(&nodes), vec![C]);
    }

    #[test]
    fn the_planted_bug_lets_two_equal_timestamps_in() {
        let mut nodes = peers(Variant::NoTieBreak);
        let mut out = request(&mut nodes, A);
        out.extend(request(&mut nodes, C));
        let entered = run(&mut nodes, out);
        assert_eq!(holders(&nodes), vec![A, C], "entered {entered:?}");
    }

    /// The generic mutual-exclusion check's verdict on a run where A and C ask at once
    /// with equal stamps and whoever enters holds until the end.
    fn judged_by_the_check(variant: Variant) -> faultline_sim::Verdict {
        use faultline_sim::check::{judge, LockFact, MutualExclusion};
        use faultline_sim::{Check, Ev, Record};

        let mut nodes = peers(variant);
        let resource = || "tour".to_string();
        let mut records = Vec::new();
        let mut out = Vec::new();
        for who in [A, C] {
            records.push(Record {
                t: 0,
                node: who,
                ev: Ev::Proto {
                    event: LockFact::Request {
                        resource: resource(),
                    },
                },
            });
            out.extend(request(&mut nodes, who));
        }
        for (t, who) in run(&mut nodes, out).into_iter().enumerate() {
            records.push(Record {
                t: 1000 * (t as u64 + 1),
                node: who,
                ev: Ev::Proto {
                    event: LockFact::Acquire {
                        resource: resource(),
                    },
                },
            });
        }
        let mut checks: Vec<Box<dyn Check<LockFact> + Send>> =
            vec![Box::new(MutualExclusion::new(|f: &LockFact| {
                Some(f.clone())
            }))];
        judge(&mut checks, &records, 10_000).remove(0)
    }

    #[test]
    fn the_mutual_exclusion_check_catches_the_planted_bug() {
        let v = judged_by_the_check(Variant::Correct);
        assert!(v.ok, "{}", v.detail);
        let v = judged_by_the_check(Variant::NoTieBreak);
        assert!(!v.ok);
        assert!(
            v.detail.contains("#2 acquired \"tour\" while #0 held it"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_dead_peer_no_longer_blocks_and_counts_again_when_up() {
        let mut nodes = peers(Variant::Correct);
        let out = request(&mut nodes, A);
        // Only B's reply arrives: C is silent.
        let to_b: Vec<_> = out.into_iter().filter(|(_, to, _)| *to == B).collect();
        assert_eq!(run(&mut nodes, to_b), Vec::<NodeId>::new());
        let a = &mut nodes.get_mut(&A).unwrap().ra;
        assert_eq!(a.awaiting(), vec![C]);
        assert_eq!(
            a.retry(),
            vec![(
                C,
                RaMsg::Request {
                    id: RequestId {
                        incarnation: 1,
                        seq: 1
                    },
                    ts: 1
                }
            )]
        );
        assert_eq!(
            a.peer_down(C).entered,
            Some(RequestId {
                incarnation: 1,
                seq: 1
            })
        );
        a.release().unwrap();
        // C back: the next request waits for it again.
        assert!(a.peer_up(C).send.is_empty());
        let mut clock = LamportClock::at(5);
        let step = a.request(&mut clock).unwrap();
        assert_eq!(step.send.len(), 2);
        assert_eq!(step.entered, None);
    }

    #[test]
    fn a_peer_back_up_during_a_request_is_asked_again() {
        let mut clock = LamportClock::new();
        let mut a = RicartAgrawala::new(A, [A, B, C], 1, Variant::Correct);
        let mut b = RicartAgrawala::new(B, [A, B, C], 1, Variant::Correct);
        let mut b_clock = LamportClock::new();
        a.peer_down(B);
        let step = a.request(&mut clock).unwrap();
        assert_eq!(step.send.len(), 1, "only C is asked while B is dead");
        let up = a.peer_up(B);
        assert_eq!(up.send.len(), 1, "B is asked once back");
        let (to, msg) = up.send[0].clone();
        assert_eq!(to, B);
        let (_, reply) = b.on_message(A, msg, &mut b_clock).send.remove(0);
        assert_eq!(
            a.on_message(B, reply, &mut clock).entered,
            None,
            "C still counts"
        );
        assert_eq!(a.awaiting(), vec![C]);
        let id = RequestId {
            incarnation: 1,
            seq: 1,
        };
        assert_eq!(
            a.on_message(C, RaMsg::Reply { id }, &mut clock).entered,
            Some(id)
        );
    }

    #[test]
    fn stale_replies_of_a_restarted_requester_do_not_grant() {
        let mut a_clock = LamportClock::new();
        let mut b_clock = LamportClock::new();
        let mut a = RicartAgrawala::new(A, [A, B], 1, Variant::Correct);
        let mut b = RicartAgrawala::new(B, [A, B], 1, Variant::Correct);
        // B enters first.
        let (_, b_req) = b.request(&mut b_clock).unwrap().send.remove(0);
        let (_, reply) = a.on_message(B, b_req, &mut a_clock).send.remove(0);
        assert!(b.on_message(A, reply, &mut b_clock).entered.is_some());
        // A's first request is deferred by the holder.
        let (_, a_req) = a.request(&mut a_clock).unwrap().send.remove(0);
        assert!(b.on_message(A, a_req.clone(), &mut b_clock).send.is_empty());
        // A crashes and restarts in incarnation 2 and asks again: it replaces the old one.
        let mut a = RicartAgrawala::new(A, [A, B], 2, Variant::Correct);
        let mut a_clock = LamportClock::new();
        let (_, a_req2) = a.request(&mut a_clock).unwrap().send.remove(0);
        assert!(b.on_message(A, a_req2, &mut b_clock).send.is_empty());
        // A late duplicate of the old request is stale: no reply, not owed one.
        assert!(b.on_message(A, a_req, &mut b_clock).send.is_empty());
        assert_eq!(b.deferred(), vec![A]);
        // A reply to the old incarnation's request does not grant the new one.
        let old = RequestId {
            incarnation: 1,
            seq: 1,
        };
        assert_eq!(
            a.on_message(B, RaMsg::Reply { id: old }, &mut a_clock)
                .entered,
            None
        );
        // B releases: one reply, for the new request, which grants it.
        let step = b.release().unwrap();
        let new = RequestId {
            incarnation: 2,
            seq: 1,
        };
        assert_eq!(step.send, vec![(A, RaMsg::Reply { id: new })]);
        let reply = step.send[0].1.clone();
        assert_eq!(
            a.on_message(B, reply.clone(), &mut a_clock).entered,
            Some(new)
        );
        // A duplicate of that reply does not grant the next request.
        a.release().unwrap();
        a.request(&mut a_clock).unwrap();
        assert_eq!(a.on_message(B, reply, &mut a_clock).entered, None);
    }

    #[test]
    fn hostile_messages_are_ignored_and_calls_out_of_turn_refused() {
        let mut clock = LamportClock::new();
        let mut a = RicartAgrawala::new(A, [A, B], 1, Variant::Correct);
        let req = RaMsg::Request {
            id: RequestId {
                incarnation: 9,
                seq: 9,
            },
            ts: u64::MAX,
        };
        assert!(a
            .on_message(NodeId(77), req.clone(), &mut clock)
            .send
            .is_empty());
        assert!(a.on_message(A, req, &mut clock).send.is_empty());
        assert_eq!(clock.time(), 0);
        assert!(matches!(
            a.release(),
            Err(RaError::NotHolding(RaState::Idle))
        ));
        a.request(&mut clock).unwrap();
        assert!(matches!(a.request(&mut clock), Err(RaError::Busy(_))));
        assert!(a.deferred().len() <= 1);
    }
}
