//! A run's client operations, gathered record by record from the protocol's own events
//! through [`faultline_sim::Protocol::client_op`], whatever the protocol: their latency and
//! throughput over time (`latency.svg`, `throughput.svg`) and the clients' traffic on the
//! timeline (operations from invocation to return, deliveries of their effects).
//!
//! Memory is bounded whatever the run's length: operations and deliveries are even samples
//! ([`Thinned`]), operations in flight are capped, and throughput is counted in a fixed number
//! of buckets that widen as the run goes on.

use std::collections::BTreeMap;

use faultline_reports::{ClientSeries, LatencyPoint, OpMark, OpOutcome, OpSpan, Seen, Timeline};
use faultline_sim::protocol::chart;
use faultline_sim::protocol::client_op::ClientStep;
use faultline_sim::{Ev, NodeId, Record};

use super::thinned::Thinned;

/// Most operations kept for the plots and the timeline.
pub const OPS_MAX: usize = 4000;
/// Most deliveries kept for the timeline.
pub const SEEN_MAX: usize = 2000;
/// Most operations remembered in flight; the oldest go first (they are never drawn).
pub const PENDING_MAX: usize = 8192;
/// Throughput buckets: about one per three pixels of the plot.
pub const BUCKETS: usize = 300;
/// The first bucket width in µs (10 ms); widths double as the run outgrows them.
const BUCKET_US_MIN: u64 = 10_000;

/// Index of an outcome in per-outcome arrays (ok, fail, unknown).
fn index(outcome: chart::OpOutcome) -> usize {
    match outcome {
        chart::OpOutcome::Ok => 0,
        chart::OpOutcome::Fail => 1,
        chart::OpOutcome::Unknown => 2,
    }
}

/// The report's outcome for the protocol's.
fn outcome(o: chart::OpOutcome) -> OpOutcome {
    match o {
        chart::OpOutcome::Ok => OpOutcome::Ok,
        chart::OpOutcome::Fail => OpOutcome::Fail,
        chart::OpOutcome::Unknown => OpOutcome::Unknown,
    }
}

/// Gathers a run's client operations.
pub struct ClientOps<E> {
    /// The protocol's reading of its events.
    classify: fn(&E) -> Option<ClientStep>,
    /// Lanes (node ids below this are drawn).
    lanes: usize,
    /// Invoked, not yet returned: (client, op) -> invocation time in µs.
    pending: BTreeMap<(NodeId, u64), u64>,
    /// Operations returned so far: the next one's ordinal.
    returned: u64,
    /// Returned operations, sampled.
    ops: Thinned<OpSpan>,
    /// Deliveries seen so far: the next one's ordinal.
    seen_count: u64,
    /// Deliveries, sampled.
    seen: Thinned<Seen>,
    /// Operations returned per outcome.
    totals: [u64; 3],
    /// Width of a throughput bucket in µs.
    bucket_us: u64,
    /// Per outcome, operations returned per bucket; [`BUCKETS`] each.
    buckets: [Vec<u64>; 3],
}

impl<E> ClientOps<E> {
    /// Gathers the operations of a run with `lanes` nodes, reading events with `classify`.
    pub fn new(lanes: usize, classify: fn(&E) -> Option<ClientStep>) -> Self {
        ClientOps {
            classify,
            lanes,
            pending: BTreeMap::new(),
            returned: 0,
            ops: Thinned::new(OPS_MAX),
            seen_count: 0,
            seen: Thinned::new(SEEN_MAX),
            totals: [0; 3],
            bucket_us: BUCKET_US_MIN,
            buckets: std::array::from_fn(|_| vec![0; BUCKETS]),
        }
    }

    /// Takes one record into account.
    pub fn observe(&mut self, rec: &Record<E>) {
        let event = match &rec.ev {
            Ev::Proto { event } => event,
            // A crashed client hears no answer to what it had in flight: its protocol reports
            // those as unknown, or not at all; they are not timed from here on.
            Ev::Crash => {
                let node = rec.node;
                self.pending.retain(|(client, _), _| *client != node);
                return;
            }
            _ => return,
        };
        match (self.classify)(event) {
            Some(ClientStep::Invoke { op }) => {
                self.pending.insert((rec.node, op), rec.t);
                if self.pending.len() > PENDING_MAX {
                    self.pending.pop_first();
                }
            }
            Some(ClientStep::Return {
                client,
                op,
                outcome: o,
            }) => {
                let client = client.unwrap_or(rec.node);
                let Some(invoked_us) = self.pending.remove(&(client, op)) else {
                    return;
                };
                self.count(rec.t, o);
                let ordinal = self.returned;
                self.returned += 1;
                if self.ops.admits(ordinal) && (client.0 as usize) < self.lanes {
                    self.ops.offer(
                        ordinal,
                        OpSpan {
                            lane: client.0 as usize,
                            invoked_ms: invoked_us as f64 / 1000.0,
                            returned_ms: rec.t as f64 / 1000.0,
                            outcome: outcome(o),
                        },
                    );
                }
            }
            Some(ClientStep::Seen { .. }) => {
                let ordinal = self.seen_count;
                self.seen_count += 1;
                if (rec.node.0 as usize) < self.lanes {
                    self.seen.offer(
                        ordinal,
                        Seen {
                            lane: rec.node.0 as usize,
                            at_ms: rec.t as f64 / 1000.0,
                        },
                    );
                }
            }
            None => {}
        }
    }

