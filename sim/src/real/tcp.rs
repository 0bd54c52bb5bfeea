//! The stream transport (real flavor): TCP between nodes, for protocols that ship large
//! messages and would rather not lose them to a full socket buffer (Raft's log replication).
//!
//! Each node listens on its own address. A send hands a frame to the peer's writer task
//! through a bounded queue and returns at once; the writer keeps one outgoing connection to
//! the peer, connects on demand and again after a failure, and drops what it cannot deliver,
//! so to the driver a dead or slow peer looks like lost datagrams and the driver never waits
//! on the network. Replies to a client go the same way, to the client's own listener.
//!
//! Every accepted connection gets a reader task that cuts the byte stream into frames and
//! puts them in the driver's inbox, the same bounded channel as the simulator's receiver task,
//! so that receiving is cancel-safe. A frame is a 4-byte little-endian length and one datagram
//! of [`crate::runtime::wire`]. A bad frame — a length over [`DATAGRAM_BYTES_MAX`], a connection closed
//! or stalled mid-frame, a datagram whose checks fail — is logged on stderr and closes its
//! connection; the bytes that did arrive still go to the driver, whose decode refuses them and
//! traces `Corrupt`, as for a bad datagram. The node's other connections carry on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;

use super::connections::{self, Registry, HELLO_BYTES};
use crate::node::NodeId;
use crate::runtime::transport::AddressBook;
use crate::runtime::wire::{self, DATAGRAM_BYTES_MAX};

/// Frames waiting for the driver; past this they are dropped, like a full socket buffer.
const INBOX_FRAMES_MAX: usize = 16 * 1024;
/// Frames waiting for one peer's writer; past this they are dropped (a peer that far behind
/// is as good as partitioned, and memory stays bounded: at most this many datagrams per peer).
const OUTBOX_FRAMES_MAX: usize = 256;
/// Accepted connections read at once; more are closed on arrival, so that a flood of
/// connections cannot exhaust the node's memory or file descriptors.
const CONNECTIONS_MAX: usize = 256;
/// How long a connect may take before the frame is dropped.
const CONNECT_WAIT: Duration = Duration::from_millis(500);
/// How long one frame may take to write before the connection is given up.
const WRITE_WAIT: Duration = Duration::from_secs(1);
/// After a failed connect, frames to that peer are dropped for this long rather than each
/// waiting for its own failed connect.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);
/// How long the rest of a frame may take once its length has arrived: a peer that stalls
/// mid-frame holds a connection, so it is cut off like one that closed mid-frame.
const FRAME_WAIT: Duration = Duration::from_secs(5);
/// Bytes of the length prefix.
const PREFIX_BYTES: usize = 4;

/// A node's listener and its connections to peers.
pub(crate) struct Tcp {
    /// Frames received by the reader tasks.
    inbox: tokio::sync::Mutex<mpsc::Receiver<Vec<u8>>>,
    /// The queue of each peer's writer task, started on the first send to it.
    outboxes: Mutex<HashMap<NodeId, mpsc::Sender<Vec<u8>>>>,
    /// This node.
    me: NodeId,
    /// Everyone's addresses.
    book: AddressBook,
}

impl Tcp {
    /// Listens on this node's address and starts accepting connections.
    pub(crate) async fn bind(
        me: NodeId,
        book: AddressBook,
        streams: Arc<Registry>,
    ) -> std::io::Result<Tcp> {
        let addr = *book.nodes.get(me.0 as usize).ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address for this node")
        })?;
        let listener = TcpListener::bind(addr).await?;
        let (tx, rx) = mpsc::channel(INBOX_FRAMES_MAX);
        tokio::spawn(accept(listener, tx, streams));
        Ok(Tcp {
            inbox: tokio::sync::Mutex::new(rx),
            outboxes: Mutex::new(HashMap::new()),
            me,
            book,
        })
    }

    /// How many nodes the address book holds.
    pub(crate) fn nodes(&self) -> u16 {
        self.book.nodes.len() as u16
    }

    /// Queues a datagram for one node; false when no address is known for it. A full queue
    /// drops it, as a full socket buffer drops a datagram.
    pub(crate) fn send(&self, to: NodeId, bytes: &[u8]) -> bool {
        let Some(&addr) = self.book.nodes.get(to.0 as usize) else {
            return false;
        };
        let mut frame = Vec::with_capacity(PREFIX_BYTES + bytes.len());
        frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        frame.extend_from_slice(bytes);
        let mut outboxes = self.outboxes.lock().unwrap_or_else(|p| p.into_inner());
        let outbox = outboxes.entry(to).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(OUTBOX_FRAMES_MAX);
            tokio::spawn(write_frames(addr, rx));
            tx
        });
        let _ = outbox.try_send(frame);
        true
    }

    /// Sends to every other node: TCP has no group, so a multicast is a fan-out.
    pub(crate) fn multicast(&self, bytes: &[u8]) {
        for i in 0..self.book.nodes.len() {
            let to = NodeId(i as u16);
            if to != self.me {
                self.send(to, bytes);
            }
        }
    }

    /// Receives one datagram into `buf` (cancel-safe).
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        let frame = self.inbox.lock().await.recv().await;
        let frame = frame.ok_or_else(|| std::io::Error::other("the listener ended"))?;
        let len = frame.len().min(buf.len());
        buf[..len].copy_from_slice(&frame[..len]);
        Ok(len)
    }
}

