//! The primes farm as faultline runs it: its roles, bugs, states and scenario sections.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use faultline_sim::protocol::facts::Facts;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{BoxNode, Check, NodeId, Protocol, Role, Setup, Tone, ViewFile};
use serde::Deserialize;

use super::bugs::Bugs;
use super::checks::checks;
use super::client::Client;
use super::config::PrimesConfig;
use super::coordinator::Coordinator;
use super::dataset::{self, Dataset, DatasetSpec};
use super::details::Details;
use super::event::Event;
use super::file_server::FileServer;
use super::msg::{Msg, SnapshotReport, Task};
use super::output;
use super::primality::is_prime;
use super::worker::Worker;

/// The `[workload]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// The datasets, loaded in order.
    #[serde(default)]
    pub datasets: Vec<DatasetSpec>,
    /// A folder (relative to the scenario or cluster file) whose `.txt` files are datasets
    /// too, loaded after `datasets`, in name order.
    #[serde(default)]
    pub folder: Option<String>,
    /// Numbers per task.
    #[serde(default = "default_task_numbers")]
    pub task_numbers: u32,
    /// When each client asks the coordinator for a snapshot on demand, ms after it starts.
    #[serde(default)]
    pub snapshot_requests_ms: Vec<u64>,
}

fn default_task_numbers() -> u32 {
    50
}

/// The primes farm.
pub struct Primes {
    /// Who is who.
    setup: Setup,
    /// Timings.
    cfg: PrimesConfig,
    /// Planted bugs.
    bugs: Bugs,
    /// The datasets.
    datasets: Arc<Vec<Dataset>>,
    /// The tasks they make.
    tasks: Arc<Vec<Task>>,
    /// The sequential answer: every prime in every dataset.
    expected: Arc<BTreeSet<u64>>,
    /// When the clients ask for snapshots.
    snapshot_requests: Vec<Duration>,
}

/// Cuts the datasets into tasks of `per_task` numbers, in dataset order.
pub fn tasks_of(datasets: &[Dataset], per_task: u32) -> Vec<Task> {
    let mut tasks = Vec::new();
    for d in datasets {
        let len = d.numbers.len() as u32;
        let mut lo = 0;
        while lo < len {
            let hi = lo.saturating_add(per_task).min(len);
            tasks.push(Task {
                id: tasks.len() as u64,
                dataset: d.name.clone(),
                lo,
                hi,
            });
            lo = hi;
        }
    }
    tasks
}

impl Primes {
    /// The sequential answer.
    pub fn expected(&self) -> &BTreeSet<u64> {
        &self.expected
    }

    /// The datasets.
    pub fn datasets(&self) -> &[Dataset] {
        &self.datasets
    }
}

