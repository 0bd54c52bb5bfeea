//! One test world for every protocol: an in-memory, deterministic run of a [`Protocol`]'s
//! nodes on one time-ordered queue, with the simulator's semantics and none of its runtime.
//!
//! What a protocol's integration tests need, in a few milliseconds per simulated minute:
//! crash (volatile state and pending timers lost, datagrams on their way to the node lost),
//! restart (a fresh node from the protocol's factory, with the durable store it left),
//! partitions (a cut link drops what is sent on it and what arrives on it), seeded latency
//! and loss, multicast to every other node, and the protocol's checks judging the trace.
//! It is not the simulator: no wire encoding, no Byzantine lies, no noise, no streams. A run
//! that needs those is a scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::check::{self, Verdict};
use crate::node::{Action, BoxNode, Cx, Durable, Effects, Node, NodeId, TimerId};
use crate::protocol::Protocol;
use crate::trace::{DropReason, Ev, Record, WORLD};

/// Items waiting on the queue; past it a send is dropped as lost. A test that gets here has
/// a node sending in a loop, and the drops in the trace say so.
const QUEUE_ITEMS_MAX: usize = 1_000_000;

/// Records kept; past it the world panics: a test that long is a bug in the test.
const TRACE_RECORDS_MAX: usize = 20_000_000;

/// One node of the world.
struct Slot<M, E> {
    /// The node's current incarnation (`None` while it is down or after it stopped).
    node: Option<BoxNode<M, E>>,
    /// It runs, as far as faults go: not crashed. A node that stopped itself is still up,
    /// as in the simulator, and a crash and restart bring it back.
    up: bool,
    /// What survives its crashes.
    durable: Durable,
    /// Its random source, a fresh stream per incarnation as in the simulator.
    rng: ChaCha8Rng,
    /// How many times it has started; datagrams on their way to an older one are lost.
    incarnation: u64,
    /// The live generation of each pending timer; a fired timer of another one is stale.
    timers: BTreeMap<TimerId, u64>,
    /// Datagrams it has sent, across restarts (their ids in the trace).
    sent: u64,
}

/// Something due at a time.
enum Item<M> {
    /// A datagram arrives, if its receiver is still the incarnation it was sent to.
    Deliver {
        /// The sender.
        from: NodeId,
        /// The receiver.
        to: NodeId,
        /// The receiver's incarnation when it was sent.
        incarnation: u64,
        /// The datagram's id in the trace.
        id: u64,
        /// The message.
        msg: M,
    },
    /// A timer fires, if `generation` is still the live one.
    Timer {
        /// Whose.
        node: NodeId,
        /// Which.
        timer: TimerId,
        /// The setting it belongs to.
        generation: u64,
    },
    // Streams (open, data, close, break) join here when the node API has them: a stream's
    // data is ordered per stream, and a crash or a lasting cut breaks it at both ends.
}

/// The world: a protocol's nodes, a time-ordered queue, the network's faults and the trace.
pub struct World<P: Protocol> {
    /// The node factory and the checks.
    proto: P,
    /// Every node, by id.
    slots: Vec<Slot<P::Msg, P::Event>>,
    /// Pending items by (time µs, insertion number): equal times run in insertion order.
    queue: BTreeMap<(u64, u64), Item<P::Msg>>,
    /// Insertion counter, also timer generations.
    counter: u64,
    /// The clock (µs).
    now_us: u64,
    /// The run's seed, from which every node's stream is derived.
    seed: u64,
    /// Latency of each datagram, drawn uniformly (µs, inclusive).
    latency_us: RangeInclusive<u64>,
    /// Probability that a datagram is lost on arrival.
    loss: f64,
    /// The network's randomness (latency, loss).
    net_rng: ChaCha8Rng,
    /// Directed links currently cut.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Everything that happened.
    trace: Vec<Record<P::Event>>,
    /// The buffer callbacks write into.
    effects: Effects<P::Msg, P::Event>,
}

