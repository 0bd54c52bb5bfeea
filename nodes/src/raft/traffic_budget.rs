//! A traffic budget: at most `messages_max` messages in the whole run (the 6.5840 lab's
//! Count test, per run). A leader that re-sends for ever, or an election storm, fails here
//! while every safety property holds.

use faultline_sim::{Check, Ev, Record, Verdict};

use super::checks::ms;
use super::event::Event;

/// Messages sent, against the budget.
pub(crate) struct TrafficBudget {
    /// The budget.
    max: u64,
    /// Messages sent so far (a multicast counts once).
    sent: u64,
}

impl TrafficBudget {
    pub(crate) fn new(max: u64) -> TrafficBudget {
        TrafficBudget { max, sent: 0 }
    }
}

impl Check<Event> for TrafficBudget {
    fn name(&self) -> &'static str {
        "traffic"
    }

    fn sees_traffic(&self) -> bool {
        true
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        if let Ev::Send { .. } = rec.ev {
            self.sent += 1;
            if self.sent > self.max {
                return Err(format!(
                    "{} messages sent by {}ms: over the budget of {} (checks.messages_max)",
                    self.sent,
                    ms(rec.t),
                    self.max
                ));
            }
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let detail = format!("{} messages of at most {}", self.sent, self.max);
        Verdict::held(self.name(), self.sent, "messages", detail)
    }
}
