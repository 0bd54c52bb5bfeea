//! The solver's checks: its own, that the answer is an optimal tour, and the generic ones
//! over the facts its nodes report (exactly-once counting of subproblem results, mutual
//! exclusion on the shared best tour, causality of Lamport stamps).

use faultline_sim::check::{Causality, ExactlyOnce, MutualExclusion};
use faultline_sim::{Check, Ev, Record, Verdict};

use super::config::ChecksConfig;
use super::event::Event;
use super::instance::{Instance, Tour};

/// The tour the client received is a tour of the instance (every city once, its length
/// recomputed from the distances) and as short as the optimum found independently.
pub struct TourIsOptimal {
    /// The instance.
    instance: Instance,
    /// Its optimal length.
    optimum: u64,
    /// Where the optimum comes from ("Held-Karp", "the scenario").
    source: &'static str,
    /// Whether the run must end with an answer.
    required: bool,
    /// Answers judged.
    answers: u64,
}

impl TourIsOptimal {
    /// Judges answers for `instance`, whose optimum `optimum` comes from `source`.
    pub fn new(instance: Instance, optimum: u64, source: &'static str, required: bool) -> Self {
        TourIsOptimal {
            instance,
            optimum,
            source,
            required,
            answers: 0,
        }
    }

    fn judge(&self, tour: &Tour) -> Result<(), String> {
        self.instance.judge(tour)?;
        if tour.len != self.optimum {
            return Err(format!(
                "the tour has length {}, the optimum ({}) is {}",
                tour.len, self.source, self.optimum
            ));
        }
        Ok(())
    }
}

impl Check<Event> for TourIsOptimal {
    fn name(&self) -> &'static str {
        "tour-is-optimal"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        if let Ev::Proto {
            event: Event::Solved { tour },
        } = &rec.ev
        {
            self.answers += 1;
            self.judge(tour)
                .map_err(|e| format!("{} got a wrong answer: {e}", rec.node))?;
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        if self.answers == 0 && self.required {
            return Verdict::violated(
                self.name(),
                format!(
                    "no tour of {} ({} cities) reached the client by the end of the run",
                    self.instance.name, self.instance.n
                ),
            );
        }
        Verdict::held(
            self.name(),
            self.answers,
            "answers",
            format!(
                "the tour of {} ({} cities) has the optimal length {} ({})",
                self.instance.name, self.instance.n, self.optimum, self.source
            ),
        )
    }
}

/// Every check of a run.
pub fn checks(
    instance: &Instance,
    optimum: (u64, &'static str),
    cfg: &ChecksConfig,
) -> Vec<Box<dyn Check<Event> + Send>> {
    let mut once = ExactlyOnce::new(Event::task);
    if cfg.solve_required {
        once = once.expect_complete();
    }
    // Safety first: a violation stops the run, and the answer's absence is then its
    // consequence, not its cause.
    vec![
        Box::new(MutualExclusion::new(Event::lock).grant_within_ms(cfg.grant_within_ms)),
        Box::new(Causality::new(Event::stamp)),
        Box::new(once),
        Box::new(TourIsOptimal::new(
            instance.clone(),
            optimum.0,
            optimum.1,
            cfg.solve_required,
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::check::judge;
    use faultline_sim::NodeId;

    fn run(check: TourIsOptimal, tours: &[Tour]) -> Verdict {
        let records: Vec<Record<Event>> = tours
            .iter()
            .map(|tour| Record {
                t: 10,
                node: NodeId(4),
                ev: Ev::Proto {
                    event: Event::Solved { tour: tour.clone() },
                },
            })
            .collect();
        let mut checks: Vec<Box<dyn Check<Event> + Send>> = vec![Box::new(check)];
        judge(&mut checks, &records, 100).remove(0)
    }

    #[test]
    fn the_tour_check_holds_for_the_optimum_and_fails_otherwise() {
        let inst = Instance::generated(6, 2);
        let best = crate::tsp::held_karp::held_karp(&inst);
        let check = || TourIsOptimal::new(inst.clone(), best.len, "Held-Karp", true);
        let v = run(check(), std::slice::from_ref(&best));
        assert!(v.ok, "{}", v.detail);
        let worse = Tour {
            len: inst.tour_len(&[0, 1, 2, 3, 4, 5]),
            cities: vec![0, 1, 2, 3, 4, 5],
        };
        if worse.len != best.len {
            let v = run(check(), &[worse]);
            assert!(!v.ok && v.detail.contains("optimum"), "{}", v.detail);
        }
        let lying = Tour {
            len: best.len - 1,
            ..best.clone()
        };
        assert!(!run(check(), &[lying]).ok);
        let v = run(check(), &[]);
        assert!(!v.ok && v.detail.contains("no tour"), "{}", v.detail);
    }
}
