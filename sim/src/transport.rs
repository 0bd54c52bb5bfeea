//! The seam between the two flavors: how datagrams leave and reach a node.
//!
//! Sim flavor (`--cfg madsim`): madsim's simulated UDP; a multicast is the transport's fan-out
//! to the group's members, since the simulated network has none.
//! Real flavor: tokio UDP; a unicast socket per node and IP multicast for the group.

use std::net::SocketAddr;

use crate::node::NodeId;

/// Where every node of a run listens, and the multicast group.
#[derive(Clone, Debug)]
pub struct AddressBook {
    /// Unicast address of each node, indexed by [`NodeId`].
    pub nodes: Vec<SocketAddr>,
    /// The multicast group and port (real flavor), e.g. 239.255.70.1:7400.
    pub group: SocketAddr,
    /// The interface multicast goes out of and is joined on (real flavor).
    pub interface: std::net::Ipv4Addr,
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
    use std::net::{Ipv4Addr, SocketAddrV4};
    use tokio::net::UdpSocket;

    /// A node's unicast socket and its membership of the multicast group.
    pub struct Transport {
        /// Bound to this node's address; unicast in and out, multicast out.
        unicast: UdpSocket,
        /// Bound to the group's port with SO_REUSEADDR, joined to the group.
        group: UdpSocket,
        /// Everyone's addresses.
        book: AddressBook,
    }

    impl Transport {
        /// Binds this node's unicast address and joins the multicast group.
        pub async fn bind(me: NodeId, book: AddressBook) -> std::io::Result<Transport> {
            let addr = *book.nodes.get(me.0 as usize).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address for this node")
            })?;
            let unicast = std::net::UdpSocket::bind(addr)?;
            unicast.set_nonblocking(true)?;
            let unicast_sock = socket2::SockRef::from(&unicast);
            unicast_sock.set_multicast_if_v4(&book.interface)?;
            unicast_sock.set_multicast_loop_v4(true)?;
            unicast_sock.set_multicast_ttl_v4(1)?;
            let group = join_group(&book)?;
            Ok(Transport {
                unicast: UdpSocket::from_std(unicast)?,
                group: UdpSocket::from_std(group)?,
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
            // UDP: a refused or unreachable peer is the same as a lost datagram.
            let _ = self.unicast.send_to(bytes, addr).await;
            true
        }

        /// Sends one datagram to the multicast group.
        pub async fn multicast(&self, bytes: &[u8]) {
            let _ = self.unicast.send_to(bytes, self.book.group).await;
        }

        /// Receives one datagram, unicast or multicast.
        pub async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
            loop {
                // Wait on both, then read from whichever is ready; a spurious wake reads nothing.
                let socket = tokio::select! {
                    biased;
                    r = self.unicast.readable() => { r?; &self.unicast }
                    r = self.group.readable() => { r?; &self.group }
                };
                match socket.try_recv_from(buf) {
                    Ok((len, _)) => return Ok(len),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }

    fn join_group(book: &AddressBook) -> std::io::Result<std::net::UdpSocket> {
        use socket2::{Domain, Protocol, Socket, Type};
        let SocketAddr::V4(group) = book.group else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the multicast group must be IPv4",
            ));
        };
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        // Several nodes on one host share the group port; each gets every datagram.
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, group.port()).into())?;
        socket.join_multicast_v4(group.ip(), &book.interface)?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    }
}
