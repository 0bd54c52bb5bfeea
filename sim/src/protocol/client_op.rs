//! What a protocol's events say about its clients' operations, in one shape for every protocol,
//! so that reports time them (latency, throughput, the timeline's client traffic) without
//! knowing the protocol: a protocol maps its own events here through
//! [`crate::Protocol::client_op`].

use crate::node::NodeId;
use crate::protocol::chart::OpOutcome;

/// One step in the life of a client operation, as a trace event tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientStep {
    /// The event's node (a client) invoked its operation `op`.
    Invoke {
        /// The client's number for it.
        op: u64,
    },
    /// Operation `op` of `client` (`None`: the event's node) ended as `outcome`; a server that
    /// refuses an operation names its client.
    Return {
        /// The client, when it is not the event's node.
        client: Option<NodeId>,
        /// The client's number for it.
        op: u64,
        /// How it ended.
        outcome: OpOutcome,
    },
    /// The event's node saw the effect of `client`'s operation `op` (a chat delivered, a
    /// write applied): drawn as a delivery.
    Seen {
        /// The client that invoked it.
        client: NodeId,
        /// The client's number for it.
        op: u64,
    },
}
