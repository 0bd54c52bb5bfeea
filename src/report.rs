//! Turns a trace and its summary into the timeline model the renderer draws.

use std::collections::BTreeMap;

use faultline_reports::{
    Arrow, Interval, LaneSpan, Mark, MarkKind, OpMark, OpOutcome, Progress, RoleSpan, Span,
    TermSpan, Timeline,
};
use faultline_sim::protocol::chart::{self, Chart};
use faultline_sim::{kind_of, Cluster, Ev, MsgKind, Record, Tone, WORLD};

use crate::summary::{groups, Summary};

/// Builds the timeline of a run of a protocol whose messages have the kinds `kinds` and whose
/// state roles are drawn as `states` say.
pub fn timeline<E>(
    records: &[Record<E>],
    summary: &Summary,
    kinds: &[(&str, MsgKind)],
    states: &[(&str, Tone)],
) -> Timeline {
    let tone = |role: &str| states.iter().find(|(r, _)| *r == role).map(|(_, t)| *t);
    let names = &summary.nodes;
    let lanes = names.len();
    let end_ms = summary.end_ms;
    let ms = |t: u64| t as f64 / 1000.0;
    let mut t = Timeline {
        title: format!(
            "{} / {} — seed {} — {} — digest {}",
            summary.protocol, summary.scenario, summary.seed, summary.verdict, summary.digest
        ),
        end_ms,
        lanes: names.clone(),
        roles: Vec::new(),
        down: Vec::new(),
        partitions: Vec::new(),
        loss: Vec::new(),
        messages: Vec::new(),
        marks: Vec::new(),
        elections: Vec::new(),
        recoveries: Vec::new(),
        messages_total: 0,
        ..Timeline::default()
    };
    let mut role_since: Vec<Option<(f64, String)>> = vec![None; lanes];
    let mut down_since: Vec<Option<f64>> = vec![None; lanes];
    let mut partition_since: Option<(f64, String)> = None;
    let mut loss_since: Option<(f64, f64)> = None;
    let mut sends: BTreeMap<u64, (usize, f64)> = BTreeMap::new();
    let mut cluster = Cluster::default();

    for rec in records {
        cluster.observe(rec);
        let lane = rec.node.0 as usize;
        let at = ms(rec.t);
        match &rec.ev {
            Ev::Send { id, .. } if lane < lanes => {
                sends.insert(*id, (lane, at));
                t.messages_total += 1;
            }
            Ev::Deliver { id, label, .. } | Ev::Drop { id, label, .. } if lane < lanes => {
                if let Some(&(from_lane, sent_ms)) = sends.get(id) {
                    let dropped = matches!(rec.ev, Ev::Drop { .. });
                    t.messages.push(Arrow {
                        from_lane,
                        to_lane: lane,
                        sent_ms,
                        recv_ms: at,
                        label: label.to_string(),
                        dropped,
                        election: kind_of(kinds, label) == MsgKind::Election,
                    });
                }
            }
            Ev::Role { role } if lane < lanes => {
                if let Some((from_ms, old)) = role_since[lane].take() {
                    t.roles.push(RoleSpan {
                        lane,
                        from_ms,
                        to_ms: at,
                        tone: tone(&old),
                        role: old,
                    });
                }
                if tone(role) == Some(Tone::Lead) {
                    t.marks.push(Mark {
                        lane,
                        at_ms: at,
                        kind: MarkKind::Elected,
                        text: "leader".into(),
                    });
                }
                role_since[lane] = Some((at, role.clone()));
            }
            Ev::ElectionStarted if lane < lanes => {
                t.marks.push(Mark {
                    lane,
                    at_ms: at,
                    kind: MarkKind::ElectionStarted,
                    text: String::new(),
                });
            }
            Ev::Crash if lane < lanes => {
                if let Some((from_ms, old)) = role_since[lane].take() {
                    t.roles.push(RoleSpan {
                        lane,
                        from_ms,
                        to_ms: at,
                        tone: tone(&old),
                        role: old,
                    });
                }
                down_since[lane] = Some(at);
                t.marks.push(Mark {
                    lane,
                    at_ms: at,
                    kind: MarkKind::Crash,
                    text: "crash".into(),
                });
            }
            Ev::Restart if lane < lanes => {
                if let Some(from_ms) = down_since[lane].take() {
                    t.down.push(LaneSpan {
                        lane,
                        from_ms,
                        to_ms: at,
                    });
                }
                t.marks.push(Mark {
                    lane,
                    at_ms: at,
                    kind: MarkKind::Restart,
                    text: "restart".into(),
                });
            }
            Ev::Partition { .. } | Ev::Heal { .. } if rec.node == WORLD => {
                if let Some((from_ms, label)) = partition_since.take() {
                    t.partitions.push(Span {
                        from_ms,
                        to_ms: at,
                        label,
                    });
                }
                if !cluster.cut.is_empty() {
                    partition_since = Some((at, groups(&cluster, names)));
                }
            }
            Ev::Loss { rate } => {
                if let Some((from_ms, r)) = loss_since.take() {
                    t.loss.push(Span {
                        from_ms,
                        to_ms: at,
                        label: format!("{:.0}% loss", r * 100.0),
                    });
                }
                if *rate > 0.0 {
                    loss_since = Some((at, *rate));
                }
            }
            _ => {}
        }
    }
    for (lane, since) in role_since.into_iter().enumerate() {
        if let Some((from_ms, role)) = since {
            t.roles.push(RoleSpan {
                lane,
                from_ms,
                to_ms: end_ms,
                tone: tone(&role),
                role,
            });
        }
    }
    for (lane, since) in down_since.into_iter().enumerate() {
        if let Some(from_ms) = since {
            t.down.push(LaneSpan {
                lane,
                from_ms,
                to_ms: end_ms,
            });
        }
    }
    if let Some((from_ms, label)) = partition_since {
        t.partitions.push(Span {
            from_ms,
            to_ms: end_ms,
            label,
        });
    }
    if let Some((from_ms, r)) = loss_since {
        t.loss.push(Span {
            from_ms,
            to_ms: end_ms,
            label: format!("{:.0}% loss", r * 100.0),
        });
    }
    for e in &summary.elections {
        t.elections.push(Interval {
            from_ms: e.started_ms,
            to_ms: e.decided_ms,
            lane: names.iter().position(|n| *n == e.leader),
            text: format!(
                "election {:.0} ms → {}",
                e.decided_ms - e.started_ms,
                e.leader
            ),
        });
    }
    for r in &summary.recoveries {
        let (to_ms, text) = match r.recovered_ms {
            Some(took) => (
                r.at_ms + took,
                format!("{}: recovered in {}", r.fault, human_ms(took)),
            ),
            None => (end_ms, format!("{}: not recovered", r.fault)),
        };
        t.recoveries.push(Interval {
            from_ms: r.at_ms,
            to_ms,
            lane: None,
            text,
        });
    }
    t
}

