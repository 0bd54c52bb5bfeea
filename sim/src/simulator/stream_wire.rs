//! The simulated streams (sim flavor only): connections between simulated nodes, modelled as
//! TCP behaves, decided from the seed.
//!
//! A stream is two directions of numbered segments: the handshake first (a connect's SYN,
//! the accept's SYN-ACK), then the messages, then a close's FIN. Every attempt at a segment
//! travels with a latency drawn per link from the scenario's range ([`LinkDraws`]), and on
//! arrival the nemesis decides whether it got through ([`Nemesis::stream_attempt`], its own
//! per-link draws): a cut link or a loss makes it try again a retransmission timeout later
//! ([`Wire::rto_us`]), so loss turns into delay, never into a gap. The receiving end hands
//! segments over strictly in order, holding early ones back, so every message arrives once,
//! in order, while the stream lives. Each step is an event on simulated time, ordered by time
//! then by the order it was queued: one run's streams are the same for the same seed.
//!
//! How a stream ends:
//! - connect to a node that is down, unknown or has no stream slot: the connector hears
//!   `Refused` once the reset comes back (a round trip);
//! - close: a FIN after everything sent before it; the peer hears `PeerClosed` when it
//!   arrives in order, and what it still sends is discarded;
//! - crash: the crashed end's streams are gone, and each peer hears `PeerCrashed` one
//!   latency later, as a reset would tell it (a reset lost to a partition leaves the
//!   partition's timeout to tell it);
//! - a segment that has not got through for the stream timeout, or a stream whose link is cut
//!   one way or both for the timeout (idle or not, as keepalives would find), breaks: both
//!   ends hear `TimedOut`;
//! - an end with [`STREAM_MESSAGES_MAX`] messages undelivered that sends one more aborts the
//!   stream: it hears `Overflow`, the peer `Reset` one latency later.
//!
//! The messages a stream loses that way (on their way, held back behind a missing one, or
//! sent after the receiver closed) are handed to the world ([`Wire::take_lost`]), which
//! traces each as a drop (`closed`).
//!
//! Bounds: a node's streams ([`STREAMS_PER_NODE_MAX`]); one direction's undelivered messages
//! ([`STREAM_MESSAGES_MAX`], then the abort above); a node's events waiting for its driver
//! ([`READY_EVENTS_MAX`]: past it a message waits as if lost, as a full receive window holds
//! a TCP sender back, and is tried again; closes and accepts are never held, and there are
//! at most as many as streams).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use crate::faults::link_draws::LinkDraws;
use crate::faults::nemesis::Nemesis;
use crate::node::stream::{
    CloseReason, StreamEvent, StreamId, STREAMS_PER_NODE_MAX, STREAM_MESSAGES_MAX,
};
use crate::node::NodeId;

/// Stream events waiting for one node's driver before messages are held back.
pub const READY_EVENTS_MAX: usize = 4096;

/// The shortest retransmission timeout (Linux's minimum RTO).
const RTO_US_MIN: u64 = 200_000;

/// The purpose that keys the latency draws of stream segments ("SLAT").
const STREAM_LATENCY_DRAWS: u64 = 0x534C_4154;

/// One event for a node's driver: which stream, its peer, what happened.
pub type Ready = (StreamId, NodeId, StreamEvent<Vec<u8>>);

/// What a segment carries.
#[derive(Debug)]
enum Kind {
    /// The handshake: SYN from the connector, SYN-ACK from the acceptor (sequenced).
    Open,
    /// One message (sequenced).
    Data(Payload),
    /// The sender closed its end (sequenced).
    Fin,
    /// The sender's end is gone: the receiver hears this reason (not sequenced).
    Reset(CloseReason),
    /// A check of whether the stream's link is still cut (no travel).
    Probe,
}

/// One message on a stream.
#[derive(Debug)]
struct Payload {
    /// Its bytes, a [`crate::runtime::wire`] datagram.
    bytes: Vec<u8>,
    /// Who sent it to whom, its id and label: to trace it if the stream loses it.
    lost: Lost,
}

