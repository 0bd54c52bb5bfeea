//! Chandy-Lamport snapshots: a consistent cut of a running system, with the messages in
//! flight across it, taken without stopping it.
//!
//! The initiator records its local state and sends a marker on every outgoing channel. A
//! node records its state at the first marker of a snapshot, sends markers on, and records
//! every message arriving on each other incoming channel until that channel's marker
//! arrives; the channel of the first marker is empty. The node's part is complete when a
//! marker came on every incoming channel. Several snapshots may run at once, each named by
//! a [`SnapshotId`].
//!
//! Requirements on the host:
//! - Channels are FIFO and reliable (the runtime's streams): on datagrams a message may
//!   overtake a marker and the cut is not consistent.
//! - The markers a call returns are sent before any other message on those channels.
//! - Every application message the host sends or receives on a channel is reported through
//!   [`ChandyLamport::on_send`] / [`ChandyLamport::on_receive`] (before the message is
//!   handled). The part counts them per channel and puts the counts in each local snapshot,
//!   so [`GlobalSnapshot::check_channels`] can verify the cut: on every channel `p -> q`,
//!   what `p` had sent when it recorded equals what `q` had received when it recorded plus
//!   what `q` recorded in flight.
//! - A broken channel (a crash, a lasting partition) is reported with
//!   [`ChandyLamport::reset_channel`] at both ends: the counts restart and the snapshots
//!   still waiting on that channel are abandoned, since their channel state is lost.
//!
//! Bounds: at most `snapshots_max` snapshots record at once (a marker past the bound is
//! refused and its snapshot abandoned here), at most `in_flight_max` messages are recorded
//! per channel and snapshot (past it the snapshot is abandoned), and the last
//! `finished_memory` finished snapshot ids are remembered so a stray marker does not start
//! a finished snapshot again.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

/// Which algorithm runs: the correct one or a planted bug.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// Chandy-Lamport: local states and channel states.
    #[default]
    Correct,
    /// Planted bug, "broadcast and wait": a node records its local state when the request
    /// (the first marker) reaches it, passes the request on, and is done; messages in
    /// flight are lost from the snapshot. The cut check ([`GlobalSnapshot::check_channels`]) catches it as soon as a
    /// message was in flight.
    NoChannelState,
}

/// Names a snapshot: who started it and its number there.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SnapshotId {
    /// The initiator.
    pub initiator: NodeId,
    /// The initiator's snapshot number.
    pub seq: u64,
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.initiator, self.seq)
    }
}

/// The marker, sent on a channel; the host wraps it into its own message enum.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The snapshot it belongs to.
    pub id: SnapshotId,
}

/// Bounds on what the part keeps.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Snapshots recording at once.
    pub snapshots_max: usize,
    /// Messages recorded per incoming channel and snapshot.
    pub in_flight_max: usize,
    /// Finished snapshot ids remembered.
    pub finished_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            snapshots_max: 4,
            in_flight_max: 4096,
            finished_memory: 64,
        }
    }
}

/// One node's part of a snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalSnapshot<S, M> {
    /// The snapshot.
    pub id: SnapshotId,
    /// The node.
    pub node: NodeId,
    /// Its local state when it recorded.
    pub state: S,
    /// Messages it had sent on each outgoing channel when it recorded.
    pub sent: BTreeMap<NodeId, u64>,
    /// Messages it had received on each incoming channel when it recorded.
    pub received: BTreeMap<NodeId, u64>,
    /// Messages in flight on each incoming channel: received after it recorded and before
    /// that channel's marker.
    pub in_flight: BTreeMap<NodeId, Vec<M>>,
}

/// Why a snapshot was given up at this node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Abandoned {
    /// Already `snapshots_max` snapshots recording.
    TooManySnapshots(SnapshotId),
    /// More than `in_flight_max` messages on one channel.
    TooManyInFlight(SnapshotId, NodeId),
    /// The channel from this node broke before its marker came.
    ChannelReset(SnapshotId, NodeId),
}

