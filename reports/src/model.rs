//! The input of the timeline renderer: what happened to which node, and when.
//!
//! Every time is in milliseconds of simulated time since the start of the run.
//! The renderer tolerates garbage (NaN, negative times, spans past the end,
//! lane indices out of range): it clamps or skips rather than panicking, so a
//! half-broken trace still produces a picture.

pub use faultline_sim::protocol::chart::Hue;
pub use faultline_sim::Tone;
use serde::{Deserialize, Serialize};

/// Everything drawn on one timeline picture of one simulated run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Headline, e.g. "bully / leader-crash — seed 7 — digest 3fa2…".
    pub title: String,
    /// Length of the run in ms; the time axis spans 0..end_ms.
    pub end_ms: f64,
    /// Node names, one horizontal lane each, drawn top to bottom.
    pub lanes: Vec<String>,
    /// What role each node held over which period.
    pub roles: Vec<RoleSpan>,
    /// Periods during which a node was crashed.
    pub down: Vec<LaneSpan>,
    /// Network partitions, drawn as bands over all lanes.
    pub partitions: Vec<Span>,
    /// Message-loss faults, drawn as bands over all lanes.
    pub loss: Vec<Span>,
    /// Messages to draw as arrows; may be a sample of the run's traffic.
    pub messages: Vec<Arrow>,
    /// Point events on a lane: crashes, restarts, election milestones, notes.
    pub marks: Vec<Mark>,
    /// Elections, drawn as brackets in an annotation row above the lanes.
    pub elections: Vec<Interval>,
    /// Recoveries (crash until service is back), drawn in their own annotation row.
    pub recoveries: Vec<Interval>,
    /// How many messages the whole run had, for the "showing N of M" note.
    pub messages_total: u64,
    /// Leaders' terms, drawn as a band of numbered segments above the lanes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<TermSpan>,
    /// A counter of progress (Raft: the commit index), drawn as a step line under the lanes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// Client operations, drawn as ticks on their clients' lanes, coloured by outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<OpMark>,
    /// Every message counted per sender lane and time bucket, drawn as a density strip, so
    /// the traffic that is not drawn as arrows still shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// Messages per label over the whole run (one per receiver, delivered or dropped, as
    /// arrows are), when `messages` is a sample; the legend shows these counts. Empty: count
    /// the arrows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_counts: Vec<(String, u64)>,
    /// How many point events the run had; `marks` may be a sample of them.
    #[serde(default)]
    pub marks_total: u64,
    /// The first violation of a failing run: marked across the lanes, and zoomed into in an
    /// inset under the picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violation: Option<Violation>,
    /// Client operations from invocation to return (a sample), drawn as strokes on their
    /// clients' lanes: a chat sent and acknowledged, a request and its reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub op_spans: Vec<OpSpan>,
    /// Where client operations' effects were seen (a chat delivered; a sample), drawn as dots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    /// What nodes held over time (tasks, critical sections, cache lines), drawn as thin bars
    /// in rows of their lanes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work: Vec<WorkBar>,
    /// Frequent point events (invalidations, refusals), drawn as ticks on their lanes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ticks: Vec<Tick>,
}

/// Something a node held over a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkBar {
    /// The node's lane.
    pub lane: usize,
    /// The row within the lane, from 0.
    pub row: u8,
    /// From, in ms.
    pub from_ms: f64,
    /// To, in ms.
    pub to_ms: f64,
    /// A short name written in it when it fits.
    pub text: String,
    /// Its colour.
    pub hue: Hue,
}

/// A frequent point event on a lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// The node's lane.
    pub lane: usize,
    /// When, in ms.
    pub at_ms: f64,
    /// Its colour.
    pub hue: Hue,
}

/// The violation that failed a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// When it happened (or was found), in ms.
    pub at_ms: f64,
    /// The node it names first, if any.
    pub lane: Option<usize>,
    /// The check that found it.
    pub check: String,
    /// What the check said.
    pub detail: String,
}

/// One client operation from invocation to return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpSpan {
    /// The client's lane.
    pub lane: usize,
    /// When it was invoked, in ms.
    pub invoked_ms: f64,
    /// When it returned, in ms.
    pub returned_ms: f64,
    /// How it ended.
    pub outcome: OpOutcome,
}

