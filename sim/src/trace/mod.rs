//! The trace: every event of a run as a compact record, hashed as it grows.
//!
//! The same records come out of a simulated run and of a real node, and are written as they
//! happen, as JSON lines: `{"t":..,"node":..,"ev":..}` ([`jsonl`]). A simulated run hands
//! them to a [`RecordSink`] and keeps only the digest.

mod decimal;
mod event_json;
mod json_string;
pub mod jsonl;
pub mod sink;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::faults::byzantine::{Behaviour, Byzantine};
use crate::node::stream::{CloseReason, StreamId};
use crate::node::{NodeId, Note, ProtoEvent};
pub use jsonl::JsonlWriter;
pub use sink::RecordSink;

/// The pseudo-node that world events (partitions, loss) are recorded against.
pub const WORLD: NodeId = NodeId(u16::MAX);

/// Why a datagram never arrived.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// A partition cuts the link.
    Partition,
    /// Random loss (the network's rate or a loss fault).
    Loss,
    /// The receiver is crashed.
    Down,
    /// No address is known for the receiver.
    NoRoute,
    /// The sender's authenticator did not verify: a forged identity or a tampered datagram.
    Forged,
    /// A stream message was sent on a stream that is gone (closed, broken or refused), or was
    /// lost with its stream (simulator).
    Closed,
}

/// One event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Ev<E> {
    /// A datagram left the node; `to` is `None` for a multicast.
    Send {
        to: Option<NodeId>,
        id: u64,
        label: Cow<'static, str>,
    },
    /// A datagram arrived intact and was handed to the node.
    Deliver {
        from: NodeId,
        id: u64,
        label: Cow<'static, str>,
    },
    /// A datagram from `from` to `to` was lost; recorded where the loss was decided.
    Drop {
        from: NodeId,
        to: NodeId,
        id: u64,
        label: Cow<'static, str>,
        reason: DropReason,
    },
    /// A datagram failed its checksum or could not be decoded; it was discarded.
    Corrupt { bytes: u32 },
    /// A timer fired.
    Timer { timer: u32 },
    /// The node crashed (all volatile state lost).
    Crash,
    /// The node restarted from its durable state.
    Restart,
    /// Directed links `(from, to)` were cut.
    Partition { links: Vec<(NodeId, NodeId)> },
    /// Directed links `(from, to)` were restored.
    Heal { links: Vec<(NodeId, NodeId)> },
    /// Random loss on every link is now `rate` (0 ends a loss fault).
    Loss { rate: f64 },
    /// The node plays a new role.
    Role { role: String },
    /// The node started an election.
    ElectionStarted,
    /// The node follows a new leader.
    Leader { leader: Option<NodeId> },
    /// A protocol event.
    Proto { event: E },
    /// The node turned Byzantine (`None`: it is honest again). Its state machine stays
    /// honest; what it sends lies.
    Byzantine { byzantine: Option<Byzantine> },
    /// The node's datagram `id` was twisted by its Byzantine behaviour.
    Lie { how: Behaviour, id: u64 },
    /// A stream of the node is open: `outgoing` when the node opened it (it is connected),
    /// else it accepted it. Its messages are traced as `send` and `deliver`.
    StreamOpen {
        stream: StreamId,
        peer: NodeId,
        outgoing: bool,
    },
    /// A stream of the node ended: `reason` says why (refused, broken, closed by the peer),
    /// `None` when the node closed it itself.
    StreamClose {
        stream: StreamId,
        peer: NodeId,
        reason: Option<CloseReason>,
    },
    /// A fault resolved at run time (named `@leader`, repeated, or waiting for a condition)
    /// acts now on these nodes: one group for a crash or a restart, the groups of a
    /// partition (the unlisted rest not among them), `[from, to]` of a one-way cut. `fault`
    /// is its index among the scenario's faults. Recorded before what it does.
    Resolved {
        fault: u32,
        groups: Vec<Vec<NodeId>>,
    },
    /// A run-time fault's turn did nothing: its condition did not hold, or no node matched.
    Skipped { fault: u32, reason: String },
    /// A network window opened or closed: `windows` are open now (0: the network is as the
    /// scenario's `[network]` says).
    Network { windows: u32 },
    /// The node is paused: alive, but nothing it receives and none of its timers is handled
    /// until it resumes, and it sends nothing.
    Pause,
    /// The paused node runs again, first handling what waited.
    Resume,
    /// The harness handed the node `count` commands to propose (a `submit` step), numbered
    /// `first..first + count` among the run's submitted commands.
    Submit { first: u64, count: u32 },
}

