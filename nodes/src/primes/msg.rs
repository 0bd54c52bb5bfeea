//! What travels in the farm: the file service's datagrams (election, replication, reads,
//! callbacks) and the coordinator's streams to its workers (registration, heartbeats,
//! tasks, results, snapshot markers and parts).

use faultline_sim::{Message, MsgKind, NodeId};
use serde::{Deserialize, Serialize};

use crate::parts::bully_election::ElectionMsg;
use crate::parts::chandy_lamport::{LocalSnapshot, Marker};

/// One task: a slice of a dataset, tested by one worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Its number, 0-based, unique in the run.
    pub id: u64,
    /// The dataset (file) it reads.
    pub dataset: String,
    /// First index in the dataset.
    pub lo: u32,
    /// One past the last index.
    pub hi: u32,
}

/// A node's local state, as a snapshot records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartState {
    /// The coordinator's queue and what it has results for.
    Coordinator {
        /// Tasks waiting, front first.
        pending: Vec<u64>,
        /// Tasks with a result (flushed or buffered).
        done: Vec<u64>,
        /// The results among them not yet in its durable output: each task with its
        /// primes. What a restart takes back from the snapshot.
        #[serde(default)]
        buffered: Vec<(u64, Vec<u64>)>,
        /// The task each worker held, so that a result recorded in flight can be told from
        /// a stale or forged one at a restart.
        #[serde(default)]
        assigned: Vec<(NodeId, u64)>,
    },
    /// A worker's task.
    Worker {
        /// The task it holds, if any.
        task: Option<u64>,
    },
}

/// A message of the farm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// The file servers' bully election; the announcement also reaches the clients.
    Election(ElectionMsg),
    /// The primary is alive (to the backups).
    FsHeartbeat {
        /// The primary's epoch.
        epoch: u64,
    },
    /// Store a dataset (the coordinator loading it).
    Write {
        /// The writer's request number.
        req: u64,
        /// The file.
        name: String,
        /// Its numbers.
        numbers: Vec<u64>,
    },
    /// The write is on every reachable replica.
    WriteAck {
        /// The request.
        req: u64,
    },
    /// A copy of a file, from the primary (a write) or from a peer (a pull).
    Replicate {
        /// The primary's request number (0 for a pull's answer, which wants no ack).
        req: u64,
        /// The file.
        name: String,
        /// Its version.
        version: u64,
        /// Its numbers.
        numbers: Vec<u64>,
    },
    /// A backup holds the copy of request `req`.
    ReplicateAck {
        /// The request.
        req: u64,
    },
    /// Send me every file you hold (a restarted or newly elected server catching up).
    Pull,
    /// Read a whole file.
    Read {
        /// The reader's request number.
        req: u64,
        /// The file.
        name: String,
    },
    /// A whole file, with a callback promise: a `Break` comes if it changes.
    Data {
        /// The request.
        req: u64,
        /// The file.
        name: String,
        /// Its version.
        version: u64,
        /// Its numbers.
        numbers: Vec<u64>,
    },
    /// This server does not hold the file.
    NotFound {
        /// The request.
        req: u64,
    },
    /// Writes go to the primary; this is who this server thinks it is.
    NotPrimary {
        /// The request.
        req: u64,
        /// The primary, if known.
        primary: Option<NodeId>,
    },
    /// The callback: the cached copy of this file is stale.
    Break {
        /// The file.
        name: String,
    },
    /// A worker joins (first message on its stream).
    Register,
    /// A worker is alive (on its stream).
    Heartbeat,
    /// Work on this task.
    Assign(Task),
    /// A task's result: the primes in it.
    Result {
        /// The task.
        task: u64,
        /// The primes found, in dataset order.
        primes: Vec<u64>,
    },
    /// A Chandy-Lamport marker.
    Marker(Marker),
    /// A worker's part of a snapshot.
    SnapPart(Box<LocalSnapshot<PartState, Msg>>),
    /// Take a snapshot now (a client to the coordinator); a retry carries the same `req`.
    SnapshotRequest {
        /// The client's request number.
        req: u64,
    },
    /// The snapshot a request asked for, once it is complete or given up.
    SnapshotTaken {
        /// The request.
        req: u64,
        /// The snapshot's number at the coordinator.
        seq: u64,
        /// What it found.
        report: SnapshotReport,
    },
}

