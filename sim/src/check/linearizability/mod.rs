//! Linearizability checking of key-value histories.
//!
//! A history is what clients saw: each operation's invocation time, reply time (if a reply
//! came) and reply. It is linearizable when every operation can be given a single instant
//! between its invocation and its reply at which it took effect, such that replaying the
//! operations in that order on a plain map gives exactly the replies seen. [`check`] decides
//! this by a Wing & Gong search with porcupine's memoisation of (linearized set, state), one
//! key at a time (linearizability is compositional: a map is linearizable exactly when each
//! key is), and on failure shrinks the failing key's history to a witness of a few ops.
//!
//! Rules worth knowing:
//! - Every key starts absent; `delete` makes it absent again.
//! - An operation with no reply (`return_us: None`, result unknown) may have taken effect at
//!   any instant after its invocation, or never.
//! - Two events in the same microsecond count as concurrent, so no verdict hangs on the order
//!   of events the clock could not tell apart.
//! - The search is exponential in the number of operations in flight at once on one key,
//!   which realistic histories keep small (10,000 ops on one key from 10 busy clients take
//!   about 0.1 s; from 20, the default budget runs out). It is bounded by [`Limits`] (steps,
//!   which keeps verdicts inside a simulated run deterministic, and optionally wall-clock time
//!   for a person at a terminal), and [`Verdict::Unknown`] says when the bound was hit.
//! - A witness is shrunk around the first reply after which the history cannot be
//!   linearized, and keeps what that reply saw: a stale read comes back as the write it saw,
//!   the write that replaced it, and the read.
//!
//! # History format
//!
//! JSON lines, one operation per line, blank lines ignored. Fields, in the order
//! [`write_history`] writes them:
//!
//! | field       | value                                                                   |
//! |-------------|-------------------------------------------------------------------------|
//! | `client`    | integer: the issuing client (only used to shrink witnesses)             |
//! | `invoke_us` | integer: when the request was sent, µs                                  |
//! | `return_us` | integer, or `null` when no reply came                                   |
//! | `op`        | `"get"`, `"put"`, `"cas"`, `"delete"`, `"append"` or `"concat"`         |
//! | `key`       | string                                                                  |
//! | `value`     | string: what a `put` writes, an `append` pushes, a `concat` adds (those only) |
//! | `expected`  | string or `null` (absent): what a `cas` requires (cas only)             |
//! | `new`       | string or `null` (delete): what a `cas` writes (cas only)               |
//! | `result`    | get: `{"value": "1"}`, `{"value": null}` (absent) or `{"value": ["1", "2"]}` (a list built by appends; `[]` is absent); put, delete, append, concat: `"ok"`; cas: `"ok"` or `"failed"`; any op with `return_us: null`: `"unknown"` (and only then) |
//!
//! `append` is Jepsen's list-append: the key holds a list, `append` pushes one element, a get
//! returns the whole list. `concat` is porcupine's kv `append` on strings: the key holds a
//! text and `concat` adds to its end (on an absent key it starts from ""). A list append on a
//! text, or a concat on a list, cannot happen.
//!
//! Unknown fields, missing fields, fields another operation uses and `return_us` before
//! `invoke_us` are errors naming the line and field, e.g.
//! `line 4: field "op": unknown operation "puut" (expected get, put, cas, delete, append or
//! concat)`.
//!
//! ```text
//! {"client":1,"invoke_us":100,"return_us":250,"op":"put","key":"x","value":"1","result":"ok"}
//! {"client":2,"invoke_us":120,"return_us":180,"op":"get","key":"x","result":{"value":null}}
//! {"client":2,"invoke_us":300,"return_us":400,"op":"get","key":"x","result":{"value":"1"}}
//! {"client":1,"invoke_us":300,"return_us":420,"op":"cas","key":"x","expected":"1","new":"2","result":"ok"}
//! {"client":3,"invoke_us":310,"return_us":null,"op":"delete","key":"x","result":"unknown"}
//! ```
//!
//! ```
//! use faultline_sim::check::linearizability::{check, parse_history, Model, Verdict};
//!
//! let text = r#"
//! {"client":1,"invoke_us":100,"return_us":200,"op":"put","key":"x","value":"1","result":"ok"}
//! {"client":2,"invoke_us":300,"return_us":400,"op":"get","key":"x","result":{"value":null}}
//! "#;
//! let history = parse_history(text).unwrap();
//! match check(&history, Model::Kv) {
//!     Verdict::NotLinearizable { key, witness } => assert_eq!((key.as_str(), witness.len()), ("x", 2)),
//!     other => panic!("{other}"),
//! }
//! ```

