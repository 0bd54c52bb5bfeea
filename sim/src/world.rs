//! The simulated world (sim flavor only): one madsim node per protocol node, the fault
//! schedule applied on simulated time, checks judging every record as it is appended.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::Notify;

use crate::auth::Keyring;
use crate::byzantine::Byzantine;
use crate::check::{Check, Verdict};
use crate::driver::{self, Host};
use crate::nemesis::{Arrival, Nemesis};
use crate::node::{Durable, NodeId};
use crate::protocol::Protocol;
use crate::scenario::{Scenario, WorldAction};
use crate::trace::{Ev, Record, Trace, WORLD};
use crate::transport::{AddressBook, Transport, TransportKind};

/// Records kept in memory per run; past it the trace is still hashed, not kept.
pub const TRACE_RECORDS_MAX: usize = 5_000_000;
/// The port every simulated node listens on.
const PORT: u16 = 7000;

/// What a simulated run leaves behind.
pub struct RunOutput<E> {
    /// Every event, and the digest.
    pub trace: Trace<E>,
    /// One verdict per check.
    pub verdicts: Vec<Verdict>,
    /// When the run ended (early when a check failed), in microseconds.
    pub end_us: u64,
}

/// The state every simulated node shares.
struct Shared<E> {
    /// The trace so far.
    trace: Trace<E>,
    /// Checks fed every record.
    checks: Vec<Box<dyn Check<E> + Send>>,
    /// The first violation, which stops the run.
    violation: Option<Verdict>,
    /// Partitions, loss, who is up.
    nemesis: Nemesis,
    /// Each node's durable store, outside madsim so that a kill cannot touch it.
    durable: Vec<Durable>,
    /// Datagrams sent so far by each node, across restarts.
    sent: Vec<u64>,
    /// How many times each node has started.
    incarnation: Vec<u64>,
    /// How each node lies, if it does.
    byzantine: Vec<Option<Byzantine>>,
    /// The run is over; drivers return and records are ignored.
    stopped: bool,
}

/// The [`Host`] of simulated nodes.
struct SimHost<E> {
    /// Simulated time zero.
    epoch: tokio::time::Instant,
    /// Everything mutable.
    shared: Mutex<Shared<E>>,
    /// Wakes the supervisor when a check fails.
    violated: Notify,
}

impl<E> SimHost<E> {
    fn lock(&self) -> MutexGuard<'_, Shared<E>> {
        // madsim runs every task on one thread: a poisoned lock means a node panicked, and
        // the panic itself is the report.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<E: crate::node::ProtoEvent + Send> Host<E> for SimHost<E> {
    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    fn record(&self, node: NodeId, ev: Ev<E>) {
        let t = self.now_us();
        let mut shared = self.lock();
        if shared.stopped {
            return;
        }
        let rec = Record { t, node, ev };
        let Shared {
            checks,
            violation,
            trace,
            ..
        } = &mut *shared;
        for check in checks.iter_mut() {
            if let Err(detail) = check.observe(&rec) {
                if violation.is_none() {
                    *violation = Some(Verdict {
                        name: check.name().to_string(),
                        ok: false,
                        detail: format!("at {:.3} s: {detail}", t as f64 / 1e6),
                    });
                    self.violated.notify_one();
                }
            }
        }
        trace.push(rec);
        if violation.is_some() {
            shared.stopped = true;
        }
    }

    fn arrival(&self, from: NodeId, to: NodeId) -> Arrival {
        self.lock().nemesis.arrival(from, to)
    }

    fn byzantine(&self, node: NodeId) -> Option<Byzantine> {
        self.lock()
            .byzantine
            .get(node.0 as usize)
            .copied()
            .flatten()
    }

    fn persist(&self, node: NodeId, durable: &Durable, keys: &[String]) {
        // Only what changed: cloning a whole Raft log per append made runs quadratic.
        if let Some(slot) = self.lock().durable.get_mut(node.0 as usize) {
            for key in keys {
                if let Some(value) = durable.entries.get(key) {
                    slot.entries.insert(key.clone(), value.clone());
                }
            }
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
        self.lock().stopped
    }
}

/// The simulated address of a node.
fn address(id: NodeId) -> SocketAddr {
    let i = id.0 as u32 + 1;
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(10, 0, (i >> 8) as u8, i as u8)),
        PORT,
    )
}

