//! The seam between the two flavors: how datagrams leave and reach a node.
//!
//! Sim flavor (`--cfg madsim`): madsim's simulated UDP whatever the [`TransportKind`]; a
//! multicast is the transport's fan-out to the group's members, since the simulated network
//! has none. The simulator decides loss, delay and partitions itself, deterministically from
//! the seed, so it has no use for a stream.
//! Real flavor: [`TransportKind::Udp`] is tokio UDP with a unicast socket per node and IP
//! multicast for the group (`datagram.rs`); [`TransportKind::Tcp`] is a listener per node and
//! a cached connection per peer, carrying the same datagrams as length-prefixed frames
//! (`stream.rs`).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::node::NodeId;

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
pub use sim::Transport;

#[cfg(not(madsim))]
pub use real::Transport;

#[cfg(madsim)]
mod sim {
    use super::*;
    use std::sync::Arc;
    use tokio::net::UdpSocket;
    use tokio::sync::{mpsc, Mutex};

    /// Datagrams waiting for the driver; past this they are dropped, like a full socket
    /// buffer (a node that far behind has bigger problems than one datagram).
    const INBOX_DATAGRAMS_MAX: usize = 16 * 1024;

    /// A node's simulated socket and the addresses of the group's members.
    pub struct Transport {
        /// Bound to this node's address; sends go out through it.
        socket: Arc<UdpSocket>,
        /// Datagrams received by the node's receiver task.
        inbox: Mutex<mpsc::Receiver<Vec<u8>>>,
        /// This node.
        me: NodeId,
        /// Everyone's addresses.
        book: AddressBook,
    }

    impl Transport {
        /// Binds this node's address and starts its receiver task.
        ///
        /// madsim's `recv_from` is not cancel-safe: it takes a datagram from the mailbox and
        /// then awaits a small random delay, so a `select!` that drops it there loses the
        /// datagram without a trace. A task that only receives never drops it; the driver
        /// selects on the channel instead, which is cancel-safe.
        pub async fn bind(me: NodeId, book: AddressBook) -> std::io::Result<Transport> {
            let addr = book.nodes[me.0 as usize];
            let socket = Arc::new(UdpSocket::bind(addr).await?);
            let (tx, rx) = mpsc::channel(INBOX_DATAGRAMS_MAX);
            let receiver = socket.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; crate::wire::DATAGRAM_BYTES_MAX + 1];
                while let Ok((len, _)) = receiver.recv_from(&mut buf).await {
                    if tx.try_send(buf[..len].to_vec()).is_err() && tx.is_closed() {
                        return;
                    }
                }
            });
            Ok(Transport {
                socket,
                inbox: Mutex::new(rx),
                me,
                book,
            })
        }

        /// How many nodes the address book holds.
        pub fn nodes(&self) -> u16 {
            self.book.nodes.len() as u16
        }

        /// Sends to one node; false when no address is known for it.
        pub async fn send(&self, to: NodeId, bytes: &[u8]) -> bool {
            let Some(addr) = self.book.nodes.get(to.0 as usize) else {
                return false;
            };
            // A send to a crashed node vanishes in the simulated network, as on a real one.
            let _ = self.socket.send_to(addr, bytes).await;
            true
        }

        /// Sends to every other member of the group.
        pub async fn multicast(&self, bytes: &[u8]) {
            for (i, addr) in self.book.nodes.iter().enumerate() {
                if i != self.me.0 as usize {
                    let _ = self.socket.send_to(addr, bytes).await;
                }
            }
        }

        /// Receives one datagram into `buf` (cancel-safe).
        pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            let datagram = self.inbox.lock().await.recv().await;
            let datagram = datagram.ok_or_else(|| std::io::Error::other("receiver task ended"))?;
            let len = datagram.len().min(buf.len());
            buf[..len].copy_from_slice(&datagram[..len]);
            Ok(len)
        }
    }
}

#[cfg(not(madsim))]
mod real {
    use super::*;

    /// A real node's transport, of the kind its address book names.
    pub struct Transport(Kind);

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
            Ok(Transport(match book.kind {
                TransportKind::Udp => Kind::Udp(datagram::Udp::bind(me, book).await?),
                TransportKind::Tcp => Kind::Tcp(stream::Tcp::bind(me, book).await?),
            }))
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
