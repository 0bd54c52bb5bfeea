//! The simulated network (sim flavor only): datagrams in flight between simulated nodes.
//!
//! Each datagram gets a latency drawn from the run's seed, its link and its number on that
//! link (see [`crate::faults::link_draws`]), uniform over the scenario's range, and waits in its
//! receiver's inbox until then. A crashed node's inbox is emptied and what is sent to it
//! while it is down is lost, as on a real network. Partitions, loss and noise are not
//! decided here but by the nemesis as a datagram arrives, in both flavors.
//!
//! madsim has a simulated UDP of its own. faultline used it at first, and it cost more than
//! everything faultline does per datagram: two random sleeps (a timer and a task switch
//! each) on every send and receive, an address formatted to a string for every send, and a
//! receiver task per node, because madsim's `recv_from` loses the datagram it holds when a
//! `select!` drops it. Here a datagram costs a heap push, and a timer when none of the
//! receiver's pending timers comes by its arrival ([`Wakeups`]), armed by the sender so that
//! the receiver is polled only when a datagram is due. Receiving is cancel-safe by
//! construction: a datagram leaves the inbox only in the poll that returns it.
//!
//! Streams travel here too, modelled by [`Wire`] (see [`crate::simulator::stream_wire`]): a driver's
//! stream requests queue segments, and the world's supervisor task carries them out on
//! simulated time ([`Network::streams_due`], [`Network::pump_streams`]) with the nemesis at
//! hand, then wakes the drivers that have stream events. A run without streams never arms a
//! timer for them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::faults::link_draws::LinkDraws;
use crate::faults::nemesis::Nemesis;
use crate::faults::net_rules::{Rule, Rules};
use crate::node::stream::StreamId;
use crate::node::NodeId;
use crate::simulator::stream_wire::{Lost, Ready, Wire};
use crate::simulator::wakeups::Wakeups;

/// Datagrams waiting in one inbox; past this they are lost, like a full socket buffer (a
/// node that far behind has bigger problems than one datagram).
const INBOX_DATAGRAMS_MAX: usize = 16 * 1024;

/// Delivered datagrams' buffers kept for reuse.
const SPARE_BUFFERS_MAX: usize = 256;

/// The purpose that keys the latency draws ("LATE").
const LATENCY_DRAWS: u64 = 0x4C41_5445;

/// The purpose that keys the draws of network rules' delays ("DLAY"): apart from the
/// latencies, and taken only for datagrams a delaying rule may hold, so a run without
/// such rules keeps every latency it had.
const DELAY_DRAWS: u64 = 0x444C_4159;

/// Simulated time, read straight from madsim's clock: `Instant::now()` goes through
/// madsim's libc `clock_gettime` override, several times the cost, and the simulator asks
/// for the time on every record.
#[derive(Clone)]
pub struct Clock {
    /// madsim's clock.
    handle: madsim::time::TimeHandle,
    /// Its reading at the run's time zero.
    zero: Duration,
    /// The run's time zero.
    epoch: tokio::time::Instant,
}

impl Clock {
    /// A clock whose zero is now. Call inside the runtime.
    pub fn start() -> Clock {
        let handle = madsim::time::TimeHandle::current();
        Clock {
            zero: handle.elapsed(),
            epoch: tokio::time::Instant::now(),
            handle,
        }
    }

    /// Microseconds since zero.
    pub fn now_us(&self) -> u64 {
        self.us(self.handle.elapsed())
    }

    /// madsim's reading now (time since its start), for a caller that needs both it and
    /// [`Clock::us`] of it: the clock is behind a lock, read once.
    fn reading(&self) -> Duration {
        self.handle.elapsed()
    }

    /// Microseconds since zero at madsim's `reading`.
    fn us(&self, reading: Duration) -> u64 {
        (reading - self.zero).as_micros() as u64
    }

    /// The time since madsim's start `us` microseconds after zero.
    pub fn since_start(&self, us: u64) -> Duration {
        self.zero + Duration::from_micros(us)
    }

    /// The instant `us` microseconds after zero.
    pub fn at(&self, us: u64) -> tokio::time::Instant {
        self.epoch + Duration::from_micros(us)
    }
}

