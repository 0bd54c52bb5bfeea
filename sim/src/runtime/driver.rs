//! The one driver: feeds a [`Node`] from its transport and timers, carries out what it asked
//! for, and records everything. It compiles in both flavors; only [`Transport`] and the
//! [`Host`] it is given differ between the simulator and a real process.
//!
//! Streams ([`crate::node::stream`]) go through the same driver: it carries a node's stream
//! requests to the transport after its datagram requests, traces each message sent as `send`
//! and each one handed over as `deliver` (with an id and label, as for a datagram), and each
//! stream's opening and end as `stream_open` / `stream_close`. Stream messages are encoded,
//! signed and checked as datagrams are; a Byzantine node's lies apply to datagrams only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::faults::byzantine::{Behaviour, Byzantine, Liar, Plan};
use crate::faults::nemesis::Arrival;
use crate::node::stream::{CloseReason, StreamAction, StreamEvent, StreamId};
use crate::node::{Action, Cx, Durable, Effects, Message, Node, NodeId, Timer, TimerId};
use crate::runtime::alarm::Alarm;
use crate::runtime::auth::Keyring;
use crate::runtime::node_clock::NodeClock;
use crate::runtime::submits::Submits;
use crate::runtime::transport::Transport;
use crate::runtime::wire::{self, Envelope};
use crate::trace::{DropReason, Ev};

/// What a driver needs from the world it runs in (the simulator's shared state, or a real
/// process's trace file and drop rules).
pub trait Host<E>: Send + Sync + 'static {
    /// Microseconds since the run started.
    fn now_us(&self) -> u64;
    /// Appends an event to the trace.
    fn record(&self, node: NodeId, ev: Ev<E>);
    /// Decides whether and how a datagram of kind `label` from `from` reaches `to`
    /// (partitions, loss, noise).
    fn arrival(&self, from: NodeId, to: NodeId, label: &str) -> Arrival;
    /// How the node lies in what it sends, if it does now.
    fn byzantine(&self, node: NodeId) -> Option<Byzantine>;
    /// Persists a callback's durable writes together with the records of its notes, so that
    /// a crash cannot keep one and lose the other.
    fn commit(&self, node: NodeId, durable: &Durable, records: Vec<Ev<E>>);
    /// The driver is going away (a simulated crash drops it, or the run ended) and hands
    /// back its durable store. A host that persists every commit has nothing left to do.
    fn release(&self, _node: NodeId, _durable: Durable) {}
    /// A datagram id unique across the whole run, restarts included.
    fn next_msg_id(&self, node: NodeId) -> u64;
    /// The run is over: the driver returns.
    fn stopped(&self) -> bool;
    /// The node's own clock (skew, drift): what it reads and how long its timers last.
    fn clock(&self, _node: NodeId) -> NodeClock {
        NodeClock::default()
    }
    /// When the node, paused now, resumes (in [`Host::now_us`] time); `None` while it runs.
    fn paused_until(&self, _node: NodeId) -> Option<u64> {
        None
    }
    /// The queue the harness hands the node commands through (a scenario's `submit`
    /// steps), when the run has any; `None` otherwise, and the driver does not wait on it.
    fn submits(&self, _node: NodeId) -> Option<Arc<Submits>> {
        None
    }
}

/// What woke a waiting driver.
enum Wake {
    /// A timer is due.
    Alarm,
    /// A datagram, of this length, is in the buffer.
    Datagram(std::io::Result<usize>),
    /// A stream event.
    Stream(StreamId, NodeId, StreamEvent<Vec<u8>>),
    /// The harness may have queued commands.
    Submit,
}

/// Pending timers; equal deadlines fire in id order, so that the order is deterministic.
///
/// A node keeps a handful of timers and moves them all the time (a Raft follower's election
/// timer on every heartbeat): a short vector searched from end to end costs less than the
/// two ordered sets it replaced.
#[derive(Default)]
struct Timers {
    /// (deadline, timer) of each pending timer, in no order.
    pending: Vec<(u64, TimerId)>,
}

impl Timers {
    fn set(&mut self, timer: TimerId, deadline_us: u64) {
        match self.pending.iter_mut().find(|(_, t)| *t == timer) {
            Some(entry) => entry.0 = deadline_us,
            None => self.pending.push((deadline_us, timer)),
        }
    }

