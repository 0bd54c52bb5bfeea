//! What travels between the overlay's processes and its clients.

use faultline_sim::{Message, MsgKind, NodeId};
use serde::{Deserialize, Serialize};

/// A request's identity in the whole overlay: its client and the client's number for it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// The client that asked.
    pub client: NodeId,
    /// The client's own number for it, counting from 1.
    pub seq: u64,
}

/// How a request ended, as the overlay answers it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A worker processed it.
    Done {
        /// The worker.
        worker: NodeId,
    },
    /// The leader's queue was full: refused at once.
    Busy,
    /// A process already handled as many requests as it may at once.
    Overloaded,
    /// No live process could take it further (its team leader and every alternative down):
    /// refused at once rather than left waiting.
    NoRoute,
    /// Its deadline passed before it was processed.
    Deadline,
    /// It would have revisited a process or gone past the hop bound.
    HopRefused,
}

impl Outcome {
    /// Its name in summaries and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Done { .. } => "done",
            Outcome::Busy => "busy",
            Outcome::Overloaded => "overloaded",
            Outcome::NoRoute => "no_route",
            Outcome::Deadline => "deadline",
            Outcome::HopRefused => "hop_refused",
        }
    }
}

/// What a process tells about itself: `GetMetrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// Requests waiting in its queue (only the leader queues).
    pub queue_len: u32,
    /// Requests it has taken and not answered yet.
    pub inflight: u32,
    /// Requests it answered with a result.
    pub processed: u64,
    /// Requests it refused (busy, overloaded, no route, hop refused, deadline).
    pub refused: u64,
    /// Median latency of the requests it answered, in µs.
    pub p50_us: u64,
    /// 90th percentile latency, in µs.
    pub p90_us: u64,
    /// 99th percentile latency, in µs.
    pub p99_us: u64,
}

/// A message of the overlay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Msg {
    /// A client asks the leader to have a request of team `team` processed; resent until
    /// answered. `deadline_ms` is what is left of the client's deadline.
    Request {
        /// The client's number for it.
        seq: u64,
        /// The team that should process it (an index into the topology's teams).
        team: u16,
        /// Milliseconds left before the client stops waiting.
        deadline_ms: u32,
    },
    /// The leader's one answer to a request (resent if the client asks again).
    Reply {
        /// The client's number for it.
        seq: u64,
        /// How it ended.
        outcome: Outcome,
        /// The processes it visited, in order.
        path: Vec<NodeId>,
    },
    /// A request handed one hop further; resent until answered.
    Forward {
        /// The request.
        key: Key,
        /// Its team.
        team: u16,
        /// Milliseconds left of its deadline.
        remaining_ms: u32,
        /// The processes it visited so far, the sender last.
        path: Vec<NodeId>,
    },
    /// The answer to a forwarded request, going back along its path.
    Answer {
        /// The request.
        key: Key,
        /// How it ended.
        outcome: Outcome,
        /// The processes it visited, in order.
        path: Vec<NodeId>,
        /// The receiver's place in `path`: an answer goes back one index at a time, so a
        /// path that visits a process twice (a planted bug) still unwinds.
        hop: u32,
    },
    /// Are you there? (between neighbours)
    Ping,
    /// Yes.
    Pong,
    /// `GetMetrics`: a client asks any process for its numbers.
    GetMetrics {
        /// The client's number for the question.
        seq: u64,
    },
    /// The numbers.
    MetricsReply {
        /// The question answered.
        seq: u64,
        /// The process's numbers.
        metrics: Metrics,
    },
}

impl Message for Msg {
    const KINDS: &'static [(&'static str, MsgKind)] = &[
        ("REQUEST", MsgKind::Client),
        ("REPLY", MsgKind::Client),
        ("FORWARD", MsgKind::Task),
        ("ANSWER", MsgKind::Task),
        ("PING", MsgKind::Heartbeat),
        ("PONG", MsgKind::Heartbeat),
        ("GET_METRICS", MsgKind::Client),
        ("METRICS", MsgKind::Client),
    ];

    fn label(&self) -> &'static str {
        match self {
            Msg::Request { .. } => "REQUEST",
            Msg::Reply { .. } => "REPLY",
            Msg::Forward { .. } => "FORWARD",
            Msg::Answer { .. } => "ANSWER",
            Msg::Ping => "PING",
            Msg::Pong => "PONG",
            Msg::GetMetrics { .. } => "GET_METRICS",
            Msg::MetricsReply { .. } => "METRICS",
        }
    }
}
