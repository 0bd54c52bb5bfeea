//! What a Raft run adds to its timeline: each leader's tenure with its term, the commit index
//! over time, and every client operation with its outcome.

use std::collections::BTreeMap;

use faultline_sim::chart::{Chart, ClientOp, OpOutcome, Progress, Tenure};
use faultline_sim::{Ev, NodeId, Record};

use super::event::Event;
use super::op::Outcome;

/// The chart of a Raft run.
pub(crate) fn chart(records: &[Record<Event>]) -> Chart {
    let mut chart = Chart::default();
    // Index into `chart.tenures` of each node's open tenure.
    let mut leading: BTreeMap<NodeId, usize> = BTreeMap::new();
    let mut commit_max = 0u64;
    let mut commits = Vec::new();
    let mut invoked: BTreeMap<(NodeId, u64), u64> = BTreeMap::new();
    for rec in records {
        match &rec.ev {
            Ev::Proto {
                event: Event::BecameLeader { term },
            } => {
                if let Some(open) = leading.remove(&rec.node) {
                    chart.tenures[open].to_us = Some(rec.t);
                }
                leading.insert(rec.node, chart.tenures.len());
                chart.tenures.push(Tenure {
                    term: *term,
                    leader: rec.node,
                    from_us: rec.t,
                    to_us: None,
                });
            }
            Ev::Role { role } if role != "leader" => {
                if let Some(open) = leading.remove(&rec.node) {
                    chart.tenures[open].to_us = Some(rec.t);
                }
            }
            Ev::Crash => {
                if let Some(open) = leading.remove(&rec.node) {
                    chart.tenures[open].to_us = Some(rec.t);
                }
            }
            Ev::Proto {
                event: Event::Committed { index },
            } if *index > commit_max => {
                commit_max = *index;
                commits.push((rec.t, *index));
            }
            Ev::Proto {
                event: Event::Invoke { seq, .. },
            } => {
                invoked.insert((rec.node, *seq), rec.t);
            }
            Ev::Proto {
                event: Event::Return { seq, result },
            } => chart.ops.push(ClientOp {
                node: rec.node,
                invoked_us: invoked.remove(&(rec.node, *seq)),
                returned_us: rec.t,
                outcome: match result {
                    Outcome::Ok { .. } => OpOutcome::Ok,
                    Outcome::Fail { .. } => OpOutcome::Fail,
                    Outcome::Unknown => OpOutcome::Unknown,
                },
            }),
            _ => {}
        }
    }
    if !commits.is_empty() {
        chart.progress = Some(Progress {
            name: "commit index".into(),
            points: commits,
        });
    }
    chart
}