/// What a call asks the host to do and tells it happened.
#[derive(Clone, Debug, PartialEq)]
pub struct Step<S, M> {
    /// Markers to send, before anything else on those channels.
    pub send: Vec<(NodeId, Marker)>,
    /// This node's part of a snapshot, complete: the host sends it to whoever assembles
    /// the global snapshot.
    pub completed: Vec<LocalSnapshot<S, M>>,
    /// Snapshots given up at this node.
    pub abandoned: Vec<Abandoned>,
}

impl<S, M> Default for Step<S, M> {
    fn default() -> Self {
        Step {
            send: Vec::new(),
            completed: Vec::new(),
            abandoned: Vec::new(),
        }
    }
}

/// A snapshot this node is recording.
#[derive(Clone, Debug)]
struct Recording<S, M> {
    /// The part as recorded so far.
    part: LocalSnapshot<S, M>,
    /// Incoming channels whose marker has not come yet.
    open: BTreeSet<NodeId>,
}

/// One node's side of Chandy-Lamport, over local state `S` and application messages `M`.
#[derive(Clone, Debug)]
pub struct ChandyLamport<S, M> {
    /// This node.
    me: NodeId,
    /// Nodes with a channel to this one.
    incoming: BTreeSet<NodeId>,
    /// Nodes this one has a channel to.
    outgoing: BTreeSet<NodeId>,
    /// Correct or the planted bug.
    variant: Variant,
    /// Bounds.
    limits: Limits,
    /// Application messages sent on each outgoing channel since it was (re)opened.
    sent: BTreeMap<NodeId, u64>,
    /// Application messages received on each incoming channel since it was (re)opened.
    received: BTreeMap<NodeId, u64>,
    /// Snapshots recording.
    recording: BTreeMap<SnapshotId, Recording<S, M>>,
    /// Recently finished or abandoned snapshots, oldest first.
    finished: VecDeque<SnapshotId>,
}

impl<S: Clone, M: Clone> ChandyLamport<S, M> {
    /// Node `me` with channels from `incoming` and to `outgoing` (itself excluded).
    pub fn new(
        me: NodeId,
        incoming: impl IntoIterator<Item = NodeId>,
        outgoing: impl IntoIterator<Item = NodeId>,
        variant: Variant,
        limits: Limits,
    ) -> ChandyLamport<S, M> {
        ChandyLamport {
            me,
            incoming: incoming.into_iter().filter(|p| *p != me).collect(),
            outgoing: outgoing.into_iter().filter(|p| *p != me).collect(),
            variant,
            limits,
            sent: BTreeMap::new(),
            received: BTreeMap::new(),
            recording: BTreeMap::new(),
            finished: VecDeque::new(),
        }
    }

    /// Snapshots recording at this node.
    pub fn recording(&self) -> Vec<SnapshotId> {
        self.recording.keys().copied().collect()
    }

    /// Starts snapshot `id` here with the local state `state`.
    pub fn initiate(&mut self, id: SnapshotId, state: S) -> Step<S, M> {
        let mut step = Step::default();
        self.record(id, None, || state, &mut step);
        step
    }

    /// A marker came from `from`; `state` gives the local state if this is the first.
    pub fn on_marker(
        &mut self,
        from: NodeId,
        marker: Marker,
        state: impl FnOnce() -> S,
    ) -> Step<S, M> {
        let mut step = Step::default();
        if !self.incoming.contains(&from) {
            return step;
        }
        let id = marker.id;
        if let Some(rec) = self.recording.get_mut(&id) {
            rec.open.remove(&from);
        } else {
            self.record(id, Some(from), state, &mut step);
        }
        self.complete(id, &mut step);
        step
    }

    /// The host sent an application message to `to`.
    pub fn on_send(&mut self, to: NodeId) {
        if self.outgoing.contains(&to) {
            *self.sent.entry(to).or_insert(0) += 1;
        }
    }