/// A datagram on its way.
struct InFlight {
    /// When it arrives, in microseconds since zero.
    at_us: u64,
    /// Send order, which breaks ties between equal arrival times deterministically.
    seq: u64,
    /// The datagram.
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at_us, self.seq) == (other.at_us, other.seq)
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at_us, self.seq).cmp(&(other.at_us, other.seq))
    }
}

/// What is on its way to one node.
#[derive(Default)]
struct Inbox {
    /// Whether a node is listening (it started and has not crashed since).
    bound: bool,
    /// Datagrams, earliest arrival first.
    queue: BinaryHeap<Reverse<InFlight>>,
    /// The receiving task, as of its last look at the inbox.
    waker: Option<Waker>,
    /// The timers that wake the receiver for datagrams.
    wakeups: Wakeups,
}

impl Inbox {
    /// Makes sure the receiver is woken by `at_us`: adds a timer unless one comes by then.
    /// The sender arms it directly, so a datagram that arrives first costs the receiver no
    /// extra poll just to move its own alarm.
    /// `reading` is madsim's clock now.
    fn arm(&mut self, clock: &Clock, reading: Duration, at_us: u64) {
        let Some(waker) = &self.waker else {
            // The receiver has not looked yet; it arms its own timer when it does.
            return;
        };
        self.wakeups
            .ensure_at(&clock.handle, reading, clock.since_start(at_us), waker);
    }
}

/// Everything that changes as datagrams travel.
struct State {
    /// Draws each datagram's latency, per link.
    latencies: LinkDraws,
    /// Draws the extra delay of datagrams that network rules hold, per link.
    delays: LinkDraws,
    /// The network rules in force (their delays; the nemesis decides their loss).
    rules: Rules,
    /// Datagrams sent so far.
    sent: u64,
    /// Buffers of delivered datagrams, for the next ones sent (one allocation fewer each).
    spare: Vec<Vec<u8>>,
    /// One per node.
    inboxes: Vec<Inbox>,
    /// Every stream.
    streams: Wire,
    /// The supervisor task that carries streams' segments out, as of its last look.
    wire_waker: Option<Waker>,
    /// The timers that wake it for segments.
    wire_wakeups: Wakeups,
}

/// The network of one simulated run.
pub struct Network {
    /// Simulated time.
    clock: Clock,
    /// Latency range, inclusive, in microseconds.
    latency_us: (u64, u64),
    /// Inboxes and the latency source.
    state: Mutex<State>,
    /// Whether any node has opened a stream: until then a driver's look for stream events
    /// takes no lock (it looks each time it waits).
    streams_used: AtomicBool,
}

impl Network {
    /// A network of `nodes` nodes whose latencies are drawn under `seed`, uniform over
    /// `latency_ms` (inclusive), whose streams break after `stream_timeout_ms` without getting
    /// through. Call inside the runtime.
    pub fn new(nodes: usize, latency_ms: [u64; 2], stream_timeout_ms: u64, seed: u64) -> Network {
        let [lo, hi] = latency_ms;
        Network {
            clock: Clock::start(),
            latency_us: (lo * 1000, hi.max(lo) * 1000),
            state: Mutex::new(State {
                latencies: LinkDraws::new(nodes, seed, LATENCY_DRAWS),
                delays: LinkDraws::new(nodes, seed, DELAY_DRAWS),
                rules: Rules::default(),
                sent: 0,
                spare: Vec::new(),
                inboxes: (0..nodes).map(|_| Inbox::default()).collect(),
                streams: Wire::new(nodes, latency_ms, stream_timeout_ms, seed),
                wire_waker: None,
                wire_wakeups: Wakeups::default(),
            }),
            streams_used: AtomicBool::new(false),
        }
    }

