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
//!   about 0.1 s; from 20, the default budget runs out). It is bounded by [`Limits`], and
//!   [`Verdict::Unknown`] says when the bound was hit.
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
//! | `op`        | `"get"`, `"put"`, `"cas"` or `"delete"`                                 |
//! | `key`       | string                                                                  |
//! | `value`     | string: what a `put` writes (put only)                                  |
//! | `expected`  | string or `null` (absent): what a `cas` requires (cas only)             |
//! | `new`       | string or `null` (delete): what a `cas` writes (cas only)               |
//! | `result`    | get: `{"value": "1"}` or `{"value": null}` (absent); put, delete: `"ok"`; cas: `"ok"` or `"failed"`; any op with `return_us: null`: `"unknown"` (and only then) |
//!
//! Unknown fields, missing fields, fields another operation uses and `return_us` before
//! `invoke_us` are errors naming the line and field, e.g.
//! `line 4: field "op": unknown operation "puut" (expected get, put, cas or delete)`.
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

mod history;
mod minimize;
mod model;
mod search;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

pub use history::{parse_history, validate, write_history, HistoryError, Input, Op, Output};

use search::{check_register, Outcome};

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
    /// Search steps allowed for shrinking the witness, over all the checks it runs.
    pub minimize_steps: u64,
}

impl Default for Limits {
    /// At most about a second per key, and as much again for shrinking, on a current machine
    /// (a step takes 0.1 to 1 µs, more with more ops in flight); memo memory stays within
    /// about 100 bytes a step.
    fn default() -> Self {
        Limits {
            steps_per_key: 1_000_000,
            minimize_steps: 2_000_000,
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
    let mut gave_up = Vec::new();
    for (key, ops) in &keys {
        match check_register(ops, limits.steps_per_key) {
            (Outcome::Linearizable, _) => {}
            (Outcome::NotLinearizable, _) => {
                return Verdict::NotLinearizable {
                    key: key.to_string(),
                    witness: minimize::minimize(ops, limits.minimize_steps, limits.steps_per_key),
                }
            }
            (Outcome::GaveUp, _) => gave_up.push(format!(
                "{} ({} ops, {} without reply)",
                serde_json::Value::from(*key),
                ops.len(),
                ops.iter().filter(|op| op.return_us.is_none()).count()
            )),
        }
    }
    if gave_up.is_empty() {
        return Verdict::Linearizable;
    }
    let mut reason = format!(
        "search gave up after {} steps on key {}",
        limits.steps_per_key,
        gave_up.join(", key ")
    );
    if keys.len() > gave_up.len() {
        reason.push_str("; every other key is linearizable");
    }
    Verdict::Unknown { reason }
}
