//! The overlay as a runtime [`Protocol`]: roles, topology, nodes and checks.

use std::sync::Arc;

use faultline_sim::protocol::facts::Facts;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{BoxNode, Bug, Check, NodeId, Protocol, Role, Setup, Tone};

use super::bugs::Bugs;
use super::checks::checks;
use super::client::Client;
use super::config::{ChecksConfig, OverlayConfig, Workload};
use super::event::Event;
use super::facts::OverlayFacts;
use super::grpc::GrpcEndpoint;
use super::msg::Msg;
use super::process::Process;
use super::topology::{Place, Topology};

/// The request overlay of a run.
pub struct Overlay {
    /// Bounds and timing, topology entries included.
    cfg: Arc<OverlayConfig>,
    /// Who is where.
    topo: Arc<Topology>,
    /// What the simulated clients send.
    workload: Workload,
    /// Where processes serve the gRPC API (real flavor).
    grpc: Vec<GrpcEndpoint>,
}

impl Overlay {
    /// The checked topology.
    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    /// The settings.
    pub fn config(&self) -> &OverlayConfig {
        &self.cfg
    }

    /// Where processes serve the gRPC API, from the `grpc` and `gateway` fields.
    pub fn grpc(&self) -> &[GrpcEndpoint] {
        &self.grpc
    }
}

impl Protocol for Overlay {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "overlay";
    const ABOUT: &'static str =
        "a request overlay: a leader with a bounded queue, team leaders and workers forwarding requests along a hop path";
    const ROLES: &'static [Role] = &[
        Role {
            name: "leader",
            count_key: "leaders",
            prefix: "l",
            min: 1,
            fault_target: true,
            about: "queues clients' requests and routes them by team",
        },
        Role {
            name: "team-leader",
            count_key: "team_leaders",
            prefix: "t",
            min: 1,
            fault_target: true,
            about: "hands its team's requests to its workers",
        },
        Role {
            name: "worker",
            count_key: "workers",
            prefix: "w",
            min: 1,
            fault_target: true,
            about: "processes requests",
        },
        Role {
            name: "client",
            count_key: "clients",
            prefix: "c",
            min: 0,
            fault_target: false,
            about: "sends requests and asks for metrics",
        },
    ];
    const BUGS: &'static [Bug] = Bugs::ALL;
    const STATES: &'static [(&'static str, Tone)] = &[
        ("leader", Tone::Lead),
        ("team-leader", Tone::Follow),
        ("worker", Tone::Work),
        ("client", Tone::Client),
    ];

    fn new(setup: &Setup, src: &Source) -> Result<Overlay, InputError> {
        let mut cfg: OverlayConfig = src.section("config", &setup.config)?;
        cfg.bugs = Bugs::from_names(&setup.bugs).map_err(|m| src.error("bugs", m))?;
        for (field, value) in [
            ("config.queue_max", u64::from(cfg.queue_max)),
            ("config.inflight_max", u64::from(cfg.inflight_max)),
            ("config.hop_max", u64::from(cfg.hop_max)),
            ("config.tick_ms", cfg.tick_ms),
            ("config.heartbeat_ms", cfg.heartbeat_ms),
            ("config.retry_ms", cfg.retry_ms),
        ] {
            if value == 0 {
                return Err(src.error(field, "must be at least 1"));
            }
        }
        if cfg.hop_max as usize > super::config::PATH_LEN_MAX {
            return Err(src.error(
                "config.hop_max",
                format!(
                    "at most {} (the longest path a message carries)",
                    super::config::PATH_LEN_MAX
                ),
            ));
        }
        if cfg.peer_timeout_ms <= cfg.heartbeat_ms {
            return Err(src.error(
                "config.peer_timeout_ms",
                "must be longer than heartbeat_ms, or every neighbour times out",
            ));
        }
        let topo = Topology::build(setup, &cfg.process, src)?;
        let grpc = super::grpc::endpoints(setup, &cfg.process, src)?;
        let workload: Workload = src.section("workload", &setup.workload)?;
        if workload.retry_ms == 0 {
            return Err(src.error("workload.retry_ms", "must be at least 1"));
        }
        let _: ChecksConfig = src.section("checks", &setup.checks)?;
        Ok(Overlay {
            cfg: Arc::new(cfg),
            topo: Arc::new(topo),
            workload,
            grpc,
        })
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        if self.topo.place(id) == Place::Client {
            let processes = (0..self.topo.places.len())
                .map(|i| NodeId(i as u16))
                .filter(|n| self.topo.place(*n) != Place::Client)
                .collect();
            Box::new(Client::new(
                self.workload.clone(),
                self.topo.leader,
                self.topo.teams.len() as u16,
                processes,
            ))
        } else {
            Box::new(Process::new(self.cfg.clone(), self.topo.clone()))
        }
    }

    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        checks(
            self.topo.leader,
            self.cfg.queue_max,
            self.cfg.hop_max,
            self.workload.grace_ms,
        )
    }

    fn host(&self, id: NodeId) -> Option<String> {
        self.topo.hosts.get(id.0 as usize).cloned().flatten()
    }
    fn facts(&self) -> Box<dyn Facts<Event>> {
        Box::new(OverlayFacts::new(self.topo.leader))
    }
}
