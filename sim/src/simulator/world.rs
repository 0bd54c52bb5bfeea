//! The simulated world (sim flavor only): one madsim node per protocol node, the fault
//! schedule applied on simulated time, checks judging every record as it is appended and a
//! sink taking it after them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;

use crate::check::{Check, Verdict};
use crate::faults::byzantine::Byzantine;
use crate::faults::injector::{Effect, Injector};
use crate::faults::nemesis::{Arrival, Nemesis};
use crate::faults::target::View;
use crate::node::{Durable, NodeId};
use crate::protocol::Protocol;
use crate::runtime::auth::Keyring;
use crate::runtime::driver::{self, Host};
use crate::runtime::node_clock::NodeClock;
use crate::runtime::submits::Submits;
use crate::scenario::{Fault, Scenario, WorldAction};
use crate::simulator::invariant::{self, InNode, INVARIANT};
use crate::simulator::network::{Network, Transport};
use crate::simulator::stream_wire::Lost;
use crate::trace::{DropReason, Ev, Record, RecordSink, Trace, WORLD};

/// What a simulated run leaves behind.
pub struct RunOutput<S> {
    /// The digest and the number of records.
    pub trace: Trace,
    /// The sink every record went to, with what it made of them.
    pub sink: S,
    /// One verdict per check.
    pub verdicts: Vec<Verdict>,
    /// When the run ended (early when a check failed), in microseconds.
    pub end_us: u64,
}

/// The state every simulated node shares.
struct Shared<E: 'static, S> {
    /// The digest so far.
    trace: Trace,
    /// Where every record goes once the checks saw it; taken back when the run ends.
    sink: Option<S>,
    /// Checks fed every record (traffic only to those that ask for it).
    checks: Vec<Box<dyn Check<E> + Send>>,
    /// Whether any check sees traffic: when none does (Raft's), a datagram's records pass
    /// the checks by without asking each one.
    traffic_watched: bool,
    /// The first violation, which stops the run.
    violation: Option<Verdict>,
    /// Partitions, loss, who is up.
    nemesis: Nemesis,
    /// Each node's durable store while no driver holds it: a driver takes it when the node
    /// starts and gives it back when it is dropped (a kill drops it), with every write of
    /// every callback in it, since a simulated crash never lands inside a callback.
    durable: Vec<Option<Durable>>,
    /// Datagrams sent so far by each node, across restarts.
    sent: Vec<u64>,
    /// How many times each node has started.
    incarnation: Vec<u64>,
    /// How each node lies, if it does.
    byzantine: Vec<Option<Byzantine>>,
    /// Who is up, leads and plays which role, as the records tell: what run-time fault
    /// targets and conditions are decided on.
    view: View,
}

/// The [`Host`] of simulated nodes.
struct SimHost<E: 'static, S> {
    /// The simulated network, and the run's clock.
    net: Arc<Network>,
    /// Everything mutable.
    shared: Mutex<Shared<E, S>>,
    /// Wakes the supervisor when a check fails.
    violated: Notify,
    /// Wakes the supervisor when the [`View`] changed, for faults waiting on a condition.
    view_changed: Notify,
    /// The run is over; drivers return and records are ignored. Outside the lock: every
    /// driver asks before each datagram.
    stopped: AtomicBool,
    /// When each paused node resumes, in microseconds (0: it runs). Outside the lock:
    /// every driver asks before each event.
    paused: Vec<AtomicU64>,
    /// Each node's own clock.
    clocks: Vec<NodeClock>,
    /// Each node's queue of submitted commands, when the scenario submits any.
    submits: Option<Vec<Arc<Submits>>>,
    /// The number the next submitted command gets.
    next_command: AtomicU64,
}

