//! Streams over TCP (real flavor): each stream of [`crate::node::stream`] is one TCP connection to
//! the peer's address.
//!
//! A node listens for streams on its own address: a UDP node binds a TCP listener there too
//! (TCP and UDP ports are separate); a TCP node's datagram listener ([`super::stream`]) hands
//! over the connections that open with a stream hello. The connector writes a hello frame
//! naming itself, the acceptor answers with its own: only then does the connector hear
//! `Connected` (a refused, unanswered or garbled handshake is `Refused`, a slow one
//! `TimedOut`), and the acceptor `Accepted`. A hello's claim is not proof: a protocol that
//! authenticates signs every stream message as a datagram, and the driver resets a stream
//! whose message does not verify as the peer's.
//!
//! A frame is a 4-byte little-endian length and that many bytes: one message as a
//! [`crate::runtime::wire`] datagram, or nothing at all for a close (the "bye" frame). Each stream has
//! a task that writes its outbox and reads the connection. A close queues the bye after what
//! was sent; the peer hears `PeerClosed` when it reads it. A connection that ends without a
//! bye (the peer's process died or its driver stopped, a reset) is `PeerCrashed`; a frame that
//! cannot be written within [`WRITE_WAIT`] is `TimedOut`, and so is a connection the kernel
//! gives up on after [`STREAM_TIMEOUT`] of a partition (unacknowledged data, or keepalives
//! unanswered on an idle stream; see [`tune`]). Drop rules (a LAN run's one-way cuts and
//! loss, which the receiving driver applies to datagrams) do not touch streams: a stream sees
//! only what the kernel's network does to it. A frame longer than
//! [`DATAGRAM_BYTES_MAX`], or cut short, is logged on stderr and ends the connection: its bytes
//! go to the driver, whose decode refuses them, traces `corrupt` and resets the stream; a
//! connection whose first frame is no hello is traced the same way, as a message of no
//! stream ([`StreamId::NONE`]). Nothing a peer sends can make the node panic.
//!
//! Bounds: [`STREAMS_PER_NODE_MAX`] streams (more connects are refused, more accepted
//! connections closed at once); [`STREAM_MESSAGES_MAX`] frames queued per stream (one more
//! aborts the stream: `Overflow` here, `PeerCrashed` at the peer); [`EVENTS_MAX`] events
//! waiting for the driver (past it the readers wait, and TCP's flow control holds the
//! senders back).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::node::stream::{
    CloseReason, StreamEvent, StreamId, STREAMS_PER_NODE_MAX, STREAM_MESSAGES_MAX,
};
use crate::node::NodeId;
use crate::runtime::wire::DATAGRAM_BYTES_MAX;

/// One event for the driver: which stream, its peer, what happened.
pub type Ready = (StreamId, NodeId, StreamEvent<Vec<u8>>);

/// Events waiting for the driver; past it, the readers wait.
pub(crate) const EVENTS_MAX: usize = 4096;
/// How long a connect and its handshake may take.
const CONNECT_WAIT: Duration = Duration::from_secs(2);
/// How long an accepted connection may take to say hello.
const HELLO_WAIT: Duration = Duration::from_secs(2);
/// How long one frame may take to write: past it the stream is broken (`TimedOut`).
pub(crate) const WRITE_WAIT: Duration = Duration::from_secs(5);
/// How long the rest of a frame may take once its length has arrived.
const FRAME_WAIT: Duration = Duration::from_secs(5);
/// Bytes of a length prefix.
const PREFIX_BYTES: usize = 4;
/// Bytes of a hello: magic "FS", version 1, the sender's node id (little-endian).
pub(crate) const HELLO_BYTES: usize = 5;
/// A hello's first three bytes.
const HELLO_MAGIC: [u8; 3] = [b'F', b'S', 1];

/// The hello frame of `me`, length prefix included.
fn hello(me: NodeId) -> [u8; PREFIX_BYTES + HELLO_BYTES] {
    let mut frame = [0u8; PREFIX_BYTES + HELLO_BYTES];
    frame[..PREFIX_BYTES].copy_from_slice(&(HELLO_BYTES as u32).to_le_bytes());
    frame[PREFIX_BYTES..PREFIX_BYTES + 3].copy_from_slice(&HELLO_MAGIC);
    frame[PREFIX_BYTES + 3..].copy_from_slice(&me.0.to_le_bytes());
    frame
}

