//! The seam between the two flavors: how datagrams leave and reach a node.
//!
//! Sim flavor (`--cfg madsim`): faultline's simulated network ([`crate::simulator::network`]) whatever
//! the [`TransportKind`]; a multicast is a fan-out to the other nodes. The simulator decides
//! latency, loss and partitions itself, deterministically from the seed, so it has no use for
//! a stream.
//! Real flavor: [`TransportKind::Udp`] is tokio UDP with a unicast socket per node and IP
//! multicast for the group (`datagram.rs`); [`TransportKind::Tcp`] is a listener per node and
//! a cached connection per peer, carrying the same datagrams as length-prefixed frames
//! (`stream.rs`).
//!
//! Streams ([`crate::node::stream`]) have the same seam: the simulator models them
//! (`stream_wire.rs`); the real flavor maps each to a TCP connection
//! (`connections.rs`), accepted on the node's own address by a listener of its own (UDP) or
//! by the datagram listener, which tells the two kinds of connection apart by their first
//! frame (TCP).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// How a real node's datagrams travel (the simulator always carries them as simulated UDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// UDP unicast and IP multicast: what a group on one LAN segment uses.
    Udp,
    /// TCP connections between nodes; a multicast is a fan-out to every other node.
    Tcp,
}

/// Where every node of a run listens, and the multicast group.
#[derive(Clone, Debug)]
pub struct AddressBook {
    /// Unicast address of each node, indexed by [`crate::NodeId`].
    pub nodes: Vec<SocketAddr>,
    /// The multicast group and port (real flavor), e.g. 239.255.70.1:7400.
    pub group: SocketAddr,
    /// The interface multicast goes out of and is joined on (real flavor).
    pub interface: std::net::Ipv4Addr,
    /// How datagrams travel (real flavor).
    pub kind: TransportKind,
}

#[cfg(madsim)]
pub use crate::simulator::network::Transport;

#[cfg(not(madsim))]
pub use crate::real::transport::Transport;
