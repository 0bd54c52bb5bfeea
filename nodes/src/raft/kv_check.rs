//! Linearizability of the key-value history: every kv operation the clients invoked, with what
//! they were told (or that they were told nothing), judged by `faultline_sim::check::linearizability`
//! at the end of the run, key by key.

use std::collections::BTreeMap;

use faultline_sim::check::linearizability::{
    check, Input, Model, Op as HOp, Output, Verdict as LVerdict,
};
use faultline_sim::{Check, Ev, NodeId, Record, Verdict};

use super::event::Event;
use super::op::{Op, Outcome, Refusal, Value};

/// Kv operations kept per run; past it the history is judged as far as it goes.
const OPS_MAX: usize = 200_000;

/// The `kv-linearizable` check.
#[derive(Default)]
pub(crate) struct KvLinearizable {
    /// Invoked, not yet returned: (client, seq) -> (invoke time, what was asked).
    pending: BTreeMap<(NodeId, u64), (u64, Input)>,
    /// The history so far.
    ops: Vec<HOp>,
    /// Operations refused by the service: they took no effect, so they are left out.
    refused: u64,
}

fn input(op: &Op) -> Option<Input> {
    Some(match op {
        Op::Get { key } => Input::Get { key: key.clone() },
        Op::Put { key, value } => Input::Put {
            key: key.clone(),
            value: value.clone(),
        },
        Op::Cas { key, expected, new } => Input::Cas {
            key: key.clone(),
            expected: expected.clone(),
            new: Some(new.clone()),
        },
        Op::Delete { key } => Input::Delete { key: key.clone() },
        _ => return None,
    })
}

impl KvLinearizable {
    /// Closes an operation with `output`, or as unknown when `return_us` is `None`.
    fn close(&mut self, client: NodeId, seq: u64, return_us: Option<u64>, output: Output) {
        let Some((invoke_us, input)) = self.pending.remove(&(client, seq)) else {
            return;
        };
        if self.ops.len() < OPS_MAX {
            self.ops.push(HOp {
                client: client.0 as u64,
                invoke_us,
                return_us,
                input,
                output,
            });
        }
    }
}

impl Check<Event> for KvLinearizable {
    fn name(&self) -> &'static str {
        "kv-linearizable"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        match &rec.ev {
            Ev::Proto {
                event: Event::Invoke { seq, op },
            } => {
                if let Some(input) = input(op) {
                    self.pending.insert((rec.node, *seq), (rec.t, input));
                }
            }
            Ev::Proto {
                event: Event::Return { seq, result },
            } => {
                let key = (rec.node, *seq);
                let Some((_, asked)) = self.pending.get(&key) else {
                    return Ok(());
                };
                let output = match (asked, &**result) {
                    (
                        Input::Get { .. },
                        Outcome::Ok {
                            value: Value::Read { value },
                        },
                    ) => Output::Value(value.clone()),
                    (_, Outcome::Ok { .. }) => Output::Ok,
                    (
                        Input::Cas { .. },
                        Outcome::Fail {
                            reason: Refusal::Mismatch,
                        },
                    ) => Output::CasFailed,
                    (_, Outcome::Fail { .. }) => {
                        self.pending.remove(&key);
                        self.refused += 1;
                        return Ok(());
                    }
                    (_, Outcome::Unknown) => Output::Unknown,
                };
                let return_us = (output != Output::Unknown).then_some(rec.t);
                self.close(rec.node, *seq, return_us, output);
            }
            // A crashed client never hears back: what it had in flight may or may not apply.
            Ev::Crash => {
                let lost: Vec<u64> = self
                    .pending
                    .range((rec.node, 0)..=(rec.node, u64::MAX))
                    .map(|(k, _)| k.1)
                    .collect();
                for seq in lost {
                    self.close(rec.node, seq, None, Output::Unknown);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let open: Vec<(NodeId, u64)> = self.pending.keys().copied().collect();
        for (client, seq) in open {
            self.close(client, seq, None, Output::Unknown);
        }
        let keys = self
            .ops
            .iter()
            .map(|o| o.input.key())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let unknown = self.ops.iter().filter(|o| o.return_us.is_none()).count();
        let ops = self.ops.len() as u64;
        match check(&self.ops, Model::Kv) {
            LVerdict::Linearizable => Verdict::held(
                self.name(),
                ops,
                "kv ops",
                format!(
                    "{ops} kv operations on {keys} keys are linearizable ({unknown} with unknown outcome, {} refused and left out)",
                    self.refused
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
    use super::*;

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