/// The node a hello's body names, if it is one.
fn parse_hello(body: &[u8]) -> Option<NodeId> {
    match body {
        [a, b, c, lo, hi] if [*a, *b, *c] == HELLO_MAGIC => {
            Some(NodeId(u16::from_le_bytes([*lo, *hi])))
        }
        _ => None,
    }
}

/// A stream's queue to its task.
struct Handle {
    /// The node at the other end.
    peer: NodeId,
    /// Frames to write, in order.
    outbox: mpsc::Sender<Vec<u8>>,
    /// Set when the node closed the stream: the task writes a bye after the queue, and
    /// tells the node nothing more.
    closing: Arc<AtomicBool>,
}

/// What the accepting side shares with the listeners.
pub(crate) struct Registry {
    /// This node.
    me: NodeId,
    /// Each open stream's queue.
    streams: Mutex<BTreeMap<StreamId, Handle>>,
    /// Streams accepted so far (the next accepted id).
    accepted: AtomicU32,
    /// Events for the driver.
    events: mpsc::Sender<Ready>,
}

impl Registry {
    fn streams(&self) -> std::sync::MutexGuard<'_, BTreeMap<StreamId, Handle>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot for a new stream; `None` when the node holds as many as it may. Slots of
    /// streams whose task has ended are freed first.
    fn register(
        &self,
        stream: StreamId,
        peer: NodeId,
    ) -> Option<(mpsc::Receiver<Vec<u8>>, Arc<AtomicBool>)> {
        let mut streams = self.streams();
        if streams.len() >= STREAMS_PER_NODE_MAX {
            streams.retain(|_, h| !h.outbox.is_closed());
        }
        if streams.len() >= STREAMS_PER_NODE_MAX || streams.contains_key(&stream) {
            return None;
        }
        let (tx, rx) = mpsc::channel(STREAM_MESSAGES_MAX);
        let closing = Arc::new(AtomicBool::new(false));
        let handle = Handle {
            peer,
            outbox: tx,
            closing: closing.clone(),
        };
        streams.insert(stream, handle);
        Some((rx, closing))
    }

    /// Tells the driver, waiting if its queue is full; an event for a driver that is gone
    /// has nobody to tell.
    fn tell(&self, ready: Ready) {
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = events.send(ready).await;
        });
    }
}

/// A node's streams.
pub(crate) struct Connections {
    /// Everyone's addresses, indexed by node.
    addrs: Vec<SocketAddr>,
    /// What the listeners share.
    registry: Arc<Registry>,
    /// Events for the driver.
    events: tokio::sync::Mutex<mpsc::Receiver<Ready>>,
}

impl Connections {
    /// The streams of node `me`; nothing listens until [`Connections::listen`] or a TCP
    /// transport's listener hands connections over.
    pub(crate) fn new(me: NodeId, addrs: Vec<SocketAddr>) -> Connections {
        let (tx, rx) = mpsc::channel(EVENTS_MAX);
        Connections {
            addrs,
            registry: Arc::new(Registry {
                me,
                streams: Mutex::new(BTreeMap::new()),
                accepted: AtomicU32::new(0),
                events: tx,
            }),
            events: tokio::sync::Mutex::new(rx),
        }
    }