/// Accepts connections until the driver's inbox is gone, each read by its own task. A
/// connection whose first frame has a stream hello's length is a stream's
/// ([`connections::adopt`]); a datagram is never that short.
async fn accept(listener: TcpListener, inbox: mpsc::Sender<Vec<u8>>, streams: Arc<Registry>) {
    let slots = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    loop {
        let (conn, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, or the peer gave up during the handshake: try again
                // shortly rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = inbox.closed() => return,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            eprintln!(
                "faultline: refused a connection from {peer}: {CONNECTIONS_MAX} already open"
            );
            continue;
        };
        let inbox = inbox.clone();
        let streams = streams.clone();
        tokio::spawn(async move {
            let mut conn = conn;
            let mut prefix = [0u8; PREFIX_BYTES];
            let got = read_full(&mut conn, &mut prefix, None).await;
            if got == PREFIX_BYTES && u32::from_le_bytes(prefix) as usize == HELLO_BYTES {
                connections::adopt(streams, conn, &prefix).await;
                drop(slot);
                return;
            }
            drop(streams);
            if let Err(why) = read_frames_after(conn, &inbox, &prefix[..got]).await {
                eprintln!("faultline: refused a frame from {peer}: {why}; closing the connection");
            }
            drop(slot);
        });
    }
}

/// Reads frames off one connection into the inbox until the peer closes it at a frame
/// boundary (Ok) or sends a bad frame (Err, after passing its bytes on to be traced).
#[cfg(test)]
async fn read_frames<R: AsyncRead + Unpin>(
    conn: R,
    inbox: &mpsc::Sender<Vec<u8>>,
) -> Result<(), String> {
    read_frames_after(conn, inbox, &[]).await
}

/// Reads frames as `read_frames` does, once `first` bytes of the first length prefix have been read (all of
/// them, or what came before the connection ended).
async fn read_frames_after<R: AsyncRead + Unpin>(
    mut conn: R,
    inbox: &mpsc::Sender<Vec<u8>>,
    first: &[u8],
) -> Result<(), String> {
    let mut first = Some(first).filter(|f| !f.is_empty());
    loop {
        let mut prefix = [0u8; PREFIX_BYTES];
        let got = match first.take() {
            Some(first) => {
                prefix[..first.len()].copy_from_slice(first);
                first.len()
            }
            // A connection may sit idle between frames as long as it likes.
            None => read_full(&mut conn, &mut prefix, None).await,
        };
        if got == 0 {
            return Ok(());
        }
        if got < PREFIX_BYTES {
            refuse(inbox, prefix[..got].to_vec());
            return Err(format!("closed after {got} bytes of a length prefix"));
        }
        let len = u32::from_le_bytes(prefix) as usize;
        if len > DATAGRAM_BYTES_MAX {
            // Only the prefix arrived that matters; reading the rest would be the attack.
            refuse(inbox, prefix.to_vec());
            return Err(format!(
                "length {len} exceeds the bound of {DATAGRAM_BYTES_MAX} bytes"
            ));
        }
        let mut frame = vec![0u8; len];
        let got = read_full(&mut conn, &mut frame, Some(Instant::now() + FRAME_WAIT)).await;
        if got < len {
            frame.truncate(got);
            refuse(inbox, frame);
            return Err(format!(
                "truncated: {got} of {len} bytes before the connection closed or stalled"
            ));
        }
        // An authenticator may follow the frame; the driver verifies it.
        let framed = wire::frame_len(&frame).map_or(&frame[..], |n| &frame[..n]);
        if let Err(e) = wire::check(framed) {
            refuse(inbox, frame);
            return Err(format!("not a valid datagram ({e:?})"));
        }
        if inbox.try_send(frame).is_err() && inbox.is_closed() {
            return Ok(());
        }
    }
}

/// Hands a bad frame's bytes to the driver, whose decode refuses them and traces `Corrupt`.
fn refuse(inbox: &mpsc::Sender<Vec<u8>>, bytes: Vec<u8>) {
    let _ = inbox.try_send(bytes);
}

