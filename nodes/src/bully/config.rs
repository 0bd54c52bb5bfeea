//! Tunables of the group (timing, size) and of the chat workload.

use serde::{Deserialize, Serialize};

use super::bugs::Bugs;

/// Most entries carried by one datagram (Append, Entries, Publish).
pub const ENTRIES_PER_DATAGRAM_MAX: usize = 64;
/// Longest chat text accepted; a longer one is refused.
pub const TEXT_BYTES_MAX: usize = 256;
/// Most entries a log holds (no-ops included); past it nothing is appended.
pub const LOG_ENTRIES_MAX: u64 = 10_000;
/// Most chat entries a leader appends; the rest of `LOG_ENTRIES_MAX` is kept for the no-ops
/// that open new epochs, so a log full of chats can still change leaders.
pub const LOG_CHATS_MAX: u64 = LOG_ENTRIES_MAX - 100;

/// How a server or client of the bully group behaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BullyConfig {
    /// Period of heartbeats, retransmissions and view timeout checks.
    pub heartbeat_ms: u64,
    /// A member (or the leader) not heard for this long is considered gone.
    pub peer_timeout_ms: u64,
    /// How long a candidate waits for an OK, then for a COORDINATOR after one.
    pub election_timeout_ms: u64,
    /// How long a starting server listens before deciding to follow or to run an election.
    pub discovery_ms: u64,
    /// The configured number of servers; majorities are counted against it. Set by the caller.
    pub servers_total: usize,
    /// Planted known-wrong behaviours (none by default); set by the simulator's `--bug`,
    /// never from a file, so a real node cannot run one.
    #[serde(skip)]
    pub bugs: Bugs,
}

impl Default for BullyConfig {
    fn default() -> Self {
        BullyConfig {
            heartbeat_ms: 200,
            peer_timeout_ms: 1000,
            election_timeout_ms: 400,
            discovery_ms: 500,
            servers_total: 0,
            bugs: Bugs::default(),
        }
    }
}

impl BullyConfig {
    /// Servers that make a majority of `servers_total` (1 when it was left at 0).
    pub fn majority(&self) -> usize {
        self.servers_total / 2 + 1
    }
}

/// What each chat client sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatWorkload {
    /// Messages each client sends, one at a time.
    pub messages: u32,
    /// Pause between an acknowledgement and the next message.
    pub interval_ms: u64,
    /// Delay from the client's start to its first message.
    pub start_ms: u64,
    /// First retry delay of an unacknowledged message; it doubles on every retry.
    pub retry_ms_min: u64,
    /// Ceiling of the retry delay.
    pub retry_ms_max: u64,
    /// Length of each generated text (capped at `TEXT_BYTES_MAX`).
    pub text_bytes: usize,
}

impl Default for ChatWorkload {
    fn default() -> Self {
        ChatWorkload {
            messages: 0,
            interval_ms: 300,
            start_ms: 1500,
            retry_ms_min: 200,
            retry_ms_max: 2000,
            text_bytes: 16,
        }
    }
}