    /// An application message came from `from` (report it before handling it).
    pub fn on_receive(&mut self, from: NodeId, msg: &M) -> Step<S, M> {
        let mut step = Step::default();
        if !self.incoming.contains(&from) {
            return step;
        }
        *self.received.entry(from).or_insert(0) += 1;
        if self.variant == Variant::NoChannelState {
            return step;
        }
        let mut over = Vec::new();
        for (id, rec) in &mut self.recording {
            if rec.open.contains(&from) {
                let list = rec.part.in_flight.entry(from).or_default();
                if list.len() >= self.limits.in_flight_max {
                    over.push(*id);
                } else {
                    list.push(msg.clone());
                }
            }
        }
        for id in over {
            self.abandon(Abandoned::TooManyInFlight(id, from), &mut step);
        }
        step
    }

    /// The channel with `peer` broke (both directions): its counts restart, and snapshots
    /// still waiting for its marker are abandoned.
    pub fn reset_channel(&mut self, peer: NodeId) -> Step<S, M> {
        let mut step = Step::default();
        self.sent.remove(&peer);
        self.received.remove(&peer);
        let waiting: Vec<SnapshotId> = self
            .recording
            .iter()
            .filter(|(_, rec)| rec.open.contains(&peer))
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.abandon(Abandoned::ChannelReset(id, peer), &mut step);
        }
        step
    }

    /// A channel with `peer` opened (both directions), for hosts whose channels come and go
    /// (a coordinator's workers): its counts start at zero. Snapshots already recording do
    /// not wait on it; it takes part from the next one.
    pub fn open_channel(&mut self, peer: NodeId) {
        if peer == self.me {
            return;
        }
        self.sent.remove(&peer);
        self.received.remove(&peer);
        self.incoming.insert(peer);
        self.outgoing.insert(peer);
    }

    /// The channel with `peer` is gone for good: as [`ChandyLamport::reset_channel`], and
    /// later snapshots leave it out.
    pub fn close_channel(&mut self, peer: NodeId) -> Step<S, M> {
        let step = self.reset_channel(peer);
        self.incoming.remove(&peer);
        self.outgoing.remove(&peer);
        step
    }

    /// Records the local state for `id` (first marker from `from`, or `None` at the
    /// initiator) and sends markers on.
    fn record(
        &mut self,
        id: SnapshotId,
        from: Option<NodeId>,
        state: impl FnOnce() -> S,
        step: &mut Step<S, M>,
    ) {
        if self.finished.contains(&id) {
            return; // a stray marker of a snapshot already done here
        }
        if self.recording.len() >= self.limits.snapshots_max {
            self.abandon(Abandoned::TooManySnapshots(id), step);
            return;
        }
        let mut open = match self.variant {
            Variant::Correct => self.incoming.clone(),
            Variant::NoChannelState => BTreeSet::new(),
        };
        if let Some(from) = from {
            open.remove(&from);
        }
        let part = LocalSnapshot {
            id,
            node: self.me,
            state: state(),
            sent: self
                .outgoing
                .iter()
                .map(|p| (*p, self.count(&self.sent, *p)))
                .collect(),
            received: self
                .incoming
                .iter()
                .map(|p| (*p, self.count(&self.received, *p)))
                .collect(),
            in_flight: BTreeMap::new(),
        };
        self.recording.insert(id, Recording { part, open });
        step.send
            .extend(self.outgoing.iter().map(|p| (*p, Marker { id })));
        self.complete(id, step);
    }

    /// Finishes `id` here when every incoming channel's marker came.
    fn complete(&mut self, id: SnapshotId, step: &mut Step<S, M>) {
        if self
            .recording
            .get(&id)
            .is_some_and(|rec| rec.open.is_empty())
        {
            if let Some(rec) = self.recording.remove(&id) {
                self.remember(id);
                step.completed.push(rec.part);
            }
        }
    }

    /// Gives up a snapshot here.
    fn abandon(&mut self, why: Abandoned, step: &mut Step<S, M>) {
        let id = match why {
            Abandoned::TooManySnapshots(id)
            | Abandoned::TooManyInFlight(id, _)
            | Abandoned::ChannelReset(id, _) => id,
        };
        self.recording.remove(&id);
        self.remember(id);
        step.abandoned.push(why);
    }

    /// Remembers a finished id, forgetting the oldest past the bound.
    fn remember(&mut self, id: SnapshotId) {
        self.finished.push_back(id);
        while self.finished.len() > self.limits.finished_memory {
            self.finished.pop_front();
        }
    }

    /// A channel's count (0 when it carried nothing).
    fn count(&self, counts: &BTreeMap<NodeId, u64>, peer: NodeId) -> u64 {
        counts.get(&peer).copied().unwrap_or(0)
    }
}