impl<E: 'static, S> SimHost<E, S> {
    fn lock(&self) -> MutexGuard<'_, Shared<E, S>> {
        // madsim runs every task on one thread: a poisoned lock means a node panicked, and
        // the panic itself is the report.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<E: crate::node::ProtoEvent + Send, S: RecordSink<E> + 'static> SimHost<E, S> {
    /// Shows a record at `t` to the checks, then to the sink, and folds it into the digest;
    /// the first violation stops the run. The caller holds the lock (a callback's records
    /// take it once).
    fn append(&self, shared: &mut Shared<E, S>, t: u64, node: NodeId, ev: Ev<E>) {
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let rec = Record { t, node, ev };
        let traffic = rec.ev.is_traffic();
        if !traffic && shared.view.observe(rec.node, &rec.ev) {
            self.view_changed.notify_one();
        }
        let Shared {
            checks,
            traffic_watched,
            violation,
            trace,
            sink,
            ..
        } = shared;
        if !traffic || *traffic_watched {
            for check in checks.iter_mut().filter(|c| !traffic || c.sees_traffic()) {
                if let Err(detail) = check.observe(&rec) {
                    if violation.is_none() {
                        *violation = Some(Verdict::violated(
                            check.name(),
                            format!("at {:.3} s: {detail}", t as f64 / 1e6),
                        ));
                        self.violated.notify_one();
                    }
                }
            }
        }
        if let Some(sink) = sink {
            sink.record(&rec);
        }
        trace.push(&rec);
        if violation.is_some() {
            self.stopped.store(true, Ordering::Relaxed);
        }
    }
}

impl<E: crate::node::ProtoEvent + Send, S: RecordSink<E> + 'static> Host<E> for SimHost<E, S> {
    fn now_us(&self) -> u64 {
        self.net.clock().now_us()
    }

    fn record(&self, node: NodeId, ev: Ev<E>) {
        let t = self.now_us();
        self.append(&mut self.lock(), t, node, ev);
    }

    fn arrival(&self, from: NodeId, to: NodeId, label: &str) -> Arrival {
        self.lock().nemesis.arrival(from, to, label)
    }

    fn byzantine(&self, node: NodeId) -> Option<Byzantine> {
        self.lock()
            .byzantine
            .get(node.0 as usize)
            .copied()
            .flatten()
    }

    fn commit(&self, node: NodeId, _durable: &Durable, records: Vec<Ev<E>>) {
        // A simulated crash never lands inside a callback, and the store itself outlives
        // the driver ([`Host::release`]): there is nothing to copy, only records.
        let t = self.now_us();
        let mut shared = self.lock();
        for ev in records {
            self.append(&mut shared, t, node, ev);
        }
    }

    fn release(&self, node: NodeId, durable: Durable) {
        if let Some(slot) = self.lock().durable.get_mut(node.0 as usize) {
            *slot = Some(durable);
        }
    }

    fn next_msg_id(&self, node: NodeId) -> u64 {
        let mut shared = self.lock();
        let Some(sent) = shared.sent.get_mut(node.0 as usize) else {
            return 0;
        };
        *sent += 1;
        // The node in the top bits keeps ids unique run-wide without coordination.
        ((node.0 as u64) << 48) | *sent
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    fn clock(&self, node: NodeId) -> NodeClock {
        self.clocks
            .get(node.0 as usize)
            .copied()
            .unwrap_or_default()
    }

    fn paused_until(&self, node: NodeId) -> Option<u64> {
        let until = self.paused.get(node.0 as usize)?.load(Ordering::Relaxed);
        (until > self.now_us()).then_some(until)
    }

    fn submits(&self, node: NodeId) -> Option<Arc<Submits>> {
        self.submits.as_ref()?.get(node.0 as usize).cloned()
    }
}

/// Runs a scenario under `seed` in madsim and returns its digest and verdicts; the records
/// themselves are not kept (see [`simulate_into`]).
pub fn simulate<P: Protocol>(proto: Arc<P>, scenario: &Scenario, seed: u64) -> RunOutput<()> {
    simulate_into(proto, scenario, seed, ())
}