/// Reads until `buf` is full, the connection ends or fails, or `deadline` passes; returns how
/// many bytes arrived (how it failed does not matter here: the frame is cut short either way).
async fn read_full<R: AsyncRead + Unpin>(
    conn: &mut R,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> usize {
    connections::read_full(conn, buf, deadline, &mut None).await
}

/// What woke a writer.
enum Wake {
    /// A frame to send, or None when the transport is gone.
    Frame(Option<Vec<u8>>),
    /// The connection became readable: the peer closed it (peers never write on it).
    Readable,
}

/// Sends one peer's frames over one connection, reconnecting as needed, until the transport
/// is dropped. A frame that cannot be sent is dropped, never retried: the protocol above
/// retries what matters, as it would over UDP.
async fn write_frames(addr: SocketAddr, mut outbox: mpsc::Receiver<Vec<u8>>) {
    let mut conn: Option<TcpStream> = None;
    let mut paused_until = Instant::now();
    let mut scratch = [0u8; 256];
    loop {
        let wake = match &conn {
            // Watching the idle connection notices a peer that restarted, so the next frame
            // opens a fresh connection instead of vanishing into the dead one.
            Some(open) => tokio::select! {
                frame = outbox.recv() => Wake::Frame(frame),
                _ = open.readable() => Wake::Readable,
            },
            None => Wake::Frame(outbox.recv().await),
        };
        let frame = match wake {
            Wake::Frame(Some(frame)) => frame,
            Wake::Frame(None) => return,
            Wake::Readable => {
                if let Some(open) = &conn {
                    match open.try_read(&mut scratch) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        // Closed, failed, or a peer that talks back on our connection.
                        _ => conn = None,
                    }
                }
                continue;
            }
        };
        if conn.is_none() {
            if Instant::now() < paused_until {
                continue;
            }
            match tokio::time::timeout(CONNECT_WAIT, TcpStream::connect(addr)).await {
                Ok(Ok(open)) => {
                    // Heartbeats and votes are small and urgent.
                    let _ = open.set_nodelay(true);
                    conn = Some(open);
                }
                _ => {
                    paused_until = Instant::now() + RECONNECT_PAUSE;
                    continue;
                }
            }
        }
        if let Some(open) = &mut conn {
            let written = tokio::time::timeout(WRITE_WAIT, open.write_all(&frame)).await;
            if !matches!(written, Ok(Ok(()))) {
                // A half-written frame poisons the stream: start over on a new connection.
                conn = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Message;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    struct Ping(u64);
    impl Message for Ping {
        fn label(&self) -> &'static str {
            "Ping"
        }
    }

    fn datagram(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        wire::encode(NodeId(1), n, &Ping(n), &mut out).unwrap();
        out
    }

    fn framed(bytes: &[u8]) -> Vec<u8> {
        let mut frame = (bytes.len() as u32).to_le_bytes().to_vec();
        frame.extend_from_slice(bytes);
        frame
    }

    /// Feeds `stream` to a reader and returns what reached the inbox and the reader's verdict.
    fn read_all(stream: Vec<u8>) -> (Vec<Vec<u8>>, Result<(), String>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (tx, mut rx) = mpsc::channel(16);
            let verdict = read_frames(&stream[..], &tx).await;
            drop(tx);
            let mut got = Vec::new();
            while let Some(frame) = rx.recv().await {
                got.push(frame);
            }
            (got, verdict)
        })
    }

    #[test]
    fn frames_are_cut_at_their_lengths() {
        let (a, b) = (datagram(1), datagram(2));
        let (got, verdict) = read_all([framed(&a), framed(&b)].concat());
        assert_eq!(got, vec![a, b]);
        assert_eq!(verdict, Ok(()));
    }

    #[test]
    fn an_oversized_length_is_refused_without_reading_on() {
        let mut stream = framed(&datagram(1));
        stream.extend_from_slice(&u32::MAX.to_le_bytes());
        stream.extend_from_slice(&framed(&datagram(2)));
        let (got, verdict) = read_all(stream);
        assert_eq!(got.len(), 2, "the good frame, then the bad prefix");
        assert!(wire::check(&got[1]).is_err());
        assert!(verdict.unwrap_err().contains("exceeds"));
    }

    #[test]
    fn a_truncated_frame_is_refused() {
        let whole = framed(&datagram(1));
        for cut in 1..whole.len() {
            let (got, verdict) = read_all(whole[..cut].to_vec());
            assert_eq!(got.len(), 1, "cut at {cut}");
            assert!(wire::check(&got[0]).is_err(), "cut at {cut}");
            assert!(verdict.is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_garbled_frame_is_refused_and_ends_the_connection() {
        let mut bad = datagram(1);
        bad[20] ^= 0x40;
        let (got, verdict) = read_all([framed(&bad), framed(&datagram(2))].concat());
        assert_eq!(got, vec![bad]);
        assert!(verdict.unwrap_err().contains("Checksum"));
    }
}