    /// What a listener needs to hand connections over.
    pub(crate) fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Listens for streams on this node's address (a UDP node's). A failure is reported and
    /// leaves the node without incoming streams: its peers' connects are refused.
    pub(crate) async fn listen(&self) {
        let Some(&addr) = self.addrs.get(self.registry.me.0 as usize) else {
            return;
        };
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                tokio::spawn(accept(listener, self.registry.clone()));
            }
            Err(e) => eprintln!("faultline: no stream listener on {addr}: {e}"),
        }
    }

    /// Opens `stream` to `to`.
    pub(crate) fn connect(&self, stream: StreamId, to: NodeId) {
        let registry = &self.registry;
        let addr = self.addrs.get(to.0 as usize).copied();
        let addr = addr.filter(|_| to != registry.me);
        let slot = addr.and_then(|_| registry.register(stream, to));
        let (Some(addr), Some((outbox, closing))) = (addr, slot) else {
            registry.tell((stream, to, StreamEvent::Closed(CloseReason::Refused)));
            return;
        };
        let (me, events) = (registry.me, registry.events.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(CONNECT_WAIT, dial(addr, me, to)).await;
            let conn = match handshake {
                Ok(Ok(conn)) => conn,
                Ok(Err(reason)) => {
                    let _ = events.send((stream, to, StreamEvent::Closed(reason))).await;
                    return;
                }
                Err(_) => {
                    let reason = CloseReason::TimedOut;
                    let _ = events.send((stream, to, StreamEvent::Closed(reason))).await;
                    return;
                }
            };
            if events
                .send((stream, to, StreamEvent::Connected))
                .await
                .is_err()
            {
                return;
            }
            carry(conn, stream, to, outbox, closing, events).await;
        });
    }

    /// Queues one message's bytes on `stream`; false when the stream is gone or overflows
    /// (then aborted, and the driver hears `Overflow`).
    pub(crate) fn stream_send(&self, stream: StreamId, bytes: &[u8]) -> bool {
        let mut frame = Vec::with_capacity(PREFIX_BYTES + bytes.len());
        frame.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        frame.extend_from_slice(bytes);
        let mut streams = self.registry.streams();
        let Some(handle) = streams.get(&stream) else {
            return false;
        };
        let peer = handle.peer;
        match handle.outbox.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // Its task ended; the driver hears why from the task.
                streams.remove(&stream);
                false
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Dropping the queue ends the task without a bye: the peer sees the
                // connection end, as after a crash.
                streams.remove(&stream);
                drop(streams);
                let event = StreamEvent::Closed(CloseReason::Overflow);
                self.registry.tell((stream, peer, event));
                false
            }
        }
    }

    /// Closes `stream`: its task writes what is queued, then a bye.
    pub(crate) fn close(&self, stream: StreamId) {
        if let Some(handle) = self.registry.streams().remove(&stream) {
            handle.closing.store(true, Ordering::Relaxed);
        }
    }

    /// The next event of this node's streams (cancel-safe).
    pub(crate) async fn recv(&self) -> Ready {
        match self.events.lock().await.recv().await {
            Some(ready) => ready,
            // The registry holds a sender as long as `self` lives.
            None => std::future::pending().await,
        }
    }
}

/// How long a stream may get nothing acknowledged, or hear nothing from an idle peer's
/// keepalives, before the kernel breaks it: the simulator's default stream timeout.
const STREAM_TIMEOUT: Duration = Duration::from_millis(crate::scenario::STREAM_TIMEOUT_MS_DEFAULT);

/// Small messages go at once, and a lasting partition breaks the stream after
/// [`STREAM_TIMEOUT`] whether it carries data (TCP_USER_TIMEOUT, Linux) or is idle
/// (keepalives). Best effort: a socket that refuses an option keeps the kernel's default.
fn tune(conn: &TcpStream) {
    let _ = conn.set_nodelay(true);
    let sock = socket2::SockRef::from(conn);
    let probes = 4;
    let every = STREAM_TIMEOUT / (probes + 1);
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(every)
        .with_interval(every)
        .with_retries(probes);
    let _ = sock.set_tcp_keepalive(&keepalive);
    #[cfg(target_os = "linux")]
    let _ = sock.set_tcp_user_timeout(Some(STREAM_TIMEOUT));
}

/// Connects to `addr` and shakes hands with node `to`.
async fn dial(addr: SocketAddr, me: NodeId, to: NodeId) -> Result<TcpStream, CloseReason> {
    let mut conn = TcpStream::connect(addr)
        .await
        .map_err(|_| CloseReason::Refused)?;
    tune(&conn);
    conn.write_all(&hello(me))
        .await
        .map_err(|_| CloseReason::Refused)?;
    match read_frame(&mut conn, None).await {
        Frame::Whole(body) if parse_hello(&body) == Some(to) => Ok(conn),
        _ => Err(CloseReason::Refused),
    }
}

/// Accepts stream connections until the driver is gone.
async fn accept(listener: TcpListener, registry: Arc<Registry>) {
    loop {
        let conn = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((conn, _)) => conn,
                Err(_) => {
                    // Out of descriptors, or the peer gave up: try again shortly.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = registry.events.closed() => return,
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut conn = conn;
            let mut prefix = [0u8; PREFIX_BYTES];
            let deadline = Some(Instant::now() + HELLO_WAIT);
            let got = read_full(&mut conn, &mut prefix, deadline, &mut None).await;
            adopt(registry, conn, &prefix[..got]).await;
        });
    }
}