    /// Sets the network's own rules (scenario `[[network.rules]]`).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.lock().rules = Rules::new(rules);
    }

    /// A network window opens or closes with these rules.
    pub fn window(&self, rules: &[Rule], open: bool) {
        let mut state = self.lock();
        if open {
            state.rules.open(rules.to_vec());
        } else {
            state.rules.close(rules);
        }
    }

    /// The run's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // madsim runs every task on one thread: a poisoned lock means a node panicked, and
        // the panic itself is the report.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The node crashed: what was on its way to it is lost, and so is what is sent to it
    /// until it starts again. Returns the stream messages lost so far, for the trace.
    pub fn crash(&self, node: NodeId) -> Vec<Lost> {
        let now = self.clock.now_us();
        let mut state = self.lock();
        if let Some(inbox) = state.inboxes.get_mut(node.0 as usize) {
            *inbox = Inbox::default();
        }
        state.streams.crash(now, node);
        self.arm_wire(&mut state);
        state.streams.take_lost()
    }

    /// Ready when a stream segment is due: the supervisor then calls
    /// [`Network::pump_streams`]. Pending for ever in a run without streams.
    pub async fn streams_due(&self) {
        poll_fn(|cx| {
            let now = self.clock.now_us();
            let mut state = self.lock();
            if state.streams.next_due_us().is_some_and(|at| at <= now) {
                return Poll::Ready(());
            }
            if !state
                .wire_waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.wire_waker = Some(cx.waker().clone());
            }
            self.arm_wire(&mut state);
            Poll::Pending
        })
        .await
    }

    /// Carries out the stream segments due now, with the faults in `nemesis`, and wakes the
    /// drivers that have stream events. Returns the stream messages lost so far, for the
    /// trace.
    pub fn pump_streams(&self, nemesis: &mut Nemesis) -> Vec<Lost> {
        let now = self.clock.now_us();
        let mut state = self.lock();
        state.streams.pump(now, nemesis);
        self.wake_stream_readers(&mut state);
        self.arm_wire(&mut state);
        state.streams.take_lost()
    }

    /// Partitions changed: streams whose link is now cut start their timeout.
    pub fn streams_links_changed(&self, nemesis: &Nemesis) {
        let now = self.clock.now_us();
        let mut state = self.lock();
        state.streams.links_changed(now, nemesis);
        self.arm_wire(&mut state);
    }

    /// Makes sure the supervisor is woken when the next segment is due.
    fn arm_wire(&self, state: &mut State) {
        let State {
            streams,
            wire_waker,
            wire_wakeups,
            ..
        } = state;
        if let (Some(at_us), Some(waker)) = (streams.next_due_us(), wire_waker.as_ref()) {
            wire_wakeups.ensure(&self.clock.handle, self.clock.since_start(at_us), waker);
        }
    }

    /// Wakes every driver that has stream events waiting.
    fn wake_stream_readers(&self, state: &mut State) {
        let State {
            streams, inboxes, ..
        } = state;
        for (i, inbox) in inboxes.iter().enumerate() {
            if streams.has_ready(NodeId(i as u16)) {
                if let Some(waker) = &inbox.waker {
                    waker.wake_by_ref();
                }
            }
        }
    }

    /// Puts one datagram of kind `label` on its way from `from` to `to`; `reading` is
    /// madsim's clock now.
    fn send(
        &self,
        state: &mut State,
        (from, to): (NodeId, NodeId),
        bytes: &[u8],
        label: &str,
        reading: Duration,
    ) {
        let now_us = self.clock.us(reading);
        let (lo, hi) = self.latency_us;
        let mut latency = state.latencies.next(from.0, to.0).between(0, lo, hi);
        if state.rules.delays() {
            let draw = state.delays.next(from.0, to.0);
            latency += state.rules.delay_us(from, to, label, draw);
        }
        let seq = state.sent;
        state.sent += 1;
        let listening = state
            .inboxes
            .get(to.0 as usize)
            .is_some_and(|inbox| inbox.bound && inbox.queue.len() < INBOX_DATAGRAMS_MAX);
        if !listening {
            return;
        }
        let at_us = now_us + latency;
        let mut buffer = state.spare.pop().unwrap_or_default();
        buffer.extend_from_slice(bytes);
        let Some(inbox) = state.inboxes.get_mut(to.0 as usize) else {
            return;
        };
        inbox.queue.push(Reverse(InFlight {
            at_us,
            seq,
            bytes: buffer,
        }));
        inbox.arm(&self.clock, reading, at_us);
    }
}

/// One node's attachment to the [`Network`]: the sim flavor's transport.
pub struct Transport {
    /// The network.
    net: Arc<Network>,
    /// This node.
    me: NodeId,
    /// How many nodes the network has.
    nodes: u16,
}

