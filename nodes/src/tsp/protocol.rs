//! The solver as a runtime [`Protocol`]: its roles, the problem from the scenario, its
//! nodes and checks.

use std::path::Path;
use std::time::Duration;

use faultline_sim::protocol::facts::Facts;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{BoxNode, Bug, Check, NodeId, Protocol, Role, Setup};

use super::bugs::Bugs;
use super::checks::checks;
use super::client::Client;
use super::config::{ChecksConfig, TspConfig, Workload};
use super::coordinator::Coordinator;
use super::event::Event;
use super::held_karp::{held_karp, HELD_KARP_CITIES_MAX};
use super::instance::{Instance, CITIES_MAX, CITIES_MIN};
use super::msg::Msg;
use super::search;
use super::tsplib;
use super::worker::QUEUE_MAX;

/// Largest instance whose optimum the checks compute with Held-Karp rather than asking the
/// scenario for it (or running the sequential branch and bound).
const ORACLE_CITIES_MAX: usize = 13;

/// The solver of a run.
pub struct Tsp {
    /// Settings shared by every node.
    cfg: TspConfig,
    /// Planted bugs.
    bugs: Bugs,
    /// The client's problem.
    instance: Instance,
    /// Its optimum and where it comes from.
    optimum: (u64, &'static str),
    /// When the client asks, and how often again.
    workload: Workload,
    /// What the checks expect.
    checks: ChecksConfig,
    /// Coordinator replica ids.
    coordinators: Vec<NodeId>,
    /// Worker ids.
    workers: Vec<NodeId>,
}

impl Tsp {
    /// The instance a workload names: its TSPLIB file (relative to the scenario's folder)
    /// or one generated from its seed.
    fn instance(workload: &Workload, src: &Source) -> Result<Instance, InputError> {
        match &workload.file {
            Some(file) => {
                let base = Path::new(src.file).parent().unwrap_or(Path::new(""));
                tsplib::load(&base.join(file))
            }
            None if (CITIES_MIN..=CITIES_MAX).contains(&workload.cities) => {
                Ok(Instance::generated(workload.cities, workload.seed))
            }
            None => Err(src.error(
                "workload.cities",
                format!("between {CITIES_MIN} and {CITIES_MAX} cities are solved"),
            )),
        }
    }
}

impl Protocol for Tsp {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "tsp";
    const ABOUT: &'static str =
        "a distributed exact TSP solver: replicated coordinators (bully, Ricart-Agrawala), workers";
    const ROLES: &'static [Role] = &[
        Role {
            name: "coordinator",
            count_key: "coordinators",
            prefix: "co",
            min: 1,
            fault_target: true,
            about: "splits the problem, hands out subproblems, counts results (one active)",
        },
        Role {
            name: "worker",
            count_key: "workers",
            prefix: "w",
            min: 1,
            fault_target: true,
            about: "searches subproblems by branch and bound",
        },
        Role {
            name: "client",
            count_key: "clients",
            prefix: "c",
            min: 1,
            fault_target: false,
            about: "submits the problem and waits for the tour",
        },
    ];
    const BUGS: &'static [Bug] = Bugs::ALL;

    fn new(setup: &Setup, src: &Source) -> Result<Tsp, InputError> {
        let cfg: TspConfig = src.section("config", &setup.config)?;
        for (field, value) in [
            ("config.heartbeat_ms", cfg.heartbeat_ms),
            ("config.peer_timeout_ms", cfg.peer_timeout_ms),
            ("config.election_timeout_ms", cfg.election_timeout_ms),
        ] {
            if value == 0 {
                return Err(src.error(field, "must be at least 1 ms"));
            }
        }
        if cfg.peer_timeout_ms <= cfg.heartbeat_ms * 2 {
            return Err(src.error(
                "config.peer_timeout_ms",
                "must be longer than two heartbeats, or live peers time out",
            ));
        }
        if !(1..=QUEUE_MAX).contains(&cfg.window) {
            return Err(src.error(
                "config.window",
                format!("between 1 and {QUEUE_MAX} subproblems per worker"),
            ));
        }
        if cfg.slice_nodes == 0 {
            return Err(src.error(
                "config.slice_nodes",
                "must be at least 1 node, or a search never advances",
            ));
        }
        let workload: Workload = src.section("workload", &setup.workload)?;
        if workload.retry_ms == 0 {
            return Err(src.error("workload.retry_ms", "must be at least 1 ms"));
        }
        let checks: ChecksConfig = src.section("checks", &setup.checks)?;
        let instance = Tsp::instance(&workload, src)?;
        let optimum = if instance.n <= ORACLE_CITIES_MAX.min(HELD_KARP_CITIES_MAX) {
            let exact = held_karp(&instance).len;
            if let Some(known) = checks.optimum.filter(|k| *k != exact) {
                return Err(src.error(
                    "checks.optimum",
                    format!("{known}, but Held-Karp finds {exact} for {}", instance.name),
                ));
            }
            (exact, "Held-Karp")
        } else {
            match checks.optimum {
                Some(known) => (known, "named in the scenario"),
                None => (
                    search::solve(&instance).0.len,
                    "sequential branch and bound",
                ),
            }
        };
        let bugs = Bugs::from_names(&setup.bugs).map_err(|message| src.error("bugs", message))?;
        Ok(Tsp {
            cfg,
            bugs,
            instance,
            optimum,
            workload,
            checks,
            coordinators: setup.ids("coordinator"),
            workers: setup.ids("worker"),
        })
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        if self.coordinators.contains(&id) {
            Box::new(Coordinator::new(
                self.cfg.clone(),
                self.bugs,
                self.coordinators.clone(),
                self.workers.clone(),
            ))
        } else if self.workers.contains(&id) {
            Box::new(super::worker::Worker::new(
                self.cfg.clone(),
                self.coordinators.clone(),
            ))
        } else {
            Box::new(Client::new(
                self.coordinators.clone(),
                self.instance.clone(),
                Duration::from_millis(self.workload.start_ms),
                Duration::from_millis(self.workload.retry_ms),
            ))
        }
    }

    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        checks(&self.instance, self.optimum, &self.checks)
    }

    fn facts(&self) -> Box<dyn Facts<Event>> {
        Box::new(super::details::TspFacts::default())
    }
}
