//! The check on snapshots taken on demand: every answer a client gets names a snapshot the
//! coordinator really completed (with the same count of tasks in each place) or really gave
//! up, and every request is answered once the client and the coordinator have had time.

use std::collections::BTreeMap;

use faultline_sim::check::Cluster;
use faultline_sim::{Check, Ev, NodeId, Record, Verdict};

use super::event::Event;
use super::msg::SnapshotReport;

/// How long an answer may take: a snapshot whose parts never come is given up after four
/// worker timeouts, and the client asks again every request retry.
const ANSWER_WITHIN_US: u64 = 3_000_000;

/// Every on-demand snapshot request is answered, truthfully.
pub struct SnapshotRequests {
    /// The coordinator.
    coordinator: NodeId,
    /// Each client's request waiting for its answer, with when it was asked, µs.
    waiting: BTreeMap<NodeId, (u64, u64)>,
    /// What each snapshot the coordinator completed or gave up found, by number.
    taken: BTreeMap<u64, SnapshotReport>,
    /// Answers judged.
    answered: u64,
    /// Who is up.
    cluster: Cluster,
}

impl SnapshotRequests {
    /// The check for a farm whose coordinator is `coordinator`.
    pub fn new(coordinator: NodeId) -> SnapshotRequests {
        SnapshotRequests {
            coordinator,
            waiting: BTreeMap::new(),
            taken: BTreeMap::new(),
            answered: 0,
            cluster: Cluster::default(),
        }
    }
}

impl Check<Event> for SnapshotRequests {
    fn name(&self) -> &'static str {
        "snapshot-requests"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.cluster.observe(rec);
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        match event {
            Event::Snapshot { seq, .. } if rec.node == self.coordinator => {
                if let Some(report) = SnapshotReport::of(event) {
                    self.taken.insert(*seq, report);
                }
            }
            Event::SnapshotAbandoned { seq } if rec.node == self.coordinator => {
                self.taken.insert(*seq, SnapshotReport::Abandoned);
            }
            Event::SnapshotAsked { req } => {
                self.waiting.insert(rec.node, (*req, rec.t));
            }
            Event::SnapshotAnswered { req, seq, report } => {
                if self.waiting.get(&rec.node).map(|(r, _)| *r) == Some(*req) {
                    self.waiting.remove(&rec.node);
                }
                self.answered += 1;
                if matches!(report, SnapshotReport::Busy | SnapshotReport::Loading) {
                    return Ok(());
                }
                match self.taken.get(seq) {
                    Some(taken) if taken == report => {}
                    Some(taken) => {
                        return Err(format!(
                            "request {req} was answered with snapshot {seq} as {report:?}, but the coordinator's snapshot {seq} was {taken:?}"
                        ))
                    }
                    None => {
                        return Err(format!(
                            "request {req} was answered with snapshot {seq}, which the coordinator never completed nor gave up"
                        ))
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let coordinator_up = self.cluster.is_up(self.coordinator);
        let unanswered = self.waiting.iter().find(|(client, (_, at))| {
            coordinator_up
                && self.cluster.is_up(**client)
                && end_us.saturating_sub(*at) >= ANSWER_WITHIN_US
        });
        if let Some((client, (req, at))) = unanswered {
            return Verdict::violated(
                self.name(),
                format!(
                    "{client}'s snapshot request {req}, asked at {:.3} s, was never answered, though the coordinator and {client} were up at the end",
                    *at as f64 / 1e6
                ),
            );
        }
        Verdict::held(
            self.name(),
            self.answered,
            "answers",
            format!(
                "{} snapshot requests answered, each naming a snapshot the coordinator took",
                self.answered
            ),
        )
    }
}