    fn cancel(&mut self, timer: TimerId) {
        self.pending.retain(|(_, t)| *t != timer);
    }

    fn next_deadline(&self) -> Option<u64> {
        self.pending.iter().map(|(d, _)| *d).min()
    }

    fn pop_due(&mut self, now_us: u64) -> Option<TimerId> {
        let (i, &(deadline, timer)) = self
            .pending
            .iter()
            .enumerate()
            .min_by_key(|(_, entry)| **entry)?;
        if deadline > now_us {
            return None;
        }
        self.pending.swap_remove(i);
        Some(timer)
    }
}

/// Runs `node` until the host stops. `durable` is what survived the last crash; `keys`, when
/// given, authenticate every datagram sent and received.
pub async fn run<N, H>(
    node: N,
    me: NodeId,
    host: Arc<H>,
    transport: Transport,
    durable: Durable,
    rng: ChaCha8Rng,
    keys: Option<Keyring>,
) where
    N: Node,
    H: Host<N::Event>,
{
    // The host's clock may count from anywhere (the run's start, or the Unix epoch on a real
    // node); timer deadlines are placed relative to this moment.
    let started = tokio::time::Instant::now();
    let started_us = host.now_us();
    let at = |us: u64| started + Duration::from_micros(us.saturating_sub(started_us));
    // The liar draws from its own stream: an honest run's draws stay as they were.
    let mut liar_rng = rng.clone();
    liar_rng.set_stream(rng.get_stream() ^ (1 << 63));
    let nodes = transport.nodes();
    let clock = host.clock(me);
    let mut d = Driver {
        node,
        me,
        nodes,
        clock,
        host,
        transport: Arc::new(transport),
        keys,
        timers: Timers::default(),
        effects: Effects::default(),
        durable,
        rng,
        out: Vec::with_capacity(512),
        liar: Liar::new(liar_rng),
        streams: BTreeMap::new(),
    };
    let mut buf = vec![0u8; wire::DATAGRAM_BYTES_MAX + 1];

    let now = d.host.now_us();
    d.callback(now, |node, cx| node.on_start(cx));
    if d.apply(now).await {
        return;
    }

    let far = Duration::from_secs(24 * 3600);
    let mut alarm = Alarm::new(started + far);
    // The deadline the alarm was last set to: most turns of the loop (a datagram) leave the
    // timers as they were, and turning microseconds into an instant is not free.
    let mut alarm_us = None;
    let submits = d.host.submits(me);
    loop {
        if d.host.stopped() {
            return;
        }
        let next_us = d.timers.next_deadline();
        if next_us != alarm_us {
            alarm.set(next_us.map_or(started + far, at));
            alarm_us = next_us;
        }
        // `biased`: an unbiased select! polls branches in an order drawn from a random source
        // outside the seed, which breaks determinism; timers first, so a flood of datagrams
        // cannot starve them.
        let wake = tokio::select! {
            biased;
            () = std::future::poll_fn(|cx| alarm.poll_ring(cx)) => Wake::Alarm,
            () = wait_submits(&submits), if submits.is_some() => Wake::Submit,
            received = d.transport.recv(&mut buf) => Wake::Datagram(received),
            (stream, peer, event) = d.transport.stream_recv() => Wake::Stream(stream, peer, event),
        };
        // A pause that began while the node waited: what woke it waits with it.
        while let Some(until_us) = d.host.paused_until(me) {
            tokio::time::sleep_until(at(until_us)).await;
        }
        match wake {
            Wake::Alarm => {
                let now = d.host.now_us();
                while let Some(timer) = d.timers.pop_due(now) {
                    if d.on_timer(timer, now).await {
                        return;
                    }
                }
            }
            Wake::Datagram(received) => {
                if let Ok(len) = received {
                    if d.deliver(&buf[..len]).await {
                        return;
                    }
                }
            }
            Wake::Stream(stream, peer, event) => {
                if d.on_stream(stream, peer, event).await {
                    return;
                }
            }
            Wake::Submit => {
                let commands = submits.as_ref().map(|s| s.take()).unwrap_or_default();
                for command in commands {
                    if d.on_submit(command).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Waits for the harness's queue, when there is one (never, when there is none).
async fn wait_submits(submits: &Option<Arc<Submits>>) {
    match submits {
        Some(submits) => submits.ready().await,
        None => std::future::pending().await,
    }
}

/// Everything one node's driver holds between callbacks.
struct Driver<N: Node, H: Host<N::Event>> {
    /// The protocol's state machine.
    node: N,
    /// Its id.
    me: NodeId,
    /// How many nodes the run has.
    nodes: u16,
    /// Its own clock: what it reads, how long its timers last.
    clock: NodeClock,
    /// The world it runs in.
    host: Arc<H>,
    /// Its sockets (shared with delayed sends).
    transport: Arc<Transport>,
    /// Its pairwise keys, when the protocol authenticates senders.
    keys: Option<Keyring>,
    /// Pending timers.
    timers: Timers,
    /// What the current callback asked for.
    effects: Effects<N::Msg, N::Event>,
    /// Its durable store.
    durable: Durable,
    /// Its seeded random source.
    rng: ChaCha8Rng,
    /// Encoding buffer.
    out: Vec<u8>,
    /// What it does when it turns Byzantine.
    liar: Liar,
    /// The node's streams and their peers, from its connect (or the accept) to its close
    /// (or the event that ended it); at most as many as the transport lets it hold.
    streams: BTreeMap<StreamId, NodeId>,
}

impl<N: Node, H: Host<N::Event>> Driver<N, H> {
    /// Fires one timer. Returns true when the node asked to stop.
    async fn on_timer(&mut self, timer: TimerId, now: u64) -> bool {
        self.host.record(self.me, Ev::Timer { timer: timer.0 });
        // Only numbers the node set are pending, and each is one of its timers.
        let Some(timer) = N::Timer::from_id(timer) else {
            return false;
        };
        self.callback(now, |node, cx| node.on_timer(timer, cx));
        self.apply(now).await
    }

    /// Hands the node one submitted command. Returns true when the node asked to stop.
    async fn on_submit(&mut self, command: u64) -> bool {
        let now = self.host.now_us();
        self.callback(now, |node, cx| node.on_submit(command, cx));
        self.apply(now).await
    }

    /// Runs one of the node's callbacks at `now` (run time) with its context: its id, its
    /// own clock's reading, its random source, durable store and requests.
    fn callback(
        &mut self,
        now: u64,
        f: impl FnOnce(&mut N, &mut Cx<'_, N::Msg, N::Event, N::Timer>),
    ) {
        let mut cx = Cx::new(
            self.me,
            self.clock.local_us(now),
            &mut self.rng,
            &mut self.durable,
            &mut self.effects,
        );
        f(&mut self.node, &mut cx);
    }

    /// Checks, authenticates, decodes and hands one datagram to the node; a bad one is traced
    /// and dropped. Returns true when the node asked to stop.
    async fn deliver(&mut self, datagram: &[u8]) -> bool {
        let me = self.me;
        let Some(env) = self.open(datagram) else {
            return false;
        };
        // Our own multicast, looped back by the kernel in the real flavor.
        if env.from == me {
            return false;
        }
        self.liar.remember(datagram);
        let label: std::borrow::Cow<'static, str> = env.msg.label().into();
        // At most two copies (a duplicate), without a vector for the usual one.
        let (env, copy) = match self.host.arrival(env.from, me, &label) {
            Arrival::Drop(reason) => {
                self.host.record(
                    me,
                    Ev::Drop {
                        from: env.from,
                        to: me,
                        id: env.id,
                        label,
                        reason,
                    },
                );
                return false;
            }
            Arrival::Corrupt(bits) => {
                // Noise on the wire: flip bits, and let the checks below find it (or not).
                let mut noisy = datagram.to_vec();
                flip_bits(&mut noisy, bits);
                match self.open(&noisy) {
                    Some(env) if env.from != me => (env, None),
                    _ => return false,
                }
            }
            Arrival::Duplicate => (env.clone(), Some(env)),
            Arrival::Deliver => (env, None),
        };
        for env in std::iter::once(env).chain(copy) {
            let now = self.host.now_us();
            self.host.record(
                me,
                Ev::Deliver {
                    from: env.from,
                    id: env.id,
                    label: env.msg.label().into(),
                },
            );
            self.callback(now, |node, cx| node.on_message(env.from, env.msg, cx));
            if self.apply(now).await {
                return true;
            }
        }
        false
    }

    /// Hands one stream event to the node, tracing it. Events of a stream the node no longer
    /// holds (it closed it, or a bad message reset it) are ignored. Returns true when the
    /// node asked to stop.
    async fn on_stream(
        &mut self,
        stream: StreamId,
        peer: NodeId,
        event: StreamEvent<Vec<u8>>,
    ) -> bool {
        let me = self.me;
        if stream == StreamId::NONE {
            if let StreamEvent::Message(bytes) = event {
                let bytes = bytes.len() as u32;
                self.host.record(me, Ev::Corrupt { bytes });
            }
            return false;
        }
        // The peer is the one the driver knows: a transport's word is taken only at accept.
        let known = self.streams.get(&stream).copied();
        let peer = known.unwrap_or(peer);
        let event = match event {
            StreamEvent::Accepted => {
                if self.streams.contains_key(&stream) {
                    return false;
                }
                self.streams.insert(stream, peer);
                let outgoing = false;
                let ev = Ev::StreamOpen {
                    stream,
                    peer,
                    outgoing,
                };
                self.host.record(me, ev);
                StreamEvent::Accepted
            }
            _ if known.is_none() => return false,
            StreamEvent::Connected => {
                let outgoing = true;
                self.host.record(
                    me,
                    Ev::StreamOpen {
                        stream,
                        peer,
                        outgoing,
                    },
                );
                StreamEvent::Connected
            }
            StreamEvent::Message(bytes) => match self.open(&bytes) {
                Some(env) if env.from == peer => {
                    let (id, label) = (env.id, env.msg.label().into());
                    self.host.record(
                        me,
                        Ev::Deliver {
                            from: peer,
                            id,
                            label,
                        },
                    );
                    StreamEvent::Message(env.msg)
                }
                // Refused and traced by `open`, or a message claiming another sender: the
                // stream can no longer be trusted to carry the peer's messages in order.
                bad => {
                    if bad.is_some() {
                        let bytes = bytes.len() as u32;
                        self.host.record(me, Ev::Corrupt { bytes });
                    }
                    self.transport.close(stream);
                    self.end_stream(stream, peer, Some(CloseReason::Reset))
                }
            },
            StreamEvent::Closed(reason) => self.end_stream(stream, peer, Some(reason)),
        };
        let now = self.host.now_us();
        self.callback(now, |node, cx| node.on_stream(stream, peer, event, cx));
        self.apply(now).await
    }

    /// Forgets a stream that ended for `reason` (`None`: the node closed it) and traces it;
    /// returns the event that tells the node.
    fn end_stream(
        &mut self,
        stream: StreamId,
        peer: NodeId,
        reason: Option<CloseReason>,
    ) -> StreamEvent<N::Msg> {
        self.streams.remove(&stream);
        let ev = Ev::StreamClose {
            stream,
            peer,
            reason,
        };
        self.host.record(self.me, ev);
        StreamEvent::Closed(reason.unwrap_or(CloseReason::Reset))
    }

    /// Carries out one stream request of the node.
    fn stream_action(&mut self, action: StreamAction<N::Msg>) {
        let me = self.me;
        match action {
            StreamAction::Connect(stream, to) => {
                self.streams.insert(stream, to);
                self.transport.connect(stream, to);
            }
            StreamAction::Send(stream, msg) => {
                let peer = self.streams.get(&stream).copied();
                let Some(id) = self.encode(Some(peer.unwrap_or(me)), &msg, me) else {
                    return;
                };
                let label = msg.label();
                if peer.is_some() && self.transport.stream_send(stream, &self.out, label) {
                    let label = label.into();
                    self.host.record(
                        me,
                        Ev::Send {
                            to: peer,
                            id,
                            label,
                        },
                    );
                } else {
                    let label = label.into();
                    let (from, to, reason) = (me, peer.unwrap_or(me), DropReason::Closed);
                    self.host.record(
                        me,
                        Ev::Drop {
                            from,
                            to,
                            id,
                            label,
                            reason,
                        },
                    );
                }
            }
            StreamAction::Close(stream) => {
                if let Some(peer) = self.streams.get(&stream).copied() {
                    self.transport.close(stream);
                    self.end_stream(stream, peer, None);
                }
            }
        }
    }

    /// Verifies and decodes a datagram; records why when it cannot.
    fn open(&self, datagram: &[u8]) -> Option<Envelope<N::Msg>> {
        let me = self.me;
        let corrupt = || {
            let bytes = datagram.len() as u32;
            self.host.record(me, Ev::Corrupt { bytes });
        };
        let Some(keys) = &self.keys else {
            return wire::decode(datagram).map_err(|_| corrupt()).ok();
        };
        let Some(frame_len) = wire::frame_len(datagram) else {
            corrupt();
            return None;
        };
        let (frame, trailer) = datagram.split_at(frame_len);
        let env: Envelope<N::Msg> = wire::decode(frame).map_err(|_| corrupt()).ok()?;
        if env.from != me && !keys.verify(env.from, frame, trailer) {
            self.host.record(
                me,
                Ev::Drop {
                    from: env.from,
                    to: me,
                    id: env.id,
                    label: env.msg.label().into(),
                    reason: DropReason::Forged,
                },
            );
            return None;
        }
        Some(env)
    }

    /// Carries out what one callback asked for, in the order it asked.
    /// Returns true when the node asked to stop.
    async fn apply(&mut self, now_us: u64) -> bool {
        let me = self.me;
        let records = self.effects.notes.drain(..).map(Ev::from);
        // Durable state first: what the node persisted must survive a crash that follows a
        // send. Its notes go with it, in one commit: they may announce what it wrote.
        if !self.effects.durable_written {
            for ev in records {
                self.host.record(me, ev);
            }
        } else {
            let records = records.collect();
            self.host.commit(me, &self.durable, records);
        }
        if !self.effects.actions.is_empty() {
            self.liar.byzantine = self.host.byzantine(me);
        }
        let mut actions = std::mem::take(&mut self.effects.actions);
        for action in actions.drain(..) {
            match action {
                Action::SetTimer(timer, after) => {
                    let after_us = self.clock.true_after_us(after.as_micros() as u64);
                    self.timers.set(timer, now_us + after_us)
                }
                Action::CancelTimer(timer) => self.timers.cancel(timer),
                Action::Send(to, msg) => self.send(Some(to), msg).await,
                Action::Multicast(msg) => self.send(None, msg).await,
            }
        }
        // Hand the buffer back, so its capacity is reused.
        self.effects.actions = actions;
        if !self.effects.streams.is_empty() {
            let mut requests = std::mem::take(&mut self.effects.streams);
            for request in requests.drain(..) {
                self.stream_action(request);
            }
            self.effects.streams = requests;
        }
        let stop = self.effects.stop;
        self.effects.clear();
        stop
    }

    /// Sends one message to `to` (`None`: the group), as the node asked or as its Byzantine
    /// behaviour twists it.
    async fn send(&mut self, to: Option<NodeId>, msg: N::Msg) {
        let me = self.me;
        if !self.liar.active() {
            self.transmit(to, &msg, me, None).await;
            return;
        }
        match self.liar.plan(me, self.nodes, to, &msg) {
            Plan::Honest => {
                self.transmit(to, &msg, me, None).await;
            }
            Plan::Twisted(copies) => {
                let how = self.liar.byzantine.map(|b| b.behaviour);
                for copy in copies {
                    let lie = if copy.lied { how } else { None };
                    self.transmit(copy.to, &copy.msg, copy.claimed, lie).await;
                }
            }
            Plan::Corrupt => {
                self.transmit(to, &msg, me, Some(Behaviour::Corrupt)).await;
            }
            Plan::Duplicate(extra) => {
                if self.transmit(to, &msg, me, None).await.is_some() {
                    for _ in 0..extra {
                        self.emit(to, self.out.clone(), Behaviour::Duplicate).await;
                    }
                }
            }
            Plan::Replay => {
                self.transmit(to, &msg, me, None).await;
                if let Some((old, to)) = self.liar.replay(self.nodes, me) {
                    self.emit(to, old, Behaviour::Replay).await;
                }
            }
            Plan::Delay(after) => {
                let Some(id) = self.encode(to, &msg, me) else {
                    return;
                };
                self.record_send(to, id, &msg);
                self.host.record(
                    me,
                    Ev::Lie {
                        how: Behaviour::Delay,
                        id,
                    },
                );
                let (transport, bytes) = (self.transport.clone(), self.out.clone());
                let label = msg.label();
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    match to {
                        Some(to) => {
                            transport.send(to, &bytes, label).await;
                        }
                        None => transport.multicast(&bytes, label).await,
                    }
                });
            }
        }
    }

    /// Encodes (claiming `from`), signs, sends and records one message; `lie` marks it as a
    /// Byzantine twist. Returns the datagram's id, `None` when it could not be sent.
    async fn transmit(
        &mut self,
        to: Option<NodeId>,
        msg: &N::Msg,
        from: NodeId,
        lie: Option<Behaviour>,
    ) -> Option<u64> {
        let me = self.me;
        let id = self.encode(to, msg, from)?;
        if lie == Some(Behaviour::Corrupt) {
            self.liar.corrupt(&mut self.out);
        }
        self.liar.remember(&self.out);
        let sent = match to {
            Some(to) => self.transport.send(to, &self.out, msg.label()).await,
            None => {
                self.transport.multicast(&self.out, msg.label()).await;
                true
            }
        };
        if !sent {
            let to = to.unwrap_or(me);
            let label = msg.label().into();
            let reason = DropReason::NoRoute;
            self.host.record(
                me,
                Ev::Drop {
                    from: me,
                    to,
                    id,
                    label,
                    reason,
                },
            );
            return None;
        }
        self.record_send(to, id, msg);
        if let Some(how) = lie {
            self.host.record(me, Ev::Lie { how, id });
        }
        Some(id)
    }

    /// Encodes `msg` into `out` with a fresh id, claiming `from`, and signs it for its
    /// recipients. `None` (and a trace record) when it is too big to send.
    fn encode(&mut self, to: Option<NodeId>, msg: &N::Msg, from: NodeId) -> Option<u64> {
        let me = self.me;
        let id = self.host.next_msg_id(me);
        if wire::encode(from, id, msg, &mut self.out).is_err() {
            self.host.record(me, Ev::Corrupt { bytes: 0 });
            return None;
        }
        if let Some(keys) = &self.keys {
            match to {
                Some(to) => keys.sign(&mut self.out, [to]),
                None => keys.sign(&mut self.out, (0..self.nodes).map(NodeId)),
            }
        }
        Some(id)
    }

    fn record_send(&self, to: Option<NodeId>, id: u64, msg: &N::Msg) {
        let label = msg.label().into();
        self.host.record(self.me, Ev::Send { to, id, label });
    }

    /// Sends raw bytes again (a duplicate or a replay) and records the lie. Their kind is
    /// not known here: only network rules that name no kind take them.
    async fn emit(&mut self, to: Option<NodeId>, bytes: Vec<u8>, how: Behaviour) {
        match to {
            Some(to) => {
                self.transport.send(to, &bytes, "").await;
            }
            None => self.transport.multicast(&bytes, "").await,
        }
        let id = wire::peek_id(&bytes).unwrap_or(0);
        self.host.record(self.me, Ev::Lie { how, id });
    }
}

impl<N: Node, H: Host<N::Event>> Drop for Driver<N, H> {
    fn drop(&mut self) {
        self.host
            .release(self.me, std::mem::take(&mut self.durable));
    }
}

/// Flips 1 to 4 bits of `bytes`, chosen by `seed`.
fn flip_bits(bytes: &mut [u8], seed: u64) {
    if bytes.is_empty() {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..rng.gen_range(1..=4) {
        let bit = rng.gen_range(0..bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_by_deadline_then_id_and_setting_one_moves_it() {
        let mut timers = Timers::default();
        timers.set(TimerId(3), 500);
        timers.set(TimerId(1), 500);
        timers.set(TimerId(2), 100);
        timers.set(TimerId(2), 700);
        timers.set(TimerId(4), 200);
        timers.cancel(TimerId(4));
        assert_eq!(timers.next_deadline(), Some(500));
        assert_eq!(timers.pop_due(499), None);
        let fired: Vec<_> = std::iter::from_fn(|| timers.pop_due(600)).collect();
        assert_eq!(fired, [TimerId(1), TimerId(3)]);
        assert_eq!(timers.next_deadline(), Some(700));
        assert_eq!(timers.pop_due(700), Some(TimerId(2)));
        assert_eq!(timers.next_deadline(), None);
    }
}
