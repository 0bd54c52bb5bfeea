//! Tunables of the replicas (timing, compaction, leases) and of the client workload, and the
//! bounds that keep every structure of the protocol finite.

use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

use super::bugs::Bugs;

/// Most entries a log holds past its snapshot; the durable log is a ring of this many slots.
pub const LOG_ENTRIES_MAX: u64 = 4096;
/// Room a leader keeps for its no-ops: it refuses client commands past
/// `LOG_ENTRIES_MAX - LOG_NOOP_RESERVE` uncompacted entries.
pub const LOG_NOOP_RESERVE: u64 = 64;
/// Most entries one AppendEntries carries.
pub const ENTRIES_PER_APPEND_MAX: usize = 64;
/// Snapshot bytes per InstallSnapshot chunk.
pub const SNAPSHOT_CHUNK_BYTES: usize = 16 * 1024;
/// Largest snapshot a replica builds or accepts.
pub const SNAPSHOT_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Longest key, lock resource or queue name.
pub const NAME_BYTES_MAX: usize = 64;
/// Longest value or message body.
pub const VALUE_BYTES_MAX: usize = 256;
/// Most keys the kv store holds; a put of a new key past it is refused.
pub const KV_KEYS_MAX: usize = 1024;
/// Most lock resources with holders or waiters at once.
pub const LOCK_RESOURCES_MAX: usize = 256;
/// Most waiters queued on one resource.
pub const LOCK_WAITERS_MAX: usize = 64;
/// Most named queues.
pub const QUEUES_MAX: usize = 16;
/// Ceiling of the configurable queue length.
pub const QUEUE_LENGTH_MAX: usize = 256;
/// Most client sessions (one per client); commands of further clients are refused.
pub const SESSIONS_MAX: usize = 64;

/// How a replica behaves (clients read the server list and `lease_ms` from it too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftConfig {
    /// Shortest election timeout; each timeout is drawn from [min, max].
    pub election_timeout_ms_min: u64,
    /// Longest election timeout.
    pub election_timeout_ms_max: u64,
    /// Period of a leader's heartbeats (and retransmissions).
    pub heartbeat_ms: u64,
    /// Applied entries past the snapshot after which a replica takes a new snapshot.
    pub snapshot_entries: u64,
    /// How long a lock grant or renewal lasts, from its entry's timestamp.
    pub lease_ms: u64,
    /// How long a dequeued message stays invisible waiting for its ack.
    pub visibility_ms: u64,
    /// Most messages one queue holds; an enqueue past it is refused.
    pub queue_length_max: usize,
    /// Most entries a leader puts in one AppendEntries.
    pub entries_per_append: usize,
    /// Ask for pre-votes before raising the term (Raft thesis §9.6): a replica that cannot
    /// win, or whose peers still hear a leader, leaves the term alone, so a replica cut off
    /// by a one-way partition no longer deposes a healthy leader.
    pub pre_vote: bool,
    /// The replicas, in id order (static membership). Set by the caller.
    #[serde(skip)]
    pub servers: Vec<NodeId>,
    /// Planted known-wrong behaviours; set by the simulator's `--bug`, never from a file.
    #[serde(skip)]
    pub bugs: Bugs,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            election_timeout_ms_min: 300,
            election_timeout_ms_max: 600,
            heartbeat_ms: 50,
            snapshot_entries: 1000,
            lease_ms: 1000,
            visibility_ms: 1000,
            queue_length_max: 64,
            entries_per_append: ENTRIES_PER_APPEND_MAX,
            pre_vote: true,
            servers: Vec::new(),
            bugs: Bugs::default(),
        }
    }
}

impl RaftConfig {
    /// Replicas that make a majority (1 when the list is empty).
    pub fn majority(&self) -> usize {
        self.servers.len() / 2 + 1
    }
}

/// Relative weights of the three kinds of operation a client issues.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    /// Weight of kv operations (get, put, cas, delete).
    pub kv: u32,
    /// Weight of lock operations (acquire, renew, release).
    pub lock: u32,
    /// Weight of queue operations (enqueue, dequeue, ack).
    pub queue: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            kv: 1,
            lock: 1,
            queue: 1,
        }
    }
}

/// What each client does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Operations each client issues, one at a time (the final queue drain comes on top).
    pub ops: u32,
    /// Pause between a return and the next invoke.
    pub rate_ms: u64,
    /// Delay from the client's start to its first operation.
    pub start_ms: u64,
    /// Weights of kv, lock and queue operations.
    pub mix: Mix,
    /// Number of kv keys (`k0..`).
    pub keys: u32,
    /// Number of lock resources (`r0..`).
    pub resources: u32,
    /// Number of queues (`q0..`).
    pub queues: u32,
    /// Resend period of an unanswered operation (same seq).
    pub retry_ms: u64,
    /// An operation unanswered this long is given up and recorded as unknown.
    pub timeout_ms: u64,
    /// Most operations of the final drain (dequeue and ack until every queue is empty).
    pub drain_ops_max: u32,
    /// Each kv read goes first to a random server, not to the leader the client believes
    /// in: followers get reads mid-run, so one that answered from its own state (stale)
    /// would show.
    pub follower_reads: bool,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            ops: 0,
            rate_ms: 50,
            start_ms: 500,
            mix: Mix::default(),
            keys: 5,
            resources: 3,
            queues: 2,
            retry_ms: 200,
            timeout_ms: 3000,
            drain_ops_max: 500,
            follower_reads: false,
        }
    }
}