/// Adds what the protocol knows about its run (terms, progress, client operations).
pub fn add_chart(t: &mut Timeline, chart: &Chart) {
    let ms = |us: u64| us as f64 / 1000.0;
    t.terms = chart
        .tenures
        .iter()
        .map(|tenure| TermSpan {
            term: tenure.term,
            lane: tenure.leader.0 as usize,
            from_ms: ms(tenure.from_us),
            to_ms: tenure.to_us.map_or(t.end_ms, ms),
        })
        .collect();
    t.progress = chart.progress.as_ref().map(|p| Progress {
        name: p.name.clone(),
        points: p.points.iter().map(|&(at, v)| (ms(at), v as f64)).collect(),
    });
    t.ops = chart
        .ops
        .iter()
        .map(|op| OpMark {
            lane: op.node.0 as usize,
            at_ms: ms(op.returned_us),
            outcome: match op.outcome {
                chart::OpOutcome::Ok => OpOutcome::Ok,
                chart::OpOutcome::Fail => OpOutcome::Fail,
                chart::OpOutcome::Unknown => OpOutcome::Unknown,
            },
        })
        .collect();
}

/// "412 ms", "1.3 s".
pub fn human_ms(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// Points drawn per distribution: enough for a smooth curve, bounded however many seeds ran.
#[cfg(madsim)]
const DISTRIBUTION_POINTS_MAX: usize = 2000;

/// The distribution plot of an exploration: election and recovery times over its seeds, drawn
/// from evenly spaced quantiles of its histograms.
#[cfg(madsim)]
pub fn distribution(x: &crate::explore::Exploration) -> String {
    use faultline_reports::{render_distributions, Panel, Series};
    let series = |name: &str, values: Vec<f64>| Series {
        name: name.to_string(),
        values_ms: values,
    };
    let elections = x.elections_ms.sample_evenly_ms(DISTRIBUTION_POINTS_MAX);
    let recoveries = x.recoveries_ms.sample_evenly_ms(DISTRIBUTION_POINTS_MAX);
    let title = format!("{} / {} — {} seeds", x.protocol, x.scenario, x.seeds_run);
    render_distributions(
        &title,
        &[
            Panel {
                title: format!("election time, {} in all", x.elections_ms.count),
                series: vec![series("simulated", elections)],
            },
            Panel {
                title: format!("recovery time, {} in all", x.recoveries_ms.count),
                series: vec![series("simulated", recoveries)],
            },
        ],
    )
}
