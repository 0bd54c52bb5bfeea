//! What the farm's nodes report, for its checks and its summary.

use faultline_sim::check::TaskFact;
use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

use super::msg::SnapshotReport;

/// A protocol event of the farm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The coordinator has every dataset on the file service and made `tasks` tasks.
    Loaded {
        /// Tasks in all.
        tasks: u64,
    },
    /// The coordinator handed a task to a worker.
    Assigned {
        /// The task.
        task: u64,
        /// The worker.
        worker: NodeId,
    },
    /// The coordinator put a dead worker's task back at the front of the queue.
    Requeued {
        /// The task.
        task: u64,
        /// The worker that held it.
        worker: NodeId,
    },
    /// A worker started on a task.
    Started {
        /// The task.
        task: u64,
    },
    /// A worker finished testing a task.
    Tested {
        /// The task.
        task: u64,
        /// Numbers tested.
        numbers: u64,
    },
    /// The coordinator wrote a task's result to its durable output: the task is counted,
    /// and these of its primes are new in the output.
    Counted {
        /// The task.
        task: u64,
        /// Primes it added to the output.
        primes: Vec<u64>,
    },
    /// The coordinator started with this durable progress (all zero on a first start).
    Restored {
        /// Tasks done.
        done: u64,
        /// Primes in the output.
        primes: u64,
    },
    /// The restarted coordinator read its latest complete snapshot and took from it the
    /// results its durable progress lacked (buffered, or in flight on a channel).
    Resumed {
        /// The snapshot (its start, µs).
        seq: u64,
        /// Tasks whose result it took back, each then counted.
        tasks: u64,
    },
    /// The latest snapshot could not be used at a restart (damaged or inconsistent).
    SnapshotRejected {
        /// Why.
        why: String,
    },
    /// Every task is done; the output is complete.
    Finished {
        /// Primes in the output.
        primes: u64,
    },
    /// A file server became primary.
    Primary {
        /// Its epoch.
        epoch: u64,
    },
    /// A file server answered a read from its copy.
    Served {
        /// The file.
        name: String,
        /// Its version.
        version: u64,
    },
    /// A client dropped its cached copy on a callback.
    CacheBroken {
        /// The file.
        name: String,
    },
    /// A snapshot started.
    SnapshotStarted {
        /// Its number at the coordinator.
        seq: u64,
    },
    /// A complete snapshot, as the coordinator assembled it: where every task was in the
    /// cut. Each task must be in exactly one place.
    Snapshot {
        /// Its number at the coordinator.
        seq: u64,
        /// Tasks in all.
        total: u64,
        /// Tasks in the coordinator's queue.
        pending: Vec<u64>,
        /// Tasks held by workers.
        working: Vec<u64>,
        /// Tasks in ASSIGN or RESULT messages recorded in flight.
        in_flight: Vec<u64>,
        /// Tasks the coordinator had a result for.
        done: Vec<u64>,
        /// What the channel counts say (`None`: every channel balanced).
        channel_error: Option<String>,
        /// Channels verified.
        channels: u64,
    },
    /// A client asked the coordinator for a snapshot now.
    SnapshotAsked {
        /// The client's request number.
        req: u64,
    },
    /// The coordinator answered a client's request with the snapshot it took.
    SnapshotAnswered {
        /// The request.
        req: u64,
        /// The snapshot's number at the coordinator.
        seq: u64,
        /// What it found.
        report: SnapshotReport,
    },
    /// A snapshot was given up (a channel broke under it).
    SnapshotAbandoned {
        /// Its number at the coordinator.
        seq: u64,
    },
}

/// The task facts of the farm, for the generic exactly-once check: a task is issued when
/// assigned and counted when its result reaches the durable output.
pub fn task_fact(event: &Event) -> Option<TaskFact> {
    match event {
        Event::Assigned { task, .. } => Some(TaskFact::Issued { id: *task }),
        Event::Counted { task, .. } => Some(TaskFact::Counted { id: *task }),
        _ => None,
    }
}
