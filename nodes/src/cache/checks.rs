//! The cache's checks: single writer or multiple readers at every instant, a linearizable
//! history of every key (with the generic checker), no acknowledged put missing from the
//! store, a ring change that moves no more than its share of keys, and Raft's safety
//! properties on the store's replicas.

use std::collections::BTreeMap;

use faultline_sim::check::linearizability::{
    check, Input, Model, Op as HOp, Output, Verdict as LVerdict,
};
use faultline_sim::check::Embedded;
use faultline_sim::{Check, Ev, NodeId, Record, Verdict};

use super::event::Event;
use super::msg::{Answer, St};

/// Every check of a run (`ring` only when the membership changes), Raft's safety checks on
/// the store's replicas among them.
pub(crate) fn checks(ring: bool, moved_slack: u32) -> Vec<Box<dyn Check<Event> + Send>> {
    let mut out: Vec<Box<dyn Check<Event> + Send>> = vec![
        Box::new(SingleWriter::default()),
        Box::new(Linearizable::default()),
        Box::new(AckedStored::default()),
    ];
    if ring {
        out.push(Box::new(RingMoves::new(moved_slack)));
    }
    // The store is a Raft group: its replicas are judged by Raft's own safety checks.
    fn raft_event(e: &Event) -> Option<&crate::raft::Event> {
        match e {
            Event::Raft(e) => Some(e),
            _ => None,
        }
    }
    out.extend(
        (crate::raft::safety_checks().into_iter())
            .map(|c| Box::new(Embedded::new(c, raft_event)) as Box<dyn Check<Event> + Send>),
    );
    out
}

/// At most one cache holds a key in M or E, never while another holds it in S or O, and at
/// most one holds it in O: judged after every change of an entry's state.
#[derive(Default)]
pub(crate) struct SingleWriter {
    /// Each key's holders and their state.
    held: BTreeMap<u32, BTreeMap<NodeId, St>>,
    /// State changes judged.
    changes: u64,
}

impl SingleWriter {
    fn judge(&self, key: u32, t: u64) -> Result<(), String> {
        let Some(holders) = self.held.get(&key) else {
            return Ok(());
        };
        let count = |f: fn(St) -> bool| holders.values().filter(|s| f(**s)).count();
        let exclusive = count(|s| matches!(s, St::M | St::E));
        let owned = count(|s| s == St::O);
        let shared = count(|s| s == St::S);
        if exclusive > 1 || (exclusive == 1 && owned + shared > 0) || owned > 1 {
            let list: Vec<String> = holders
                .iter()
                .map(|(n, s)| format!("{n}:{}", s.letter()))
                .collect();
            return Err(format!(
                "at {} ms key k{key} is held as {}: more than a single writer",
                t / 1000,
                list.join(" ")
            ));
        }
        Ok(())
    }
}

impl Check<Event> for SingleWriter {
    fn name(&self) -> &str {
        "single-writer"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        match &rec.ev {
            Ev::Crash => {
                for holders in self.held.values_mut() {
                    holders.remove(&rec.node);
                }
                Ok(())
            }
            Ev::Proto {
                event: Event::Line { key, state, .. },
            } => {
                self.changes += 1;
                let holders = self.held.entry(*key).or_default();
                if *state == St::I {
                    holders.remove(&rec.node);
                } else {
                    holders.insert(rec.node, *state);
                }
                self.judge(*key, rec.t)
            }
            _ => Ok(()),
        }
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            "single-writer",
            self.changes,
            "state changes",
            format!(
                "{} entry state changes kept one writer or many readers",
                self.changes
            ),
        )
    }
}

/// A client's operation as the trace tells it.
#[derive(Clone, Debug)]
struct ClientOp {
    /// The key.
    key: u32,
    /// A put's value.
    value: Option<u64>,
    /// When it was invoked.
    invoke_us: u64,
    /// When and what it returned.
    ret: Option<(u64, Answer)>,
}

/// Every client operation, by client and number.
#[derive(Default)]
struct History {
    /// The operations.
    ops: BTreeMap<(NodeId, u64), ClientOp>,
}

impl History {
    fn observe(&mut self, rec: &Record<Event>) -> Option<(NodeId, u64)> {
        match &rec.ev {
            Ev::Proto {
                event: Event::Invoke { op, key, value },
            } => {
                let at = ClientOp {
                    key: *key,
                    value: *value,
                    invoke_us: rec.t,
                    ret: None,
                };
                self.ops.insert((rec.node, *op), at);
                None
            }
            Ev::Proto {
                event: Event::Return { op, answer },
            } => {
                let o = self.ops.get_mut(&(rec.node, *op))?;
                if let Some(a) = answer {
                    o.ret = Some((rec.t, a.clone()));
                }
                Some((rec.node, *op))
            }
            _ => None,
        }
    }
}

