//! The datagram transport (real flavor): tokio UDP, a unicast socket per node and IP multicast
//! for the group. A datagram that is lost, refused or unroutable is simply gone, which is what
//! a protocol built for a lossy network expects (the bully group).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tokio::net::UdpSocket;

use crate::node::NodeId;
use crate::runtime::transport::AddressBook;

/// A node's unicast socket and its membership of the multicast group.
pub(crate) struct Udp {
    /// Bound to this node's address; unicast in and out, multicast out.
    unicast: UdpSocket,
    /// Bound to the group's port with SO_REUSEADDR, joined to the group.
    group: UdpSocket,
    /// Everyone's addresses.
    book: AddressBook,
}

impl Udp {
    /// Binds this node's unicast address and joins the multicast group.
    pub(crate) async fn bind(me: NodeId, book: AddressBook) -> std::io::Result<Udp> {
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
        Ok(Udp {
            unicast: UdpSocket::from_std(unicast)?,
            group: UdpSocket::from_std(group)?,
            book,
        })
    }

    /// How many nodes the address book holds.
    pub(crate) fn nodes(&self) -> u16 {
        self.book.nodes.len() as u16
    }

    /// Sends to one node; false when no address is known for it.
    pub(crate) async fn send(&self, to: NodeId, bytes: &[u8]) -> bool {
        let Some(addr) = self.book.nodes.get(to.0 as usize) else {
            return false;
        };
        // UDP: a refused or unreachable peer is the same as a lost datagram.
        let _ = self.unicast.send_to(bytes, addr).await;
        true
    }

    /// Sends one datagram to the multicast group.
    pub(crate) async fn multicast(&self, bytes: &[u8]) {
        let _ = self.unicast.send_to(bytes, self.book.group).await;
    }

    /// Receives one datagram, unicast or multicast.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
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
