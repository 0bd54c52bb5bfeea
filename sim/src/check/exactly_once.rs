//! Exactly-once results, for any protocol that reports task facts: a task's (or request's)
//! result is counted at most once, and, when the run is expected to complete, every issued
//! task is counted by the end.
//!
//! The protocol maps its events to [`TaskFact`]s (`fn(&E) -> Option<TaskFact>`). `Counted`
//! is the one authoritative acceptance of a result (a coordinator adding it to the answer),
//! not every copy a replica sees. Issuing an id again (a retry after a worker's crash) is
//! allowed; counting it again is the violation, at once. A protocol whose ids are pairs
//! (client, sequence number) packs them into the `u64`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Check, Verdict};
use crate::node::NodeId;
use crate::trace::{Ev, Record};

/// What a protocol reports about a task; the record's node is who did it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskFact {
    /// Task `id` was handed out (again, for a retry).
    Issued {
        /// The task.
        id: u64,
    },
    /// Task `id`'s result was counted.
    Counted {
        /// The task.
        id: u64,
    },
}

/// Ids shown in a detail at most.
const IDS_SHOWN_MAX: usize = 5;

/// Every result counted at most once; every issued task counted when expected.
pub struct ExactlyOnce<E> {
    /// The protocol's mapping from its events to task facts.
    map: fn(&E) -> Option<TaskFact>,
    /// Whether every issued task must be counted by the end.
    expect_complete: bool,
    /// Tasks issued.
    issued: BTreeSet<u64>,
    /// Issue facts seen (retries included).
    issues: u64,
    /// Tasks counted: by whom and when (µs).
    counted: BTreeMap<u64, (NodeId, u64)>,
    /// Issued tasks judged for completion at the end.
    completion_judged: u64,
}

impl<E> ExactlyOnce<E> {
    /// At most once, over the facts `map` finds in the protocol's events.
    pub fn new(map: fn(&E) -> Option<TaskFact>) -> ExactlyOnce<E> {
        ExactlyOnce {
            map,
            expect_complete: false,
            issued: BTreeSet::new(),
            issues: 0,
            counted: BTreeMap::new(),
            completion_judged: 0,
        }
    }

    /// Also requires every issued task to be counted by the end (a run meant to finish
    /// its work).
    pub fn expect_complete(mut self) -> ExactlyOnce<E> {
        self.expect_complete = true;
        self
    }

    /// How much it judged: results counted, plus issued tasks judged for completion.
    pub fn judged(&self) -> u64 {
        self.counted.len() as u64 + self.completion_judged
    }

    /// Up to a few ids, for a detail.
    fn show(ids: &[u64]) -> String {
        let shown: Vec<String> = ids.iter().take(IDS_SHOWN_MAX).map(u64::to_string).collect();
        let more = ids.len().saturating_sub(IDS_SHOWN_MAX);
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }
}