/// A message a stream lost: it was on its way, or not yet handed over, when its stream ended
/// (or sent after its receiver closed). The world traces it as a drop (`closed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lost {
    /// Its sender.
    pub from: NodeId,
    /// Its receiver, where the drop is recorded.
    pub to: NodeId,
    /// Its id (from its bytes).
    pub id: u64,
    /// Its label.
    pub label: &'static str,
}

/// One attempt at a segment, due at `at_us`.
struct Segment {
    /// When it arrives (or is next tried).
    at_us: u64,
    /// Queue order, which breaks ties between equal times deterministically.
    order: u64,
    /// The stream's run-wide number.
    conn: u64,
    /// The end that sent it: 0 the connector, 1 the acceptor.
    from_end: usize,
    /// Its number in its direction (sequenced kinds only).
    seq: u64,
    /// When it was first sent: past the stream timeout, a failed attempt breaks the stream.
    first_us: u64,
    /// What it carries.
    kind: Kind,
}

impl PartialEq for Segment {
    fn eq(&self, other: &Self) -> bool {
        (self.at_us, self.order) == (other.at_us, other.order)
    }
}

impl Eq for Segment {}

impl PartialOrd for Segment {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Segment {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_us, self.order).cmp(&(other.at_us, other.order))
    }
}

/// One end of a stream.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum End {
    /// The acceptor before the SYN reached it.
    Pending,
    /// Its node holds it under this id.
    Open(StreamId),
    /// Closed, broken or crashed: it takes nothing more.
    Gone,
}

/// One direction of a stream.
#[derive(Default)]
struct Direction {
    /// Sequence numbers handed out so far.
    sent: u64,
    /// Segments handed to the receiver so far (the next one it takes).
    delivered: u64,
    /// Segments that got through ahead of an earlier one, by sequence number.
    early: BTreeMap<u64, Kind>,
}

/// One stream.
struct Conn {
    /// The connector's node, then the acceptor's.
    nodes: [NodeId; 2],
    /// The connector's end, then the acceptor's.
    ends: [End; 2],
    /// Connector to acceptor, then acceptor to connector.
    dirs: [Direction; 2],
    /// Since when its link has been cut (either way), if it is.
    cut_since_us: Option<u64>,
}

/// Every stream of one simulated run.
pub struct Wire {
    /// Nodes in the run.
    nodes: usize,
    /// One-way latency range, inclusive, in microseconds.
    latency_us: (u64, u64),
    /// The stream timeout.
    timeout_us: u64,
    /// Latency draws per link.
    latencies: LinkDraws,
    /// Streams by run-wide number (opened order); a number is never reused.
    conns: BTreeMap<u64, Conn>,
    /// Streams opened so far in the run.
    opened: u64,
    /// Which stream each (node, id) names, for the node's incarnation that holds it.
    by_end: BTreeMap<(NodeId, StreamId), (u64, usize)>,
    /// Per node: whether it runs and can accept (attached and not crashed since).
    listening: Vec<bool>,
    /// Per node: streams accepted in this incarnation (the next accepted id).
    accepted: Vec<u32>,
    /// Per node: events for its driver, in order.
    ready: Vec<VecDeque<Ready>>,
    /// Segments on their way, earliest first.
    segments: BinaryHeap<Reverse<Segment>>,
    /// Segments queued so far (the tie-break).
    queued: u64,
    /// Messages lost since the world last took them ([`Wire::take_lost`]).
    lost: Vec<Lost>,
}

impl Wire {
    /// The streams of `nodes` nodes: latencies uniform over `latency_ms` (inclusive) drawn
    /// under `seed`, broken after `timeout_ms` without getting through.
    pub fn new(nodes: usize, latency_ms: [u64; 2], timeout_ms: u64, seed: u64) -> Wire {
        let [lo, hi] = latency_ms;
        Wire {
            nodes,
            latency_us: (lo * 1000, hi.max(lo) * 1000),
            timeout_us: timeout_ms * 1000,
            latencies: LinkDraws::new(nodes, seed, STREAM_LATENCY_DRAWS),
            conns: BTreeMap::new(),
            opened: 0,
            by_end: BTreeMap::new(),
            listening: vec![false; nodes],
            accepted: vec![0; nodes],
            ready: (0..nodes).map(|_| VecDeque::new()).collect(),
            segments: BinaryHeap::new(),
            queued: 0,
            lost: Vec::new(),
        }
    }