/// Runs a scenario under `seed` in madsim and returns its trace and verdicts.
pub fn simulate<P: Protocol>(proto: Arc<P>, scenario: &Scenario, seed: u64) -> RunOutput<P::Event> {
    let names = scenario.node_names();
    let nodes = names.len();
    let [lat_lo, lat_hi] = scenario.network.latency_ms;
    let mut config = madsim::Config::default();
    config.net.packet_loss_rate = 0.0;
    // madsim draws from a half-open range; the scenario's range is inclusive.
    config.net.send_latency =
        Duration::from_millis(lat_lo)..Duration::from_millis(lat_hi) + Duration::from_micros(1);
    let runtime = madsim::runtime::Runtime::with_seed_and_config(seed, config);

    let mut nemesis_rng = ChaCha8Rng::seed_from_u64(seed);
    nemesis_rng.set_stream(u64::MAX);
    let shared = Shared {
        trace: Trace::new(TRACE_RECORDS_MAX),
        checks: proto.checks(),
        violation: None,
        nemesis: {
            let mut nemesis = Nemesis::new(nodes, scenario.network.loss, nemesis_rng);
            nemesis.set_noise(scenario.network.corrupt, scenario.network.duplicate);
            nemesis
        },
        durable: vec![Durable::default(); nodes],
        sent: vec![0; nodes],
        incarnation: vec![0; nodes],
        byzantine: vec![None; nodes],
        stopped: false,
    };
    let book = AddressBook {
        nodes: (0..nodes).map(|i| address(NodeId(i as u16))).collect(),
        group: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 255, 70, 1)), PORT),
        interface: Ipv4Addr::UNSPECIFIED,
        kind: TransportKind::Udp,
    };
    let schedule = scenario.schedule();
    // Each node gets only its own ring: a liar can sign as itself, never as another.
    let secret = Keyring::secret("faultline sim keys", &seed.to_le_bytes());
    let authenticates = proto.authenticates();
    let duration_us = scenario.duration_ms * 1000;

    let (host, end_us) = runtime.block_on(async move {
        let host = Arc::new(SimHost {
            epoch: tokio::time::Instant::now(),
            shared: Mutex::new(shared),
            violated: Notify::new(),
        });
        let handle = madsim::runtime::Handle::current();
        let mut madsim_ids = Vec::with_capacity(nodes);
        for (i, name) in names.iter().enumerate() {
            let id = NodeId(i as u16);
            let (host, proto, book) = (host.clone(), proto.clone(), book.clone());
            let node = handle
                .create_node()
                .name(name.clone())
                .ip(address(id).ip())
                .init(move || {
                    let (host, proto, book) = (host.clone(), proto.clone(), book.clone());
                    async move {
                        let (durable, incarnation) = {
                            let mut shared = host.lock();
                            shared.incarnation[i] += 1;
                            (shared.durable[i].clone(), shared.incarnation[i])
                        };
                        let mut rng = ChaCha8Rng::seed_from_u64(seed);
                        rng.set_stream(((i as u64) << 32) | incarnation);
                        let Ok(transport) = Transport::bind(id, book).await else {
                            return;
                        };
                        let keys =
                            authenticates.then(|| Keyring::derive(&secret, id, nodes as u16));
                        driver::run(proto.node(id), id, host, transport, durable, rng, keys).await;
                    }
                })
                .build();
            madsim_ids.push(node.id());
        }

        for (at_ms, action) in schedule {
            let at = host.epoch + Duration::from_millis(at_ms);
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(at) => {}
                () = host.violated.notified() => break,
            }
            apply_fault(&host, &handle, &madsim_ids, action);
        }
        if !host.stopped() {
            tokio::select! {
                biased;
                () = tokio::time::sleep_until(host.epoch + Duration::from_micros(duration_us)) => {}
                () = host.violated.notified() => {}
            }
        }
        let end_us = host.now_us().min(duration_us);
        host.lock().stopped = true;
        (host, end_us)
    });

    let mut shared = host.lock();
    let trace = std::mem::replace(&mut shared.trace, Trace::new(0));
    let violation = shared.violation.take();
    let mut verdicts: Vec<Verdict> = Vec::new();
    for check in shared.checks.iter_mut() {
        match &violation {
            Some(v) if v.name == check.name() => verdicts.push(v.clone()),
            _ => verdicts.push(check.finish(end_us)),
        }
    }
    drop(shared);
    drop(runtime);
    RunOutput {
        trace,
        verdicts,
        end_us,
    }
}

fn apply_fault<E: crate::node::ProtoEvent + Send>(
    host: &Arc<SimHost<E>>,
    handle: &madsim::runtime::Handle,
    madsim_ids: &[madsim::task::NodeId],
    action: WorldAction,
) {
    match action {
        WorldAction::Crash(node) => {
            if !host.lock().nemesis.is_up(node) {
                return;
            }
            handle.kill(madsim_ids[node.0 as usize]);
            host.lock().nemesis.set_up(node, false);
            host.record(node, Ev::Crash);
        }
        WorldAction::Restart(node) => {
            if host.lock().nemesis.is_up(node) {
                return;
            }
            host.lock().nemesis.set_up(node, true);
            host.record(node, Ev::Restart);
            handle.restart(madsim_ids[node.0 as usize]);
        }
        WorldAction::Cut(links) => {
            host.lock().nemesis.set_cut(&links, true);
            host.record(WORLD, Ev::Partition { links });
        }
        WorldAction::Heal(links) => {
            host.lock().nemesis.set_cut(&links, false);
            host.record(WORLD, Ev::Heal { links });
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
    }
}