/// The parts of one snapshot, as they arrive at whoever assembles it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlobalSnapshot<S, M> {
    /// The snapshot.
    pub id: SnapshotId,
    /// Each node's part.
    pub parts: BTreeMap<NodeId, LocalSnapshot<S, M>>,
}

impl<S, M> GlobalSnapshot<S, M> {
    /// An empty snapshot `id`.
    pub fn new(id: SnapshotId) -> GlobalSnapshot<S, M> {
        GlobalSnapshot {
            id,
            parts: BTreeMap::new(),
        }
    }

    /// Adds a node's part; a part of another snapshot is refused (returned).
    pub fn insert(&mut self, part: LocalSnapshot<S, M>) -> Result<(), LocalSnapshot<S, M>> {
        if part.id != self.id {
            return Err(part);
        }
        self.parts.insert(part.node, part);
        Ok(())
    }

    /// Whether every one of `nodes` sent its part.
    pub fn is_complete(&self, nodes: &[NodeId]) -> bool {
        nodes.iter().all(|n| self.parts.contains_key(n))
    }

    /// Verifies the cut on every channel both of whose ends are in: what the sender had
    /// sent equals what the receiver had received plus what it recorded in flight. Too few
    /// received is a lost in-flight message, too many an orphan (received before the cut,
    /// sent after it). Returns the number of channels checked.
    pub fn check_channels(&self) -> Result<usize, String> {
        let mut checked = 0;
        for (from, sender) in &self.parts {
            for (to, sent) in &sender.sent {
                let Some(receiver) = self.parts.get(to) else {
                    continue;
                };
                let Some(received) = receiver.received.get(from) else {
                    continue;
                };
                let in_flight = receiver.in_flight.get(from).map_or(0, Vec::len) as u64;
                if *sent != received + in_flight {
                    return Err(format!(
                        "snapshot {}: channel {from} -> {to}: {sent} sent before the cut, but \
                         {received} received before it and {in_flight} recorded in flight",
                        self.id
                    ));
                }
                checked += 1;
            }
        }
        Ok(checked)
    }
}

impl<S: Serialize, M: Serialize> GlobalSnapshot<S, M> {
    /// The snapshot as JSON (an error only when `S` or `M` cannot be JSON, e.g. a map
    /// with non-string keys).
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: NodeId = NodeId(0);
    const B: NodeId = NodeId(1);
    const C: NodeId = NodeId(2);

    /// A token bank: each node holds tokens and sends some to others; a snapshot must
    /// account for every token, in states or in flight.
    struct Bank {
        /// Each node's tokens.
        tokens: BTreeMap<NodeId, u64>,
        /// Each node's snapshot part.
        cl: BTreeMap<NodeId, ChandyLamport<u64, u64>>,
        /// FIFO channels: (from, to) -> messages in order.
        wires: BTreeMap<(NodeId, NodeId), VecDeque<Wire>>,
        /// Finished parts.
        parts: Vec<LocalSnapshot<u64, u64>>,
    }

    /// What travels on a wire.
    #[derive(Clone, Debug)]
    enum Wire {
        Tokens(u64),
        Marker(Marker),
    }

    impl Bank {
        fn new(variant: Variant) -> Bank {
            let all = [A, B, C];
            Bank {
                tokens: all.iter().map(|n| (*n, 100)).collect(),
                cl: all
                    .iter()
                    .map(|n| {
                        (
                            *n,
                            ChandyLamport::new(*n, all, all, variant, Limits::default()),
                        )
                    })
                    .collect(),
                wires: BTreeMap::new(),
                parts: Vec::new(),
            }
        }

