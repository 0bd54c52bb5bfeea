//! What a solver run shows in its summary: nodes expanded, subproblems reassigned, time to
//! solve, the speed-up over one worker, failovers and critical sections.

use std::collections::BTreeSet;

use faultline_sim::check::LockFact;
use faultline_sim::protocol::facts::Facts;
use faultline_sim::{Chart, Ev, Record};
use serde_json::json;

use super::event::Event;

/// A run's facts, gathered record by record.
#[derive(Default)]
pub struct TspFacts {
    /// Branch-and-bound nodes expanded by every worker.
    nodes: u64,
    /// Simulated search time of every worker (µs).
    busy_us: u64,
    /// Subproblems searched (duplicates included).
    searched: u64,
    /// Subproblems handed out, by any replica.
    assigned: BTreeSet<u32>,
    /// Subproblems handed out again: one handed out before, by this replica or another (a
    /// replica that takes over knows only what it handed out itself).
    reassigned: u64,
    /// When the first subproblem was handed out (µs).
    first_assign_us: Option<u64>,
    /// When the client got its tour (µs), and its length.
    solved: Option<(u64, u64)>,
    /// Times a replica became the active one.
    activations: u64,
    /// Critical sections entered.
    critical_sections: u64,
    /// Running subproblems split for idle workers.
    splits: u64,
    /// What the timeline draws.
    chart: super::chart::TspChart,
}

impl Facts<Event> for TspFacts {
    fn observe(&mut self, rec: &Record<Event>) {
        self.chart.observe(rec);
        let Ev::Proto { event } = &rec.ev else { return };
        match event {
            Event::Searched { nodes, busy_us, .. } => {
                self.nodes += nodes;
                self.busy_us += busy_us;
                self.searched += 1;
            }
            Event::Assigned { task, .. } => {
                self.first_assign_us.get_or_insert(rec.t);
                self.reassigned += u64::from(!self.assigned.insert(*task));
            }
            Event::Solved { tour } => {
                self.solved.get_or_insert((rec.t, tour.len));
            }
            Event::Active { .. } => self.activations += 1,
            Event::Split { .. } => self.splits += 1,
            Event::Lock(LockFact::Acquire { .. }) => self.critical_sections += 1,
            _ => {}
        }
    }

    fn details(&self, _names: &[String]) -> Option<serde_json::Value> {
        let failovers = self.activations.saturating_sub(1);
        let solve_us = match (self.first_assign_us, self.solved) {
            (Some(start), Some((end, _))) => Some(end.saturating_sub(start).max(1)),
            _ => None,
        };
        // Work done over time taken: how many workers' worth of search ran at once.
        let speedup = solve_us.map(|us| self.busy_us as f64 / us as f64);
        let headline = match (self.solved, solve_us, speedup) {
            (Some((_, len)), Some(us), Some(s)) => format!(
                "tour of length {len} in {:.2} s; {} nodes expanded in {} searches; speed-up {s:.2}x over one worker; {} reassigned; {failovers} failovers; {} critical sections",
                us as f64 / 1e6,
                self.nodes,
                self.searched,
                self.reassigned,
                self.critical_sections
            ),
            _ => format!(
                "no tour returned; {} nodes expanded in {} searches; {} reassigned; {failovers} failovers",
                self.nodes, self.searched, self.reassigned
            ),
        };
        Some(json!({
            "headline": headline,
            "tour_len": self.solved.map(|(_, len)| len),
            "solve_ms": solve_us.map(|us| us / 1000),
            "nodes_expanded": self.nodes,
            "searches": self.searched,
            "reassigned": self.reassigned,
            "speedup": speedup,
            "failovers": failovers,
            "critical_sections": self.critical_sections,
            "splits": self.splits,
        }))
    }

    fn chart(&self) -> Chart {
        self.chart.chart()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsp::instance::Tour;
    use faultline_sim::NodeId;

    #[test]
    fn the_summary_counts_work_reassignments_and_speedup() {
        let mut f = TspFacts::default();
        let rec = |t: u64, event: Event| Record {
            t,
            node: NodeId(0),
            ev: Ev::Proto { event },
        };
        let assigned = |again| Event::Assigned {
            task: 0,
            worker: NodeId(3),
            again,
        };
        f.observe(&rec(1_000_000, assigned(false)));
        f.observe(&rec(1_500_000, assigned(true)));
        for _ in 0..2 {
            f.observe(&rec(
                1_900_000,
                Event::Searched {
                    task: 0,
                    nodes: 10,
                    busy_us: 800_000,
                },
            ));
        }
        let tour = Tour {
            len: 7,
            cities: vec![0, 1, 2],
        };
        f.observe(&rec(2_000_000, Event::Solved { tour }));
        let d = f.details(&[]).unwrap();
        assert_eq!(d["reassigned"], 1);
        assert_eq!(d["nodes_expanded"], 20);
        assert_eq!(d["solve_ms"], 1000);
        assert!((d["speedup"].as_f64().unwrap() - 1.6).abs() < 1e-9);
    }
}
