//! Raft as a runtime [`Protocol`]: which node runs at each id, and its checks.

use faultline_sim::protocol::chart::OpOutcome;
use faultline_sim::protocol::client_op::ClientStep;
use faultline_sim::protocol::facts::{Facts, History};
use faultline_sim::runtime::transport::TransportKind;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{
    BoxNode, Bug, Check, Fact, NodeId, Protocol, Role, Setup, SERVERS_AND_CLIENTS,
};

use super::bugs::Bugs;
use super::checks::{checks, ChecksConfig};
use super::client::Client;
use super::config::{
    RaftConfig, Workload, ENTRIES_PER_APPEND_MAX, LOG_ENTRIES_MAX, QUEUES_MAX, QUEUE_LENGTH_MAX,
};
use super::event::Event;
use super::kv_history::KvHistory;
use super::msg::Msg;
use super::op::Outcome;
use super::replica::Replica;

/// The Raft group of a run: replicas at the setup's server ids, clients at the rest.
pub struct Raft {
    /// Timing, bounds and the server list, shared by every node.
    cfg: RaftConfig,
    /// What clients do.
    workload: Workload,
    /// What the clients with a workload of their own (`[workload.c2]`) do instead.
    own_workloads: Vec<(NodeId, Workload)>,
    /// Bounds of the checks.
    checks: ChecksConfig,
    /// Client ids.
    clients: Vec<NodeId>,
}

impl Raft {
    /// A group from checked parts (tests build one directly).
    pub fn from_parts(
        cfg: RaftConfig,
        workload: Workload,
        checks: ChecksConfig,
        clients: &[NodeId],
    ) -> Raft {
        Raft {
            cfg,
            workload,
            own_workloads: Vec::new(),
            checks,
            clients: clients.to_vec(),
        }
    }

    /// This group with client `id` doing `workload` instead of the common one.
    pub fn with_client_workload(mut self, id: NodeId, workload: Workload) -> Raft {
        self.own_workloads.retain(|(c, _)| *c != id);
        self.own_workloads.push((id, workload));
        self
    }
}

fn validate_config(cfg: &RaftConfig, src: &Source) -> Result<(), InputError> {
    for (field, value) in [
        (
            "config.election_timeout_ms_min",
            cfg.election_timeout_ms_min,
        ),
        ("config.heartbeat_ms", cfg.heartbeat_ms),
        ("config.lease_ms", cfg.lease_ms),
        ("config.visibility_ms", cfg.visibility_ms),
    ] {
        if value == 0 {
            return Err(src.error(field, "must be at least 1 ms"));
        }
    }
    if cfg.election_timeout_ms_max < cfg.election_timeout_ms_min {
        return Err(src.error(
            "config.election_timeout_ms_max",
            "must be at least election_timeout_ms_min",
        ));
    }
    if cfg.heartbeat_ms >= cfg.election_timeout_ms_min {
        return Err(src.error(
            "config.heartbeat_ms",
            "must be shorter than election_timeout_ms_min, or followers time out between \
             heartbeats",
        ));
    }
    if cfg.snapshot_entries == 0 || cfg.snapshot_entries > LOG_ENTRIES_MAX / 2 {
        return Err(src.error(
            "config.snapshot_entries",
            format!("must be 1..={}", LOG_ENTRIES_MAX / 2),
        ));
    }
    if cfg.queue_length_max == 0 || cfg.queue_length_max > QUEUE_LENGTH_MAX {
        return Err(src.error(
            "config.queue_length_max",
            format!("must be 1..={QUEUE_LENGTH_MAX}"),
        ));
    }
    if cfg.entries_per_append == 0 || cfg.entries_per_append > ENTRIES_PER_APPEND_MAX {
        return Err(src.error(
            "config.entries_per_append",
            format!("must be 1..={ENTRIES_PER_APPEND_MAX}"),
        ));
    }
    Ok(())
}

