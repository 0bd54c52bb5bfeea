//! The datagrams servers and chat clients exchange (one enum for both).

use faultline_sim::faults::byzantine::{Lie, TwistCx};
use faultline_sim::{Message, MsgKind, NodeId};
use serde::{Deserialize, Serialize};

use super::config::{ENTRIES_PER_DATAGRAM_MAX, LOG_ENTRIES_MAX, TEXT_BYTES_MAX};
use crate::parts::bully_election::ElectionMsg;

/// Whether a member is a group server or a chat client.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Takes part in elections and stores the log.
    Server,
    /// Sends chats and delivers what the servers committed.
    Client,
}

/// One slot of the replicated chat log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Epoch of the leader that created the entry.
    pub epoch: u64,
    /// Position in the log, from 1.
    pub seq: u64,
    /// The client that wrote it (the leader itself for a no-op).
    pub origin: NodeId,
    /// The client's number for the message; 0 marks the no-op that opens an epoch.
    pub client_seq: u64,
    /// The chat text.
    pub text: String,
}

impl Entry {
    /// Whether this is an epoch's no-op, which is never delivered as chat.
    pub fn is_noop(&self) -> bool {
        self.client_seq == 0
    }
}

/// Every datagram of the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// Multicast by every node every heartbeat.
    Heartbeat {
        /// What the sender is.
        kind: Kind,
        /// The leader the sender follows (itself when leading).
        leader: Option<NodeId>,
        /// The sender's epoch (a client's: that of the leader it follows).
        epoch: u64,
        /// The sender's commit point (a client's: what it delivered).
        commit: u64,
    },
    /// Multicast by a newcomer to be answered at once.
    Probe {
        /// What the sender is.
        kind: Kind,
    },
    /// A server's answer to a probe.
    Hello {
        /// The leader the server follows.
        leader: Option<NodeId>,
        /// The server's epoch.
        epoch: u64,
    },
    /// A graceful goodbye: drop the sender from the view.
    Leave,
    /// Bully: sent to each known higher server.
    Election,
    /// Bully: a higher server's answer to an election; it takes over.
    Ok,
    /// Bully: the winner's announcement.
    Coordinator {
        /// The winner's new epoch.
        epoch: u64,
    },
    /// A server tells a coordinator its epoch is not newer than what it has seen.
    Stale {
        /// The server's epoch.
        epoch: u64,
    },
    /// A new leader asks for each follower's last entry.
    Sync {
        /// The leader's epoch.
        epoch: u64,
    },
    /// A follower's answer to a sync: it adopted the epoch and its log ends here.
    SyncOk {
        /// The epoch it adopted.
        epoch: u64,
        /// Epoch of its last entry (0 for an empty log).
        last_epoch: u64,
        /// Seq of its last entry (0 for an empty log).
        last_seq: u64,
    },
    /// A new leader asks the most up-to-date follower for its log.
    Fetch {
        /// The leader's epoch.
        epoch: u64,
        /// First seq wanted.
        from_seq: u64,
    },
    /// Answer to a fetch.
    Entries {
        /// The leader's epoch the answer is for.
        epoch: u64,
        /// Contiguous entries from the asked seq.
        entries: Vec<Entry>,
    },
    /// Replication of the leader's log (Raft log matching).
    Append {
        /// The leader's epoch.
        epoch: u64,
        /// Seq just before `entries`.
        prev_seq: u64,
        /// Epoch of the entry at `prev_seq` (0 for seq 0).
        prev_epoch: u64,
        /// Contiguous entries from `prev_seq + 1`; may be empty.
        entries: Vec<Entry>,
        /// The leader's commit point.
        commit: u64,
    },
    /// A follower's answer to an append.
    AppendOk {
        /// The follower's epoch.
        epoch: u64,
        /// Whether the entries were stored.
        ok: bool,
        /// If ok, the seq up to which the log matches the leader's; if not, where to retry.
        last_seq: u64,
    },
    /// A client's message, sent to the leader.
    Chat {
        /// The client's number for it, from 1.
        client_seq: u64,
        /// The chat text.
        text: String,
    },
    /// The leader's answer once the message is committed.
    ChatAck {
        /// The client's number for it.
        client_seq: u64,
        /// Where it is in the total order.
        seq: u64,
    },
    /// A non-leader's answer to a chat.
    NotLeader {
        /// The leader it follows, if any.
        leader: Option<NodeId>,
    },
    /// Committed entries: multicast as they commit, unicast as the answer to a pull.
    Publish {
        /// Contiguous committed entries.
        entries: Vec<Entry>,
    },
    /// A client asks for committed entries it missed.
    Pull {
        /// First seq wanted.
        from_seq: u64,
    },
}