    /// Counts an operation returned at `t` µs.
    fn count(&mut self, t: u64, o: chart::OpOutcome) {
        while t / self.bucket_us >= BUCKETS as u64 {
            // Pairs merge into one bucket twice as wide: memory stays the same.
            for counts in &mut self.buckets {
                for i in 0..BUCKETS / 2 {
                    counts[i] = counts[2 * i] + counts[2 * i + 1];
                }
                counts[BUCKETS / 2..].fill(0);
            }
            self.bucket_us = self.bucket_us.saturating_mul(2);
        }
        self.totals[index(o)] += 1;
        self.buckets[index(o)][(t / self.bucket_us) as usize] += 1;
    }

    /// Whether any client operation returned.
    pub fn any(&self) -> bool {
        self.returned > 0
    }

    /// The plots' input, titled `title`, for a run of `end_ms`; the timeline gets the sampled
    /// operations and deliveries (and, when the protocol's chart drew no operations, their
    /// outcome ticks).
    pub fn finish(self, title: String, end_ms: f64, timeline: &mut Timeline) -> ClientSeries {
        let spans: Vec<OpSpan> = self.ops.into_items().collect();
        let points = spans
            .iter()
            .map(|s| LatencyPoint {
                at_ms: s.returned_ms,
                latency_ms: s.returned_ms - s.invoked_ms,
                outcome: s.outcome,
            })
            .collect();
        if timeline.ops.is_empty() {
            timeline.ops = spans
                .iter()
                .map(|s| OpMark {
                    lane: s.lane,
                    at_ms: s.returned_ms,
                    outcome: s.outcome,
                })
                .collect();
        }
        timeline.op_spans = spans;
        timeline.seen = self.seen.into_items().collect();
        ClientSeries {
            title,
            end_ms,
            points,
            totals: self.totals,
            bucket_ms: self.bucket_us as f64 / 1000.0,
            returned: self.buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy protocol's events: 1 invokes op n, 2 returns it ok, 3 fails it, 4 is a delivery.
    fn classify(e: &(u8, u64)) -> Option<ClientStep> {
        Some(match *e {
            (1, op) => ClientStep::Invoke { op },
            (2, op) => ClientStep::Return {
                client: None,
                op,
                outcome: chart::OpOutcome::Ok,
            },
            (3, op) => ClientStep::Return {
                client: None,
                op,
                outcome: chart::OpOutcome::Fail,
            },
            (4, op) => ClientStep::Seen {
                client: NodeId(0),
                op,
            },
            _ => return None,
        })
    }

    fn rec(t: u64, node: u16, event: (u8, u64)) -> Record<(u8, u64)> {
        Record {
            t,
            node: NodeId(node),
            ev: Ev::Proto { event },
        }
    }

    #[test]
    fn latency_and_throughput_of_a_long_run_in_bounded_memory() {
        let mut c = ClientOps::new(3, classify);
        // 100,000 operations of 5 ms each, one every 10 ms; every tenth fails; a crash loses
        // the one in flight.
        for i in 0..100_000u64 {
            let t = i * 10_000;
            c.observe(&rec(t, 1, (1, i)));
            if i == 500 {
                c.observe(&Record {
                    t: t + 1,
                    node: NodeId(1),
                    ev: Ev::Crash,
                });
                continue;
            }
            let kind = if i % 10 == 9 { 3 } else { 2 };
            c.observe(&rec(t + 5_000, 1, (kind, i)));
            c.observe(&rec(t + 6_000, 2, (4, i)));
        }
        let mut t = Timeline {
            lanes: vec!["s1".into(), "c1".into(), "c2".into()],
            ..Timeline::default()
        };
        let series = c.finish("toy".into(), 1_000_000.0, &mut t);
        assert_eq!(series.totals, [89_999, 10_000, 0]);
        let counted: u64 = series.returned.iter().flatten().sum();
        assert_eq!(counted, 99_999, "throughput counts every operation");
        assert!(series.points.len() <= OPS_MAX && series.points.len() >= OPS_MAX / 2);
        assert!(series
            .points
            .iter()
            .all(|p| (p.latency_ms - 5.0).abs() < 1e-9));
        assert!(t.seen.len() <= SEEN_MAX && !t.seen.is_empty());
        assert_eq!(
            t.ops.len(),
            t.op_spans.len(),
            "outcome ticks for a chart without"
        );
        // 100 operations a second: 1000 s in 300 buckets of 5.12 s hold 512 each.
        assert_eq!(series.bucket_ms, 5120.0);
        assert_eq!(series.returned[0][1] + series.returned[1][1], 512);
        let svg = faultline_reports::render_throughput(&series).unwrap();
        assert!(svg.contains(">100<") || svg.contains(">120<"), "{svg}");
    }

    #[test]
    fn a_return_without_its_invocation_or_from_another_client_is_not_timed() {
        let mut c = ClientOps::new(3, classify);
        c.observe(&rec(0, 1, (2, 7)));
        c.observe(&rec(10, 1, (1, 7)));
        c.observe(&rec(20, 2, (2, 7)));
        assert!(!c.any());
        c.observe(&rec(30, 1, (2, 7)));
        assert!(c.any());
    }
}