mod edn;
mod history;
mod jepsen;
mod minimize;
mod model;
mod search;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

pub use history::{parse_history, validate, write_history, HistoryError, Input, Op, Output};
pub use jepsen::{Format, REGISTER_KEY};

/// Reads a history written in `format`.
pub fn parse_history_as(text: &str, format: Format) -> Result<Vec<Op>, HistoryError> {
    match format {
        Format::Jsonl => parse_history(text),
        Format::Edn => jepsen::parse_edn(text),
        Format::JepsenLog => jepsen::parse_log(text),
    }
}

use search::{search_register, Budget, Outcome};

/// What the history is a history of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// One register. Every op must name the same key (anything else is
    /// [`Verdict::Unknown`]): a second key is far likelier a mistake than a design.
    Register,
    /// A map of independent registers, one per key, each starting absent.
    Kv,
}

/// Bounds on the work [`check_with`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Search steps allowed for one key before its verdict is [`Verdict::Unknown`].
    pub steps_per_key: u64,
    /// Search steps allowed for shrinking the witness, over all the checks it runs (at least
    /// twice what the search that found the violation took).
    pub minimize_steps: u64,
    /// Wall-clock time allowed for the search over all keys, if any. Only for tools run by a
    /// person: a verdict that depends on the machine's speed has no place in a simulated run.
    /// The witness is still shrunk within steps, so it does not depend on the clock.
    pub time: Option<Duration>,
}

impl Default for Limits {
    /// At most about a second per key, and as much again for shrinking, on a current machine
    /// (a step takes 0.1 to 1 µs, more with more ops in flight); memo memory stays within
    /// about 100 bytes a step.
    fn default() -> Self {
        Limits {
            steps_per_key: 1_000_000,
            minimize_steps: 2_000_000,
            time: None,
        }
    }
}

impl Limits {
    /// Limits for a person at a terminal: `time` of wall clock, no bound on steps (memory
    /// stays bounded by the memo's size limit, about 2 GB at worst).
    pub fn wall_clock(time: Duration) -> Limits {
        Limits {
            steps_per_key: u64::MAX,
            minimize_steps: 2_000_000,
            time: Some(time),
        }
    }
}

/// The checker's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the ops explains every reply.
    Linearizable,
    /// No order explains the replies on `key`.
    NotLinearizable {
        /// The key whose history fails (the first failing one in key order).
        key: String,
        /// A small sub-history of that key that is itself not linearizable, by invocation time.
        witness: Vec<Op>,
    },
    /// The checker could not decide: a search ran out of steps, or the history is malformed.
    Unknown {
        /// Why, naming the keys involved.
        reason: String,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable => write!(f, "linearizable"),
            Verdict::NotLinearizable { key, witness } => write!(
                f,
                "not linearizable on key {}; witness:\n{}",
                serde_json::Value::from(key.as_str()),
                write_history(witness).trim_end()
            ),
            Verdict::Unknown { reason } => write!(f, "unknown: {reason}"),
        }
    }
}

/// Checks `history` against `model` within the default [`Limits`].
pub fn check(history: &[Op], model: Model) -> Verdict {
    check_with(history, model, &Limits::default())
}