    /// The retransmission timeout: what each lost attempt adds to a segment's delay. Longer
    /// than a round trip, so that it never retries what may still arrive.
    pub fn rto_us(&self) -> u64 {
        RTO_US_MIN.max(2 * self.latency_us.1)
    }

    /// When the next segment is due, if any is on its way.
    pub fn next_due_us(&self) -> Option<u64> {
        self.segments.peek().map(|Reverse(s)| s.at_us)
    }

    /// The messages lost since the last call, for the trace.
    pub fn take_lost(&mut self) -> Vec<Lost> {
        std::mem::take(&mut self.lost)
    }

    /// The next event for `node`'s driver.
    pub fn take(&mut self, node: NodeId) -> Option<Ready> {
        self.ready.get_mut(node.0 as usize)?.pop_front()
    }

    /// Whether events wait for `node`'s driver.
    pub fn has_ready(&self, node: NodeId) -> bool {
        self.ready
            .get(node.0 as usize)
            .is_some_and(|r| !r.is_empty())
    }

    /// A new incarnation of `node` starts: it can accept, and counts its accepted ids anew
    /// (its previous incarnation's streams went with its crash).
    pub fn attach(&mut self, node: NodeId) {
        let i = node.0 as usize;
        if i < self.nodes {
            self.listening[i] = true;
            self.accepted[i] = 0;
            self.ready[i].clear();
        }
    }

    /// `node` crashed: its streams are gone, and each peer hears of it one latency later.
    pub fn crash(&mut self, now_us: u64, node: NodeId) {
        let i = node.0 as usize;
        if i >= self.nodes {
            return;
        }
        self.listening[i] = false;
        self.ready[i].clear();
        let held: Vec<_> = self
            .by_end
            .range((node, StreamId(0))..=(node, StreamId(u32::MAX)))
            .map(|(_, &at)| at)
            .collect();
        for (conn, end) in held {
            self.end_gone(now_us, conn, end, Some(CloseReason::PeerCrashed));
        }
    }

    /// `node` opens `stream` to `to`.
    pub fn connect(&mut self, now_us: u64, node: NodeId, stream: StreamId, to: NodeId) {
        let (i, j) = (node.0 as usize, to.0 as usize);
        if i >= self.nodes {
            return;
        }
        let slots = self.open_streams(node) < STREAMS_PER_NODE_MAX;
        if j >= self.nodes || to == node || !slots || self.by_end.contains_key(&(node, stream)) {
            // Nothing to travel: the node's own stack refuses at once.
            let event = StreamEvent::Closed(CloseReason::Refused);
            self.ready[i].push_back((stream, to, event));
            return;
        }
        let conn = self.opened;
        self.opened += 1;
        self.conns.insert(
            conn,
            Conn {
                nodes: [node, to],
                ends: [End::Open(stream), End::Pending],
                dirs: Default::default(),
                cut_since_us: None,
            },
        );
        self.by_end.insert((node, stream), (conn, 0));
        self.send_sequenced(now_us, conn, 0, Kind::Open);
    }

    /// `node` sends `bytes` (a message labelled `label`) on `stream`; false when the stream
    /// is gone (or has just been aborted for overflow, which its driver hears as an event).
    pub fn send(
        &mut self,
        now_us: u64,
        node: NodeId,
        stream: StreamId,
        bytes: &[u8],
        label: &'static str,
    ) -> bool {
        let Some(&(conn, end)) = self.by_end.get(&(node, stream)) else {
            return false;
        };
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        let dir = &c.dirs[end];
        if dir.sent - dir.delivered >= STREAM_MESSAGES_MAX as u64 {
            let peer = c.nodes[1 - end];
            self.ready[node.0 as usize].push_back((
                stream,
                peer,
                StreamEvent::Closed(CloseReason::Overflow),
            ));
            self.end_gone(now_us, conn, end, Some(CloseReason::Reset));
            return false;
        }
        let to = c.nodes[1 - end];
        let id = crate::runtime::wire::peek_id(bytes).unwrap_or(0);
        let lost = Lost {
            from: node,
            to,
            id,
            label,
        };
        let payload = Payload {
            bytes: bytes.to_vec(),
            lost,
        };
        self.send_sequenced(now_us, conn, end, Kind::Data(payload));
        true
    }

