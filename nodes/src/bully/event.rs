//! What servers and chat clients report to the trace (read by the checks).

use faultline_sim::{Fact, NodeId};
use serde::{Deserialize, Serialize};

/// Why a leader refused a chat.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The text is longer than `TEXT_BYTES_MAX`.
    TooLong,
    /// The log holds `LOG_CHATS_MAX` chats: no more are appended.
    LogFull,
}

/// A protocol event of the bully group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A member was heard for the first time (or again after leaving).
    ViewJoin {
        /// The new member.
        node: NodeId,
    },
    /// A member said goodbye.
    ViewLeave {
        /// The member that left.
        node: NodeId,
    },
    /// A member was not heard for `peer_timeout_ms`.
    ViewTimeout {
        /// The silent member.
        node: NodeId,
    },
    /// The view after a change: every member, this node included, sorted.
    View {
        /// The members.
        members: Vec<NodeId>,
    },
    /// A server adopted an epoch (durably); `leader` is the node it came from.
    EpochAdopted {
        /// The epoch.
        epoch: u64,
        /// The coordinator of that epoch.
        leader: NodeId,
    },
    /// A new leader finished syncing and serves chats from now on.
    Synced {
        /// Its epoch.
        epoch: u64,
        /// Seq of its no-op.
        noop_seq: u64,
    },
    /// A committed chat was delivered, in seq order, once per incarnation.
    Delivered {
        /// Its place in the total order.
        seq: u64,
        /// The client that wrote it.
        origin: NodeId,
        /// The client's number for it.
        client_seq: u64,
    },
    /// A client sent a new message (retries are not reported).
    ChatSent {
        /// The client's number for it.
        client_seq: u64,
    },
    /// A client learned its message is committed (once per message).
    ChatAcked {
        /// The client's number for it.
        client_seq: u64,
        /// Its place in the total order.
        seq: u64,
    },
    /// A leader refused a chat.
    ChatRefused {
        /// The client.
        origin: NodeId,
        /// The client's number for it.
        client_seq: u64,
        /// Why.
        reason: Refusal,
    },
}

impl Event {
    /// What the event tells a scenario's expectations: a server's term is its epoch, and
    /// what it applied is the last chat it delivered (delivered chats are committed).
    pub fn fact(&self) -> Option<Fact> {
        match self {
            Event::EpochAdopted { epoch, .. } | Event::Synced { epoch, .. } => {
                Some(Fact::Term(*epoch))
            }
            Event::Delivered { seq, .. } => Some(Fact::Applied(*seq)),
            Event::ViewJoin { .. }
            | Event::ViewLeave { .. }
            | Event::ViewTimeout { .. }
            | Event::View { .. }
            | Event::ChatSent { .. }
            | Event::ChatAcked { .. }
            | Event::ChatRefused { .. } => None,
        }
    }
}