impl<E> Check<E> for ExactlyOnce<E> {
    fn name(&self) -> &'static str {
        "exactly-once"
    }

    fn observe(&mut self, rec: &Record<E>) -> Result<(), String> {
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        match (self.map)(event) {
            Some(TaskFact::Issued { id }) => {
                self.issues += 1;
                self.issued.insert(id);
            }
            Some(TaskFact::Counted { id }) => {
                if let Some((by, t)) = self.counted.get(&id) {
                    return Err(format!(
                        "task {id} counted twice: by {by} at {} ms and by {} now",
                        t / 1000,
                        rec.node
                    ));
                }
                self.counted.insert(id, (rec.node, rec.t));
            }
            None => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let name = self.name().to_string();
        let fail = |detail: String| Verdict::violated(name.clone(), detail);
        // Without issue facts the protocol reports counts only: nothing to hold them to.
        if self.issues > 0 {
            let unissued: Vec<u64> = self
                .counted
                .keys()
                .filter(|id| !self.issued.contains(id))
                .copied()
                .collect();
            if !unissued.is_empty() {
                return fail(format!(
                    "{} tasks counted but never issued: {}",
                    unissued.len(),
                    Self::show(&unissued)
                ));
            }
        }
        let completion = if self.expect_complete {
            self.completion_judged = self.issued.len() as u64;
            let missing: Vec<u64> = self
                .issued
                .iter()
                .filter(|id| !self.counted.contains_key(id))
                .copied()
                .collect();
            if !missing.is_empty() {
                return fail(format!(
                    "{} of {} issued tasks never counted: {}",
                    missing.len(),
                    self.issued.len(),
                    Self::show(&missing)
                ));
            }
            format!("every one of {} issued tasks counted", self.issued.len())
        } else {
            "completion not expected".to_string()
        };
        Verdict::held(
            name,
            self.judged(),
            "results and completions",
            format!(
                "{} results counted once each; {} tasks issued ({} issues); {completion}",
                self.counted.len(),
                self.issued.len(),
                self.issues
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::judge;

    /// A protocol's events, some of them task facts.
    #[derive(Clone, Debug)]
    enum Event {
        Assign(u64),
        Result(u64),
        Heartbeat,
    }

    fn task_fact(e: &Event) -> Option<TaskFact> {
        match e {
            Event::Assign(id) => Some(TaskFact::Issued { id: *id }),
            Event::Result(id) => Some(TaskFact::Counted { id: *id }),
            Event::Heartbeat => None,
        }
    }

    fn proto(t_ms: u64, node: u16, event: Event) -> Record<Event> {
        Record {
            t: t_ms * 1000,
            node: NodeId(node),
            ev: Ev::Proto { event },
        }
    }

    fn run(check: ExactlyOnce<Event>, records: &[Record<Event>]) -> Verdict {
        let mut checks: Vec<Box<dyn Check<Event> + Send>> = vec![Box::new(check)];
        judge(&mut checks, records, 1_000_000).remove(0)
    }

    #[test]
    fn every_task_counted_once_passes_even_with_retries() {
        let records = vec![
            proto(0, 0, Event::Assign(1)),
            proto(0, 0, Event::Assign(2)),
            proto(5, 0, Event::Heartbeat),
            proto(6, 0, Event::Assign(2)), // retried after its worker crashed
            proto(7, 0, Event::Result(1)),
            proto(9, 0, Event::Result(2)),
        ];
        let v = run(ExactlyOnce::new(task_fact).expect_complete(), &records);
        assert!(v.ok, "{}", v.detail);
        assert_eq!(
            v.detail,
            "2 results counted once each; 2 tasks issued (3 issues); every one of 2 issued tasks counted"
        );
    }

    #[test]
    fn a_result_counted_twice_fails_at_once() {
        let records = vec![
            proto(0, 0, Event::Assign(1)),
            proto(7, 0, Event::Result(1)),
            proto(9, 1, Event::Result(1)),
        ];
        let v = run(ExactlyOnce::new(task_fact), &records);
        assert!(!v.ok);
        assert_eq!(
            v.detail,
            "at 0.009 s: task 1 counted twice: by #0 at 7 ms and by #1 now"
        );
    }

    #[test]
    fn an_issued_task_never_counted_fails_when_completion_is_expected() {
        let records: Vec<_> = (1..=8)
            .map(|id| proto(0, 0, Event::Assign(id)))
            .chain([proto(3, 0, Event::Result(4))])
            .collect();
        let v = run(ExactlyOnce::new(task_fact).expect_complete(), &records);
        assert!(!v.ok);
        assert_eq!(
            v.detail,
            "7 of 8 issued tasks never counted: 1, 2, 3, 5, 6 and 2 more"
        );
        // Without the expectation, an unfinished run is fine.
        let v = run(ExactlyOnce::new(task_fact), &records);
        assert!(v.ok, "{}", v.detail);
    }

    #[test]
    fn a_result_for_a_task_never_issued_fails() {
        let records = vec![proto(0, 0, Event::Assign(1)), proto(3, 0, Event::Result(9))];
        let v = run(ExactlyOnce::new(task_fact), &records);
        assert!(!v.ok);
        assert_eq!(v.detail, "1 tasks counted but never issued: 9");
    }

    #[test]
    fn a_run_without_task_facts_is_vacuous() {
        let records = vec![proto(5, 0, Event::Heartbeat)];
        let v = run(ExactlyOnce::new(task_fact).expect_complete(), &records);
        assert!(!v.ok && v.vacuous, "{v:?}");
        assert!(v.detail.starts_with("0 results"), "{}", v.detail);
        let mut check = ExactlyOnce::new(task_fact);
        check.observe(&records[0]).unwrap();
        assert_eq!(check.judged(), 0);
    }
}