    /// `node` closes `stream`: a FIN follows what it sent; it hears nothing more of it.
    pub fn close(&mut self, now_us: u64, node: NodeId, stream: StreamId) {
        if let Some(&(conn, end)) = self.by_end.get(&(node, stream)) {
            self.end_gone(now_us, conn, end, None);
        }
    }

    /// Partitions changed: streams whose link is now cut start their timeout, healed ones
    /// forget it.
    pub fn links_changed(&mut self, now_us: u64, nemesis: &Nemesis) {
        let mut probes = Vec::new();
        for (&id, conn) in self.conns.iter_mut() {
            let [a, b] = conn.nodes;
            let cut = nemesis.is_cut(a, b) || nemesis.is_cut(b, a);
            match (cut, conn.cut_since_us) {
                (true, None) => {
                    conn.cut_since_us = Some(now_us);
                    probes.push(id);
                }
                (false, Some(_)) => conn.cut_since_us = None,
                _ => {}
            }
        }
        for conn in probes {
            let at_us = now_us + self.timeout_us;
            self.queue(at_us, conn, 0, 0, now_us, Kind::Probe);
        }
    }

    /// Carries out every segment due by `now_us`, asking `nemesis` about each attempt.
    pub fn pump(&mut self, now_us: u64, nemesis: &mut Nemesis) {
        while self
            .segments
            .peek()
            .is_some_and(|Reverse(s)| s.at_us <= now_us)
        {
            let Some(Reverse(segment)) = self.segments.pop() else {
                break;
            };
            self.arrive(segment, nemesis);
        }
    }

    /// Streams `node` holds open.
    fn open_streams(&self, node: NodeId) -> usize {
        self.by_end
            .range((node, StreamId(0))..=(node, StreamId(u32::MAX)))
            .count()
    }