        fn transfer(&mut self, from: NodeId, to: NodeId, n: u64) {
            *self.tokens.get_mut(&from).unwrap() -= n;
            self.cl.get_mut(&from).unwrap().on_send(to);
            self.wires
                .entry((from, to))
                .or_default()
                .push_back(Wire::Tokens(n));
        }

        fn apply(&mut self, at: NodeId, step: Step<u64, u64>) {
            for (to, marker) in step.send {
                self.wires
                    .entry((at, to))
                    .or_default()
                    .push_back(Wire::Marker(marker));
            }
            self.parts.extend(step.completed);
            assert!(step.abandoned.is_empty(), "{:?}", step.abandoned);
        }

        /// Delivers the oldest message on one wire.
        fn deliver(&mut self, from: NodeId, to: NodeId) {
            let Some(wire) = self
                .wires
                .get_mut(&(from, to))
                .and_then(VecDeque::pop_front)
            else {
                return;
            };
            let tokens = self.tokens[&to];
            let cl = self.cl.get_mut(&to).unwrap();
            let step = match wire {
                Wire::Tokens(n) => {
                    let step = cl.on_receive(from, &n);
                    *self.tokens.get_mut(&to).unwrap() += n;
                    step
                }
                Wire::Marker(m) => cl.on_marker(from, m, || tokens),
            };
            self.apply(to, step);
        }

        fn deliver_all(&mut self) {
            while let Some((&(from, to), _)) = self.wires.iter().find(|(_, q)| !q.is_empty()) {
                self.deliver(from, to);
            }
        }

        fn global(&self, id: SnapshotId) -> GlobalSnapshot<u64, u64> {
            let mut g = GlobalSnapshot::new(id);
            for part in &self.parts {
                if part.id == id {
                    g.insert(part.clone()).unwrap();
                }
            }
            g
        }
    }

    /// Tokens in states and in flight.
    fn total(g: &GlobalSnapshot<u64, u64>) -> u64 {
        g.parts
            .values()
            .map(|p| p.state + p.in_flight.values().flatten().sum::<u64>())
            .sum()
    }

    /// A run with messages in flight across the cut in both directions.
    fn busy_run(variant: Variant) -> GlobalSnapshot<u64, u64> {
        let mut bank = Bank::new(variant);
        let id = SnapshotId {
            initiator: A,
            seq: 1,
        };
        bank.transfer(B, A, 10); // in flight into A when A records
        bank.transfer(C, B, 5);
        let state = bank.tokens[&A];
        let step = bank.cl.get_mut(&A).unwrap().initiate(id, state);
        bank.apply(A, step);
        bank.transfer(A, C, 7); // after A's marker on A -> C: not in the cut
        bank.deliver(B, A); // recorded in flight on B -> A
        bank.deliver_all();
        let g = bank.global(id);
        assert!(g.is_complete(&[A, B, C]), "{:?}", g.parts.keys());
        g
    }

    #[test]
    fn a_snapshot_accounts_for_every_token_in_states_and_channels() {
        let g = busy_run(Variant::Correct);
        assert_eq!(total(&g), 300);
        assert_eq!(g.parts[&A].in_flight[&B], vec![10]);
        assert_eq!(g.check_channels(), Ok(6));
    }

    #[test]
    fn the_planted_bug_loses_messages_in_flight_and_the_cut_check_says_so() {
        let g = busy_run(Variant::NoChannelState);
        assert_eq!(total(&g), 285);
        let err = g.check_channels().unwrap_err();
        assert!(err.contains("#1 -> #0: 1 sent"), "{err}");
    }

    #[test]
    fn the_cut_check_catches_an_orphan_message() {
        let g = busy_run(Variant::Correct);
        let mut bad = g.clone();
        bad.parts.get_mut(&B).unwrap().received.insert(C, 2);
        assert!(bad.check_channels().unwrap_err().contains("#2 -> #1"));
    }