/// A client operation's effect seen by a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// The lane that saw it.
    pub lane: usize,
    /// When, in ms.
    pub at_ms: f64,
}

/// Messages counted per sender lane and per time bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Traffic {
    /// Width of one bucket in ms; bucket `i` covers `i * bucket_ms .. (i + 1) * bucket_ms`.
    pub bucket_ms: f64,
    /// Per lane, the messages it sent in each bucket.
    pub sent: Vec<Vec<u64>>,
}

/// One leader's tenure in one term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TermSpan {
    /// The term's number.
    pub term: u64,
    /// The leader's lane.
    pub lane: usize,
    /// When it became leader, in ms.
    pub from_ms: f64,
    /// When it stopped leading, in ms.
    pub to_ms: f64,
}

/// A named counter over time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// What it counts, e.g. "commit index".
    pub name: String,
    /// (ms, value) at each change, in time order.
    pub points: Vec<(f64, f64)>,
}

/// One client operation, at the moment its outcome was known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpMark {
    /// The client's lane.
    pub lane: usize,
    /// When it returned, in ms.
    pub at_ms: f64,
    /// How it ended; picks the colour.
    pub outcome: OpOutcome,
}

/// How a client operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpOutcome {
    /// It took effect.
    Ok,
    /// The service refused it.
    Fail,
    /// No answer in time: it may or may not have taken effect.
    Unknown,
}

/// A period during which one node held one role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSpan {
    /// Index into `Timeline::lanes`.
    pub lane: usize,
    /// Start of the period in ms.
    pub from_ms: f64,
    /// End of the period in ms.
    pub to_ms: f64,
    /// Role name, as the protocol reported it ("leader", "primary", "worker").
    pub role: String,
    /// How the protocol says to draw it (lead, follow, contend, work, client); none: grey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<Tone>,
}

/// A period on one lane, e.g. while the node was crashed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaneSpan {
    /// Index into `Timeline::lanes`.
    pub lane: usize,
    /// Start of the period in ms.
    pub from_ms: f64,
    /// End of the period in ms.
    pub to_ms: f64,
}

/// A labelled period that concerns the whole cluster, e.g. a partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Start of the period in ms.
    pub from_ms: f64,
    /// End of the period in ms.
    pub to_ms: f64,
    /// Text shown at the top of the band, e.g. "s1,s2 | s3,s4,s5" or "10% loss".
    pub label: String,
}

/// One message, drawn from sender lane at send time to receiver lane at receive time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arrow {
    /// Index of the sender's lane.
    pub from_lane: usize,
    /// Index of the receiver's lane.
    pub to_lane: usize,
    /// When the message was sent, in ms.
    pub sent_ms: f64,
    /// When it was (or would have been) received, in ms.
    pub recv_ms: f64,
    /// Message kind, e.g. "HEARTBEAT", "ELECTION", "OK", "COORD"; picks the colour.
    pub label: String,
    /// True if the network dropped it; drawn dashed, ending in a cross halfway.
    pub dropped: bool,
    /// True if it belongs to an election (the protocol's message kinds say so): such
    /// arrows are always drawn, whatever else is thinned.
    #[serde(default)]
    pub election: bool,
}

/// A point event on one lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Index into `Timeline::lanes`.
    pub lane: usize,
    /// When it happened, in ms.
    pub at_ms: f64,
    /// What kind of event it is; picks the symbol and colour.
    pub kind: MarkKind,
    /// Text written next to the symbol; empty means a default per kind.
    pub text: String,
}

/// The kinds of point events, each with its own symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MarkKind {
    /// The node crashed (red cross).
    Crash,
    /// The node came back (green triangle).
    Restart,
    /// The node started an election (purple diamond).
    ElectionStarted,
    /// The node became leader (orange disc).
    Elected,
    /// Anything else worth pointing at (dark dot).
    Note,
}

/// A labelled period drawn in an annotation row, e.g. an election or a recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Start of the period in ms.
    pub from_ms: f64,
    /// End of the period in ms.
    pub to_ms: f64,
    /// The lane the interval ended on, e.g. the election's winner, if any.
    pub lane: Option<usize>,
    /// Text next to the bracket, e.g. "election 412 ms → s4".
    pub text: String,
}
