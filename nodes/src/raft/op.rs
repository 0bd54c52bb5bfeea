//! What clients ask of the replicated state machine, and what they get back.

use serde::{Deserialize, Serialize};

use super::config::{NAME_BYTES_MAX, VALUE_BYTES_MAX};

/// How a lock is held.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// Any number of shared holders at once, and no exclusive one.
    Shared,
    /// One holder alone.
    Exclusive,
}

/// One client operation. Every one goes through the log, reads included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Reads a key.
    Get {
        /// The key.
        key: String,
    },
    /// Writes a key.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Writes `new` if the key currently holds `expected` (`None`: the key is absent).
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold.
        expected: Option<String>,
        /// The value written.
        new: String,
    },
    /// Removes a key (fine if absent).
    Delete {
        /// The key.
        key: String,
    },
    /// Takes a lock, waiting in FIFO order behind conflicting holders and earlier waiters;
    /// by a holder, renews it (and upgrades shared to exclusive).
    Acquire {
        /// The resource.
        resource: String,
        /// Shared or exclusive.
        mode: LockMode,
    },
    /// Extends a held lock's lease.
    Renew {
        /// The resource.
        resource: String,
    },
    /// Gives a held lock up.
    Release {
        /// The resource.
        resource: String,
    },
    /// Appends a message to a queue.
    Enqueue {
        /// The queue.
        queue: String,
        /// The message.
        body: String,
    },
    /// Takes the oldest visible message; it stays invisible for `visibility_ms` unless acked.
    Dequeue {
        /// The queue.
        queue: String,
    },
    /// Removes a dequeued message for good.
    Ack {
        /// The queue.
        queue: String,
        /// The message's id.
        id: u64,
    },
}

impl Op {
    /// The name the op names (key, resource or queue).
    pub fn target(&self) -> &str {
        match self {
            Op::Get { key } | Op::Put { key, .. } | Op::Cas { key, .. } | Op::Delete { key } => key,
            Op::Acquire { resource, .. } | Op::Renew { resource } | Op::Release { resource } => {
                resource
            }
            Op::Enqueue { queue, .. } | Op::Dequeue { queue } | Op::Ack { queue, .. } => queue,
        }
    }

    /// Whether every name and value is within its bound.
    pub fn within_bounds(&self) -> bool {
        let value_ok = match self {
            Op::Put { value, .. } => value.len() <= VALUE_BYTES_MAX,
            Op::Cas { expected, new, .. } => {
                new.len() <= VALUE_BYTES_MAX
                    && expected.as_ref().is_none_or(|e| e.len() <= VALUE_BYTES_MAX)
            }
            Op::Enqueue { body, .. } => body.len() <= VALUE_BYTES_MAX,
            _ => true,
        };
        value_ok && self.target().len() <= NAME_BYTES_MAX
    }
}

/// Why an operation was refused (it took no effect).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// A cas found another value than the expected one.
    Mismatch,
    /// A renew or release of a lock the client does not hold (its lease may have run out).
    NotHeld,
    /// Waiting for the lock would close a cycle in the wait-for graph; the youngest waiter
    /// (this request) is refused.
    Deadlock,
    /// Too many waiters or resources.
    Busy,
    /// The queue is at its bound.
    QueueFull,
    /// An ack of a message the queue does not hold, or never delivered.
    NoSuchMessage,
    /// A name or value past its bound.
    TooLarge,
    /// The kv store, the queue list or the session table is full.
    Full,
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Nothing to return (put, delete, a successful cas, a lock granted, renewed or released,
    /// an ack).
    Done,
    /// What a get read (`None`: the key is absent).
    Read {
        /// The value.
        value: Option<String>,
    },
    /// An enqueued message's id.
    Enqueued {
        /// Its id, unique across queues.
        id: u64,
    },
    /// A dequeued message.
    Message {
        /// Its id.
        id: u64,
        /// Its body.
        body: String,
    },
    /// A dequeue found no visible message.
    Empty {
        /// Messages delivered but not yet acked (they come back when their visibility ends).
        in_flight: u32,
    },
}

/// The outcome of an operation: from a replica, `Ok` or `Fail`; recorded by a client, also
/// `Unknown` when it gave up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It took effect exactly once.
    Ok {
        /// What it returned.
        value: Value,
    },
    /// It was refused and took no effect.
    Fail {
        /// Why.
        reason: Refusal,
    },
    /// The client gave up after `timeout_ms`: it may or may not have taken effect.
    Unknown,
}

impl Outcome {
    /// `Ok` with `value`.
    pub fn ok(value: Value) -> Outcome {
        Outcome::Ok { value }
    }

    /// `Fail` for `reason`.
    pub fn fail(reason: Refusal) -> Outcome {
        Outcome::Fail { reason }
    }
}

/// One operation of every kind, with realistic values (for tests).
#[cfg(test)]
pub(crate) fn every_op() -> Vec<Op> {
    vec![
        Op::Get { key: "k".into() },
        Op::Put {
            key: "k".into(),
            value: "v".into(),
        },
        Op::Cas {
            key: "k".into(),
            expected: Some("v".into()),
            new: "w".into(),
        },
        Op::Delete { key: "k".into() },
        Op::Acquire {
            resource: "r".into(),
            mode: LockMode::Exclusive,
        },
        Op::Renew {
            resource: "r".into(),
        },
        Op::Release {
            resource: "r".into(),
        },
        Op::Enqueue {
            queue: "q".into(),
            body: "b".into(),
        },
        Op::Dequeue { queue: "q".into() },
        Op::Ack {
            queue: "q".into(),
            id: 3,
        },
    ]
}
