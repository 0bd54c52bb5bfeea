//! A real node's transport: UDP and IP multicast, or TCP, as its address book says, and the
//! node's streams beside either (the real side of [`crate::runtime::transport`]).

use super::connections;
use super::datagram;
use super::tcp;
use crate::node::NodeId;
use crate::runtime::transport::{AddressBook, TransportKind};

use crate::node::stream::StreamId;

/// A real node's transport, of the kind its address book names.
pub struct Transport(Kind, connections::Connections);

/// The transport behind [`Transport`].
enum Kind {
    /// UDP unicast and IP multicast.
    Udp(datagram::Udp),
    /// TCP streams.
    Tcp(tcp::Tcp),
}

impl Transport {
    /// Binds this node's address (and joins the group, for UDP).
    pub async fn bind(me: NodeId, book: AddressBook) -> std::io::Result<Transport> {
        let addr = book.nodes.get(me.0 as usize).copied();
        Self::bind_at(me, book)
            .await
            .map_err(|e| match (e.kind(), addr) {
                (std::io::ErrorKind::AddrInUse, Some(addr)) => std::io::Error::new(
                    e.kind(),
                    format!(
                        "cannot listen on {addr}: another process holds it (this node already \
                     running, or another client sending from the same name?)"
                    ),
                ),
                (_, Some(addr)) => {
                    std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
                }
                _ => e,
            })
    }

    /// [`Transport::bind`], with errors that do not name the address.
    async fn bind_at(me: NodeId, book: AddressBook) -> std::io::Result<Transport> {
        let streams = connections::Connections::new(me, book.nodes.clone());
        let kind = match book.kind {
            TransportKind::Udp => {
                let udp = Kind::Udp(datagram::Udp::bind(me, book).await?);
                streams.listen().await;
                udp
            }
            TransportKind::Tcp => Kind::Tcp(tcp::Tcp::bind(me, book, streams.registry()).await?),
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
    /// peer: what cannot be delivered is lost, as a datagram would be. The kind (`_label`)
    /// matters to the simulated network only (per-kind delays, refused on real nodes).
    pub async fn send(&self, to: NodeId, bytes: &[u8], _label: &str) -> bool {
        match &self.0 {
            Kind::Udp(t) => t.send(to, bytes).await,
            Kind::Tcp(t) => t.send(to, bytes),
        }
    }

    /// Sends to every other member of the group.
    pub async fn multicast(&self, bytes: &[u8], _label: &str) {
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
