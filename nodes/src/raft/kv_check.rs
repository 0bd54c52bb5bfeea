//! Linearizability of the key-value history: every kv operation the clients invoked, with what
//! they were told (or that they were told nothing), judged by `faultline_sim::check::linearizability`
//! at the end of the run, key by key.

use faultline_sim::check::linearizability::{check, Model, Verdict as LVerdict};
use faultline_sim::{Check, Record, Verdict};

use super::event::Event;
use super::kv_history::KvHistory;

/// The `kv-linearizable` check.
#[derive(Default)]
pub(crate) struct KvLinearizable {
    /// The kv history, gathered as the run goes.
    history: KvHistory,
}

impl Check<Event> for KvLinearizable {
    fn name(&self) -> &'static str {
        "kv-linearizable"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.history.observe(rec);
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        self.history.close_all();
        let (history, refused) = (self.history.ops(), self.history.refused());
        let keys = history
            .iter()
            .map(|o| o.input.key())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let unknown = history.iter().filter(|o| o.return_us.is_none()).count();
        let ops = history.len() as u64;
        match check(history, Model::Kv) {
            LVerdict::Linearizable => Verdict::held(
                self.name(),
                ops,
                "kv ops",
                format!(
                    "{ops} kv operations on {keys} keys are linearizable ({unknown} with unknown outcome, {refused} refused and left out)",
                ),
            ),
            v @ LVerdict::NotLinearizable { .. } => {
                Verdict::violated(self.name(), v.to_string().replace('\n', " "))
            }
            // An undecided search is not evidence of a bug, nor a judgement: vacuous.
            LVerdict::Unknown { reason } => Verdict::held(
                self.name(),
                0,
                "kv ops",
                format!("{ops} kv operations not decided: {reason}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use faultline_sim::{Ev, NodeId};

    use super::*;
    use crate::raft::op::{Op, Outcome, Refusal, Value};

    fn rec(t: u64, node: u16, event: Event) -> Record<Event> {
        Record {
            t,
            node: NodeId(node),
            ev: Ev::Proto { event },
        }
    }

    fn put(key: &str, value: &str) -> Op {
        Op::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    fn done() -> Outcome {
        Outcome::Ok { value: Value::Done }
    }

    fn read(value: Option<&str>) -> Outcome {
        Outcome::Ok {
            value: Value::Read {
                value: value.map(str::to_string),
            },
        }
    }

    fn run(records: &[Record<Event>]) -> Verdict {
        let mut c = KvLinearizable::default();
        for r in records {
            c.observe(r).unwrap();
        }
        c.finish(1_000_000)
    }

    #[test]
    fn fresh_reads_pass_and_a_stale_read_fails_with_a_witness() {
        let base = vec![
            rec(
                10,
                5,
                Event::Invoke {
                    seq: 1,
                    op: put("x", "1").into(),
                },
            ),
            rec(
                20,
                5,
                Event::Return {
                    seq: 1,
                    result: done().into(),
                },
            ),
            rec(
                30,
                5,
                Event::Invoke {
                    seq: 2,
                    op: put("x", "2").into(),
                },
            ),
            rec(
                40,
                5,
                Event::Return {
                    seq: 2,
                    result: done().into(),
                },
            ),
            rec(
                50,
                6,
                Event::Invoke {
                    seq: 1,
                    op: Op::Get { key: "x".into() }.into(),
                },
            ),
        ];
        let mut fresh = base.clone();
        fresh.push(rec(
            60,
            6,
            Event::Return {
                seq: 1,
                result: read(Some("2")).into(),
            },
        ));
        assert!(run(&fresh).ok, "{:?}", run(&fresh));
        let mut stale = base;
        stale.push(rec(
            60,
            6,
            Event::Return {
                seq: 1,
                result: read(Some("1")).into(),
            },
        ));
        let v = run(&stale);
        assert!(!v.ok);
        assert!(
            v.detail.contains("not linearizable on key \"x\""),
            "{}",
            v.detail
        );
    }

    #[test]
    fn an_unknown_put_may_explain_a_later_read_and_refusals_are_left_out() {
        let records = vec![
            rec(
                10,
                5,
                Event::Invoke {
                    seq: 1,
                    op: put("x", "1").into(),
                },
            ),
            rec(
                20,
                5,
                Event::Return {
                    seq: 1,
                    result: Outcome::Unknown.into(),
                },
            ),
            rec(
                30,
                6,
                Event::Invoke {
                    seq: 1,
                    op: put("x", "9").into(),
                },
            ),
            rec(
                35,
                6,
                Event::Return {
                    seq: 1,
                    result: Outcome::Fail {
                        reason: Refusal::TooLarge,
                    }
                    .into(),
                },
            ),
            rec(
                40,
                6,
                Event::Invoke {
                    seq: 2,
                    op: Op::Get { key: "x".into() }.into(),
                },
            ),
            rec(
                50,
                6,
                Event::Return {
                    seq: 2,
                    result: read(Some("1")).into(),
                },
            ),
        ];
        let v = run(&records);
        assert!(v.ok, "{}", v.detail);
        assert!(v.detail.contains("1 refused"), "{}", v.detail);
    }
}
