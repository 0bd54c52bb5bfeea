//! The primes farm as faultline runs it: its roles, bugs, states and scenario sections.

use std::collections::BTreeSet;
use std::sync::Arc;

use faultline_sim::protocol::facts::Facts;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{BoxNode, Check, NodeId, Protocol, Role, Setup, Tone, ViewFile};
use serde::Deserialize;

use super::bugs::Bugs;
use super::checks::checks;
use super::config::PrimesConfig;
use super::coordinator::Coordinator;
use super::dataset::{self, Dataset, DatasetSpec};
use super::details::Details;
use super::event::Event;
use super::file_server::FileServer;
use super::msg::{Msg, Task};
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
    ];
    const BUGS: &'static [faultline_sim::Bug] = Bugs::ALL;
    const STATES: &'static [(&'static str, Tone)] = &[
        ("primary", Tone::Lead),
        ("coordinator", Tone::Lead),
        ("backup", Tone::Follow),
        ("candidate", Tone::Contend),
        ("working", Tone::Work),
        ("idle", Tone::Follow),
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
        })
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        let servers = self.setup.ids("file_server");
        let coordinator = self.setup.ids("coordinator")[0];
        let bug_cut = self.bugs.snapshot_without_channel_state;
        match self.setup.role_of(id) {
            "file_server" => {
                let clients: Vec<NodeId> = (0..self.setup.names.len() as u16)
                    .map(NodeId)
                    .filter(|n| !servers.contains(n))
                    .collect();
                Box::new(FileServer::new(id, servers, clients, self.cfg.clone()))
            }
            "coordinator" => Box::new(Coordinator::new(
                id,
                servers,
                self.datasets.clone(),
                self.tasks.clone(),
                self.cfg.clone(),
                self.bugs.forget_dead_worker_task,
                bug_cut,
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