impl<E> Ev<E> {
    /// Datagrams and timers: the bulk of a trace, which most checks do not look at.
    pub fn is_traffic(&self) -> bool {
        matches!(
            self,
            Ev::Send { .. }
                | Ev::Deliver { .. }
                | Ev::Drop { .. }
                | Ev::Corrupt { .. }
                | Ev::Timer { .. }
                | Ev::Lie { .. }
        )
    }
}

impl<E> Ev<E> {
    /// This record for a trace of another event type: the runtime's events as they are, a
    /// protocol event through `pick` (None: it has no counterpart there). Lets a protocol
    /// that embeds another judge the embedded one with that one's checks.
    pub fn embedded<F>(&self, pick: impl FnOnce(&E) -> Option<F>) -> Option<Ev<F>> {
        Some(match self {
            Ev::Proto { event } => Ev::Proto {
                event: pick(event)?,
            },
            Ev::Send { to, id, label } => Ev::Send {
                to: *to,
                id: *id,
                label: label.clone(),
            },
            Ev::Deliver { from, id, label } => Ev::Deliver {
                from: *from,
                id: *id,
                label: label.clone(),
            },
            Ev::Drop {
                from,
                to,
                id,
                label,
                reason,
            } => Ev::Drop {
                from: *from,
                to: *to,
                id: *id,
                label: label.clone(),
                reason: *reason,
            },
            Ev::Corrupt { bytes } => Ev::Corrupt { bytes: *bytes },
            Ev::Timer { timer } => Ev::Timer { timer: *timer },
            Ev::Crash => Ev::Crash,
            Ev::Restart => Ev::Restart,
            Ev::Partition { links } => Ev::Partition {
                links: links.clone(),
            },
            Ev::Heal { links } => Ev::Heal {
                links: links.clone(),
            },
            Ev::Loss { rate } => Ev::Loss { rate: *rate },
            Ev::Role { role } => Ev::Role { role: role.clone() },
            Ev::ElectionStarted => Ev::ElectionStarted,
            Ev::Leader { leader } => Ev::Leader { leader: *leader },
            Ev::Byzantine { byzantine } => Ev::Byzantine {
                byzantine: *byzantine,
            },
            Ev::Lie { how, id } => Ev::Lie { how: *how, id: *id },
            Ev::StreamOpen {
                stream,
                peer,
                outgoing,
            } => Ev::StreamOpen {
                stream: *stream,
                peer: *peer,
                outgoing: *outgoing,
            },
            Ev::StreamClose {
                stream,
                peer,
                reason,
            } => Ev::StreamClose {
                stream: *stream,
                peer: *peer,
                reason: *reason,
            },
            Ev::Resolved { fault, groups } => Ev::Resolved {
                fault: *fault,
                groups: groups.clone(),
            },
            Ev::Skipped { fault, reason } => Ev::Skipped {
                fault: *fault,
                reason: reason.clone(),
            },
            Ev::Network { windows } => Ev::Network { windows: *windows },
            Ev::Pause => Ev::Pause,
            Ev::Resume => Ev::Resume,
            Ev::Submit { first, count } => Ev::Submit {
                first: *first,
                count: *count,
            },
        })
    }
}

impl<E> From<Note<E>> for Ev<E> {
    /// The record of what a node reported.
    fn from(note: Note<E>) -> Self {
        match note {
            Note::Role(role) => Ev::Role { role },
            Note::ElectionStarted => Ev::ElectionStarted,
            Note::Leader(leader) => Ev::Leader { leader },
            Note::Proto(event) => Ev::Proto { event },
        }
    }
}

