//! The seam between the two flavors: how datagrams leave and reach a node.
//!
//! Sim flavor (`--cfg madsim`): faultline's simulated network ([`crate::network`]) whatever
//! the [`TransportKind`]; a multicast is a fan-out to the other nodes. The simulator decides
//! latency, loss and partitions itself, deterministically from the seed, so it has no use for
//! a stream.
//! Real flavor: [`TransportKind::Udp`] is tokio UDP with a unicast socket per node and IP
//! multicast for the group (`datagram.rs`); [`TransportKind::Tcp`] is a listener per node and
//! a cached connection per peer, carrying the same datagrams as length-prefixed frames
//! (`stream.rs`).
//!
//! Streams ([`crate::stream`]) have the same seam: the simulator models them
//! (`stream_wire.rs`); the real flavor maps each to a TCP connection
//! (`connections.rs`), accepted on the node's own address by a listener of its own (UDP) or
//! by the datagram listener, which tells the two kinds of connection apart by their first
//! frame (TCP).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

#[cfg(not(madsim))]
use crate::node::NodeId;

#[cfg(not(madsim))]
mod connections;
#[cfg(not(madsim))]
mod datagram;
#[cfg(not(madsim))]
mod stream;

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
    /// Unicast address of each node, indexed by [`NodeId`].
    pub nodes: Vec<SocketAddr>,
    /// The multicast group and port (real flavor), e.g. 239.255.70.1:7400.
    pub group: SocketAddr,
    /// The interface multicast goes out of and is joined on (real flavor).
    pub interface: std::net::Ipv4Addr,
    /// How datagrams travel (real flavor).
    pub kind: TransportKind,
}

#[cfg(madsim)]
pub use crate::network::Transport;

#[cfg(not(madsim))]
pub use real::Transport;

#[cfg(not(madsim))]
mod real {
    use super::*;

    use crate::stream::StreamId;

    /// A real node's transport, of the kind its address book names.
    pub struct Transport(Kind, connections::Connections);

    /// The transport behind [`Transport`].
    enum Kind {
        /// UDP unicast and IP multicast.
        Udp(datagram::Udp),
        /// TCP streams.
        Tcp(stream::Tcp),
    }

    impl Transport {
        /// Binds this node's address (and joins the group, for UDP).
        pub async fn bind(me: NodeId, book: AddressBook) -> std::io::Result<Transport> {
            let streams = connections::Connections::new(me, book.nodes.clone());
            let kind = match book.kind {
                TransportKind::Udp => {
                    let udp = Kind::Udp(datagram::Udp::bind(me, book).await?);
                    streams.listen().await;
                    udp
                }
                TransportKind::Tcp => {
                    Kind::Tcp(stream::Tcp::bind(me, book, streams.registry()).await?)
                }
            };
            Ok(Transport(kind, streams))
        }

        /// Opens `stream` to `to` over TCP.
        pub fn connect(&self, stream: StreamId, to: NodeId) {
            self.1.connect(stream, to)
        }

        /// Queues one message's bytes on `stream`; false when the stream is gone. The label
        /// serves the simulator's trace of lost messages; TCP loses them untraced.
        pub fn stream_send(&self, stream: StreamId, bytes: &[u8], _label: &'static str) -> bool {
            self.1.stream_send(stream, bytes)
        }

        /// Closes `stream` after what was queued on it.
        pub fn close(&self, stream: StreamId) {
            self.1.close(stream)
        }

        /// The next event of this node's streams (cancel-safe).
        pub async fn stream_recv(&self) -> connections::Ready {
            self.1.recv().await
        }

        /// How many nodes the address book holds.
        pub fn nodes(&self) -> u16 {
            match &self.0 {
                Kind::Udp(t) => t.nodes(),
                Kind::Tcp(t) => t.nodes(),
            }
        }

        /// Sends to one node; false when no address is known for it. Never waits on the
        /// peer: what cannot be delivered is lost, as a datagram would be.
        pub async fn send(&self, to: NodeId, bytes: &[u8]) -> bool {
            match &self.0 {
                Kind::Udp(t) => t.send(to, bytes).await,
                Kind::Tcp(t) => t.send(to, bytes),
            }
        }

        /// Sends to every other member of the group.
        pub async fn multicast(&self, bytes: &[u8]) {
            match &self.0 {
                Kind::Udp(t) => t.multicast(bytes).await,
                Kind::Tcp(t) => t.multicast(bytes),
            }
        }

        /// Receives one datagram into `buf` (cancel-safe).
        pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            match &self.0 {
                Kind::Udp(t) => t.recv(buf).await,
                Kind::Tcp(t) => t.recv(buf).await,
            }
        }
    }
}