impl Transport {
    /// Starts listening as `me`: the inbox starts empty.
    pub fn attach(net: Arc<Network>, me: NodeId) -> Transport {
        let nodes = {
            let mut state = net.lock();
            state.streams.attach(me);
            if let Some(inbox) = state.inboxes.get_mut(me.0 as usize) {
                *inbox = Inbox {
                    bound: true,
                    ..Inbox::default()
                };
            }
            state.inboxes.len() as u16
        };
        Transport { net, me, nodes }
    }

    /// How many nodes the network has.
    pub fn nodes(&self) -> u16 {
        self.nodes
    }

    /// Sends a datagram of kind `label` to one node; false when there is no such node. A
    /// datagram to a crashed node vanishes, as on a real network.
    pub async fn send(&self, to: NodeId, bytes: &[u8], label: &str) -> bool {
        if to.0 >= self.nodes {
            return false;
        }
        let reading = self.net.clock.reading();
        let link = (self.me, to);
        self.net
            .send(&mut self.net.lock(), link, bytes, label, reading);
        true
    }

    /// Sends to every other node.
    pub async fn multicast(&self, bytes: &[u8], label: &str) {
        let reading = self.net.clock.reading();
        let mut state = self.net.lock();
        for to in (0..self.nodes).map(NodeId).filter(|n| *n != self.me) {
            self.net
                .send(&mut state, (self.me, to), bytes, label, reading);
        }
    }

    /// Opens `stream` to `to` (see [`crate::simulator::stream_wire`]).
    pub fn connect(&self, stream: StreamId, to: NodeId) {
        self.net.streams_used.store(true, Ordering::Relaxed);
        let now = self.net.clock.now_us();
        let mut state = self.net.lock();
        state.streams.connect(now, self.me, stream, to);
        self.net.arm_wire(&mut state);
    }

    /// Sends one message's bytes (labelled `label`, for the trace of a message the stream
    /// loses) on `stream`; false when the stream is gone.
    pub fn stream_send(&self, stream: StreamId, bytes: &[u8], label: &'static str) -> bool {
        let now = self.net.clock.now_us();
        let mut state = self.net.lock();
        let sent = state.streams.send(now, self.me, stream, bytes, label);
        self.net.arm_wire(&mut state);
        sent
    }

    /// Closes `stream` after what was sent on it.
    pub fn close(&self, stream: StreamId) {
        let now = self.net.clock.now_us();
        let mut state = self.net.lock();
        state.streams.close(now, self.me, stream);
        self.net.arm_wire(&mut state);
    }

    /// The next event of this node's streams (cancel-safe: an event leaves the queue only in
    /// the poll that returns it).
    pub async fn stream_recv(&self) -> Ready {
        poll_fn(|cx| {
            if !self.net.streams_used.load(Ordering::Relaxed) {
                // No event can come before the first connect, and the one that carries it
                // wakes the driver through the waker its datagram receive left.
                return Poll::Pending;
            }
            let mut state = self.net.lock();
            if let Some(ready) = state.streams.take(self.me) {
                return Poll::Ready(ready);
            }
            if let Some(inbox) = state.inboxes.get_mut(self.me.0 as usize) {
                if !inbox
                    .waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    inbox.waker = Some(cx.waker().clone());
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Receives one datagram into `buf` (cancel-safe).
    pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        poll_fn(|cx| {
            let reading = self.net.clock.reading();
            let now = self.net.clock.us(reading);
            let mut state = self.net.lock();
            let Some(inbox) = state.inboxes.get_mut(self.me.0 as usize) else {
                return Poll::Ready(Err(std::io::Error::other("no such node")));
            };
            let next = match inbox.queue.peek() {
                Some(Reverse(first)) if first.at_us <= now => {
                    let Some(Reverse(datagram)) = inbox.queue.pop() else {
                        unreachable!("peeked");
                    };
                    let len = datagram.bytes.len().min(buf.len());
                    buf[..len].copy_from_slice(&datagram.bytes[..len]);
                    if state.spare.len() < SPARE_BUFFERS_MAX {
                        let mut bytes = datagram.bytes;
                        bytes.clear();
                        state.spare.push(bytes);
                    }
                    return Poll::Ready(Ok(len));
                }
                Some(Reverse(first)) => Some(first.at_us),
                None => None,
            };
            if !inbox
                .waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                inbox.waker = Some(cx.waker().clone());
            }
            if let Some(at_us) = next {
                inbox.arm(&self.net.clock, reading, at_us);
            }
            Poll::Pending
        })
        .await
    }
}