impl Protocol for Primes {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "primes";
    const ABOUT: &'static str =
        "a primes farm: a coordinator hands tasks to workers that read datasets from replicated file servers";
    const ROLES: &'static [Role] = &[
        Role {
            name: "file_server",
            count_key: "file_servers",
            prefix: "f",
            min: 1,
            fault_target: true,
            about: "holds the datasets, primary-backup",
        },
        Role {
            name: "coordinator",
            count_key: "coordinators",
            prefix: "c",
            min: 1,
            fault_target: true,
            about: "turns datasets into tasks and collects the primes",
        },
        Role {
            name: "worker",
            count_key: "workers",
            prefix: "w",
            min: 1,
            fault_target: true,
            about: "tests the numbers of one task at a time",
        },
        Role {
            name: "client",
            count_key: "clients",
            prefix: "u",
            min: 0,
            fault_target: true,
            about: "asks the coordinator for a snapshot now",
        },
    ];
    const BUGS: &'static [faultline_sim::Bug] = Bugs::ALL;
    const STATES: &'static [(&'static str, Tone)] = &[
        ("primary", Tone::Lead),
        ("coordinator", Tone::Lead),
        ("backup", Tone::Follow),
        ("candidate", Tone::Contend),
        ("working", Tone::Work),
        ("idle", Tone::Follow),
        ("client", Tone::Client),
    ];

    fn new(setup: &Setup, src: &Source) -> Result<Primes, InputError> {
        let cfg: PrimesConfig = src.section("config", &setup.config)?;
        if let Some((field, why)) = cfg.invalid() {
            return Err(src.error(&format!("config.{field}"), why));
        }
        if setup.ids("coordinator").len() != 1 {
            return Err(src.error("nodes.coordinators", "the farm has exactly one coordinator"));
        }
        let workload: Workload = src.section("workload", &setup.workload)?;
        if workload.task_numbers == 0 {
            return Err(src.error("workload.task_numbers", "must be at least 1"));
        }
        let bugs = Bugs::from_names(&setup.bugs).map_err(|e| src.error("bugs", e))?;
        let datasets = dataset::load(&workload.datasets, workload.folder.as_deref(), src)?;
        let tasks = tasks_of(&datasets, workload.task_numbers);
        let expected: BTreeSet<u64> = datasets
            .iter()
            .flat_map(|d| d.numbers.iter().copied())
            .filter(|n| is_prime(*n))
            .collect();
        Ok(Primes {
            setup: setup.clone(),
            cfg,
            bugs,
            datasets: Arc::new(datasets),
            tasks: Arc::new(tasks),
            expected: Arc::new(expected),
            snapshot_requests: workload
                .snapshot_requests_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
        })
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        let servers = self.setup.ids("file_server");
        let coordinator = self.setup.ids("coordinator")[0];
        let bug_cut = self.bugs.snapshot_without_channel_state;
        match self.setup.role_of(id) {
            "file_server" => {
                // The coordinator and the workers read and write files.
                let clients: Vec<NodeId> = (0..self.setup.names.len() as u16)
                    .map(NodeId)
                    .filter(|n| !servers.contains(n) && self.setup.role_of(*n) != "client")
                    .collect();
                Box::new(FileServer::new(id, servers, clients, self.cfg.clone()))
            }
            "coordinator" => Box::new(Coordinator::new(
                id,
                servers,
                self.datasets.clone(),
                self.tasks.clone(),
                self.cfg.clone(),
                self.setup.ids("client"),
                &self.bugs,
            )),
            "client" => Box::new(Client::new(
                coordinator,
                self.snapshot_requests.clone(),
                Duration::from_millis(self.cfg.request_retry_ms),
            )),
            _ => Box::new(Worker::new(
                id,
                coordinator,
                servers,
                self.cfg.clone(),
                bug_cut,
            )),
        }
    }

    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        checks(
            self.expected.clone(),
            self.tasks.len() as u64,
            self.setup.ids("coordinator")[0],
            self.setup.ids("worker"),
            self.setup.ids("file_server"),
            !self.setup.ids("client").is_empty() && !self.snapshot_requests.is_empty(),
        )
    }

    fn facts(&self) -> Box<dyn Facts<Event>> {
        Box::new(Details::default())
    }

    fn view_file(&self, id: NodeId) -> Option<ViewFile> {
        (self.setup.role_of(id) == "coordinator").then_some(output::VIEW)
    }

    fn log_line(event: &Event) -> Option<String> {
        match event {
            Event::Loaded { tasks } => Some(format!("datasets loaded: {tasks} tasks")),
            Event::Restored { done, primes } if *done > 0 => Some(format!(
                "restarted with {done} tasks done and {primes} primes in the output"
            )),
            Event::Resumed { seq, tasks } => Some(format!(
                "resumed from snapshot {seq}: {tasks} results it held that the output lacked"
            )),
            Event::SnapshotAsked { req } => Some(format!("asks for a snapshot now (request {req})")),
            Event::SnapshotAnswered { req, seq, report } => Some(match report {
                SnapshotReport::Complete { pending, working, in_flight, done, channels } => format!(
                    "snapshot {seq} (request {req}): {pending} tasks pending, {working} being worked, {in_flight} in flight, {done} done; {channels} channels balanced"
                ),
                SnapshotReport::Inconsistent { why } => {
                    format!("snapshot {seq} (request {req}) is not a consistent cut: {why}")
                }
                SnapshotReport::Abandoned => format!("snapshot {seq} (request {req}) was given up"),
                SnapshotReport::Busy => format!("request {req}: the coordinator is busy with other snapshots"),
                SnapshotReport::Loading => format!("request {req}: the coordinator is still loading the datasets"),
            }),
            Event::SnapshotRejected { why } => Some(format!("latest snapshot not used: {why}")),
            Event::Requeued { task, worker } => Some(format!(
                "worker {worker} is gone: task {task} back at the front of the queue"
            )),
            Event::Counted { task, primes } => {
                Some(format!("task {task} counted: {} new primes", primes.len()))
            }
            Event::Finished { primes } => Some(format!(
                "farm finished: every task counted, {primes} primes in {}",
                output::OUTPUT_FILE
            )),
            Event::Primary { epoch } => Some(format!("primary file server (epoch {epoch})")),
            _ => None,
        }
    }
}