/// Takes over an accepted connection whose first `prefix` bytes have been read: a stream if
/// they announce a hello that follows, else a connection that is traced and closed.
pub(crate) async fn adopt(registry: Arc<Registry>, mut conn: TcpStream, prefix: &[u8]) {
    let announced = prefix.try_into().ok().map(u32::from_le_bytes);
    let mut body = [0u8; HELLO_BYTES];
    let got = match announced {
        Some(len) if len as usize == HELLO_BYTES => {
            let deadline = Some(Instant::now() + HELLO_WAIT);
            read_full(&mut conn, &mut body, deadline, &mut None).await
        }
        _ => 0,
    };
    let Some(peer) = parse_hello(&body[..got]) else {
        eprintln!("faultline: a connection opened with no stream hello; closing it");
        let bytes = [prefix, &body[..got]].concat();
        registry.tell((StreamId::NONE, registry.me, StreamEvent::Message(bytes)));
        return;
    };
    let n = registry.accepted.fetch_add(1, Ordering::Relaxed);
    if n >= StreamId::ACCEPTED - 1 {
        return;
    }
    let stream = StreamId(StreamId::ACCEPTED + n);
    let Some((outbox, closing)) = registry.register(stream, peer) else {
        // No slot: closing before the answer is a refusal at the connector.
        return;
    };
    tune(&conn);
    let answered = tokio::time::timeout(CONNECT_WAIT, conn.write_all(&hello(registry.me))).await;
    if !matches!(answered, Ok(Ok(()))) {
        registry.streams().remove(&stream);
        return;
    }
    let events = registry.events.clone();
    drop(registry);
    if events
        .send((stream, peer, StreamEvent::Accepted))
        .await
        .is_err()
    {
        return;
    }
    carry(conn, stream, peer, outbox, closing, events).await;
}

/// One frame read off a connection.
enum Frame {
    /// A whole frame's body (empty: a bye).
    Whole(Vec<u8>),
    /// The connection ended cleanly between frames.
    End,
    /// The connection failed between frames; the kernel gave up on a partition
    /// (`TimedOut`) or the peer reset it.
    Failed(std::io::ErrorKind),
    /// A bad frame: what arrived of it, and why it is refused.
    Bad(Vec<u8>, String),
}

/// Reads one frame; `first_by`, when given, bounds the wait for its first byte.
async fn read_frame<R: AsyncRead + Unpin>(conn: &mut R, first_by: Option<Instant>) -> Frame {
    let mut prefix = [0u8; PREFIX_BYTES];
    let mut failed = None;
    let got = read_full(conn, &mut prefix, first_by, &mut failed).await;
    if got == 0 {
        return failed.map_or(Frame::End, Frame::Failed);
    }
    if got < PREFIX_BYTES {
        let why = format!("closed after {got} bytes of a length prefix");
        return Frame::Bad(prefix[..got].to_vec(), why);
    }
    let len = u32::from_le_bytes(prefix) as usize;
    if len > DATAGRAM_BYTES_MAX {
        let why = format!("length {len} exceeds the bound of {DATAGRAM_BYTES_MAX} bytes");
        return Frame::Bad(prefix.to_vec(), why);
    }
    let mut body = vec![0u8; len];
    let deadline = Some(Instant::now() + FRAME_WAIT);
    let got = read_full(conn, &mut body, deadline, &mut None).await;
    if got < len {
        body.truncate(got);
        let why = format!("truncated: {got} of {len} bytes before the connection ended or stalled");
        return Frame::Bad(body, why);
    }
    Frame::Whole(body)
}

/// Reads until `buf` is full, the connection ends or fails (the failure goes to `failed`), or
/// `deadline` passes; returns how many bytes arrived.
pub(super) async fn read_full<R: AsyncRead + Unpin>(
    conn: &mut R,
    buf: &mut [u8],
    deadline: Option<Instant>,
    failed: &mut Option<std::io::ErrorKind>,
) -> usize {
    let mut got = 0;
    while got < buf.len() {
        let read = conn.read(&mut buf[got..]);
        let read = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, read).await {
                Ok(read) => read,
                Err(_) => break,
            },
            None => read.await,
        };
        match read {
            Ok(0) => break,
            Err(e) => {
                *failed = Some(e.kind());
                break;
            }
            Ok(n) => got += n,
        }
    }
    got
}

/// Why a stream whose connection failed with `kind` ended.
fn failure(kind: std::io::ErrorKind) -> CloseReason {
    match kind {
        std::io::ErrorKind::TimedOut => CloseReason::TimedOut,
        _ => CloseReason::PeerCrashed,
    }
}