/// What an on-demand snapshot found, as the coordinator answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotReport {
    /// Complete: where the tasks were at the cut.
    Complete {
        /// Tasks in the coordinator's queue.
        pending: u64,
        /// Tasks held by workers.
        working: u64,
        /// Tasks in messages recorded in flight.
        in_flight: u64,
        /// Tasks with a result.
        done: u64,
        /// Channels whose counts balanced.
        channels: u64,
    },
    /// Complete, but its channel counts do not balance: not a consistent cut.
    Inconsistent {
        /// Why.
        why: String,
    },
    /// Given up (a worker's stream broke under it, or it waited too long).
    Abandoned,
    /// Not started: the coordinator is assembling as many snapshots as it may.
    Busy,
    /// Not started: the coordinator is still loading the datasets (no task is queued yet).
    Loading,
}

impl Message for Msg {
    const KINDS: &'static [(&'static str, MsgKind)] = &[
        ("ELECTION", MsgKind::Election),
        ("OK", MsgKind::Election),
        ("COORDINATOR", MsgKind::Election),
        ("FS_HB", MsgKind::Heartbeat),
        ("WRITE", MsgKind::Client),
        ("WRITE_ACK", MsgKind::Client),
        ("REPLICATE", MsgKind::Replication),
        ("REPLICATE_ACK", MsgKind::Replication),
        ("PULL", MsgKind::Replication),
        ("READ", MsgKind::Client),
        ("DATA", MsgKind::Client),
        ("NOT_FOUND", MsgKind::Client),
        ("NOT_PRIMARY", MsgKind::Client),
        ("BREAK", MsgKind::Client),
        ("REGISTER", MsgKind::Membership),
        ("HB", MsgKind::Heartbeat),
        ("ASSIGN", MsgKind::Task),
        ("RESULT", MsgKind::Task),
        ("MARKER", MsgKind::Snapshot),
        ("SNAP_PART", MsgKind::Snapshot),
        ("SNAPSHOT_REQUEST", MsgKind::Client),
        ("SNAPSHOT_TAKEN", MsgKind::Client),
    ];

    fn label(&self) -> &'static str {
        match self {
            Msg::Election(ElectionMsg::Election) => "ELECTION",
            Msg::Election(ElectionMsg::Ok) => "OK",
            Msg::Election(ElectionMsg::Coordinator { .. }) => "COORDINATOR",
            Msg::FsHeartbeat { .. } => "FS_HB",
            Msg::Write { .. } => "WRITE",
            Msg::WriteAck { .. } => "WRITE_ACK",
            Msg::Replicate { .. } => "REPLICATE",
            Msg::ReplicateAck { .. } => "REPLICATE_ACK",
            Msg::Pull => "PULL",
            Msg::Read { .. } => "READ",
            Msg::Data { .. } => "DATA",
            Msg::NotFound { .. } => "NOT_FOUND",
            Msg::NotPrimary { .. } => "NOT_PRIMARY",
            Msg::Break { .. } => "BREAK",
            Msg::Register => "REGISTER",
            Msg::Heartbeat => "HB",
            Msg::Assign(_) => "ASSIGN",
            Msg::Result { .. } => "RESULT",
            Msg::Marker(_) => "MARKER",
            Msg::SnapPart(_) => "SNAP_PART",
            Msg::SnapshotRequest { .. } => "SNAPSHOT_REQUEST",
            Msg::SnapshotTaken { .. } => "SNAPSHOT_TAKEN",
        }
    }
}