/// Every key's history of gets and puts is linearizable.
#[derive(Default)]
pub(crate) struct Linearizable {
    /// The history so far.
    history: History,
}

impl Check<Event> for Linearizable {
    fn name(&self) -> &str {
        "linearizable"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.history.observe(rec);
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let mut ops = Vec::with_capacity(self.history.ops.len());
        let mut unknown = 0;
        for ((client, _), o) in &self.history.ops {
            let key = format!("k{}", o.key);
            let input = match o.value {
                Some(v) => Input::Put {
                    key,
                    value: v.to_string(),
                },
                None => Input::Get { key },
            };
            let (return_us, output) = match &o.ret {
                Some((t, Answer::Read(v))) => (Some(*t), Output::Value(v.map(|v| v.to_string()))),
                Some((t, Answer::Written)) => (Some(*t), Output::Ok),
                // Only `faultline client cache invalidate` hears this, and it reads nothing.
                Some((_, Answer::Invalidated { .. })) => continue,
                None => {
                    unknown += 1;
                    (None, Output::Unknown)
                }
            };
            ops.push(HOp {
                client: u64::from(client.0),
                invoke_us: o.invoke_us,
                return_us,
                input,
                output,
            });
        }
        match check(&ops, Model::Kv) {
            LVerdict::Linearizable => Verdict::held(
                "linearizable",
                ops.len() as u64,
                "ops",
                format!(
                    "{} gets and puts are linearizable ({unknown} with unknown outcome)",
                    ops.len()
                ),
            ),
            other => Verdict::violated("linearizable", other.to_string()),
        }
    }
}

/// A put is acknowledged only once the store has it.
#[derive(Default)]
pub(crate) struct AckedStored {
    /// The history so far.
    history: History,
    /// Puts the store committed: (key, value).
    stored: std::collections::BTreeSet<(u32, u64)>,
    /// Acknowledged puts judged.
    acked: u64,
}

impl Check<Event> for AckedStored {
    fn name(&self) -> &str {
        "acked-is-stored"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        if let Ev::Proto {
            event: Event::Stored { key, value },
        } = &rec.ev
        {
            self.stored.insert((*key, *value));
        }
        let Some(id) = self.history.observe(rec) else {
            return Ok(());
        };
        let Some(o) = self.history.ops.get(&id) else {
            return Ok(());
        };
        if let (Some(v), Some((_, Answer::Written))) = (o.value, &o.ret) {
            self.acked += 1;
            if !self.stored.contains(&(o.key, v)) {
                return Err(format!(
                    "at {} ms {} was told its put k{}={v} is written, and the store does not have it",
                    rec.t / 1000,
                    id.0,
                    o.key
                ));
            }
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            "acked-is-stored",
            self.acked,
            "acknowledged puts",
            format!(
                "{} acknowledged puts were all in the store first",
                self.acked
            ),
        )
    }
}

/// A ring change moves at most K / (the larger membership) keys, plus a slack.
pub(crate) struct RingMoves {
    /// Keys allowed beyond the share.
    slack: u32,
    /// Changes judged, by epoch (nodes report each one).
    seen: BTreeMap<u32, u32>,
}

impl RingMoves {
    pub(crate) fn new(slack: u32) -> RingMoves {
        RingMoves {
            slack,
            seen: BTreeMap::new(),
        }
    }
}

impl Check<Event> for RingMoves {
    fn name(&self) -> &str {
        "ring-moves-its-share"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let Ev::Proto {
            event:
                Event::RingChanged {
                    epoch,
                    members,
                    members_before,
                    moved,
                    keys,
                },
        } = &rec.ev
        else {
            return Ok(());
        };
        if self.seen.insert(*epoch, *moved).is_some() {
            return Ok(());
        }
        let larger = u32::from((*members).max(*members_before).max(1));
        let share = keys.div_ceil(larger);
        if *moved > share + self.slack {
            return Err(format!(
                "the ring change to epoch {epoch} ({members_before} to {members} members) moved {moved} of {keys} keys, more than its share {share} + {}",
                self.slack
            ));
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let moved: Vec<String> = self.seen.values().map(u32::to_string).collect();
        Verdict::held(
            "ring-moves-its-share",
            self.seen.len() as u64,
            "ring changes",
            format!("ring changes moved {} keys", moved.join(", ")),
        )
    }
}
