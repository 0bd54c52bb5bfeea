//! Tunables of the cache nodes (coherence protocol, capacity, ring, membership schedule) and
//! of the client workload, and the bounds that keep the protocol's structures finite.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Most keys a run may use (the Raft store holds at most 1,024).
pub const KEYS_MAX: u32 = 1024;
/// Most entries a cache may be configured to hold.
pub const CAPACITY_MAX: usize = 1024;
/// Most virtual nodes per cache node on the ring.
pub const VNODES_MAX: u32 = 1024;
/// Most client operations a cache node works on at once; more are answered `Busy`.
pub const PENDING_MAX: usize = 64;
/// Most store operations queued at a cache node behind the one in flight.
pub const STORE_QUEUE_MAX: usize = 128;

/// Which coherence protocol the caches follow.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Coherence {
    /// Modified, Exclusive, Shared, Invalid.
    #[default]
    Mesi,
    /// Modified, Owned, Shared, Invalid: no Exclusive; a Modified owner asked for the key
    /// keeps it as Owned and supplies readers.
    Mosi,
    /// Both Owned and Exclusive.
    Moesi,
}

impl Coherence {
    /// Whether a lone reader is granted Exclusive.
    pub(crate) fn has_exclusive(self) -> bool {
        self != Coherence::Mosi
    }

    /// Whether a Modified owner asked for the key keeps it as Owned.
    pub(crate) fn has_owned(self) -> bool {
        self != Coherence::Mesi
    }

    /// Its name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Coherence::Mesi => "MESI",
            Coherence::Mosi => "MOSI",
            Coherence::Moesi => "MOESI",
        }
    }
}

/// How the cache nodes behave (`[config]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// MESI, MOSI or MOESI.
    pub coherence: Coherence,
    /// Entries each cache holds before it evicts the least recently used clean one.
    pub capacity: usize,
    /// Points per cache node on the consistent-hashing ring.
    pub vnodes: u32,
    /// Resend period of unanswered coherence messages and store requests.
    pub retry_ms: u64,
    /// Cache nodes that join the ring later, with the time they join (ms).
    pub join: BTreeMap<String, u64>,
    /// Cache nodes that leave the ring, with the time they leave (ms).
    pub leave: BTreeMap<String, u64>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            coherence: Coherence::Mesi,
            capacity: 16,
            vnodes: 64,
            retry_ms: 30,
            join: BTreeMap::new(),
            leave: BTreeMap::new(),
        }
    }
}

/// What each client does (`[workload]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Operations each client issues, one at a time.
    pub ops: u32,
    /// Pause between a return and the next invoke (0: the next one at once).
    pub rate_ms: u64,
    /// Delay from the client's start to its first operation.
    pub start_ms: u64,
    /// Keys `k0..` the clients use.
    pub keys: u32,
    /// Percent of operations that are reads.
    pub read_percent: u32,
    /// Resend period of an operation a cache answered `Busy`.
    pub retry_ms: u64,
    /// An operation unanswered this long is given up and recorded as unknown.
    pub timeout_ms: u64,
    /// Clients skip the caches and send every get and put straight to the Raft store (the
    /// baseline of `faultline bench-real cache`).
    pub direct: bool,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            ops: 0,
            rate_ms: 20,
            start_ms: 1000,
            keys: 16,
            read_percent: 80,
            retry_ms: 20,
            timeout_ms: 2000,
            direct: false,
        }
    }
}

/// Bounds of the checks (`[checks]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Keys a join or a leave may move beyond its share (K divided by the larger membership).
    pub moved_slack: u32,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig { moved_slack: 4 }
    }
}