    #[test]
    fn two_snapshots_run_at_once_and_stray_markers_are_ignored() {
        let mut bank = Bank::new(Variant::Correct);
        let one = SnapshotId {
            initiator: A,
            seq: 1,
        };
        let two = SnapshotId {
            initiator: C,
            seq: 1,
        };
        let step = bank.cl.get_mut(&A).unwrap().initiate(one, 100);
        bank.apply(A, step);
        bank.transfer(B, C, 1);
        let step = bank.cl.get_mut(&C).unwrap().initiate(two, 100);
        bank.apply(C, step);
        assert_eq!(bank.cl[&C].recording(), vec![two]);
        bank.deliver_all();
        for id in [one, two] {
            let g = bank.global(id);
            assert!(g.is_complete(&[A, B, C]));
            assert_eq!(total(&g), 300);
            g.check_channels().unwrap();
        }
        // A replayed marker of a finished snapshot starts nothing.
        let step = bank
            .cl
            .get_mut(&B)
            .unwrap()
            .on_marker(A, Marker { id: one }, || 0);
        assert_eq!(step, Step::default());
        assert!(bank.cl[&B].recording().is_empty());
        // A marker from a node without a channel here is ignored.
        let step = bank.cl.get_mut(&B).unwrap().on_marker(
            NodeId(9),
            Marker {
                id: SnapshotId {
                    initiator: NodeId(9),
                    seq: 1,
                },
            },
            || 0,
        );
        assert_eq!(step, Step::default());
    }

    #[test]
    fn bounds_abandon_snapshots_instead_of_growing() {
        let limits = Limits {
            snapshots_max: 1,
            in_flight_max: 1,
            finished_memory: 1,
        };
        let mut cl: ChandyLamport<u64, u64> =
            ChandyLamport::new(A, [B, C], [B, C], Variant::Correct, limits);
        let one = SnapshotId {
            initiator: A,
            seq: 1,
        };
        let two = SnapshotId {
            initiator: A,
            seq: 2,
        };
        assert_eq!(cl.initiate(one, 0).send.len(), 2);
        let step = cl.initiate(two, 0);
        assert_eq!(step.abandoned, vec![Abandoned::TooManySnapshots(two)]);
        assert!(step.send.is_empty());
        assert!(cl.on_receive(B, &1).abandoned.is_empty());
        assert_eq!(
            cl.on_receive(B, &2).abandoned,
            vec![Abandoned::TooManyInFlight(one, B)]
        );
        let three = SnapshotId {
            initiator: A,
            seq: 3,
        };
        cl.initiate(three, 0);
        assert_eq!(
            cl.reset_channel(C).abandoned,
            vec![Abandoned::ChannelReset(three, C)]
        );
        assert!(cl.recording().is_empty());
    }

    #[test]
    fn a_global_snapshot_round_trips_through_json() {
        let g = busy_run(Variant::Correct);
        let text = g.to_json().unwrap();
        assert!(
            text.starts_with(r#"{"id":{"initiator":0,"seq":1},"parts":{"0":"#),
            "{text}"
        );
        let back: GlobalSnapshot<u64, u64> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, g);
        let mut other = GlobalSnapshot::new(SnapshotId {
            initiator: B,
            seq: 1,
        });
        assert!(other.insert(g.parts[&A].clone()).is_err());
    }

    #[test]
    fn channels_that_come_and_go_join_the_next_snapshot_and_leave_cleanly() {
        let mut cl: ChandyLamport<u64, u64> =
            ChandyLamport::new(A, [], [], Variant::Correct, Limits::default());
        let id = |seq| SnapshotId { initiator: A, seq };
        // No channel: the snapshot is complete at once.
        assert_eq!(cl.initiate(id(1), 0).completed.len(), 1);
        cl.open_channel(B);
        let step = cl.initiate(id(2), 0);
        assert_eq!(step.send, vec![(B, Marker { id: id(2) })]);
        assert!(step.completed.is_empty(), "waits for B's marker");
        // B goes away before its marker: the snapshot is given up, and the next one
        // does not wait for B.
        let gone = cl.close_channel(B);
        assert_eq!(gone.abandoned, vec![Abandoned::ChannelReset(id(2), B)]);
        let step = cl.initiate(id(3), 0);
        assert!(step.send.is_empty());
        assert_eq!(step.completed.len(), 1);
    }
}
