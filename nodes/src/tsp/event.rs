//! What the solver's nodes report: the facts the generic checks read (Lamport stamps, lock
//! facts, task facts), and what the timeline and summary show.

use faultline_sim::check::{LockFact, Stamp, TaskFact};
use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

use super::instance::Tour;

/// The resource Ricart-Agrawala guards: the shared best tour and ledger.
pub const RESOURCE: &str = "best-tour";

/// A node's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A Lamport-stamped send or receive.
    Stamp(Stamp),
    /// A coordinator asked for, entered or left the critical section.
    Lock(LockFact),
    /// The active coordinator handed a subproblem out, or counted its result.
    Task(TaskFact),
    /// The active coordinator handed subproblem `task` to `worker`; `again` when it had been
    /// handed out before (its worker died, lost it, or is slow).
    Assigned {
        /// The subproblem.
        task: u32,
        /// The worker.
        worker: NodeId,
        /// Whether it is a reassignment.
        again: bool,
    },
    /// The active coordinator split a running root subproblem into `children` (adaptive,
    /// for idle workers); the split is written to every live replica.
    Split {
        /// The subproblem.
        task: u32,
        /// How many children it has.
        children: u32,
    },
    /// A worker searched a subproblem.
    Searched {
        /// The subproblem.
        task: u32,
        /// Search nodes expanded.
        nodes: u64,
        /// Simulated search time (µs).
        busy_us: u64,
    },
    /// A coordinator became the active one, in `epoch`, with this much already finished.
    Active {
        /// Its epoch.
        epoch: u64,
        /// Subproblems already counted.
        counted: u32,
        /// Subproblems in all (0 before a problem arrived).
        tasks: u32,
    },
    /// The client received the solver's answer.
    Solved {
        /// The tour.
        tour: Tour,
    },
}

impl Event {
    /// The stamp the causality check reads.
    pub fn stamp(&self) -> Option<Stamp> {
        match self {
            Event::Stamp(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The lock fact the mutual-exclusion check reads.
    pub fn lock(&self) -> Option<LockFact> {
        match self {
            Event::Lock(l) => Some(l.clone()),
            _ => None,
        }
    }

    /// The task fact the exactly-once check reads.
    pub fn task(&self) -> Option<TaskFact> {
        match self {
            Event::Task(t) => Some(t.clone()),
            _ => None,
        }
    }
}
