//! What a Raft run adds to its timeline: each leader's tenure with its term, the commit index
//! over time, and every client operation with its outcome.

use std::collections::BTreeMap;

use faultline_sim::protocol::chart::{Chart, ClientOp, OpOutcome, Progress, Tenure};
use faultline_sim::{Ev, NodeId, Record};

use super::event::Event;
use super::op::Outcome;

/// The chart of a Raft run, gathered record by record.
#[derive(Default)]
pub(crate) struct ChartBuilder {
    /// The chart so far (its progress is filled in by [`ChartBuilder::finish`]).
    chart: Chart,
    /// Index into `chart.tenures` of each node's open tenure.
    leading: BTreeMap<NodeId, usize>,
    /// The highest commit index seen.
    commit_max: u64,
    /// (when, commit index) each time the highest commit index rose.
    commits: Vec<(u64, u64)>,
    /// Client operations invoked and not yet returned, by (client, seq): when invoked.
    invoked: BTreeMap<(NodeId, u64), u64>,
}

impl ChartBuilder {
    /// One record of the run.
    pub(crate) fn observe(&mut self, rec: &Record<Event>) {
        let chart = &mut self.chart;
        match &rec.ev {
            Ev::Proto {
                event: Event::BecameLeader { term },
            } => {
                if let Some(open) = self.leading.remove(&rec.node) {
                    chart.tenures[open].to_us = Some(rec.t);
                }
                self.leading.insert(rec.node, chart.tenures.len());
                chart.tenures.push(Tenure {
                    term: *term,
                    leader: rec.node,
                    from_us: rec.t,
                    to_us: None,
                });
            }
            Ev::Role { role } if role != "leader" => {
                if let Some(open) = self.leading.remove(&rec.node) {
                    chart.tenures[open].to_us = Some(rec.t);
                }
            }
            Ev::Crash => {
                if let Some(open) = self.leading.remove(&rec.node) {
                    chart.tenures[open].to_us = Some(rec.t);
                }
            }
            Ev::Proto {
                event: Event::Committed { index },
            } if *index > self.commit_max => {
                self.commit_max = *index;
                self.commits.push((rec.t, *index));
            }
            Ev::Proto {
                event: Event::Invoke { seq, .. },
            } => {
                self.invoked.insert((rec.node, *seq), rec.t);
            }
            Ev::Proto {
                event: Event::Return { seq, result },
            } => chart.ops.push(ClientOp {
                node: rec.node,
                invoked_us: self.invoked.remove(&(rec.node, *seq)),
                returned_us: rec.t,
                outcome: match &**result {
                    Outcome::Ok { .. } => OpOutcome::Ok,
                    Outcome::Fail { .. } => OpOutcome::Fail,
                    Outcome::Unknown => OpOutcome::Unknown,
                },
            }),
            _ => {}
        }
    }

    /// The chart of the run so far.
    pub(crate) fn finish(&self) -> Chart {
        let mut chart = self.chart.clone();
        if !self.commits.is_empty() {
            chart.progress = Some(Progress {
                name: "commit index".into(),
                points: self.commits.clone(),
            });
        }
        chart
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::op::{Op, Value};

    fn at(t: u64, node: u16, ev: Ev<Event>) -> Record<Event> {
        Record {
            t,
            node: NodeId(node),
            ev,
        }
    }

    fn proto(t: u64, node: u16, event: Event) -> Record<Event> {
        at(t, node, Ev::Proto { event })
    }

    fn chart(records: &[Record<Event>]) -> Chart {
        let mut builder = ChartBuilder::default();
        for rec in records {
            builder.observe(rec);
        }
        builder.finish()
    }

    #[test]
    fn tenures_end_when_the_leader_steps_down_or_crashes() {
        let records = vec![
            proto(10, 0, Event::BecameLeader { term: 1 }),
            at(50, 0, Ev::Crash),
            proto(60, 1, Event::BecameLeader { term: 2 }),
            at(
                70,
                1,
                Ev::Role {
                    role: "leader".into(),
                },
            ),
            at(
                80,
                1,
                Ev::Role {
                    role: "follower".into(),
                },
            ),
            proto(90, 2, Event::BecameLeader { term: 4 }),
        ];
        let chart = chart(&records);
        let spans: Vec<_> = chart
            .tenures
            .iter()
            .map(|t| (t.term, t.leader.0, t.from_us, t.to_us))
            .collect();
        assert_eq!(
            spans,
            vec![(1, 0, 10, Some(50)), (2, 1, 60, Some(80)), (4, 2, 90, None)]
        );
    }

    #[test]
    fn commit_progress_only_rises_and_ops_keep_their_outcome() {
        let get = Op::Get { key: "k".into() };
        let records = vec![
            proto(1, 0, Event::Committed { index: 3 }),
            proto(2, 1, Event::Committed { index: 2 }),
            proto(3, 1, Event::Committed { index: 5 }),
            proto(
                4,
                5,
                Event::Invoke {
                    seq: 1,
                    op: get.into(),
                },
            ),
            proto(
                9,
                5,
                Event::Return {
                    seq: 1,
                    result: Outcome::Ok { value: Value::Done }.into(),
                },
            ),
            proto(
                10,
                5,
                Event::Return {
                    seq: 2,
                    result: Outcome::Unknown.into(),
                },
            ),
        ];
        let chart = chart(&records);
        assert_eq!(chart.progress.unwrap().points, vec![(1, 3), (3, 5)]);
        let ops: Vec<_> = chart
            .ops
            .iter()
            .map(|o| (o.node.0, o.invoked_us, o.returned_us, o.outcome))
            .collect();
        assert_eq!(
            ops,
            vec![
                (5, Some(4), 9, OpOutcome::Ok),
                (5, None, 10, OpOutcome::Unknown)
            ]
        );
    }
}
