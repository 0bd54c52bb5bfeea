//! The node API: a protocol is a state machine with no I/O of its own.
//!
//! It reacts to start, a message and a timer, and answers through a [`Cx`], which only records
//! what the node asked for. The driver (simulated or real) carries those requests out, so the
//! same protocol code runs in the simulator, on a LAN and in a unit test.

pub mod stream;
pub mod timers;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::faults::byzantine::{Lie, TwistCx};
use crate::node::stream::{StreamAction, StreamEvent, StreamId};

/// A node's identity: its index in the scenario's node list. Protocols may compare ids
/// (the bully election orders servers by id).
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u16);

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A timer's number, as the runtime keeps it (pending timers, the trace). Setting a timer
/// that is already pending moves it.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TimerId(pub u32);

/// What a message is for. Reports and summaries group traffic by kind (an election's
/// messages are always drawn, heartbeats thinned first), so no report guesses from labels.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MsgKind {
    /// Choosing a leader: votes, ELECTION / OK / COORDINATOR.
    Election,
    /// Liveness: heartbeats, pings, probes.
    Heartbeat,
    /// Who is in the group: discovery, joins, leaves, views.
    Membership,
    /// Keeping replicas in step: log entries, state transfer, acknowledgements.
    Replication,
    /// A client's requests and the answers to them.
    Client,
    /// Work handed out and its results: tasks, subproblems, forwarded requests.
    Task,
    /// Snapshot markers and recorded state.
    Snapshot,
    /// Everything else the protocol needs to run.
    Control,
}

impl MsgKind {
    /// The kind's name in summaries ("election").
    pub fn name(self) -> &'static str {
        match self {
            MsgKind::Election => "election",
            MsgKind::Heartbeat => "heartbeat",
            MsgKind::Membership => "membership",
            MsgKind::Replication => "replication",
            MsgKind::Client => "client",
            MsgKind::Task => "task",
            MsgKind::Snapshot => "snapshot",
            MsgKind::Control => "control",
        }
    }
}

/// A protocol's timers, typed (an enum, one variant per timer), so that `on_timer` matches
/// them exhaustively. The runtime keeps only their numbers: `from_id(t.id())` must be
/// `Some(t)`, and a number the protocol never set may come back `None` (it is ignored).
pub trait Timer: Copy + fmt::Debug + 'static {
    /// The timer's number, which the trace shows.
    fn id(self) -> TimerId;
    /// The timer with this number, if there is one.
    fn from_id(id: TimerId) -> Option<Self>;
}

/// Raw numbers: the runtime's view of any node's timers.
impl Timer for TimerId {
    fn id(self) -> TimerId {
        self
    }
    fn from_id(id: TimerId) -> Option<Self> {
        Some(id)
    }
}

/// What travels between nodes.
pub trait Message: Serialize + DeserializeOwned + Clone + fmt::Debug + 'static {
    /// Every label the type uses, with its kind: the catalogue reports read traces with.
    /// A label missing from it counts as control traffic.
    const KINDS: &'static [(&'static str, MsgKind)] = &[];

    /// A short name, drawn on timelines and counted in summaries ("HB", "ELECTION"); one of
    /// [`Message::KINDS`].
    fn label(&self) -> &'static str;

    /// What this message is for.
    fn kind(&self) -> MsgKind {
        kind_of(Self::KINDS, self.label())
    }

    /// A meaningful lie in place of this message, for Byzantine fault injection
    /// ([`crate::faults::byzantine`]): `None` when the protocol knows no lie for it.
    fn twist(&self, _lie: Lie, _cx: &mut TwistCx<'_>) -> Option<Self> {
        None
    }
}

/// The kind of the messages labelled `label` in a catalogue ([`Message::KINDS`]); a label
/// the catalogue lacks counts as control traffic.
pub fn kind_of(kinds: &[(&str, MsgKind)], label: &str) -> MsgKind {
    kinds
        .iter()
        .find(|(l, _)| *l == label)
        .map_or(MsgKind::Control, |(_, k)| *k)
}

/// What a protocol reports about itself for checkers and the trace.
pub trait ProtoEvent: Serialize + DeserializeOwned + Clone + fmt::Debug + 'static {}
impl<T: Serialize + DeserializeOwned + Clone + fmt::Debug + 'static> ProtoEvent for T {}

