//! Tunables of the overlay (bounds, timing) and of its simulated clients.

use serde::{Deserialize, Serialize};

use super::bugs::Bugs;
use super::topology::ProcessEntry;

/// Most processes a request's path may hold in a message; a longer one is hostile and is
/// refused whatever the configured hop bound.
pub const PATH_LEN_MAX: usize = 16;
/// Answers a process remembers, to answer a resent request again without redoing it.
pub const ANSWERS_KEPT_MAX: usize = 4096;
/// Latencies a process keeps for its quantiles (the most recent ones).
pub const LATENCY_SAMPLES_MAX: usize = 1024;
/// Requests a client may have waiting at once, whatever its workload says.
pub const OUTSTANDING_MAX: u32 = 1000;

/// How every process of the overlay behaves: the `[config]` section, topology included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OverlayConfig {
    /// Requests the leader queues; past it a request is answered "busy" at once.
    pub queue_max: u32,
    /// Requests a process handles at once (forwarded and not answered, or processing).
    pub inflight_max: u32,
    /// How long a worker takes to process one request.
    pub process_ms: u64,
    /// Most processes a request may visit (leader, team leaders, worker).
    pub hop_max: u32,
    /// Period of the processes' housekeeping: resends, deadlines, finished work.
    pub tick_ms: u64,
    /// Period of pings to neighbours.
    pub heartbeat_ms: u64,
    /// A neighbour not heard for this long is taken for down and routed around.
    pub peer_timeout_ms: u64,
    /// How long a forwarder waits for an answer before resending a request.
    pub retry_ms: u64,
    /// What the leader keeps of a client's deadline for its answer's way back: time for the
    /// client's resends to fetch an answer that was lost.
    pub reply_margin_ms: u64,
    /// The topology: each process's role, team, host and neighbours.
    pub process: Vec<ProcessEntry>,
    /// Planted known-wrong behaviours, set by the simulator's `--bug`, never from a file.
    #[serde(skip)]
    pub bugs: Bugs,
}

impl Default for OverlayConfig {
    fn default() -> Self {
        OverlayConfig {
            queue_max: 200,
            inflight_max: 100,
            process_ms: 50,
            hop_max: 4,
            tick_ms: 5,
            heartbeat_ms: 100,
            peer_timeout_ms: 400,
            retry_ms: 80,
            reply_margin_ms: 400,
            process: Vec::new(),
            bugs: Bugs::default(),
        }
    }
}

/// What each simulated client asks: the `[workload]` section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// Requests each client sends.
    pub requests: u32,
    /// Pause between two new requests of one client.
    pub interval_ms: u64,
    /// Requests one client may have waiting at once.
    pub outstanding_max: u32,
    /// How long a client waits for an answer.
    pub deadline_ms: u32,
    /// How long a client waits before resending a request.
    pub retry_ms: u64,
    /// Delay from the client's start to its first request.
    pub start_ms: u64,
    /// What the client allows past its deadline for an answer already on its way; after
    /// it, the request is reported late and a later answer is not taken.
    pub grace_ms: u64,
    /// Ask one process for its metrics after every this many requests (0: never).
    pub metrics_every: u32,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            requests: 50,
            interval_ms: 50,
            outstanding_max: 20,
            deadline_ms: 2000,
            retry_ms: 100,
            start_ms: 500,
            grace_ms: 100,
            metrics_every: 10,
        }
    }
}

/// The `[checks]` section: nothing to tune yet, but a misspelt key is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksConfig {}
