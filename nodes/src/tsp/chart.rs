//! What a solver run draws on its timeline: each subproblem as a bar on the worker searching
//! it, a tick where one was handed out again, the active coordinator's tenures (a failover
//! starts a new one), and each critical section on the best tour as a bar on its holder.

use std::collections::BTreeSet;

use faultline_sim::check::LockFact;
use faultline_sim::protocol::chart::{BarBook, Chart, Hue, Pin, Tenure, Tick};
use faultline_sim::{Ev, NodeId, Record};

use super::event::Event;

/// Row of a lane for subproblems.
const ROW_TASK: u8 = 0;
/// Row of a lane for critical sections.
const ROW_CRITICAL: u8 = 2;

/// The timeline's facts of a solver run, gathered record by record.
#[derive(Default)]
pub(crate) struct TspChart {
    /// Subproblems on the workers searching them (one at a time: handing one out again
    /// ends its bar on the worker that had it).
    searching: BarBook<u32>,
    /// Nodes down: work handed to one is not drawn as held.
    down: BTreeSet<NodeId>,
    /// Critical sections on their holders.
    critical: BarBook<(NodeId, String)>,
    /// Subproblems handed out again, on the lane of the worker that got them.
    reassigned: Vec<Tick>,
    /// The active coordinator's tenures.
    tenures: Vec<Tenure>,
    /// Failovers, on the new active coordinator's lane.
    pins: Vec<Pin>,
}

impl TspChart {
    /// One record of the run.
    pub(crate) fn observe(&mut self, rec: &Record<Event>) {
        let event = match &rec.ev {
            Ev::Proto { event } => event,
            Ev::Crash => {
                self.down.insert(rec.node);
                self.searching.close_node(rec.node, rec.t);
                self.critical.close_node(rec.node, rec.t);
                return;
            }
            Ev::Restart => {
                self.down.remove(&rec.node);
                return;
            }
            _ => return,
        };
        match event {
            Event::Assigned {
                task,
                worker,
                again,
            } => {
                if self.down.contains(worker) {
                    self.searching.close(task, rec.t);
                } else {
                    let text = format!("s{task}");
                    (self.searching).open(*task, *worker, ROW_TASK, rec.t, text, Hue::Work);
                }
                if *again {
                    self.reassigned.push(Tick {
                        node: *worker,
                        at_us: rec.t,
                        hue: Hue::Reassigned,
                    });
                }
            }
            Event::Searched { task, .. } => self.searching.close(task, rec.t),
            Event::Active { epoch, .. } => {
                if let Some(last) = self.tenures.last_mut() {
                    last.to_us = last.to_us.or(Some(rec.t));
                    self.pins.push(Pin {
                        node: rec.node,
                        at_us: rec.t,
                        text: format!("failover: epoch {epoch}"),
                    });
                }
                self.tenures.push(Tenure {
                    term: *epoch,
                    leader: rec.node,
                    from_us: rec.t,
                    to_us: None,
                });
            }
            Event::Lock(LockFact::Acquire { resource }) => self.critical.open(
                (rec.node, resource.clone()),
                rec.node,
                ROW_CRITICAL,
                rec.t,
                String::new(),
                Hue::Critical,
            ),
            Event::Lock(LockFact::Release { resource }) => {
                self.critical.close(&(rec.node, resource.clone()), rec.t);
            }
            _ => {}
        }
    }

    /// The chart so far.
    pub(crate) fn chart(&self) -> Chart {
        let mut bars = self.searching.bars();
        bars.extend(self.critical.bars());
        Chart {
            tenures: self.tenures.clone(),
            bars,
            ticks: self.reassigned.clone(),
            pins: self.pins.clone(),
            ..Chart::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: u64, node: u16, event: Event) -> Record<Event> {
        Record {
            t,
            node: NodeId(node),
            ev: Ev::Proto { event },
        }
    }

    #[test]
    fn subproblems_follow_their_worker_failovers_start_tenures_and_locks_are_bars() {
        let mut c = TspChart::default();
        let (co1, co2, w1, w2) = (0, 1, 2, 3);
        let assigned = |task, worker: u16, again| Event::Assigned {
            task,
            worker: NodeId(worker),
            again,
        };
        let lock = |acquire: bool| {
            let resource = "best-tour".to_string();
            Event::Lock(if acquire {
                LockFact::Acquire { resource }
            } else {
                LockFact::Release { resource }
            })
        };
        let active = |epoch| Event::Active {
            epoch,
            counted: 0,
            tasks: 4,
        };
        for r in [
            rec(0, co1, active(1)),
            rec(10, co1, assigned(1, w1, false)),
            rec(10, co1, assigned(2, w2, false)),
            rec(
                30,
                w2,
                Event::Searched {
                    task: 2,
                    nodes: 5,
                    busy_us: 20,
                },
            ),
            rec(35, co1, lock(true)),
            rec(36, co1, lock(false)),
        ] {
            c.observe(&r);
        }
        c.observe(&Record {
            t: 40,
            node: NodeId(w1),
            ev: Ev::Crash,
        });
        c.observe(&Record {
            t: 41,
            node: NodeId(co1),
            ev: Ev::Crash,
        });
        for r in [
            rec(50, co2, active(2)),
            rec(60, co2, assigned(1, w1, true)), // still down: not drawn as held
            rec(70, co2, assigned(1, w2, true)),
        ] {
            c.observe(&r);
        }
        let chart = c.chart();
        let bars: Vec<(u16, u8, u64, Option<u64>, Hue)> = (chart.bars.iter())
            .map(|b| (b.node.0, b.row, b.from_us, b.to_us, b.hue))
            .collect();
        assert_eq!(
            bars,
            vec![
                (w2, ROW_TASK, 10, Some(30), Hue::Work),
                (w1, ROW_TASK, 10, Some(40), Hue::Work),
                (w2, ROW_TASK, 70, None, Hue::Work),
                (co1, ROW_CRITICAL, 35, Some(36), Hue::Critical),
            ]
        );
        let ticks: Vec<(u16, u64)> = chart.ticks.iter().map(|k| (k.node.0, k.at_us)).collect();
        assert_eq!(ticks, vec![(w1, 60), (w2, 70)], "both handings-out again");
        let tenures: Vec<(u64, u16, u64, Option<u64>)> = (chart.tenures.iter())
            .map(|t| (t.term, t.leader.0, t.from_us, t.to_us))
            .collect();
        assert_eq!(tenures, vec![(1, co1, 0, Some(50)), (2, co2, 50, None)]);
        assert_eq!(chart.pins.len(), 1, "one failover");
    }
}
