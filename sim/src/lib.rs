//! faultline's runtime: the node API, the one driver that runs a node in the simulator or over
//! real sockets, scenarios, traces and the checkers framework.

pub mod alarm;
pub mod auth;
pub mod byzantine;
pub mod chart;
pub mod check;
pub mod driver;
pub mod drop_rules;
pub mod fuzz;
#[cfg(madsim)]
pub mod invariant;
#[cfg(not(madsim))]
pub mod journal;
pub mod linearizability;
pub mod link_draws;
pub mod nemesis;
#[cfg(madsim)]
pub mod network;
pub mod node;
pub mod planted;
#[cfg(not(madsim))]
pub mod process;
pub mod protocol;
pub mod scenario;
pub mod shrink;
pub mod stream;
#[cfg(madsim)]
pub mod stream_wire;
pub mod swarm;
pub mod testkit;
pub mod timers;
pub mod trace;
pub mod transport;
#[cfg(madsim)]
pub mod wakeups;
pub mod wire;
#[cfg(madsim)]
pub mod world;

pub use chart::Chart;
pub use check::{Check, Cluster, Verdict};
pub use node::{
    kind_of, Action, AnyNode, BoxNode, Cx, Durable, Effects, Message, MsgKind, Node, NodeId, Note,
    ProtoEvent, Timer, TimerId,
};
pub use protocol::{Bug, Protocol, Role, Setup, Tone, SERVERS_AND_CLIENTS, STANDARD_STATES};
pub use rand_chacha::ChaCha8Rng;
pub use scenario::{InputError, Scenario, Source};
pub use stream::{CloseReason, StreamEvent, StreamId};
pub use timers::NoTimer;
pub use trace::{DropReason, Ev, Header, Record, Trace, WORLD};
