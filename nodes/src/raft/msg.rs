//! Log entries and the datagrams replicas and clients exchange (one enum for both).

use faultline_sim::faults::byzantine::{Lie, TwistCx};
use faultline_sim::{Message, MsgKind, NodeId};
use serde::{Deserialize, Serialize};

use super::op::{Op, Outcome};

/// What an entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// Nothing, but it moves time forward: a new leader's first entry, or a tick that lets
    /// expired leases free their locks for waiters.
    Noop,
    /// A client's operation with its session number.
    Command {
        /// The client.
        client: NodeId,
        /// The client's number for it, from 1; retries reuse it.
        seq: u64,
        /// The operation.
        op: Op,
    },
    /// A command the harness submitted (a scenario's `submit` step, the 6.5840 lab's
    /// `Start()`): it changes nothing in the state machine, but is replicated, committed
    /// and applied like any other entry.
    Start {
        /// Its number among the run's submitted commands.
        command: u64,
    },
}

/// One slot of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Term of the leader that created it.
    pub term: u64,
    /// Position in the log, from 1.
    pub index: u64,
    /// The creating leader's clock when it proposed it; the state machine's only clock.
    pub at_ms: u64,
    /// What it does.
    pub payload: Payload,
}

/// Every datagram of the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// A candidate asks for a vote.
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// Index of its last entry.
        last_index: u64,
        /// Term of its last entry.
        last_term: u64,
    },
    /// The answer to a vote request.
    Vote {
        /// The voter's term.
        term: u64,
        /// Whether the vote is the candidate's.
        granted: bool,
    },
    /// Replication and heartbeat.
    Append {
        /// The leader's term.
        term: u64,
        /// Index just before `entries`.
        prev_index: u64,
        /// Term of the entry at `prev_index` (0 for index 0).
        prev_term: u64,
        /// Contiguous entries from `prev_index + 1`; may be empty.
        entries: Vec<Entry>,
        /// The leader's commit index.
        commit: u64,
    },
    /// The answer to an append.
    AppendReply {
        /// The follower's term.
        term: u64,
        /// Whether the entries matched and are stored.
        ok: bool,
        /// If ok: the index up to which the follower's log matches the leader's.
        match_index: u64,
        /// If not ok: term of the follower's conflicting entry at `prev_index` (0: its log
        /// ends before `prev_index`).
        conflict_term: u64,
        /// If not ok: the first index of `conflict_term` in the follower's log, or its last
        /// index + 1 when `conflict_term` is 0.
        conflict_index: u64,
    },
    /// One chunk of the leader's snapshot, for a follower whose next entry was compacted.
    Snapshot {
        /// The leader's term.
        term: u64,
        /// Last index the snapshot covers.
        last_index: u64,
        /// Term of that entry.
        last_term: u64,
        /// Chain hash of the log up to that entry.
        last_chain: u64,
        /// Offset of `data` in the snapshot.
        offset_bytes: u64,
        /// Size of the whole snapshot.
        total_bytes: u64,
        /// The chunk (at most `SNAPSHOT_CHUNK_BYTES`).
        data: Vec<u8>,
    },
    /// The answer to a snapshot chunk.
    SnapshotReply {
        /// The follower's term.
        term: u64,
        /// Last index of the snapshot being received.
        last_index: u64,
        /// Bytes of it received so far.
        received_bytes: u64,
        /// Whether it is installed (or the follower already had everything it covers).
        done: bool,
    },
    /// A client's operation.
    Request {
        /// The client's number for it.
        seq: u64,
        /// The operation.
        op: Op,
    },
    /// The leader's answer once the operation was applied (or refused).
    Reply {
        /// The client it answers. Sequence numbers are per client, so without it a reply
        /// resent to another client (a Byzantine replay) would answer that client's
        /// operation of the same number.
        client: NodeId,
        /// The client's number for it.
        seq: u64,
        /// What it returned.
        result: Outcome,
    },
    /// A non-leader's answer to a request: try the leader it knows, if any.
    Redirect {
        /// The client's number of the request.
        seq: u64,
        /// The leader it follows.
        leader: Option<NodeId>,
    },
    /// A replica asks whether it could win an election of `term` (its term + 1) without
    /// raising its own term yet (pre-vote).
    PreVote {
        /// The term it would stand in.
        term: u64,
        /// Index of its last entry.
        last_index: u64,
        /// Term of its last entry.
        last_term: u64,
    },
    /// The answer to a pre-vote; changes nobody's term.
    PreVoteReply {
        /// The term asked about.
        term: u64,
        /// Whether this replica would vote.
        granted: bool,
    },
}

impl Message for Msg {
    const KINDS: &'static [(&'static str, MsgKind)] = &[
        ("REQUEST_VOTE", MsgKind::Election),
        ("VOTE", MsgKind::Election),
        ("PRE_VOTE", MsgKind::Election),
        ("PRE_VOTE_REPLY", MsgKind::Election),
        ("HB", MsgKind::Heartbeat),
        ("APPEND", MsgKind::Replication),
        ("APPEND_REPLY", MsgKind::Replication),
        ("SNAPSHOT", MsgKind::Replication),
        ("SNAPSHOT_REPLY", MsgKind::Replication),
        ("REQUEST", MsgKind::Client),
        ("REPLY", MsgKind::Client),
        ("REDIRECT", MsgKind::Client),
    ];

    fn twist(&self, lie: Lie, cx: &mut TwistCx<'_>) -> Option<Self> {
        super::lies::twist(self, lie, cx)
    }

    fn label(&self) -> &'static str {
        match self {
            Msg::RequestVote { .. } => "REQUEST_VOTE",
            Msg::Vote { .. } => "VOTE",
            Msg::PreVote { .. } => "PRE_VOTE",
            Msg::PreVoteReply { .. } => "PRE_VOTE_REPLY",
            Msg::Append { entries, .. } if entries.is_empty() => "HB",
            Msg::Append { .. } => "APPEND",
            Msg::AppendReply { .. } => "APPEND_REPLY",
            Msg::Snapshot { .. } => "SNAPSHOT",
            Msg::SnapshotReply { .. } => "SNAPSHOT_REPLY",
            Msg::Request { .. } => "REQUEST",
            Msg::Reply { .. } => "REPLY",
            Msg::Redirect { .. } => "REDIRECT",
        }
    }
}

impl Msg {
    /// The answer to `client`'s operation `seq`.
    pub(crate) fn reply(client: NodeId, seq: u64, result: Outcome) -> Msg {
        Msg::Reply {
            client,
            seq,
            result,
        }
    }

    /// Whether only a replica sends this (anything else comes from clients or is for them).
    pub(crate) fn sent_by_replica(&self) -> bool {
        !matches!(self, Msg::Request { .. })
    }
}
