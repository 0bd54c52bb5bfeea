//! The key-value history of a run: every kv operation the clients invoked, with what they
//! were told (or that they were told nothing). The `kv-linearizable` check judges it, and a
//! run's report writes it as `history.jsonl` for `faultline check-history`.

use std::collections::BTreeMap;

use faultline_sim::check::linearizability::{write_history, Input, Op as HOp, Output};
use faultline_sim::protocol::facts::History;
use faultline_sim::{Ev, NodeId, Record};

use super::event::Event;
use super::op::{Op, Outcome, Refusal, Value};

/// Kv operations kept per run; past it the history is judged as far as it goes.
const OPS_MAX: usize = 200_000;

/// A run's kv history, gathered record by record.
#[derive(Default)]
pub(crate) struct KvHistory {
    /// Invoked, not yet returned: (client, seq) -> (invoke time, what was asked).
    pending: BTreeMap<(NodeId, u64), (u64, Input)>,
    /// The operations that returned (or were given up), in the order they did.
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

impl KvHistory {
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

    /// One record of the run.
    pub(crate) fn observe(&mut self, rec: &Record<Event>) {
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
                    return;
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
                        return;
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
    }

    /// Closes every operation still open, as unknown: the run is over.
    pub(crate) fn close_all(&mut self) {
        let open: Vec<(NodeId, u64)> = self.pending.keys().copied().collect();
        for (client, seq) in open {
            self.close(client, seq, None, Output::Unknown);
        }
    }

    /// The operations closed so far.
    pub(crate) fn ops(&self) -> &[HOp] {
        &self.ops
    }

    /// Operations the service refused, left out of the history.
    pub(crate) fn refused(&self) -> u64 {
        self.refused
    }
}

/// `history.jsonl` of a run: kv operations only, the `kv` model of `check-history`.
impl History<Event> for KvHistory {
    fn observe(&mut self, rec: &Record<Event>) {
        if !rec.ev.is_traffic() {
            KvHistory::observe(self, rec);
        }
    }

    fn jsonl(&self) -> String {
        // Operations still open at the end are written as unknown, as the check judges them.
        let mut all = self.ops.clone();
        all.extend(
            self.pending
                .iter()
                .map(|(&(client, _), (invoke_us, input))| HOp {
                    client: client.0 as u64,
                    invoke_us: *invoke_us,
                    return_us: None,
                    input: input.clone(),
                    output: Output::Unknown,
                }),
        );
        all.sort_by_key(|o| o.invoke_us);
        write_history(&all)
    }
}

#[cfg(test)]
mod tests {
    use faultline_sim::check::linearizability::{check, parse_history, Model, Verdict};

    use super::*;

    fn proto(t: u64, node: u16, event: Event) -> Record<Event> {
        Record {
            t,
            node: NodeId(node),
            ev: Ev::Proto { event },
        }
    }

    fn put(key: &str, value: &str) -> Box<Op> {
        Box::new(Op::Put {
            key: key.into(),
            value: value.into(),
        })
    }

    fn read(value: Option<&str>) -> Box<Outcome> {
        Box::new(Outcome::Ok {
            value: Value::Read {
                value: value.map(str::to_string),
            },
        })
    }

    /// A put, a read that sees it, and a read after it that does not: the written lines
    /// read back as the same history, and the stale read is found in them.
    #[test]
    fn the_written_history_reads_back_and_keeps_a_stale_read() {
        let mut h = KvHistory::default();
        let get = Box::new(Op::Get { key: "x".into() });
        let records = [
            proto(
                10,
                5,
                Event::Invoke {
                    seq: 1,
                    op: put("x", "1"),
                },
            ),
            proto(
                20,
                5,
                Event::Return {
                    seq: 1,
                    result: Box::new(Outcome::Ok { value: Value::Done }),
                },
            ),
            proto(
                30,
                6,
                Event::Invoke {
                    seq: 1,
                    op: get.clone(),
                },
            ),
            proto(
                40,
                6,
                Event::Return {
                    seq: 1,
                    result: read(Some("1")),
                },
            ),
            proto(50, 6, Event::Invoke { seq: 2, op: get }),
            proto(
                60,
                6,
                Event::Return {
                    seq: 2,
                    result: read(None),
                },
            ),
            // Never answered: written as unknown.
            proto(
                70,
                5,
                Event::Invoke {
                    seq: 2,
                    op: put("y", "2"),
                },
            ),
        ];
        for r in &records {
            History::observe(&mut h, r);
        }
        let text = h.jsonl();
        let back = parse_history(&text).expect("check-history reads what is written");
        assert_eq!(back.len(), 4, "{text}");
        assert!(back.iter().any(|o| o.return_us.is_none()), "{text}");
        assert!(
            matches!(check(&back, Model::Kv), Verdict::NotLinearizable { .. }),
            "{text}"
        );
        // Without the stale read it is linearizable.
        let fresh: Vec<_> = back.into_iter().filter(|o| o.invoke_us != 50).collect();
        assert_eq!(check(&fresh, Model::Kv), Verdict::Linearizable);
    }
}