    /// Puts the next segment of `end`'s direction on its way.
    fn send_sequenced(&mut self, now_us: u64, conn: u64, end: usize, kind: Kind) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let seq = c.dirs[end].sent;
        c.dirs[end].sent += 1;
        let at_us = now_us + self.latency(conn, end);
        self.queue(at_us, conn, end, seq, now_us, kind);
    }

    /// One latency draw on the link from `end` of `conn`.
    fn latency(&mut self, conn: u64, end: usize) -> u64 {
        let Some(c) = self.conns.get(&conn) else {
            return 0;
        };
        let (from, to) = (c.nodes[end], c.nodes[1 - end]);
        let (lo, hi) = self.latency_us;
        self.latencies.next(from.0, to.0).between(0, lo, hi)
    }

    fn queue(
        &mut self,
        at_us: u64,
        conn: u64,
        from_end: usize,
        seq: u64,
        first_us: u64,
        kind: Kind,
    ) {
        let order = self.queued;
        self.queued += 1;
        self.segments.push(Reverse(Segment {
            at_us,
            order,
            conn,
            from_end,
            seq,
            first_us,
            kind,
        }));
    }

    /// `end` of `conn` is gone (closed by its node when `tell` is `None`, else crashed or
    /// aborted): its peer hears `tell` after a latency, or a FIN after what was sent.
    fn end_gone(&mut self, now_us: u64, conn: u64, end: usize, tell: Option<CloseReason>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let End::Open(stream) = c.ends[end] {
            self.by_end.remove(&(c.nodes[end], stream));
        }
        c.ends[end] = End::Gone;
        match (c.ends[1 - end], tell) {
            (End::Gone, _) => {
                self.remove_conn(conn);
            }
            // The SYN has not arrived: an orderly close still delivers it and the FIN, but
            // a crashed or aborted connector leaves nothing to accept.
            (End::Pending, Some(_)) => {
                self.remove_conn(conn);
            }
            (_, None) => self.send_sequenced(now_us, conn, end, Kind::Fin),
            (End::Open(_), Some(reason)) => {
                let at_us = now_us + self.latency(conn, end);
                self.queue(at_us, conn, end, 0, now_us, Kind::Reset(reason));
            }
        }
    }

    /// Forgets `conn`; the messages it held back (arrived ahead of a missing one) are lost.
    fn remove_conn(&mut self, conn: u64) -> Option<Conn> {
        let mut c = self.conns.remove(&conn)?;
        for dir in &mut c.dirs {
            for (_, kind) in std::mem::take(&mut dir.early) {
                if let Kind::Data(payload) = kind {
                    self.lost.push(payload.lost);
                }
            }
        }
        Some(c)
    }

    /// Both ends that still hold `conn` hear `reason` now (each one's own stack gave up).
    fn break_conn(&mut self, conn: u64, reason: CloseReason) {
        let Some(c) = self.remove_conn(conn) else {
            return;
        };
        for end in 0..2 {
            if let End::Open(stream) = c.ends[end] {
                let node = c.nodes[end];
                self.by_end.remove(&(node, stream));
                let event = StreamEvent::Closed(reason);
                self.ready[node.0 as usize].push_back((stream, c.nodes[1 - end], event));
            }
        }
    }

    /// One segment attempt arrives.
    fn arrive(&mut self, segment: Segment, nemesis: &mut Nemesis) {
        let now_us = segment.at_us;
        let Some(c) = self.conns.get(&segment.conn) else {
            // The stream ended while this was on its way.
            if let Kind::Data(payload) = segment.kind {
                self.lost.push(payload.lost);
            }
            return;
        };
        let to_end = 1 - segment.from_end;
        let (from, to) = (c.nodes[segment.from_end], c.nodes[to_end]);
        match segment.kind {
            Kind::Probe => {
                let timeout_us = self.timeout_us;
                if c.cut_since_us
                    .is_some_and(|since| since + timeout_us <= now_us)
                {
                    self.break_conn(segment.conn, CloseReason::TimedOut);
                }
            }
            Kind::Reset(reason) => {
                // Resets are retried until they land, unless a partition stops them: then
                // the partition's timeout breaks the stream.
                if nemesis.is_cut(from, to) {
                    return;
                }
                if let End::Open(stream) = c.ends[to_end] {
                    self.by_end.remove(&(to, stream));
                    let event = StreamEvent::Closed(reason);
                    self.ready[to.0 as usize].push_back((stream, from, event));
                }
                self.remove_conn(segment.conn);
            }
            Kind::Open | Kind::Data(_) | Kind::Fin => {
                if c.ends[to_end] == End::Gone {
                    // Sent after the receiver closed: discarded, as TCP would.
                    if let Kind::Data(payload) = segment.kind {
                        self.lost.push(payload.lost);
                    }
                    return;
                }
                let window_full = self.ready[to.0 as usize].len() >= READY_EVENTS_MAX
                    && matches!(segment.kind, Kind::Data(_));
                let failed = nemesis.stream_attempt(from, to).is_some();
                if failed && now_us.saturating_sub(segment.first_us) >= self.timeout_us {
                    self.break_conn(segment.conn, CloseReason::TimedOut);
                    return;
                }
                if failed || window_full {
                    let at_us = now_us + self.rto_us();
                    let Segment {
                        conn,
                        from_end,
                        seq,
                        first_us,
                        kind,
                        ..
                    } = segment;
                    self.queue(at_us, conn, from_end, seq, first_us, kind);
                    return;
                }
                self.through(now_us, segment);
            }
        }
    }

    /// A sequenced segment got through: the receiver takes it and whatever it unblocks.
    fn through(&mut self, now_us: u64, segment: Segment) {
        let conn = segment.conn;
        let from_end = segment.from_end;
        let to_end = 1 - from_end;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let dir = &mut c.dirs[from_end];
        if segment.seq < dir.delivered {
            return;
        }
        dir.early.insert(segment.seq, segment.kind);
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let dir = &mut c.dirs[from_end];
            let Some(kind) = dir.early.remove(&dir.delivered) else {
                return;
            };
            dir.delivered += 1;
            let (from, to) = (c.nodes[from_end], c.nodes[to_end]);
            match (kind, c.ends[to_end]) {
                (Kind::Open, End::Pending) => self.accept(now_us, conn),
                (Kind::Open, End::Open(stream)) => {
                    self.ready[to.0 as usize].push_back((stream, from, StreamEvent::Connected));
                }
                (Kind::Data(payload), End::Open(stream)) => {
                    let event = StreamEvent::Message(payload.bytes);
                    self.ready[to.0 as usize].push_back((stream, from, event));
                }
                (Kind::Fin, End::Open(stream)) => {
                    self.by_end.remove(&(to, stream));
                    c.ends[to_end] = End::Gone;
                    let event = StreamEvent::Closed(CloseReason::PeerClosed);
                    self.ready[to.0 as usize].push_back((stream, from, event));
                    if c.ends[from_end] == End::Gone {
                        self.remove_conn(conn);
                    }
                    return;
                }
                // The acceptor refused the SYN, or the end went away meanwhile.
                (Kind::Data(payload), _) => {
                    self.lost.push(payload.lost);
                    return;
                }
                _ => return,
            }
        }
    }

    /// The SYN of `conn` reached its acceptor: it takes the stream, or refuses it.
    fn accept(&mut self, now_us: u64, conn: u64) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let [from, to] = c.nodes;
        let j = to.0 as usize;
        let refused = !self.listening[j]
            || self.open_streams(to) >= STREAMS_PER_NODE_MAX
            || self.accepted[j] >= StreamId::ACCEPTED;
        let end = match refused {
            true => End::Gone,
            false => End::Open(StreamId(StreamId::ACCEPTED + self.accepted[j])),
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.ends[1] = end;
        }
        let End::Open(stream) = end else {
            let at_us = now_us + self.latency(conn, 1);
            self.queue(at_us, conn, 1, 0, now_us, Kind::Reset(CloseReason::Refused));
            return;
        };
        self.accepted[j] += 1;
        self.by_end.insert((to, stream), (conn, 1));
        self.ready[j].push_back((stream, from, StreamEvent::Accepted));
        self.send_sequenced(now_us, conn, 1, Kind::Open);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: NodeId = NodeId(0);
    const B: NodeId = NodeId(1);

    /// Carries out every segment due by `until_us`.
    fn run_until(wire: &mut Wire, nemesis: &mut Nemesis, until_us: u64) {
        while let Some(at_us) = wire.next_due_us().filter(|at| *at <= until_us) {
            wire.pump(at_us, nemesis);
        }
    }

    fn drain(wire: &mut Wire, node: NodeId) -> Vec<StreamEvent<Vec<u8>>> {
        std::iter::from_fn(|| wire.take(node))
            .map(|(_, _, e)| e)
            .collect()
    }

    fn two_nodes(loss: f64) -> (Wire, Nemesis) {
        let mut wire = Wire::new(2, [1, 30], 5000, 9);
        wire.attach(A);
        wire.attach(B);
        (wire, Nemesis::new(2, loss, 9))
    }

    #[test]
    fn messages_arrive_once_in_order_under_loss_and_reordering_latencies() {
        let (mut wire, mut nemesis) = two_nodes(0.3);
        wire.connect(0, A, StreamId(0), B);
        for i in 0..200u32 {
            assert!(wire.send(u64::from(i) * 1000, A, StreamId(0), &i.to_le_bytes(), "N"));
        }
        run_until(&mut wire, &mut nemesis, 60_000_000);
        let got = drain(&mut wire, B);
        assert_eq!(got[0], StreamEvent::Accepted);
        let expected: Vec<_> = (0..200u32)
            .map(|i| StreamEvent::Message(i.to_le_bytes().to_vec()))
            .collect();
        assert_eq!(got[1..], expected[..]);
        assert_eq!(drain(&mut wire, A), [StreamEvent::Connected]);
    }

    #[test]
    fn a_link_cut_past_the_timeout_breaks_an_idle_stream_at_both_ends() {
        let (mut wire, mut nemesis) = two_nodes(0.0);
        wire.connect(0, A, StreamId(0), B);
        run_until(&mut wire, &mut nemesis, 1_000_000);
        drain(&mut wire, A);
        drain(&mut wire, B);
        nemesis.cut(&[(B, A)]);
        wire.links_changed(1_000_000, &nemesis);
        run_until(&mut wire, &mut nemesis, 5_999_999);
        assert!(drain(&mut wire, A).is_empty(), "not before the timeout");
        run_until(&mut wire, &mut nemesis, 6_000_000);
        let broken = [StreamEvent::Closed(CloseReason::TimedOut)];
        assert_eq!(drain(&mut wire, A), broken);
        assert_eq!(drain(&mut wire, B), broken);
        assert!(!wire.send(6_000_000, A, StreamId(0), b"late", "N"));
    }

    #[test]
    fn a_healed_cut_leaves_the_stream_alone() {
        let (mut wire, mut nemesis) = two_nodes(0.0);
        wire.connect(0, A, StreamId(0), B);
        run_until(&mut wire, &mut nemesis, 1_000_000);
        nemesis.cut(&[(A, B)]);
        wire.links_changed(1_000_000, &nemesis);
        nemesis.heal(&[(A, B)]);
        wire.links_changed(2_000_000, &nemesis);
        run_until(&mut wire, &mut nemesis, 10_000_000);
        assert_eq!(drain(&mut wire, A), [StreamEvent::Connected]);
        assert!(wire.send(10_000_000, A, StreamId(0), b"still here", "N"));
    }

    #[test]
    fn a_crash_reaches_the_peer_one_latency_later_and_a_close_after_the_data() {
        let (mut wire, mut nemesis) = two_nodes(0.0);
        wire.connect(0, A, StreamId(0), B);
        wire.connect(0, A, StreamId(1), B);
        run_until(&mut wire, &mut nemesis, 1_000_000);
        drain(&mut wire, A);
        drain(&mut wire, B);
        wire.send(1_000_000, A, StreamId(1), b"last", "N");
        wire.close(1_000_000, A, StreamId(1));
        run_until(&mut wire, &mut nemesis, 2_000_000);
        let closed = [
            StreamEvent::Message(b"last".to_vec()),
            StreamEvent::Closed(CloseReason::PeerClosed),
        ];
        assert_eq!(drain(&mut wire, B), closed);
        wire.crash(2_000_000, B);
        run_until(&mut wire, &mut nemesis, 2_030_000);
        assert_eq!(
            drain(&mut wire, A),
            [StreamEvent::Closed(CloseReason::PeerCrashed)]
        );
    }

    #[test]
    fn a_connect_to_a_node_that_is_down_is_refused_and_overflow_aborts() {
        let (mut wire, mut nemesis) = two_nodes(0.0);
        wire.crash(0, B);
        wire.connect(0, A, StreamId(0), B);
        run_until(&mut wire, &mut nemesis, 1_000_000);
        assert_eq!(
            drain(&mut wire, A),
            [StreamEvent::Closed(CloseReason::Refused)]
        );
        wire.attach(B);
        wire.connect(1_000_000, A, StreamId(1), B);
        for _ in 0..STREAM_MESSAGES_MAX - 1 {
            assert!(wire.send(1_000_000, A, StreamId(1), b"x", "N"));
        }
        assert!(!wire.send(1_000_000, A, StreamId(1), b"one too many", "N"));
        assert_eq!(
            drain(&mut wire, A),
            [StreamEvent::Closed(CloseReason::Overflow)]
        );
    }
}