/// Checks one workload; `at` is where it was written (`workload`, `workload.c2`).
fn validate_workload(work: &Workload, at: &str, src: &Source) -> Result<(), InputError> {
    let field = |name: &str| format!("{at}.{name}");
    let mix = &work.mix;
    if work.ops > 0 && mix.kv + mix.lock + mix.queue == 0 {
        return Err(src.error(&field("mix"), "give at least one kind a weight above 0"));
    }
    for (name, value) in [("keys", work.keys), ("resources", work.resources)] {
        if value == 0 {
            return Err(src.error(&field(name), "must be at least 1"));
        }
    }
    if work.queues == 0 || work.queues as usize > QUEUES_MAX {
        return Err(src.error(&field("queues"), format!("must be 1..={QUEUES_MAX}")));
    }
    if work.retry_ms == 0 {
        return Err(src.error(&field("retry_ms"), "must be at least 1 ms"));
    }
    if work.timeout_ms < work.retry_ms {
        return Err(src.error(&field("timeout_ms"), "must be at least retry_ms"));
    }
    Ok(())
}

impl Protocol for Raft {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "raft";
    const ABOUT: &'static str =
        "a Raft cluster carrying a lock manager, a message queue and a key-value store";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    /// Raft ships log entries and wants them over streams, not lost to datagram limits.
    const TRANSPORT: TransportKind = TransportKind::Tcp;
    const BUGS: &'static [Bug] = Bugs::ALL;
    /// A submitted command is appended by a leader as the lab's `Start()` does.
    const TAKES_SUBMITS: bool = true;

    /// Reads the `[config]`, `[workload]` and `[checks]` sections; errors point into `src`.
    fn new(setup: &Setup, src: &Source) -> Result<Raft, InputError> {
        let mut cfg: RaftConfig = src.section("config", &setup.config)?;
        cfg.servers = setup.ids("server");
        cfg.bugs = Bugs::from_names(&setup.bugs).map_err(|message| src.error("bugs", message))?;
        validate_config(&cfg, src)?;
        let (workload, own): (Workload, _) = setup.workload_by_node("client", src)?;
        validate_workload(&workload, "workload", src)?;
        for (id, work) in &own {
            validate_workload(
                work,
                &format!("workload.{}", setup.names[id.0 as usize]),
                src,
            )?;
        }
        let checks: ChecksConfig = src.section("checks", &setup.checks)?;
        let raft = Raft::from_parts(cfg, workload, checks, &setup.ids("client"));
        Ok((own.into_iter()).fold(raft, |raft, (id, work)| raft.with_client_workload(id, work)))
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        if self.clients.contains(&id) {
            let workload = (self.own_workloads.iter())
                .find(|(c, _)| *c == id)
                .map_or(&self.workload, |(_, w)| w);
            Box::new(Client::new(self.cfg.clone(), workload.clone()))
        } else {
            Box::new(Replica::new(self.cfg.clone()))
        }
    }

    fn fact(event: &Event) -> Option<Fact> {
        event.fact()
    }

    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        checks(
            &self.cfg.servers,
            &self.clients,
            &self.checks,
            self.cfg.lease_ms,
        )
    }

    fn facts(&self) -> Box<dyn Facts<Event>> {
        Box::new(RaftFacts::default())
    }

    fn client_op(event: &Event) -> Option<ClientStep> {
        Some(match event {
            Event::Invoke { seq, .. } => ClientStep::Invoke { op: *seq },
            Event::Return { seq, result } => ClientStep::Return {
                client: None,
                op: *seq,
                outcome: match &**result {
                    Outcome::Ok { .. } => OpOutcome::Ok,
                    Outcome::Fail { .. } => OpOutcome::Fail,
                    Outcome::Unknown => OpOutcome::Unknown,
                },
            },
            _ => return None,
        })
    }

    fn history(&self) -> Option<Box<dyn History<Event>>> {
        Some(Box::new(KvHistory::default()))
    }
}

/// A Raft run's details and chart, gathered as its records pass.
#[derive(Default)]
struct RaftFacts {
    /// The summary's details.
    details: super::details::Details,
    /// The timeline's chart.
    chart: super::chart::ChartBuilder,
}

impl Facts<Event> for RaftFacts {
    fn observe(&mut self, rec: &faultline_sim::Record<Event>) {
        // Only protocol events, roles and crashes matter: datagrams pass by.
        if rec.ev.is_traffic() {
            return;
        }
        self.details.observe(rec);
        self.chart.observe(rec);
    }

    fn details(&self, names: &[String]) -> Option<serde_json::Value> {
        let name = |n: NodeId| {
            names
                .get(n.0 as usize)
                .cloned()
                .unwrap_or_else(|| n.to_string())
        };
        Some(self.details.finish(&name))
    }

    fn chart(&self) -> faultline_sim::Chart {
        self.chart.finish()
    }
}