/// A protocol's node: a state machine fed by the driver.
pub trait Node: 'static {
    /// The protocol's messages.
    type Msg: Message;
    /// The protocol's trace events.
    type Event: ProtoEvent;
    /// The node's timers.
    type Timer: Timer;
    /// Called at boot and after every restart; the durable store holds what survived.
    fn on_start(&mut self, cx: &mut Cx<'_, Self::Msg, Self::Event, Self::Timer>);
    /// Called for every datagram that arrived intact and decoded.
    fn on_message(
        &mut self,
        from: NodeId,
        msg: Self::Msg,
        cx: &mut Cx<'_, Self::Msg, Self::Event, Self::Timer>,
    );
    /// Called when a timer set through [`Cx::set_timer`] fires.
    fn on_timer(
        &mut self,
        timer: Self::Timer,
        cx: &mut Cx<'_, Self::Msg, Self::Event, Self::Timer>,
    );
    /// Called for everything that happens to a stream (see [`crate::node::stream`]): accepted,
    /// connected, a message, closed. A protocol that opens no stream can ignore it; an
    /// accepted stream it ignores stays open until the peer closes it.
    fn on_stream(
        &mut self,
        _stream: StreamId,
        _peer: NodeId,
        _event: StreamEvent<Self::Msg>,
        _cx: &mut Cx<'_, Self::Msg, Self::Event, Self::Timer>,
    ) {
    }
    /// Called when the harness hands the node a command to propose (a scenario's `submit`
    /// step, the 6.5840 lab's `Start()`); `command` is its number in the run, unique. A
    /// protocol that takes submits ([`crate::Protocol::TAKES_SUBMITS`]) proposes it if it
    /// can (a Raft leader appends it) and ignores it otherwise.
    fn on_submit(&mut self, _command: u64, _cx: &mut Cx<'_, Self::Msg, Self::Event, Self::Timer>) {}
}

/// A node behind a box: the world holds servers and clients of one protocol side by side,
/// each with timers of its own type, so the box shows them by number.
pub type BoxNode<M, E> = Box<dyn AnyNode<M, E>>;

/// Any node of a protocol, its timers by number: what a [`BoxNode`] holds. Every [`Node`] is
/// one; nothing else needs to implement it.
pub trait AnyNode<M, E>: 'static {
    /// [`Node::on_start`].
    fn start(&mut self, cx: &mut Cx<'_, M, E>);
    /// [`Node::on_message`].
    fn message(&mut self, from: NodeId, msg: M, cx: &mut Cx<'_, M, E>);
    /// [`Node::on_timer`], for a timer number the node may not know.
    fn timer(&mut self, timer: TimerId, cx: &mut Cx<'_, M, E>);
    /// [`Node::on_stream`].
    fn stream(
        &mut self,
        stream: StreamId,
        peer: NodeId,
        event: StreamEvent<M>,
        cx: &mut Cx<'_, M, E>,
    );
    /// [`Node::on_submit`].
    fn submit(&mut self, command: u64, cx: &mut Cx<'_, M, E>);
}

impl<N: Node> AnyNode<N::Msg, N::Event> for N {
    fn start(&mut self, cx: &mut Cx<'_, N::Msg, N::Event>) {
        self.on_start(&mut cx.retimed())
    }
    fn message(&mut self, from: NodeId, msg: N::Msg, cx: &mut Cx<'_, N::Msg, N::Event>) {
        self.on_message(from, msg, &mut cx.retimed())
    }
    fn timer(&mut self, timer: TimerId, cx: &mut Cx<'_, N::Msg, N::Event>) {
        // The runtime fires only numbers the node set; a stranger (a fuzzer's) is ignored.
        if let Some(timer) = N::Timer::from_id(timer) {
            self.on_timer(timer, &mut cx.retimed())
        }
    }
    fn stream(
        &mut self,
        stream: StreamId,
        peer: NodeId,
        event: StreamEvent<N::Msg>,
        cx: &mut Cx<'_, N::Msg, N::Event>,
    ) {
        self.on_stream(stream, peer, event, &mut cx.retimed())
    }
    fn submit(&mut self, command: u64, cx: &mut Cx<'_, N::Msg, N::Event>) {
        self.on_submit(command, &mut cx.retimed())
    }
}

impl<M: Message, E: ProtoEvent> Node for BoxNode<M, E> {
    type Msg = M;
    type Event = E;
    type Timer = TimerId;
    fn on_start(&mut self, cx: &mut Cx<'_, M, E>) {
        (**self).start(cx)
    }
    fn on_message(&mut self, from: NodeId, msg: M, cx: &mut Cx<'_, M, E>) {
        (**self).message(from, msg, cx)
    }
    fn on_timer(&mut self, timer: TimerId, cx: &mut Cx<'_, M, E>) {
        (**self).timer(timer, cx)
    }
    fn on_stream(
        &mut self,
        stream: StreamId,
        peer: NodeId,
        event: StreamEvent<M>,
        cx: &mut Cx<'_, M, E>,
    ) {
        (**self).stream(stream, peer, event, cx)
    }
    fn on_submit(&mut self, command: u64, cx: &mut Cx<'_, M, E>) {
        (**self).submit(command, cx)
    }
}

/// One request a node made during a callback.
#[derive(Clone, Debug, PartialEq)]
pub enum Action<M> {
    /// Send to one node.
    Send(NodeId, M),
    /// Send to every member of the node's multicast group (itself excluded).
    Multicast(M),
    /// Fire `TimerId` after the duration; replaces a pending timer with the same id.
    SetTimer(TimerId, Duration),
    /// Forget a pending timer.
    CancelTimer(TimerId),
}

/// Something a node reports. The first three are understood by every report and checker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Note<E> {
    /// The node now plays this role ("leader", "follower", "candidate", "client"...).
    Role(String),
    /// The node started an election.
    ElectionStarted,
    /// The node now follows this leader (`None`: it knows of no leader).
    Leader(Option<NodeId>),
    /// A protocol-specific event.
    Proto(E),
}

/// What survives a crash: a small key-value store the driver persists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durable {
    /// Keys are chosen by the protocol; values are opaque bytes. A hash map: Raft keeps a
    /// key per log slot, thousands of them, and an ordered map compared key strings a
    /// dozen times on every write. The hasher is unseeded and the map is stored in key
    /// order, so nothing depends on the process.
    #[serde(serialize_with = "in_key_order")]
    pub entries: HashMap<String, Vec<u8>, rustc_hash::FxBuildHasher>,
}

/// Serializes a map in key order.
fn in_key_order<S: serde::Serializer, V: Serialize, H>(
    map: &HashMap<String, V, H>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    map.iter().collect::<BTreeMap<_, _>>().serialize(serializer)
}

/// What one callback asked for, drained by the driver after the callback returns.
#[derive(Debug)]
pub struct Effects<M, E> {
    /// Sends, multicasts and timer requests, in the order they were made.
    pub actions: Vec<Action<M>>,
    /// Trace notes, in the order they were made.
    pub notes: Vec<Note<E>>,
    /// The callback wrote to the durable store (the driver persists it).
    pub durable_written: bool,
    /// The node has finished its work: the driver returns after this callback.
    pub stop: bool,
    /// Stream requests, in the order they were made (kept apart from `actions`, whose
    /// matches in protocol tests stay as they were).
    pub streams: Vec<StreamAction<M>>,
    /// Streams opened so far; not cleared between callbacks, so that the ids
    /// [`Cx::connect`] hands out are unique for the life of the effects (a node incarnation).
    pub streams_opened: u32,
}

impl<M, E> Default for Effects<M, E> {
    fn default() -> Self {
        Effects {
            actions: Vec::new(),
            notes: Vec::new(),
            durable_written: false,
            stop: false,
            streams: Vec::new(),
            streams_opened: 0,
        }
    }
}

impl<M, E> Effects<M, E> {
    /// Forget everything recorded (buffers keep their capacity).
    pub fn clear(&mut self) {
        self.actions.clear();
        self.notes.clear();
        self.durable_written = false;
        self.stop = false;
        self.streams.clear();
    }
}

/// The context a node answers through. It performs no I/O: it records. `T` is the node's
/// [`Timer`] type.
pub struct Cx<'a, M, E, T = TimerId> {
    me: NodeId,
    now_us: u64,
    rng: &'a mut ChaCha8Rng,
    durable: &'a mut Durable,
    effects: &'a mut Effects<M, E>,
    timers: PhantomData<fn(T)>,
}

impl<'a, M, E, T: Timer> Cx<'a, M, E, T> {
    /// Builds a context; drivers and unit tests call this.
    pub fn new(
        me: NodeId,
        now_us: u64,
        rng: &'a mut ChaCha8Rng,
        durable: &'a mut Durable,
        effects: &'a mut Effects<M, E>,
    ) -> Self {
        Cx {
            me,
            now_us,
            rng,
            durable,
            effects,
            timers: PhantomData,
        }
    }

    /// The same context for a node with timers of type `U` (the runtime's numbers to a
    /// protocol's enum, or back).
    pub(crate) fn retimed<U: Timer>(&mut self) -> Cx<'_, M, E, U> {
        Cx::new(self.me, self.now_us, self.rng, self.durable, self.effects)
    }

    /// Runs `f` with a context for a node of another protocol (its own message, event and
    /// timer types), sharing this node's clock, random source and durable store, then carries
    /// out what it asked for through `msg` and `event`: how a protocol embeds another's node
    /// as is (the cache protocol runs Raft's replica). Timer numbers pass unchanged, so the
    /// embedding node keeps its own timers apart from the embedded one's.
    pub fn embed<M2, E2, T2: Timer, R>(
        &mut self,
        msg: impl Fn(M2) -> M,
        event: impl Fn(E2) -> E,
        f: impl FnOnce(&mut Cx<'_, M2, E2, T2>) -> R,
    ) -> R {
        let mut inner: Effects<M2, E2> = Effects {
            streams_opened: self.effects.streams_opened,
            ..Effects::default()
        };
        let out = f(&mut Cx::new(
            self.me,
            self.now_us,
            self.rng,
            self.durable,
            &mut inner,
        ));
        let fx = &mut *self.effects;
        fx.actions
            .extend(inner.actions.into_iter().map(|a| match a {
                Action::Send(to, m) => Action::Send(to, msg(m)),
                Action::Multicast(m) => Action::Multicast(msg(m)),
                Action::SetTimer(t, d) => Action::SetTimer(t, d),
                Action::CancelTimer(t) => Action::CancelTimer(t),
            }));
        fx.notes.extend(inner.notes.into_iter().map(|n| match n {
            Note::Role(r) => Note::Role(r),
            Note::ElectionStarted => Note::ElectionStarted,
            Note::Leader(l) => Note::Leader(l),
            Note::Proto(e) => Note::Proto(event(e)),
        }));
        fx.streams
            .extend(inner.streams.into_iter().map(|s| match s {
                StreamAction::Connect(id, to) => StreamAction::Connect(id, to),
                StreamAction::Send(id, m) => StreamAction::Send(id, msg(m)),
                StreamAction::Close(id) => StreamAction::Close(id),
            }));
        fx.durable_written |= inner.durable_written;
        fx.stop |= inner.stop;
        fx.streams_opened = inner.streams_opened;
        out
    }

    /// This node's id.
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// Microseconds since the run started (simulated or wall-clock), monotonic.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Milliseconds since the run started.
    pub fn now_ms(&self) -> u64 {
        self.now_us / 1000
    }

    /// The node's seeded random source; the only randomness a protocol may use.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }

    /// Sends `msg` to `to`.
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.effects.actions.push(Action::Send(to, msg));
    }

    /// Sends `msg` to every other member of the multicast group.
    pub fn multicast(&mut self, msg: M) {
        self.effects.actions.push(Action::Multicast(msg));
    }

    /// Fires `timer` after `after`, replacing it if it is pending.
    pub fn set_timer(&mut self, timer: T, after: Duration) {
        self.effects
            .actions
            .push(Action::SetTimer(timer.id(), after));
    }

    /// Cancels `timer` if it is pending.
    pub fn cancel_timer(&mut self, timer: T) {
        self.effects.actions.push(Action::CancelTimer(timer.id()));
    }

    /// Opens a stream to `to` and returns its id at once; [`Node::on_stream`] hears
    /// `Connected` after a round trip, or `Closed(Refused)`. Messages sent before it is
    /// connected go after the handshake.
    pub fn connect(&mut self, to: NodeId) -> StreamId {
        let n = self.effects.streams_opened;
        // 2^31 connects in one incarnation would need a connect per microsecond for half an
        // hour; the ids of accepted streams start there.
        assert!(
            n < StreamId::ACCEPTED,
            "stream ids of this incarnation exhausted"
        );
        self.effects.streams_opened += 1;
        let stream = StreamId(n);
        self.effects.streams.push(StreamAction::Connect(stream, to));
        stream
    }

    /// Sends `msg` on `stream`, after everything sent on it before.
    pub fn stream_send(&mut self, stream: StreamId, msg: M) {
        self.effects.streams.push(StreamAction::Send(stream, msg));
    }

    /// Closes `stream`: what was sent on it still arrives, then the peer hears
    /// `Closed(PeerClosed)`. This node hears nothing more of it.
    pub fn close(&mut self, stream: StreamId) {
        self.effects.streams.push(StreamAction::Close(stream));
    }

    /// Reads a durable value.
    pub fn durable_get(&self, key: &str) -> Option<&[u8]> {
        self.durable.entries.get(key).map(Vec::as_slice)
    }

    /// Writes a durable value; it survives a crash once the callback returns.
    pub fn durable_put(&mut self, key: &str, value: Vec<u8>) {
        match self.durable.entries.get_mut(key) {
            Some(old) => *old = value,
            None => {
                self.durable.entries.insert(key.to_string(), value);
            }
        }
        self.effects.durable_written = true;
    }

    /// Reports the node's role.
    pub fn role(&mut self, role: &str) {
        self.effects.notes.push(Note::Role(role.to_string()));
    }

    /// Reports that the node started an election.
    pub fn election_started(&mut self) {
        self.effects.notes.push(Note::ElectionStarted);
    }

    /// Reports the leader this node now follows.
    pub fn leader(&mut self, leader: Option<NodeId>) {
        self.effects.notes.push(Note::Leader(leader));
    }

    /// Reports a protocol event.
    pub fn emit(&mut self, event: E) {
        self.effects.notes.push(Note::Proto(event));
    }

    /// Ends the node once this callback's requests are carried out (a one-shot client that has
    /// its answer). A server never calls it.
    pub fn stop(&mut self) {
        self.effects.stop = true;
    }
}
