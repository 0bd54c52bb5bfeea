//! Every datagram of the cache protocol: Raft's own (between replicas, and between a cache
//! node and the replicas it uses as a store), clients' operations, and the coherence
//! messages between a cache and a key's home.

use faultline_sim::{Message, MsgKind};
use serde::{Deserialize, Serialize};

use crate::raft;

/// The state of one cache's entry for a key.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum St {
    /// Not held.
    I,
    /// A clean copy; others may hold copies too.
    S,
    /// The only copy, clean (MESI, MOESI).
    E,
    /// The only copy, written here.
    M,
    /// Written here and shared with readers, which this cache supplies (MOSI, MOESI).
    O,
}

impl St {
    /// One letter, for the timeline and details.
    pub(crate) fn letter(self) -> &'static str {
        match self {
            St::I => "I",
            St::S => "S",
            St::E => "E",
            St::M => "M",
            St::O => "O",
        }
    }

    /// Whether the holder answers for the key's latest value (the home fetches from it).
    pub(crate) fn owns(self) -> bool {
        matches!(self, St::E | St::M | St::O)
    }
}

/// Orders a home's decisions on a key: a cache obeys a grant only if it is newer than every
/// decision it heard of. A later epoch beats everything of an earlier one; within an epoch
/// the key has one home, whose restarts raise `incarnation`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    /// The membership epoch.
    pub epoch: u32,
    /// The home's incarnation (its starts so far, durable).
    pub incarnation: u32,
    /// The directory entry's version at the home.
    pub version: u64,
}

/// What a cache answers a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// What a get read (`None`: absent).
    Read(Option<u64>),
    /// A put is in the store.
    Written,
    /// The cache dropped its copy at the client's request (`held`: it had one).
    Invalidated {
        /// Whether the cache held the key.
        held: bool,
    },
}

/// Every datagram of the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// Raft's own messages, carried as is.
    Raft(raft::Msg),
    /// A client reads a key.
    Get {
        /// The client's number for the operation.
        op: u64,
        /// The key.
        key: u32,
    },
    /// A client writes a key.
    Put {
        /// The client's number for the operation.
        op: u64,
        /// The key.
        key: u32,
        /// The value.
        value: u64,
    },
    /// A cache's answer to a client.
    Answer {
        /// The client's number for the operation.
        op: u64,
        /// What it returned.
        answer: Answer,
    },
    /// A cache did not take the operation on: try again later, or (`member` false) elsewhere.
    Busy {
        /// The client's number for the operation.
        op: u64,
        /// Whether the cache is on the ring.
        member: bool,
    },
    /// A cache asks a key's home for a copy (`exclusive`: for writing).
    Want {
        /// The key.
        key: u32,
        /// The cache's number for the request; retries reuse it.
        txn: u64,
        /// Whether it wants the only copy.
        exclusive: bool,
        /// The epoch the cache believes in.
        epoch: u32,
    },
    /// The home grants a copy.
    Grant {
        /// The key.
        key: u32,
        /// The request's number.
        txn: u64,
        /// The decision's stamp.
        stamp: Stamp,
        /// The state granted.
        state: St,
        /// The value, when the home got it from its owner (`Some(None)`: absent); `None`:
        /// read the store.
        data: Option<Option<u64>>,
    },
    /// The home asks a cache to drop its copy.
    Inv {
        /// The key.
        key: u32,
        /// The home's current stamp for the key.
        stamp: Stamp,
    },
    /// A cache holds no copy any more.
    InvAck {
        /// The key.
        key: u32,
        /// The stamp of the invalidation.
        stamp: Stamp,
    },
    /// The home asks the owner of a key for its value and to share it.
    Fetch {
        /// The key.
        key: u32,
        /// The home's current stamp for the key.
        stamp: Stamp,
    },
    /// The owner's answer: its new state and value, or `None` if it holds no copy.
    FetchAck {
        /// The key.
        key: u32,
        /// The stamp of the fetch.
        stamp: Stamp,
        /// Its state after the fetch and the value.
        held: Option<(St, Option<u64>)>,
    },
    /// A cache evicted its copy (granted at `stamp`).
    Evicted {
        /// The key.
        key: u32,
        /// The stamp of the grant it held.
        stamp: Stamp,
    },
    /// A client asks a cache to drop its copy of a key (`faultline client cache
    /// invalidate`); the store keeps the value.
    Invalidate {
        /// The client's number for the operation.
        op: u64,
        /// The key.
        key: u32,
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
        ("GET", MsgKind::Client),
        ("PUT", MsgKind::Client),
        ("ANSWER", MsgKind::Client),
        ("BUSY", MsgKind::Client),
        ("WANT", MsgKind::Replication),
        ("GRANT", MsgKind::Replication),
        ("INV", MsgKind::Replication),
        ("INV_ACK", MsgKind::Replication),
        ("FETCH", MsgKind::Replication),
        ("FETCH_ACK", MsgKind::Replication),
        ("EVICTED", MsgKind::Replication),
        ("INVALIDATE", MsgKind::Client),
    ];

    fn label(&self) -> &'static str {
        match self {
            Msg::Raft(m) => m.label(),
            Msg::Get { .. } => "GET",
            Msg::Put { .. } => "PUT",
            Msg::Answer { .. } => "ANSWER",
            Msg::Busy { .. } => "BUSY",
            Msg::Want { .. } => "WANT",
            Msg::Grant { .. } => "GRANT",
            Msg::Inv { .. } => "INV",
            Msg::InvAck { .. } => "INV_ACK",
            Msg::Fetch { .. } => "FETCH",
            Msg::FetchAck { .. } => "FETCH_ACK",
            Msg::Evicted { .. } => "EVICTED",
            Msg::Invalidate { .. } => "INVALIDATE",
        }
    }
}

impl Msg {
    /// The key a coherence or client message names, if any.
    pub(crate) fn key(&self) -> Option<u32> {
        match self {
            Msg::Get { key, .. }
            | Msg::Put { key, .. }
            | Msg::Want { key, .. }
            | Msg::Grant { key, .. }
            | Msg::Inv { key, .. }
            | Msg::InvAck { key, .. }
            | Msg::Fetch { key, .. }
            | Msg::FetchAck { key, .. }
            | Msg::Evicted { key, .. }
            | Msg::Invalidate { key, .. } => Some(*key),
            Msg::Raft(_) | Msg::Answer { .. } | Msg::Busy { .. } => None,
        }
    }
}
