//! A snapshot as the coordinator assembles it from the parts of its Chandy-Lamport run, and
//! what it says about the tasks: where each one was in the cut.

use std::collections::BTreeSet;

use faultline_sim::NodeId;

use super::event::Event;
use super::msg::{Msg, PartState, SnapshotReport};
use crate::parts::chandy_lamport::{GlobalSnapshot, LocalSnapshot, SnapshotId};

/// One snapshot being assembled.
#[derive(Clone, Debug)]
pub(crate) struct Assembly {
    /// The parts so far.
    global: GlobalSnapshot<PartState, Msg>,
    /// Whose parts it needs: the coordinator and the workers registered when it started.
    expected: BTreeSet<NodeId>,
    /// When it started, µs.
    started_us: u64,
}

impl Assembly {
    /// Snapshot `id` of `coordinator` and `workers`.
    pub(crate) fn new(
        id: SnapshotId,
        coordinator: NodeId,
        workers: BTreeSet<NodeId>,
        now_us: u64,
    ) -> Assembly {
        let mut expected = workers;
        expected.insert(coordinator);
        Assembly {
            global: GlobalSnapshot::new(id),
            expected,
            started_us: now_us,
        }
    }

    /// When it started, µs.
    pub(crate) fn started_us(&self) -> u64 {
        self.started_us
    }

    /// Whether it still needs `node`'s part.
    pub(crate) fn waits_for(&self, node: NodeId) -> bool {
        self.expected.contains(&node) && !self.global.parts.contains_key(&node)
    }

    /// Adds a part; true when every expected part is in.
    pub(crate) fn insert(&mut self, part: LocalSnapshot<PartState, Msg>) -> bool {
        if self.expected.contains(&part.node) {
            let _ = self.global.insert(part);
        }
        let expected: Vec<NodeId> = self.expected.iter().copied().collect();
        self.global.is_complete(&expected)
    }

    /// Where every task was, as the event the check reads, and the snapshot as JSON.
    pub(crate) fn judge(&self, total: u64) -> (Event, Option<String>) {
        let (mut pending, mut working, mut in_flight, mut done) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for part in self.global.parts.values() {
            match &part.state {
                PartState::Coordinator {
                    pending: p,
                    done: d,
                    ..
                } => {
                    pending.extend(p);
                    done.extend(d);
                }
                PartState::Worker { task } => working.extend(task),
            }
            for msgs in part.in_flight.values() {
                for m in msgs {
                    match m {
                        Msg::Assign(task) => in_flight.push(task.id),
                        Msg::Result { task, .. } => in_flight.push(*task),
                        _ => {}
                    }
                }
            }
        }
        let (channel_error, channels) = match self.global.check_channels() {
            Ok(n) => (None, n as u64),
            Err(e) => (Some(e), 0),
        };
        let event = Event::Snapshot {
            seq: self.global.id.seq,
            total,
            pending,
            working,
            in_flight,
            done,
            channel_error,
            channels,
        };
        (event, self.global.to_json().ok())
    }
}

impl SnapshotReport {
    /// What a judged snapshot tells the client that asked for it (`None` for another event).
    pub(crate) fn of(event: &Event) -> Option<SnapshotReport> {
        let Event::Snapshot {
            pending,
            working,
            in_flight,
            done,
            channel_error,
            channels,
            ..
        } = event
        else {
            return None;
        };
        Some(match channel_error {
            Some(why) => SnapshotReport::Inconsistent { why: why.clone() },
            None => SnapshotReport::Complete {
                pending: pending.len() as u64,
                working: working.len() as u64,
                in_flight: in_flight.len() as u64,
                done: done.len() as u64,
                channels: *channels,
            },
        })
    }
}
