//! What replicas and clients report to the trace (read by the checks).

use faultline_sim::Fact;
use serde::{Deserialize, Serialize};

use super::op::{Op, Outcome};

/// A protocol event of Raft.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A candidate won the election of `term` (reported with role "leader").
    BecameLeader {
        /// The term.
        term: u64,
    },
    /// An entry was stored (durably) at the end of the log.
    Appended {
        /// Its index.
        index: u64,
        /// Its term.
        term: u64,
        /// Running FNV-1a hash of the log up to and including it.
        chain: u64,
    },
    /// Every entry from `from_index` on was removed (it conflicted with the leader's log).
    Truncated {
        /// The first index removed.
        from_index: u64,
    },
    /// The commit index rose to `index`.
    Committed {
        /// The new commit index.
        index: u64,
    },
    /// The entry at `index` was applied to the state machine.
    Applied {
        /// Its index.
        index: u64,
        /// The log's chain hash up to it.
        chain: u64,
    },
    /// The state machine was snapshotted at `index` and the log prefix dropped.
    SnapshotTaken {
        /// Last index covered.
        index: u64,
        /// Its term.
        term: u64,
        /// The chain hash up to it.
        chain: u64,
    },
    /// A snapshot from the leader replaced the state machine (and the log up to `index`).
    SnapshotInstalled {
        /// Last index covered.
        index: u64,
        /// Its term.
        term: u64,
        /// The chain hash up to it.
        chain: u64,
    },
    /// A replica (re)started from its durable state.
    Restored {
        /// Last index of its snapshot (0: none).
        snapshot_index: u64,
        /// Index of its last entry.
        last_index: u64,
        /// Chain hash up to its last entry.
        chain: u64,
    },
    /// A client issued an operation (retries are not reported).
    Invoke {
        /// The client's number for it.
        seq: u64,
        /// The operation (boxed: an operation is large and rare beside the log events, and
        /// every trace record is as large as the largest event).
        op: Box<Op>,
    },
    /// A client learned an operation's outcome, or gave up on it (once per operation).
    Return {
        /// The client's number for it.
        seq: u64,
        /// The outcome (boxed, as `op` is).
        result: Box<Outcome>,
    },
    // Last: the digest encodes an event by its variant's index, so a new one goes at the end
    // and leaves every earlier run's digest as it was.
    /// A leader took a command the harness submitted (the 6.5840 lab's `Start()` returned
    /// true): it is at `index` of the log, in `term`.
    Started {
        /// The command's number in the run.
        command: u64,
        /// Where it went.
        index: u64,
        /// The leader's term.
        term: u64,
    },
}

impl Event {
    /// What the event tells a scenario's expectations: a replica's term (the term it won,
    /// or of an entry it stored: it heard that term's leader), its commit index, and what
    /// its state machine holds (an applied entry, a snapshot restored or installed).
    pub fn fact(&self) -> Option<Fact> {
        match self {
            Event::BecameLeader { term } | Event::Appended { term, .. } => Some(Fact::Term(*term)),
            Event::Committed { index } => Some(Fact::Commit(*index)),
            Event::Applied { index, .. } | Event::SnapshotInstalled { index, .. } => {
                Some(Fact::Applied(*index))
            }
            Event::Restored { snapshot_index, .. } => Some(Fact::Applied(*snapshot_index)),
            Event::Truncated { .. }
            | Event::SnapshotTaken { .. }
            | Event::Started { .. }
            | Event::Invoke { .. }
            | Event::Return { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace holds tens of thousands of records per run, each as large as the largest
    /// event: the simulator's speed depends on keeping them small.
    #[test]
    fn a_trace_record_stays_small() {
        let size = std::mem::size_of::<faultline_sim::Record<Event>>();
        assert!(size <= 64, "a Raft trace record takes {size} bytes");
    }
}