/// Runs a scenario under `seed` in madsim, hands every record to `sink` as it happens, and
/// returns the sink with the digest and verdicts. A panic (a broken invariant) ends the run
/// as a failed check named [`INVARIANT`], first among the verdicts, with the trace recorded
/// up to it.
pub fn simulate_into<P: Protocol, S: RecordSink<P::Event> + 'static>(
    proto: Arc<P>,
    scenario: &Scenario,
    seed: u64,
    sink: S,
) -> RunOutput<S> {
    let names = scenario.node_names();
    let nodes = names.len();
    let runtime = madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());

    let mut checks = proto.checks();
    checks.extend(crate::check::expect::checks(&scenario.expected(), P::fact));
    let traffic_watched = checks.iter().any(|c| c.sees_traffic());
    // The sink waits here until the world takes it, so a world that fails to start still
    // gives it back.
    let sink_slot = Arc::new(Mutex::new(Some(sink)));
    let sink_in_world = sink_slot.clone();
    let shared = Shared {
        trace: Trace::new(),
        sink: None,
        checks,
        traffic_watched,
        violation: None,
        nemesis: {
            let mut nemesis = Nemesis::new(nodes, scenario.network.loss, seed);
            nemesis.set_noise(scenario.network.corrupt, scenario.network.duplicate);
            nemesis.set_rules(scenario.network_rules());
            nemesis
        },
        durable: vec![Some(Durable::default()); nodes],
        sent: vec![0; nodes],
        incarnation: vec![0; nodes],
        byzantine: vec![None; nodes],
        view: View::new(&scenario.node_roles()),
    };
    let latency_ms = scenario.network.latency_ms;
    let rules = scenario.network_rules();
    let clocks: Vec<NodeClock> = names
        .iter()
        .map(|name| scenario.clocks.get(name).copied().unwrap_or_default())
        .collect();
    let stream_timeout_ms = scenario.network.stream_timeout_ms;
    let mut injector = Injector::new(scenario, seed);
    // Each node gets only its own ring: a liar can sign as itself, never as another.
    let secret = Keyring::secret("faultline sim keys", &seed.to_le_bytes());
    let authenticates = proto.authenticates();
    let duration_us = scenario.duration_ms * 1000;
    let submitting = (scenario.faults.iter()).any(|f| matches!(f, Fault::Submit { .. }));

    // The host outlives a panic that unwinds out of the runtime: its trace is the evidence.
    let host_slot = Arc::new(OnceLock::new());
    let slot = host_slot.clone();
    let names_of_nodes = names.clone();
    let world = async move {
        let net = Arc::new(Network::new(nodes, latency_ms, stream_timeout_ms, seed));
        net.set_rules(rules);
        let mut shared = shared;
        shared.sink = take_sink(&sink_in_world);
        let host = Arc::new(SimHost {
            net: net.clone(),
            shared: Mutex::new(shared),
            violated: Notify::new(),
            view_changed: Notify::new(),
            stopped: AtomicBool::new(false),
            paused: (0..nodes).map(|_| AtomicU64::new(0)).collect(),
            clocks,
            submits: submitting.then(|| (0..nodes).map(|_| Arc::default()).collect()),
            next_command: AtomicU64::new(1),
        });
        let _ = slot.set(host.clone());
        let handle = madsim::runtime::Handle::current();
        let mut madsim_ids = Vec::with_capacity(nodes);
        for (i, name) in names.iter().enumerate() {
            let id = NodeId(i as u16);
            let (host, proto, net) = (host.clone(), proto.clone(), net.clone());
            let node = handle
                .create_node()
                .name(name.clone())
                .init(move || {
                    let (host, proto, net) = (host.clone(), proto.clone(), net.clone());
                    let task = async move {
                        let durable = take_durable(&host, i).await;
                        let incarnation = {
                            let mut shared = host.lock();
                            shared.incarnation[i] += 1;
                            shared.incarnation[i]
                        };
                        let mut rng = ChaCha8Rng::seed_from_u64(seed);
                        rng.set_stream(((i as u64) << 32) | incarnation);
                        let transport = Transport::attach(net, id);
                        let keys =
                            authenticates.then(|| Keyring::derive(&secret, id, nodes as u16));
                        driver::run(proto.node(id), id, host, transport, durable, rng, keys).await;
                    };
                    InNode {
                        node: id,
                        task: Box::pin(task),
                    }
                })
                .build();
            madsim_ids.push(node.id());
        }

        // Everything due at one instant is applied at once: no simulated time passes and
        // no datagram is delivered between two faults of the same instant.
        let mut last_at = None;
        while let Some(at_us) = injector.next_at_us() {
            if last_at != Some(at_us) {
                match wait_until(&host, at_us, injector.is_waiting()).await {
                    Woke::Due => {}
                    Woke::Violated => break,
                    Woke::ViewChanged => {
                        let effects = injector.retry(host.now_us(), &host.lock().view);
                        apply_effects(&host, &handle, &madsim_ids, effects);
                        continue;
                    }
                }
            }
            last_at = Some(at_us);
            let effects = injector.take_due(at_us, host.now_us(), &host.lock().view);
            apply_effects(&host, &handle, &madsim_ids, effects);
        }
        if !host.stopped() {
            wait_until(&host, duration_us, false).await;
        }
        let end_us = host.now_us().min(duration_us);
        host.stopped.store(true, Ordering::Relaxed);
        // Node tasks still pending when the runtime is dropped are never freed (their wakers
        // and the network hold each other), ~60 KB a run: an explore of thousands of seeds
        // grew without bound. Killing the nodes and letting the executor run once drops them.
        let digest = host.lock().trace.digest();
        for &id in &madsim_ids {
            handle.kill(id);
        }
        tokio::task::yield_now().await;
        assert_eq!(
            host.lock().trace.digest(),
            digest,
            "dropping the nodes recorded events"
        );
        (host, end_us)
    };
    let ran = invariant::catch(|| runtime.block_on(world));

    let (host, end_us, mut broken) = match ran {
        Ok((host, end_us)) => (host, end_us, None),
        Err(broken) => {
            let Some(host) = host_slot.get().cloned() else {
                // The world itself failed to start: no trace, and a digest of nothing.
                let verdict = Verdict::violated(INVARIANT, broken.detail(&names_of_nodes, 0));
                let sink = take_sink(&sink_slot)
                    .expect("the world fails before its host is made, with the sink unused");
                return RunOutput {
                    trace: Trace::new(),
                    sink,
                    verdicts: vec![verdict],
                    end_us: 0,
                };
            };
            host.stopped.store(true, Ordering::Relaxed);
            let end_us = host.now_us().min(duration_us);
            let broken = Verdict::violated(INVARIANT, broken.detail(&names_of_nodes, end_us));
            (host, end_us, Some(broken))
        }
    };

    let mut shared = host.lock();
    let trace = std::mem::take(&mut shared.trace);
    let sink = (shared.sink.take()).expect("the sink stays in the world until the run ends");
    let violation = shared.violation.take();
    let mut verdicts: Vec<Verdict> = Vec::new();
    // The first failure comes first (shrink keeps it): a panic after a check failed, in the
    // instant before the run stopped, is listed after the checks.
    if violation.is_none() {
        verdicts.extend(broken.take());
    }
    for check in shared.checks.iter_mut() {
        match &violation {
            Some(v) if v.name == check.name() => verdicts.push(v.clone()),
            _ => verdicts.push(check.finish(end_us)),
        }
    }
    verdicts.extend(broken);
    drop(shared);
    drop(runtime);
    RunOutput {
        trace,
        sink,
        verdicts,
        end_us,
    }
}

