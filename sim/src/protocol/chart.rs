//! What a protocol adds to its run's timeline beyond what the runtime sees (roles, crashes,
//! messages): its terms and their leaders, a counter that shows progress, and its clients'
//! operations. Plain data in trace time, for the report to draw.

use crate::node::NodeId;

/// A protocol's extra facts about one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chart {
    /// Each leader's tenure, in the order they began.
    pub tenures: Vec<Tenure>,
    /// A counter that should rise while the system makes progress (Raft: the commit index).
    pub progress: Option<Progress>,
    /// Every client operation that returned, in the order they returned.
    pub ops: Vec<ClientOp>,
}

/// One node leading one term (or epoch).
#[derive(Clone, Debug, PartialEq)]
pub struct Tenure {
    /// The term.
    pub term: u64,
    /// The leader.
    pub leader: NodeId,
    /// When it became leader, in µs.
    pub from_us: u64,
    /// When it stopped leading (stepped down or crashed); None: still leading at the end.
    pub to_us: Option<u64>,
}

/// A named counter over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// What it counts, e.g. "commit index".
    pub name: String,
    /// (µs, value) at each rise, in time order.
    pub points: Vec<(u64, u64)>,
}

/// A client operation that returned.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOp {
    /// The client.
    pub node: NodeId,
    /// When it was invoked, in µs, if the trace still holds the invocation.
    pub invoked_us: Option<u64>,
    /// When its outcome was known (or the client gave up), in µs.
    pub returned_us: u64,
    /// How it ended.
    pub outcome: OpOutcome,
}

/// How a client operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpOutcome {
    /// It took effect.
    Ok,
    /// The service refused it.
    Fail,
    /// No answer in time: it may or may not have taken effect.
    Unknown,
}