/// One line of the trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record<E> {
    /// Microseconds since the run started.
    pub t: u64,
    /// The node the event happened at ([`WORLD`] for network-wide events).
    pub node: NodeId,
    /// What happened.
    #[serde(flatten)]
    pub ev: Ev<E>,
}

/// The first line of a trace file: what the numbers in the records mean.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// faultline's version.
    pub faultline: String,
    /// The protocol that ran.
    pub protocol: String,
    /// The scenario's name.
    pub scenario: String,
    /// The seed (0 for a real run).
    pub seed: u64,
    /// Node names, indexed by [`NodeId`].
    pub nodes: Vec<String>,
}

/// Digest input gathered before it is hashed.
const DIGEST_CHUNK_BYTES: usize = 16 * 1024;

/// A run's trace as the world keeps it: its digest, computed as records arrive, and their
/// count. The records themselves go to a [`RecordSink`] and are not kept, so a run's memory
/// does not grow with its length.
pub struct Trace {
    /// XXH3: the digest tells runs apart and guards against no adversary; BLAKE3 took
    /// about 3% of a Raft run's instructions.
    hasher: xxhash_rust::xxh3::Xxh3Default,
    /// Digest input not yet hashed: the hash is faster fed in large pieces than record by
    /// record, and the digest is the same either way.
    pending: Vec<u8>,
    /// Records folded in so far.
    records: u64,
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
    }
}

impl Trace {
    /// The trace of nothing yet.
    pub fn new() -> Self {
        Trace {
            hasher: xxhash_rust::xxh3::Xxh3Default::new(),
            pending: Vec::with_capacity(DIGEST_CHUNK_BYTES + 256),
            records: 0,
        }
    }

    /// Folds a record into the digest.
    pub fn push<E: ProtoEvent>(&mut self, rec: &Record<E>) {
        digest_bytes(rec, &mut self.pending);
        self.records += 1;
        if self.pending.len() >= DIGEST_CHUNK_BYTES {
            self.hasher.update(&self.pending);
            self.pending.clear();
        }
    }

    /// Records folded in so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The digest of everything pushed so far: 16 hex digits.
    pub fn digest(&self) -> String {
        let mut hasher = self.hasher.clone();
        hasher.update(&self.pending);
        format!("{:016x}", hasher.digest())
    }
}

/// A stable binary form of a record for the digest. Network events take the fast path;
/// the rare protocol events go through postcard.
fn digest_bytes<E: ProtoEvent>(rec: &Record<E>, out: &mut Vec<u8>) {
    out.extend_from_slice(&rec.t.to_le_bytes());
    out.extend_from_slice(&rec.node.0.to_le_bytes());
    match &rec.ev {
        Ev::Send { to, id, label } => {
            out.push(1);
            out.extend_from_slice(&to.map_or(u16::MAX - 1, |n| n.0).to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(label.as_bytes());
        }
        Ev::Deliver { from, id, .. } => {
            out.push(2);
            out.extend_from_slice(&from.0.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
        }
        Ev::Drop {
            from,
            to,
            id,
            reason,
            ..
        } => {
            out.push(3);
            out.extend_from_slice(&from.0.to_le_bytes());
            out.extend_from_slice(&to.0.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.push(*reason as u8);
        }
        Ev::Timer { timer } => {
            out.push(4);
            out.extend_from_slice(&timer.to_le_bytes());
        }
        other => {
            out.push(5);
            // Encoding a value we built ourselves cannot fail short of allocation failure.
            let mark = out.len();
            if postcard::to_io(other, &mut *out).is_err() {
                out.truncate(mark);
            }
        }
    }
}

/// Reads a trace file written by [`JsonlWriter`] or by a real node.
pub fn read_jsonl<E: ProtoEvent>(text: &str) -> Result<(Header, Vec<Record<E>>), String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines.next().ok_or("empty trace: no header line")?;
    let header: Header =
        serde_json::from_str(first).map_err(|e| format!("line 1: bad header: {e}"))?;
    let mut records = Vec::new();
    for (i, line) in lines {
        let rec = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        records.push(rec);
    }
    Ok((header, records))
}