/// The sink out of its slot (a poisoned lock still holds it).
fn take_sink<S>(slot: &Mutex<Option<S>>) -> Option<S> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// Why [`wait_until`] returned.
enum Woke {
    /// The time came.
    Due,
    /// A check failed first.
    Violated,
    /// What the nodes report changed first (only when asked to watch).
    ViewChanged,
}

/// Waits until `at_us` (at least 1 ms: madsim's sleeps are), carrying out stream segments
/// meanwhile, and returning early when a check fails or, with `watch_view`, when the
/// [`View`] changes. The stream branch comes last and registers no timer in a run without
/// streams, so such a run waits exactly as it did before streams existed.
async fn wait_until<E: crate::node::ProtoEvent + Send, S: RecordSink<E> + 'static>(
    host: &SimHost<E, S>,
    at_us: u64,
    watch_view: bool,
) -> Woke {
    let at = host.net.clock().at(at_us);
    loop {
        tokio::select! {
            biased;
            () = tokio::time::sleep_until(at) => return Woke::Due,
            () = host.violated.notified() => return Woke::Violated,
            () = host.view_changed.notified(), if watch_view => return Woke::ViewChanged,
            () = host.net.streams_due() => {
                let lost = host.net.pump_streams(&mut host.lock().nemesis);
                record_lost(host, lost);
            }
        }
    }
}

