//! The cache as a runtime [`Protocol`]: Raft replicas, cache nodes and clients, the
//! scenario's sections, and the checks.

use faultline_sim::protocol::facts::Facts;
use faultline_sim::runtime::transport::TransportKind;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{BoxNode, Bug, Check, Fact, NodeId, Protocol, Role, Setup, Tone};

use super::bugs::Bugs;
use super::cache_node::CacheNode;
use super::checks::checks;
use super::client::Client;
use super::config::{CacheConfig, ChecksConfig, Workload, CAPACITY_MAX, KEYS_MAX, VNODES_MAX};
use super::details::Details;
use super::event::Event;
use super::membership::Membership;
use super::msg::Msg;
use super::replica::StoreReplica;
use crate::raft::RaftConfig;

/// The roles: Raft replicas `s1..`, cache nodes `c1..`, clients `u1..`.
const ROLES: &[Role] = &[
    Role {
        name: "server",
        count_key: "servers",
        prefix: "s",
        min: 1,
        fault_target: true,
        about: "a Raft replica of the store",
    },
    Role {
        name: "cache",
        count_key: "caches",
        prefix: "c",
        min: 1,
        fault_target: true,
        about: "a cache in front of the store, and the home of the keys the ring gives it",
    },
    Role {
        name: "client",
        count_key: "clients",
        prefix: "u",
        min: 0,
        fault_target: false,
        about: "gets and puts keys through a cache",
    },
];

/// A cache run: the store, the caches and their clients.
pub struct Cache {
    /// The cache nodes' configuration.
    cfg: CacheConfig,
    /// Raft's configuration (defaults, with the replica list).
    raft: RaftConfig,
    /// What clients do.
    workload: Workload,
    /// Bounds of the checks.
    checks: ChecksConfig,
    /// The ring over time.
    membership: Membership,
    /// Each node's role, by id.
    roles: Vec<&'static str>,
    /// Planted bugs.
    bugs: Bugs,
}

/// The node ids a `join` or `leave` table names, each checked to be a cache node.
fn schedule(
    table: &std::collections::BTreeMap<String, u64>,
    field: &str,
    setup: &Setup,
    src: &Source,
) -> Result<Vec<(NodeId, u64)>, InputError> {
    let mut out = Vec::new();
    for (name, at_ms) in table {
        let id = setup.names.iter().position(|n| n == name);
        match id.map(|i| NodeId(i as u16)) {
            Some(id) if setup.role_of(id) == "cache" => out.push((id, *at_ms)),
            _ => {
                return Err(src.error(
                    field,
                    format!("{name:?} is no cache node (cache nodes are c1, c2, ...)"),
                ))
            }
        }
    }
    Ok(out)
}

fn validate(cfg: &CacheConfig, work: &Workload, src: &Source) -> Result<(), InputError> {
    if cfg.capacity == 0 || cfg.capacity > CAPACITY_MAX {
        return Err(src.error("config.capacity", format!("must be 1..={CAPACITY_MAX}")));
    }
    if cfg.vnodes == 0 || cfg.vnodes > VNODES_MAX {
        return Err(src.error("config.vnodes", format!("must be 1..={VNODES_MAX}")));
    }
    if cfg.retry_ms == 0 {
        return Err(src.error("config.retry_ms", "must be at least 1 ms"));
    }
    if work.keys == 0 || work.keys > KEYS_MAX {
        return Err(src.error("workload.keys", format!("must be 1..={KEYS_MAX}")));
    }
    if work.read_percent > 100 {
        return Err(src.error("workload.read_percent", "must be 0..=100"));
    }
    if work.retry_ms == 0 {
        return Err(src.error("workload.retry_ms", "must be at least 1 ms"));
    }
    if work.timeout_ms < work.retry_ms {
        return Err(src.error("workload.timeout_ms", "must be at least retry_ms"));
    }
    Ok(())
}

impl Protocol for Cache {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "cache";
    const ABOUT: &'static str =
        "MESI/MOSI/MOESI-coherent caches with consistent hashing in front of a Raft store";
    const ROLES: &'static [Role] = ROLES;
    /// The replicas ship log entries, as in Raft.
    const TRANSPORT: TransportKind = TransportKind::Tcp;
    const BUGS: &'static [Bug] = Bugs::ALL;
    const STATES: &'static [(&'static str, Tone)] = &[
        ("leader", Tone::Lead),
        ("follower", Tone::Follow),
        ("candidate", Tone::Contend),
        ("cache", Tone::Work),
        ("standby", Tone::Follow),
        ("client", Tone::Client),
    ];

    /// Reads the `[config]`, `[workload]` and `[checks]` sections; errors point into `src`.
    fn new(setup: &Setup, src: &Source) -> Result<Cache, InputError> {
        let cfg: CacheConfig = src.section("config", &setup.config)?;
        let workload: Workload = src.section("workload", &setup.workload)?;
        validate(&cfg, &workload, src)?;
        let checks: ChecksConfig = src.section("checks", &setup.checks)?;
        let bugs = Bugs::from_names(&setup.bugs).map_err(|message| src.error("bugs", message))?;
        let joins = schedule(&cfg.join, "config.join", setup, src)?;
        let leaves = schedule(&cfg.leave, "config.leave", setup, src)?;
        let caches = setup.ids("cache");
        let membership = Membership::new(
            &caches,
            &joins,
            &leaves,
            cfg.vnodes,
            workload.keys,
            bugs.ring_moves_every_key,
        );
        if membership.epoch(0).members.is_empty() {
            return Err(src.error(
                "config.join",
                "at least one cache node must start on the ring",
            ));
        }
        let raft = RaftConfig {
            servers: setup.ids("server"),
            ..RaftConfig::default()
        };
        Ok(Cache {
            cfg,
            raft,
            workload,
            checks,
            membership,
            roles: setup.roles.clone(),
            bugs,
        })
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        match self.roles.get(id.0 as usize).copied() {
            Some("server") => Box::new(StoreReplica::new(self.raft.clone())),
            Some("cache") => Box::new(CacheNode::new(
                self.cfg.clone(),
                self.membership.clone(),
                self.raft.servers.clone(),
                self.workload.keys,
                self.bugs,
            )),
            _ => Box::new(Client::new(
                self.workload.clone(),
                self.membership.clone(),
                self.raft.servers.clone(),
            )),
        }
    }

    fn fact(event: &Event) -> Option<Fact> {
        match event {
            Event::Raft(e) => e.fact(),
            _ => None,
        }
    }

    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        let ring = self.membership.epochs().len() > 1;
        checks(ring, self.checks.moved_slack)
    }

    fn facts(&self) -> Box<dyn Facts<Event>> {
        Box::new(Details::new(self.cfg.coherence.name()))
    }
}
