//! What the overlay's processes and clients report to the trace, for checks and reports.

use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

use super::msg::{Key, Metrics, Outcome};

/// A protocol event of the overlay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "what")]
pub enum Event {
    /// A client sent a new request; it stops waiting `deadline_ms` later.
    Issued {
        /// The client's number for it.
        seq: u64,
        /// Its team.
        team: u16,
        /// How long the client waits for its answer.
        deadline_ms: u32,
    },
    /// A client took its one answer to a request.
    Answered {
        /// The client's number for it.
        seq: u64,
        /// The answer.
        outcome: Outcome,
        /// From sending it to the answer, in µs.
        latency_us: u64,
        /// The processes it visited.
        path: Vec<NodeId>,
    },
    /// A client had no answer by its deadline and reports the request late.
    GaveUp {
        /// The client's number for it.
        seq: u64,
    },
    /// An answer came after the client had given up; it is reported, not taken.
    LateAnswer {
        /// The client's number for it.
        seq: u64,
        /// The answer.
        outcome: Outcome,
    },
    /// A second answer to one request said something else than the first.
    Conflict {
        /// The client's number for it.
        seq: u64,
        /// The answer taken.
        first: Outcome,
        /// The one that contradicts it.
        second: Outcome,
    },
    /// The leader queued a request; `len` is its queue's length after.
    Queued {
        /// The request.
        key: Key,
        /// Queue length after.
        len: u32,
    },
    /// The leader took a request off its queue; `len` is its queue's length after.
    Dequeued {
        /// The request.
        key: Key,
        /// Queue length after.
        len: u32,
    },
    /// The leader refused a request as busy; `len` is its queue's length then.
    Busy {
        /// The request.
        key: Key,
        /// Queue length when it was refused.
        len: u32,
    },
    /// A process took a forwarded request; `path` ends with that process.
    Hop {
        /// The request.
        key: Key,
        /// The processes it visited, this one last.
        path: Vec<NodeId>,
    },
    /// A process refused a forwarded request that came back to it or went too far.
    HopRefused {
        /// The request.
        key: Key,
        /// The path it came with.
        path: Vec<NodeId>,
    },
    /// A client received a process's metrics.
    MetricsSeen {
        /// The process asked.
        node: NodeId,
        /// Its numbers.
        metrics: Metrics,
    },
}