impl<P: Protocol> World<P> {
    /// Nodes `0..nodes` of `proto`, all started at time 0, under `seed`; latency 1 to 10 ms,
    /// no loss.
    pub fn new(proto: P, nodes: u16, seed: u64) -> World<P> {
        let mut w = World {
            slots: Vec::with_capacity(usize::from(nodes)),
            queue: BTreeMap::new(),
            counter: 0,
            now_us: 0,
            seed,
            latency_us: 1000..=10_000,
            loss: 0.0,
            net_rng: ChaCha8Rng::seed_from_u64(seed),
            cut: BTreeSet::new(),
            trace: Vec::new(),
            effects: Effects::default(),
            proto,
        };
        for _ in 0..nodes {
            w.slots.push(Slot {
                node: None,
                durable: Durable::default(),
                rng: ChaCha8Rng::seed_from_u64(seed),
                incarnation: 0,
                up: true,
                timers: BTreeMap::new(),
                sent: 0,
            });
        }
        for id in 0..nodes {
            w.boot(NodeId(id));
        }
        w
    }

    /// Sets the range each datagram's latency is drawn from (ms, inclusive), for what is
    /// sent from now on.
    pub fn set_latency_ms(&mut self, lo: u64, hi: u64) {
        assert!(lo <= hi, "latency {lo}..={hi} ms");
        self.latency_us = lo * 1000..=hi * 1000;
    }

    /// The protocol the world runs.
    pub fn protocol(&self) -> &P {
        &self.proto
    }

    /// The clock (µs).
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    /// Everything that happened so far.
    pub fn trace(&self) -> &[Record<P::Event>] {
        &self.trace
    }

    /// Whether `id` runs.
    pub fn is_up(&self, id: u16) -> bool {
        self.slot(NodeId(id)).is_some_and(|s| s.up)
    }