/// Checks `history` against `model` within `limits`.
pub fn check_with(history: &[Op], model: Model, limits: &Limits) -> Verdict {
    if let Err(err) = validate(history) {
        return Verdict::Unknown {
            reason: format!("malformed history: {err}"),
        };
    }
    let mut keys: BTreeMap<&str, Vec<&Op>> = BTreeMap::new();
    for op in history {
        keys.entry(op.input.key()).or_default().push(op);
    }
    if model == Model::Register && keys.len() > 1 {
        let names: Vec<String> = keys
            .keys()
            .take(3)
            .map(|k| serde_json::Value::from(*k).to_string())
            .collect();
        return Verdict::Unknown {
            reason: format!(
                "the register model takes one key, the history has {} ({}…); use the kv model",
                keys.len(),
                names.join(", ")
            ),
        };
    }
    // Only a wall-clock budget reads the clock.
    let deadline = limits.time.map(|t| Instant::now() + t);
    // With a wall-clock budget, every key first gets the default steps, so one hard key
    // cannot hide a violation on another (porcupine checks keys in parallel for the same
    // reason); the keys still open then share what is left of the time.
    let first_pass = match limits.time {
        Some(_) => limits.steps_per_key.min(Limits::default().steps_per_key),
        None => limits.steps_per_key,
    };
    let mut open: Vec<(&str, &Vec<&Op>)> = Vec::new();
    let mut out_of_time = false;
    let mut memo_full = false;
    for (pass, steps) in [(0, first_pass), (1, limits.steps_per_key)] {
        let todo: Vec<(&str, &Vec<&Op>)> = if pass == 0 {
            keys.iter().map(|(k, ops)| (*k, ops)).collect()
        } else if steps > first_pass {
            std::mem::take(&mut open)
        } else {
            break;
        };
        for (key, ops) in todo {
            let outcome = if out_of_time {
                Outcome::OutOfTime
            } else {
                let budget = Budget { steps, deadline };
                let (outcome, steps_taken, _) = search_register(ops, budget, false);
                if outcome == Outcome::NotLinearizable {
                    // Shrinking reruns the search on parts of the history, so it gets at
                    // least twice what the whole took; counted in steps, the witness does not
                    // depend on the machine's speed.
                    let minimize_steps = limits.minimize_steps.max(steps_taken.saturating_mul(2));
                    let per_check = limits.steps_per_key.max(steps_taken);
                    return Verdict::NotLinearizable {
                        key: key.to_string(),
                        witness: minimize::minimize(ops, minimize_steps, per_check),
                    };
                }
                outcome
            };
            out_of_time |= outcome == Outcome::OutOfTime;
            memo_full |= outcome == Outcome::MemoFull;
            if outcome != Outcome::Linearizable {
                open.push((key, ops));
            }
        }
    }
    let gave_up: Vec<String> = open
        .iter()
        .map(|(key, ops)| {
            format!(
                "{} ({} ops, {} without reply)",
                serde_json::Value::from(*key),
                ops.len(),
                ops.iter().filter(|op| op.return_us.is_none()).count()
            )
        })
        .collect();
    if gave_up.is_empty() {
        return Verdict::Linearizable;
    }
    let spent = match limits.time {
        Some(time) if out_of_time => {
            format!("budget exhausted after {} s, undecided", time.as_secs_f64())
        }
        _ if memo_full => format!(
            "search gave up with {} configurations in memory, undecided",
            search::MEMO_MAX
        ),
        _ => format!("search gave up after {} steps", limits.steps_per_key),
    };
    let mut reason = format!("{spent} on key {}", gave_up.join(", key "));
    if keys.len() > gave_up.len() {
        reason.push_str("; every other key is linearizable");
    }
    Verdict::Unknown { reason }
}

/// One key's ops and how far the search got in placing them: what a view draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The key.
    pub key: String,
    /// Its ops, in the history's order.
    pub ops: Vec<Op>,
    /// The longest linearized prefix the search found: indexes into `ops` in linearization
    /// order, each with the key's content after it (`nil`, a JSON string or a JSON list).
    pub order: Vec<(usize, String)>,
    /// The op that returned first among those left over: it had to go next, and no order of
    /// the others lets its reply stand. `None` when every op was placed.
    pub stuck: Option<usize>,
    /// The search's answer for this key: `Some(true)` linearizable, `Some(false)` not, `None`
    /// when the budget ran out (and then the prefix is the longest found so far).
    pub linearizable: Option<bool>,
}

/// Searches the ops on `key` again, keeping the longest prefix it linearizes, within `limits`.
pub fn explain(history: &[Op], key: &str, limits: &Limits) -> Explanation {
    let ops: Vec<&Op> = history.iter().filter(|op| op.input.key() == key).collect();
    let budget = Budget {
        steps: limits.steps_per_key,
        deadline: limits.time.map(|t| Instant::now() + t),
    };
    let (outcome, _, prefix) = search_register(&ops, budget, true);
    let prefix = prefix.unwrap_or(search::Prefix {
        order: Vec::new(),
        stuck: None,
    });
    Explanation {
        key: key.to_string(),
        ops: ops.into_iter().cloned().collect(),
        order: prefix.order,
        stuck: prefix.stuck,
        linearizable: match outcome {
            Outcome::Linearizable => Some(true),
            Outcome::NotLinearizable => Some(false),
            Outcome::GaveUp | Outcome::OutOfTime | Outcome::MemoFull => None,
        },
    }
}