/// Reads a stream's frames into events until the peer's bye or the connection's end;
/// returns why it ended, `None` when the driver is gone.
async fn read_stream<R: AsyncRead + Unpin>(
    conn: &mut R,
    stream: StreamId,
    peer: NodeId,
    events: &mpsc::Sender<Ready>,
) -> Option<CloseReason> {
    loop {
        match read_frame(conn, None).await {
            Frame::Whole(body) if body.is_empty() => return Some(CloseReason::PeerClosed),
            Frame::Whole(body) => {
                // Waiting here holds the peer back through TCP's flow control.
                events
                    .send((stream, peer, StreamEvent::Message(body)))
                    .await
                    .ok()?;
            }
            Frame::End => return Some(CloseReason::PeerCrashed),
            Frame::Failed(kind) => return Some(failure(kind)),
            Frame::Bad(bytes, why) => {
                eprintln!("faultline: refused a frame on {stream:?} from {peer}: {why}");
                // The driver's decode refuses these bytes, traces them and resets the stream.
                events
                    .send((stream, peer, StreamEvent::Message(bytes)))
                    .await
                    .ok()?;
                return Some(CloseReason::Reset);
            }
        }
    }
}

/// Carries one stream until it ends, then tells the driver why (unless the node closed it).
async fn carry(
    conn: TcpStream,
    stream: StreamId,
    peer: NodeId,
    mut outbox: mpsc::Receiver<Vec<u8>>,
    closing: Arc<AtomicBool>,
    events: mpsc::Sender<Ready>,
) {
    let (mut reader, mut writer) = conn.into_split();
    let write = async {
        while let Some(frame) = outbox.recv().await {
            match tokio::time::timeout(WRITE_WAIT, writer.write_all(&frame)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Some(failure(e.kind())),
                Err(_) => return Some(CloseReason::TimedOut),
            }
        }
        // The queue is gone: the node closed the stream (then a bye follows what it sent),
        // or the transport went away (then the connection just ends).
        if closing.load(Ordering::Relaxed) {
            let bye = 0u32.to_le_bytes();
            let _ = tokio::time::timeout(WRITE_WAIT, writer.write_all(&bye)).await;
            let _ = writer.shutdown().await;
        }
        None
    };
    let read = read_stream(&mut reader, stream, peer, &events);
    let ended = tokio::select! {
        ended = write => ended,
        ended = read => ended,
    };
    if let Some(reason) = ended {
        if !closing.load(Ordering::Relaxed) {
            let _ = events
                .send((stream, peer, StreamEvent::Closed(reason)))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: Vec<u8>) -> Vec<Frame> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut conn = &bytes[..];
            let mut frames = Vec::new();
            loop {
                let frame = read_frame(&mut conn, None).await;
                let done = !matches!(frame, Frame::Whole(_));
                frames.push(frame);
                if done {
                    return frames;
                }
            }
        })
    }

    #[test]
    fn a_hello_names_its_node_and_nothing_else_is_one() {
        let frame = hello(NodeId(7));
        assert_eq!(parse_hello(&frame[PREFIX_BYTES..]), Some(NodeId(7)));
        assert_eq!(parse_hello(&frame[PREFIX_BYTES + 1..]), None);
        assert_eq!(parse_hello(b"FL\x01\x07\x00"), None);
        assert_eq!(parse_hello(b""), None);
    }

    #[test]
    fn frames_bye_and_bad_lengths_are_told_apart() {
        let mut bytes = 3u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"abc");
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        let frames = read_all(bytes);
        assert!(matches!(&frames[0], Frame::Whole(b) if b == b"abc"));
        assert!(matches!(&frames[1], Frame::Whole(b) if b.is_empty()));
        assert!(matches!(&frames[2], Frame::Bad(_, why) if why.contains("exceeds")));
        let cut = read_all([5u32.to_le_bytes().as_slice(), b"ab"].concat());
        assert!(matches!(&cut[0], Frame::Bad(b, why) if b == b"ab" && why.contains("truncated")));
        assert!(matches!(read_all(Vec::new())[0], Frame::End));
        assert_eq!(failure(std::io::ErrorKind::TimedOut), CloseReason::TimedOut);
        assert_eq!(
            failure(std::io::ErrorKind::ConnectionReset),
            CloseReason::PeerCrashed
        );
    }
}