    /// Runs everything due up to `ms`, then sets the clock there.
    pub fn run_until(&mut self, ms: u64) {
        let end_us = ms * 1000;
        assert!(end_us >= self.now_us, "time runs forward: {ms} ms");
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > end_us {
                break;
            }
            let ((at_us, _), item) = entry.remove_entry();
            self.now_us = at_us;
            match item {
                Item::Deliver {
                    from,
                    to,
                    incarnation,
                    id,
                    msg,
                } => self.arrive(from, to, incarnation, id, msg),
                Item::Timer {
                    node,
                    timer,
                    generation,
                } => self.fire(node, timer, generation),
            }
        }
        self.now_us = end_us;
    }

    /// Crashes `id` now: its volatile state, pending timers and the datagrams on their way
    /// to it are lost; its durable store stays. A node already down stays down, unrecorded.
    pub fn crash(&mut self, id: u16) {
        let Some(slot) = self.slot_mut(NodeId(id)) else {
            return;
        };
        if !slot.up {
            return;
        }
        slot.up = false;
        slot.node = None;
        slot.timers.clear();
        self.record(NodeId(id), Ev::Crash);
    }

    /// Restarts `id` now as a fresh node from the protocol's factory, with the durable store
    /// it left. A node that is up is left alone, unrecorded.
    pub fn restart(&mut self, id: u16) {
        let Some(slot) = self.slot_mut(NodeId(id)) else {
            return;
        };
        if slot.up {
            return;
        }
        slot.up = true;
        self.record(NodeId(id), Ev::Restart);
        self.boot(NodeId(id));
    }

    /// Cuts every link between different groups, both ways.
    pub fn partition(&mut self, groups: &[&[u16]]) {
        let mut links = Vec::new();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i == j {
                    continue;
                }
                for &x in *a {
                    for &y in *b {
                        links.push((NodeId(x), NodeId(y)));
                    }
                }
            }
        }
        self.cut.extend(links.iter().copied());
        self.record(WORLD, Ev::Partition { links });
    }

    /// Restores every cut link.
    pub fn heal(&mut self) {
        let links: Vec<(NodeId, NodeId)> = std::mem::take(&mut self.cut).into_iter().collect();
        self.record(WORLD, Ev::Heal { links });
    }

    /// Loses each datagram arriving from now on with probability `rate` (0 ends the loss).
    pub fn set_loss(&mut self, rate: f64) {
        assert!((0.0..=1.0).contains(&rate), "loss rate {rate}");
        self.loss = rate;
        self.record(WORLD, Ev::Loss { rate });
    }

    /// The protocol events `id` reported, in order.
    pub fn events(&self, id: u16) -> impl Iterator<Item = &P::Event> {
        self.trace.iter().filter_map(move |r| match &r.ev {
            Ev::Proto { event } if r.node == NodeId(id) => Some(event),
            _ => None,
        })
    }

    /// The last leader `id` reported.
    pub fn leader_of(&self, id: u16) -> Option<NodeId> {
        self.trace
            .iter()
            .rev()
            .find_map(|r| match &r.ev {
                Ev::Leader { leader } if r.node == NodeId(id) => Some(*leader),
                _ => None,
            })
            .flatten()
    }

    /// The last role `id` reported.
    pub fn role_of(&self, id: u16) -> Option<&str> {
        self.trace.iter().rev().find_map(|r| match &r.ev {
            Ev::Role { role } if r.node == NodeId(id) => Some(role.as_str()),
            _ => None,
        })
    }

    /// The protocol's checks' verdicts on the trace so far, as if the run ended now.
    pub fn verdicts(&self) -> Vec<Verdict> {
        check::judge(&mut self.proto.checks(), &self.trace, self.now_us)
    }

    /// Panics with the first check that was violated. A check that judged nothing is not
    /// a violation here: a unit test's short world rarely exercises every check.
    pub fn assert_checks_ok(&self) {
        for v in self.verdicts() {
            assert!(v.ok || v.vacuous, "{}: {}", v.name, v.detail);
        }
    }

    /// The names of the checks that were violated (a vacuous one is not).
    pub fn failed_checks(&self) -> Vec<String> {
        self.verdicts()
            .into_iter()
            .filter(|v| !v.ok && !v.vacuous)
            .map(|v| v.name)
            .collect()
    }

    fn slot(&self, id: NodeId) -> Option<&Slot<P::Msg, P::Event>> {
        self.slots.get(usize::from(id.0))
    }

    fn slot_mut(&mut self, id: NodeId) -> Option<&mut Slot<P::Msg, P::Event>> {
        self.slots.get_mut(usize::from(id.0))
    }

    fn record(&mut self, node: NodeId, ev: Ev<P::Event>) {
        assert!(
            self.trace.len() < TRACE_RECORDS_MAX,
            "the test world's trace passed {TRACE_RECORDS_MAX} records"
        );
        self.trace.push(Record {
            t: self.now_us,
            node,
            ev,
        });
    }

    fn push(&mut self, at_us: u64, item: Item<P::Msg>) {
        self.counter += 1;
        self.queue.insert((at_us, self.counter), item);
    }

    /// Starts a new incarnation of `id`: a fresh node, a fresh random stream.
    fn boot(&mut self, id: NodeId) {
        let node = self.proto.node(id);
        let seed = self.seed;
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        slot.incarnation += 1;
        // The simulator's derivation: one stream per node and incarnation.
        slot.rng = ChaCha8Rng::seed_from_u64(seed);
        slot.rng
            .set_stream((u64::from(id.0) << 32) | slot.incarnation);
        slot.node = Some(node);
        self.step(id, |node, cx| node.on_start(cx));
    }

    /// A datagram reaches `to`: unless the receiver crashed since it was sent, the link is
    /// cut now or it is lost.
    fn arrive(&mut self, from: NodeId, to: NodeId, incarnation: u64, id: u64, msg: P::Msg) {
        let live = self
            .slot(to)
            .is_some_and(|s| s.node.is_some() && s.incarnation == incarnation);
        if !live {
            // It was in the receiver's inbox when it crashed: gone without a trace, as in the
            // simulator.
            return;
        }
        let label = crate::node::Message::label(&msg).into();
        let reason = if self.cut.contains(&(from, to)) {
            Some(DropReason::Partition)
        } else if self.net_rng.gen_bool(self.loss) {
            Some(DropReason::Loss)
        } else {
            None
        };
        if let Some(reason) = reason {
            let ev = Ev::Drop {
                from,
                to,
                id,
                label,
                reason,
            };
            self.record(to, ev);
            return;
        }
        self.record(to, Ev::Deliver { from, id, label });
        self.step(to, |node, cx| node.on_message(from, msg, cx));
    }

    /// Fires a timer of `node`'s if it is still the live setting.
    fn fire(&mut self, node: NodeId, timer: TimerId, generation: u64) {
        let Some(slot) = self.slot_mut(node) else {
            return;
        };
        if slot.timers.get(&timer) != Some(&generation) {
            return;
        }
        slot.timers.remove(&timer);
        self.record(node, Ev::Timer { timer: timer.0 });
        self.step(node, |n, cx| n.on_timer(timer, cx));
    }

    /// Runs one callback of `id`, if it is up, and carries out what it asked for.
    fn step(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut BoxNode<P::Msg, P::Event>, &mut Cx<'_, P::Msg, P::Event>),
    ) {
        let Some(slot) = self.slots.get_mut(usize::from(id.0)) else {
            return;
        };
        let Some(node) = slot.node.as_mut() else {
            return;
        };
        self.effects.clear();
        let mut cx = Cx::new(
            id,
            self.now_us,
            &mut slot.rng,
            &mut slot.durable,
            &mut self.effects,
        );
        f(node, &mut cx);
        let actions = std::mem::take(&mut self.effects.actions);
        let notes = std::mem::take(&mut self.effects.notes);
        let stop = self.effects.stop;
        for note in notes {
            self.record(id, Ev::from(note));
        }
        for action in actions {
            match action {
                Action::Send(to, msg) => self.transmit(id, Some(to), msg),
                Action::Multicast(msg) => self.transmit(id, None, msg),
                Action::SetTimer(timer, after) => {
                    let generation = self.counter + 1;
                    if let Some(slot) = self.slot_mut(id) {
                        slot.timers.insert(timer, generation);
                    }
                    let at_us = self.now_us + after.as_micros() as u64;
                    let item = Item::Timer {
                        node: id,
                        timer,
                        generation,
                    };
                    self.push(at_us, item);
                }
                Action::CancelTimer(timer) => {
                    if let Some(slot) = self.slot_mut(id) {
                        slot.timers.remove(&timer);
                    }
                }
            }
        }
        if stop {
            if let Some(slot) = self.slot_mut(id) {
                slot.node = None;
                slot.timers.clear();
            }
        }
    }

    /// Sends `msg` from `from` to `to` (`None`: every other node), as one datagram per
    /// receiver. A link cut now drops it at once; otherwise it is on its way.
    fn transmit(&mut self, from: NodeId, to: Option<NodeId>, msg: P::Msg) {
        let Some(slot) = self.slot_mut(from) else {
            return;
        };
        slot.sent += 1;
        // The simulator's ids: the sender in the top bits keeps them unique run-wide.
        let id = (u64::from(from.0) << 48) | slot.sent;
        let label = crate::node::Message::label(&msg);
        self.record(
            from,
            Ev::Send {
                to,
                id,
                label: label.into(),
            },
        );
        let receivers: Vec<NodeId> = match to {
            Some(to) => vec![to],
            None => (0..self.slots.len() as u16)
                .map(NodeId)
                .filter(|n| *n != from)
                .collect(),
        };
        for to in receivers {
            let reason = match self.slot(to) {
                None => Some(DropReason::NoRoute),
                // Nobody listens there: the datagram vanishes, as on a real network.
                Some(slot) if slot.node.is_none() => continue,
                Some(_) if self.cut.contains(&(from, to)) => Some(DropReason::Partition),
                Some(_) if self.queue.len() >= QUEUE_ITEMS_MAX => Some(DropReason::Loss),
                Some(_) => None,
            };
            if let Some(reason) = reason {
                let ev = Ev::Drop {
                    from,
                    to,
                    id,
                    label: label.into(),
                    reason,
                };
                self.record(from, ev);
                continue;
            }
            let Some(incarnation) = self.slot(to).map(|s| s.incarnation) else {
                continue;
            };
            let latency_us = self.net_rng.gen_range(self.latency_us.clone());
            let item = Item::Deliver {
                from,
                to,
                incarnation,
                id,
                msg: msg.clone(),
            };
            self.push(self.now_us + latency_us, item);
        }
    }
}