/// The election's messages travel as the group's own variants: the same datagrams, labels and
/// lies as before the election became a shared part.
impl From<ElectionMsg> for Msg {
    fn from(msg: ElectionMsg) -> Msg {
        match msg {
            ElectionMsg::Election => Msg::Election,
            ElectionMsg::Ok => Msg::Ok,
            ElectionMsg::Coordinator { epoch } => Msg::Coordinator { epoch },
        }
    }
}

impl Message for Msg {
    const KINDS: &'static [(&'static str, MsgKind)] = &[
        ("HB", MsgKind::Heartbeat),
        ("PROBE", MsgKind::Heartbeat),
        ("HELLO", MsgKind::Membership),
        ("LEAVE", MsgKind::Membership),
        ("ELECTION", MsgKind::Election),
        ("OK", MsgKind::Election),
        ("COORD", MsgKind::Election),
        ("STALE", MsgKind::Election),
        ("SYNC", MsgKind::Replication),
        ("SYNC_OK", MsgKind::Replication),
        ("FETCH", MsgKind::Replication),
        ("ENTRIES", MsgKind::Replication),
        ("APPEND", MsgKind::Replication),
        ("APPEND_OK", MsgKind::Replication),
        ("CHAT", MsgKind::Client),
        ("CHAT_ACK", MsgKind::Client),
        ("NOT_LEADER", MsgKind::Client),
        ("PUBLISH", MsgKind::Client),
        ("PULL", MsgKind::Client),
    ];

    fn twist(&self, lie: Lie, cx: &mut TwistCx<'_>) -> Option<Self> {
        super::lies::twist(self, lie, cx)
    }

    fn label(&self) -> &'static str {
        match self {
            Msg::Heartbeat { .. } => "HB",
            Msg::Probe { .. } => "PROBE",
            Msg::Hello { .. } => "HELLO",
            Msg::Leave => "LEAVE",
            Msg::Election => "ELECTION",
            Msg::Ok => "OK",
            Msg::Coordinator { .. } => "COORD",
            Msg::Stale { .. } => "STALE",
            Msg::Sync { .. } => "SYNC",
            Msg::SyncOk { .. } => "SYNC_OK",
            Msg::Fetch { .. } => "FETCH",
            Msg::Entries { .. } => "ENTRIES",
            Msg::Append { .. } => "APPEND",
            Msg::AppendOk { .. } => "APPEND_OK",
            Msg::Chat { .. } => "CHAT",
            Msg::ChatAck { .. } => "CHAT_ACK",
            Msg::NotLeader { .. } => "NOT_LEADER",
            Msg::Publish { .. } => "PUBLISH",
            Msg::Pull { .. } => "PULL",
        }
    }
}

impl Msg {
    /// What the sender must be, judging by what it sent (`None` for a leave).
    pub(crate) fn sender_kind(&self) -> Option<Kind> {
        match self {
            Msg::Heartbeat { kind, .. } | Msg::Probe { kind } => Some(*kind),
            Msg::Leave => None,
            Msg::Chat { .. } | Msg::Pull { .. } => Some(Kind::Client),
            _ => Some(Kind::Server),
        }
    }
}

/// Whether `entries` is a well-formed run received from a peer: within the datagram bound,
/// contiguous from `first_seq`, epochs never decreasing from `min_epoch` nor above
/// `max_epoch`, texts within bounds and no seq past the log bound. Anything else is dropped
/// whole, so a hostile datagram cannot put holes or oversized texts into a log.
pub(crate) fn entries_well_formed(
    entries: &[Entry],
    first_seq: u64,
    min_epoch: u64,
    max_epoch: u64,
) -> bool {
    if entries.len() > ENTRIES_PER_DATAGRAM_MAX {
        return false;
    }
    let mut epoch = min_epoch;
    for (i, entry) in entries.iter().enumerate() {
        let seq = first_seq.saturating_add(i as u64);
        if entry.seq != seq
            || seq == 0
            || seq > LOG_ENTRIES_MAX
            || entry.epoch < epoch
            || entry.epoch > max_epoch
            || entry.text.len() > TEXT_BYTES_MAX
        {
            return false;
        }
        epoch = entry.epoch;
    }
    true
}
