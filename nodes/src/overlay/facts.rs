//! What a run of the overlay tells its summary and timeline: requests answered by outcome,
//! refusals, latency quantiles, the leader's queue over time and its peak; on the timeline
//! each request hop by hop (a bar on every process that holds it until its answer) and each
//! refusal as a tick.

use std::collections::BTreeMap;

use faultline_sim::protocol::chart::{BarBook, ClientOp, Hue, OpOutcome, Progress, Tick};
use faultline_sim::protocol::facts::Facts;
use faultline_sim::{Chart, Ev, NodeId, Record};
use serde_json::json;

use super::event::Event;
use super::metrics::quantile;
use super::msg::{Key, Outcome};

/// Points of the queue line kept for the timeline; past it the line stops (the summary
/// still has the peak).
const QUEUE_POINTS_MAX: usize = 20_000;
/// Client operations kept for the timeline.
const OPS_MAX: usize = 20_000;
/// Hops kept as bars for the timeline (the report draws a sample of them).
const HELD_MAX: usize = 20_000;

/// The overlay's facts about one run.
#[derive(Default)]
pub struct OverlayFacts {
    /// The leader.
    leader: Option<NodeId>,
    /// Requests issued.
    issued: u64,
    /// When each waiting request was issued, by (client, seq), in µs.
    issued_at: BTreeMap<(NodeId, u64), u64>,
    /// Answers taken, by outcome name.
    answered: BTreeMap<&'static str, u64>,
    /// Latencies of requests done, in µs.
    done_us: Vec<u64>,
    /// Requests reported late.
    late: u64,
    /// Answers that came after the client gave up.
    late_answers: u64,
    /// Hops taken, and hop refusals.
    hops: u64,
    /// Refusals of a request that would revisit a process or go too far.
    hop_refusals: u64,
    /// The leader's queue length at each change, (µs, length).
    queue: Vec<(u64, u64)>,
    /// The queue's peak.
    queue_peak: u32,
    /// Metrics answers seen by clients.
    metrics_seen: u64,
    /// Client operations for the timeline.
    ops: Vec<ClientOp>,
    /// Each request on every process holding it, from its hop there to its answer.
    held: BarBook<(Key, NodeId)>,
    /// The processes holding each request still open.
    holders: BTreeMap<Key, Vec<NodeId>>,
    /// Refusals (busy, hop refused), on the refusing process's lane.
    refusals: Vec<Tick>,
}

impl OverlayFacts {
    /// Facts of an overlay led by `leader`.
    pub fn new(leader: NodeId) -> Self {
        OverlayFacts {
            leader: Some(leader),
            ..Default::default()
        }
    }

    fn refused(&mut self, rec: &Record<Event>) {
        if self.refusals.len() < OPS_MAX {
            self.refusals.push(Tick {
                node: rec.node,
                at_us: rec.t,
                hue: Hue::Refused,
            });
        }
    }

    fn queue_at(&mut self, t: u64, len: u32) {
        self.queue_peak = self.queue_peak.max(len);
        if self.queue.len() < QUEUE_POINTS_MAX {
            self.queue.push((t, u64::from(len)));
        }
    }

    fn op(&mut self, node: NodeId, seq: u64, t: u64, outcome: OpOutcome) {
        let key = Key { client: node, seq };
        for holder in self.holders.remove(&key).unwrap_or_default() {
            self.held.close(&(key, holder), t);
        }
        let invoked_us = self.issued_at.remove(&(node, seq));
        if self.ops.len() < OPS_MAX {
            self.ops.push(ClientOp {
                node,
                invoked_us,
                returned_us: t,
                outcome,
            });
        }
    }
}

impl Facts<Event> for OverlayFacts {
    fn observe(&mut self, rec: &Record<Event>) {
        if Some(rec.node) == self.leader && matches!(rec.ev, Ev::Crash) {
            self.queue_at(rec.t, 0);
        }
        let Ev::Proto { event } = &rec.ev else {
            return;
        };
        match event {
            Event::Issued { seq, .. } => {
                self.issued += 1;
                self.issued_at.insert((rec.node, *seq), rec.t);
            }
            Event::Answered {
                seq,
                outcome,
                latency_us,
                ..
            } => {
                *self.answered.entry(outcome.name()).or_default() += 1;
                let ok = matches!(outcome, Outcome::Done { .. });
                if ok {
                    self.done_us.push(*latency_us);
                }
                self.op(
                    rec.node,
                    *seq,
                    rec.t,
                    if ok { OpOutcome::Ok } else { OpOutcome::Fail },
                );
            }
            Event::GaveUp { seq } => {
                self.late += 1;
                self.op(rec.node, *seq, rec.t, OpOutcome::Unknown);
            }
            Event::LateAnswer { .. } => self.late_answers += 1,
            Event::Queued { len, .. } | Event::Dequeued { len, .. } => self.queue_at(rec.t, *len),
            Event::Hop { key, .. } => {
                self.hops += 1;
                if self.held.len() < HELD_MAX {
                    let row = (key.seq % 3) as u8;
                    let text = format!("{}", key.seq);
                    self.held
                        .open((*key, rec.node), rec.node, row, rec.t, text, Hue::Work);
                    self.holders.entry(*key).or_default().push(rec.node);
                }
            }
            Event::HopRefused { .. } => {
                self.hop_refusals += 1;
                self.refused(rec);
            }
            Event::MetricsSeen { .. } => self.metrics_seen += 1,
            Event::Busy { .. } => self.refused(rec),
            Event::Conflict { .. } => {}
        }
    }

    fn details(&self, _names: &[String]) -> Option<serde_json::Value> {
        let mut sorted = self.done_us.clone();
        sorted.sort_unstable();
        let ms = |us: u64| us as f64 / 1000.0;
        let answered: u64 = self.answered.values().sum();
        let done = self.answered.get("done").copied().unwrap_or(0);
        let busy = self.answered.get("busy").copied().unwrap_or(0);
        let headline = format!(
            "{} requests: {answered} answered ({done} done, {busy} busy, {} other refusals), {} reported late; queue peak {}; p50 {:.1} ms, p99 {:.1} ms",
            self.issued,
            answered - done - busy,
            self.late,
            self.queue_peak,
            ms(quantile(&sorted, 50)),
            ms(quantile(&sorted, 99)),
        );
        Some(json!({
            "headline": headline,
            "requests": self.issued,
            "answered": answered,
            "by_outcome": self.answered,
            "refused": answered - done,
            "reported_late": self.late,
            "late_answers": self.late_answers,
            "latency_ms": {
                "p50": ms(quantile(&sorted, 50)),
                "p90": ms(quantile(&sorted, 90)),
                "p99": ms(quantile(&sorted, 99)),
            },
            "queue_peak": self.queue_peak,
            "hops": self.hops,
            "hop_refusals": self.hop_refusals,
            "metrics_answers": self.metrics_seen,
        }))
    }

    fn chart(&self) -> Chart {
        Chart {
            tenures: Vec::new(),
            progress: (!self.queue.is_empty()).then(|| Progress {
                name: "leader queue length".to_string(),
                points: self.queue.clone(),
            }),
            ops: self.ops.clone(),
            bars: self.held.bars(),
            ticks: self.refusals.clone(),
            pins: Vec::new(),
        }
    }
}