/// Traces the messages streams lost as drops at their receivers.
fn record_lost<E: crate::node::ProtoEvent + Send, S: RecordSink<E> + 'static>(
    host: &SimHost<E, S>,
    lost: Vec<Lost>,
) {
    for Lost {
        from,
        to,
        id,
        label,
    } in lost
    {
        let (label, reason) = (label.into(), DropReason::Closed);
        host.record(
            to,
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

/// Node `i`'s durable store, once its previous incarnation has given it back. A killed
/// node's tasks are dropped the next time madsim runs them, which is before any later
/// instant, so a restart finds the store already returned; the wait is a safeguard.
async fn take_durable<E: crate::node::ProtoEvent + Send, S: RecordSink<E> + 'static>(
    host: &SimHost<E, S>,
    i: usize,
) -> Durable {
    for _ in 0..1000 {
        if let Some(durable) = host.lock().durable[i].take() {
            return durable;
        }
        tokio::task::yield_now().await;
    }
    panic!("node #{i} restarted while its previous incarnation still holds its durable store");
}

/// Applies what the injector said, in order, with no await between: one instant's faults
/// are atomic.
fn apply_effects<E: crate::node::ProtoEvent + Send, S: RecordSink<E> + 'static>(
    host: &Arc<SimHost<E, S>>,
    handle: &madsim::runtime::Handle,
    madsim_ids: &[madsim::task::NodeId],
    effects: Vec<Effect>,
) {
    for effect in effects {
        if host.stopped() {
            return;
        }
        match effect {
            Effect::Act(action) => apply_fault(host, handle, madsim_ids, action),
            Effect::Resolved { fault, groups } => {
                host.record(WORLD, Ev::Resolved { fault, groups });
            }
            Effect::Skipped { fault, reason } => {
                host.record(WORLD, Ev::Skipped { fault, reason });
            }
        }
    }
}

fn apply_fault<E: crate::node::ProtoEvent + Send, S: RecordSink<E> + 'static>(
    host: &Arc<SimHost<E, S>>,
    handle: &madsim::runtime::Handle,
    madsim_ids: &[madsim::task::NodeId],
    action: WorldAction,
) {
    match &action {
        WorldAction::NetOpen(rules) | WorldAction::NetClose(rules) => {
            let open = matches!(action, WorldAction::NetOpen(_));
            let windows = host.lock().nemesis.window(rules, open);
            host.net.window(rules, open);
            let windows = windows as u32;
            host.record(WORLD, Ev::Network { windows });
            return;
        }
        _ => {}
    }
    match action {
        WorldAction::Crash(node) => {
            if !host.lock().nemesis.is_up(node) {
                return;
            }
            handle.kill(madsim_ids[node.0 as usize]);
            // A crash ends a pause: the node starts again unpaused.
            host.paused[node.0 as usize].store(0, Ordering::Relaxed);
            if let Some(submits) = host.submits(node) {
                submits.clear();
            }
            let lost = host.net.crash(node);
            host.lock().nemesis.set_up(node, false);
            host.record(node, Ev::Crash);
            record_lost(host, lost);
        }
        WorldAction::Restart(node) => {
            if host.lock().nemesis.is_up(node) {
                return;
            }
            host.lock().nemesis.set_up(node, true);
            host.record(node, Ev::Restart);
            handle.restart(madsim_ids[node.0 as usize]);
        }
        // The trace records the links whose state changed: a link another partition still
        // cuts is not healed, and every reader of the trace (checks, timeline) sees the
        // network as it is.
        WorldAction::Cut(links) => {
            let links = {
                let mut shared = host.lock();
                let links = shared.nemesis.cut(&links);
                host.net.streams_links_changed(&shared.nemesis);
                links
            };
            if !links.is_empty() {
                host.record(WORLD, Ev::Partition { links });
            }
        }
        WorldAction::Heal(links) => {
            let links = {
                let mut shared = host.lock();
                let links = shared.nemesis.heal(&links);
                host.net.streams_links_changed(&shared.nemesis);
                links
            };
            if !links.is_empty() {
                host.record(WORLD, Ev::Heal { links });
            }
        }
        WorldAction::Loss(rate) => {
            host.lock().nemesis.set_loss_fault(rate);
            host.record(WORLD, Ev::Loss { rate });
        }
        WorldAction::Byzantine(node, byzantine) => {
            if let Some(slot) = host.lock().byzantine.get_mut(node.0 as usize) {
                *slot = byzantine;
            }
            host.record(node, Ev::Byzantine { byzantine });
        }
        // Carried out above: they need the action whole.
        WorldAction::NetOpen(_) | WorldAction::NetClose(_) => {}
        WorldAction::Pause(node, resume_ms) => {
            if !host.lock().nemesis.is_up(node) {
                return;
            }
            host.paused[node.0 as usize].store(resume_ms * 1000, Ordering::Relaxed);
            host.record(node, Ev::Pause);
        }
        WorldAction::Resume(node) => {
            let was = host.paused[node.0 as usize].swap(0, Ordering::Relaxed);
            if was != 0 {
                host.record(node, Ev::Resume);
            }
        }
        // A down node is handed nothing, as the lab's `Start()` reaches no crashed server.
        WorldAction::Submit(node, count) => {
            let Some(submits) = host.submits(node) else {
                return;
            };
            if !host.lock().nemesis.is_up(node) {
                return;
            }
            let first = host.next_command.fetch_add(count as u64, Ordering::Relaxed);
            host.record(node, Ev::Submit { first, count });
            submits.push(first, count);
        }
    }
}
