//! What replicas, cache nodes and clients report to the trace (read by the checks, the
//! summary and the timeline).

use serde::{Deserialize, Serialize};

use super::msg::{Answer, St};
use crate::raft;

/// A protocol event of the cache.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A replica's own event.
    Raft(raft::Event),
    /// This cache's entry for `key` is now in `state` (`I`: dropped). `why` says what made it
    /// change: a grant, an invalidation, a fetch, an eviction, a write, a leave.
    Line {
        /// The key.
        key: u32,
        /// The new state.
        state: St,
        /// Why.
        why: Why,
    },
    /// A client operation was answered from the cache (`hit`) or after a miss.
    Served {
        /// The key.
        key: u32,
        /// Whether the cache held it.
        hit: bool,
    },
    /// A put is committed in the Raft store.
    Stored {
        /// The key.
        key: u32,
        /// The value.
        value: u64,
    },
    /// The ring changed at the start of `epoch`.
    RingChanged {
        /// The new epoch.
        epoch: u32,
        /// Members now.
        members: u16,
        /// Members before.
        members_before: u16,
        /// Keys whose home moved.
        moved: u32,
        /// Keys in all.
        keys: u32,
    },
    /// A client issued an operation (`value`: a put's; `None`: a get).
    Invoke {
        /// The client's number for it.
        op: u64,
        /// The key.
        key: u32,
        /// What a put writes.
        value: Option<u64>,
    },
    /// A client learned an operation's outcome (`None`: it gave up, the outcome is unknown).
    Return {
        /// The client's number for it.
        op: u64,
        /// What it returned.
        answer: Option<Answer>,
    },
}

/// Why a cache entry changed state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// The home granted it.
    Grant,
    /// The home invalidated it.
    Inv,
    /// The home fetched it for a reader (a downgrade).
    Fetch,
    /// Evicted to make room (a write-back when it was Modified or Owned).
    Evict,
    /// Written here (Exclusive to Modified).
    Write,
    /// Dropped when the node left the ring.
    Leave,
    /// Dropped at a client's request (`faultline client cache invalidate`).
    Dropped,
}
