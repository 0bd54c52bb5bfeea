//! The farm's settings (`[config]`) and workload (`[workload]`) as a scenario gives them.

use serde::Deserialize;

/// Numbers one dataset may hold: a whole file travels in one datagram (at most ten bytes a
/// number, under the 60 KiB datagram bound).
pub const DATASET_NUMBERS_MAX: usize = 4000;

/// Datasets one run may name (parts of a large file included): 10^6 numbers in all.
pub const DATASETS_MAX: usize = 256;

/// Bytes in a dataset's name.
pub const NAME_BYTES_MAX: usize = 64;

/// Files a client caches; past it the oldest goes.
pub const CACHE_FILES_MAX: usize = 16;

/// Writes a primary replicates at once; a write past it is refused until one is done (the
/// writer retries).
pub const WRITES_PENDING_MAX: usize = 16;

/// Results the coordinator buffers before it flushes them, whatever the flush timer says.
pub const RESULTS_BUFFERED_MAX: usize = 64;

/// The `[config]` section: timings, all in milliseconds unless named otherwise.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrimesConfig {
    /// How often a worker sends a heartbeat on its stream.
    pub heartbeat_ms: u64,
    /// A worker silent this long is dead to the coordinator.
    pub worker_timeout_ms: u64,
    /// How often the primary file server tells the backups it is alive.
    pub fs_heartbeat_ms: u64,
    /// A backup that hears no primary this long wants an election.
    pub fs_leader_timeout_ms: u64,
    /// The bully election's wait for an answer.
    pub election_timeout_ms: u64,
    /// A file request unanswered this long is sent again, to the next server.
    pub request_retry_ms: u64,
    /// A backup that does not acknowledge a copy this long is left out of the write.
    pub replicate_timeout_ms: u64,
    /// How often the coordinator flushes buffered results to its durable output.
    pub flush_ms: u64,
    /// How often the coordinator takes a snapshot (0: never).
    pub snapshot_ms: u64,
    /// Simulated cost of testing one number, in microseconds: what makes a task take time.
    pub test_us_per_number: u64,
    /// A worker whose stream broke waits this long before it connects again.
    pub reconnect_ms: u64,
}

impl Default for PrimesConfig {
    fn default() -> Self {
        PrimesConfig {
            heartbeat_ms: 50,
            worker_timeout_ms: 400,
            fs_heartbeat_ms: 50,
            fs_leader_timeout_ms: 300,
            election_timeout_ms: 150,
            request_retry_ms: 150,
            replicate_timeout_ms: 400,
            flush_ms: 100,
            snapshot_ms: 200,
            test_us_per_number: 3000,
            reconnect_ms: 100,
        }
    }
}

impl PrimesConfig {
    /// The first setting that makes no sense, by name.
    pub fn invalid(&self) -> Option<(&'static str, &'static str)> {
        let positive = [
            ("heartbeat_ms", self.heartbeat_ms),
            ("worker_timeout_ms", self.worker_timeout_ms),
            ("fs_heartbeat_ms", self.fs_heartbeat_ms),
            ("fs_leader_timeout_ms", self.fs_leader_timeout_ms),
            ("election_timeout_ms", self.election_timeout_ms),
            ("request_retry_ms", self.request_retry_ms),
            ("replicate_timeout_ms", self.replicate_timeout_ms),
            ("flush_ms", self.flush_ms),
            ("reconnect_ms", self.reconnect_ms),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Some((name, "must be at least 1"));
        }
        if self.worker_timeout_ms <= self.heartbeat_ms {
            return Some(("worker_timeout_ms", "must be longer than heartbeat_ms"));
        }
        if self.fs_leader_timeout_ms <= self.fs_heartbeat_ms {
            return Some((
                "fs_leader_timeout_ms",
                "must be longer than fs_heartbeat_ms",
            ));
        }
        None
    }
}
