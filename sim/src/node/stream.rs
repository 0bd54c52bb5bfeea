//! Streams: connections between two nodes, for protocols that want order and reliability
//! from the network rather than building them over datagrams.
//!
//! A node opens one with [`Cx::connect`], sends on it with [`Cx::stream_send`] and ends it
//! with [`Cx::close`]; everything that happens to it arrives in [`Node::on_stream`] as a
//! [`StreamEvent`]. Datagram protocols are untouched: a node that opens no stream and ignores
//! `on_stream` never sees one.
//!
//! What a stream promises, in both flavors:
//! - The connector's id is returned at once; the connect costs a round trip, then the
//!   connector gets [`StreamEvent::Connected`] and the peer [`StreamEvent::Accepted`] with an id
//!   of its own. Ids are unique per node incarnation and deterministic: streams a node opened
//!   count up from 0, streams it accepted from [`StreamId::ACCEPTED`].
//! - While it lives, every message sent on it arrives once, in the order sent. A node may send
//!   before it is connected; the messages go after the handshake.
//! - It ends with exactly one [`StreamEvent::Closed`] at each end that did not close it itself:
//!   [`CloseReason::Refused`] when the connect failed (peer down, unknown, or out of stream
//!   slots), [`CloseReason::PeerClosed`] after everything the peer sent before its close,
//!   [`CloseReason::PeerCrashed`] when the peer went away without closing (crash, killed
//!   process, stopped driver), [`CloseReason::TimedOut`] when nothing got through for the
//!   stream timeout (a lasting partition), [`CloseReason::Overflow`] at the end that queued
//!   more than [`STREAM_MESSAGES_MAX`] undelivered messages (the stream is aborted, the peer
//!   sees [`CloseReason::Reset`]), and [`CloseReason::Reset`] when the peer aborted it or sent
//!   something malformed. A node that closes a stream gets no event for it afterwards; what
//!   the peer sends after the close is discarded. Sending on a stream that is gone is traced
//!   as a drop (`closed`) and is otherwise a no-op.
//! - A stream that breaks loses what was still on its way, as TCP data is lost with a reset
//!   connection, and so does one whose receiver closed it: the simulator traces each such
//!   message as a drop (`closed`) at its receiver; over TCP it has a `send` and nothing more.
//!
//! In the trace, a stream message is a `send` at its sender and a `deliver` at its receiver,
//! with a datagram's id and label, so reports and checks count it as traffic; each end also
//! records `stream_open` when it is connected or accepted and `stream_close` (with the reason,
//! `null` when it closed the stream itself) when it ends.
//!
//! The simulator's model (sim flavor, `crate::simulator::stream_wire`) and the TCP mapping (real flavor,
//! `transport/connections.rs`) document how each one keeps these promises.
//!
//! [`Cx::connect`]: crate::node::Cx::connect
//! [`Cx::stream_send`]: crate::node::Cx::stream_send
//! [`Cx::close`]: crate::node::Cx::close
//! [`Node::on_stream`]: crate::node::Node::on_stream

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::node::NodeId;

/// Undelivered messages one end of a stream may have queued (sent, not yet handed to the
/// peer). A node cannot be made to wait, so past this the stream is aborted: the sender gets
/// [`CloseReason::Overflow`], the peer [`CloseReason::Reset`].
pub const STREAM_MESSAGES_MAX: usize = 1024;

/// Streams one node may have open at once; a connect past it is refused, and so is an
/// incoming one.
pub const STREAMS_PER_NODE_MAX: usize = 256;

/// One end of a stream, as its node names it.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(pub u32);

impl StreamId {
    /// The first id of an accepted stream; ids below it are streams the node opened.
    pub const ACCEPTED: u32 = 1 << 31;

    /// Never a stream's id: the real transport reports under it what a connection that never
    /// became a stream sent (a bad handshake), so that the driver traces it.
    pub const NONE: StreamId = StreamId(u32::MAX);

    /// Whether the node accepted this stream (rather than opened it).
    pub fn accepted(self) -> bool {
        self.0 >= Self::ACCEPTED
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.accepted() {
            true => write!(f, "stream a{}", self.0 - Self::ACCEPTED),
            false => write!(f, "stream o{}", self.0),
        }
    }
}

/// What happened to a stream.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent<M> {
    /// A peer opened this stream to us.
    Accepted,
    /// The stream we opened is connected.
    Connected,
    /// The next message the peer sent on it.
    Message(M),
    /// It is gone; nothing more comes or goes on it.
    Closed(CloseReason),
}

/// Why a stream ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The connect failed: the peer is down, unknown, or has no stream slot left.
    Refused,
    /// The peer closed it, after everything it sent before.
    PeerClosed,
    /// The peer went away without closing it (crash, killed process, stopped driver).
    PeerCrashed,
    /// Nothing got through for the stream timeout: a lasting partition, also one that kept
    /// a connect from ever reaching the peer.
    TimedOut,
    /// This end queued more than [`STREAM_MESSAGES_MAX`] undelivered messages.
    Overflow,
    /// The peer aborted it, or sent something that is not a faultline stream.
    Reset,
}

/// One stream request a node made during a callback.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamAction<M> {
    /// Open a stream, named by the id [`crate::node::Cx::connect`] returned.
    Connect(StreamId, NodeId),
    /// Send one message on a stream.
    Send(StreamId, M),
    /// Close a stream after what was sent on it.
    Close(StreamId),
}
