//! faultline's runtime. A protocol is a [`Protocol`] whose [`Node`]s are sans-IO state
//! machines answering through a [`Cx`]; the one driver runs them in the simulator or over real
//! sockets, and [`Check`]s judge the trace.
//!
//! The folders, one concept each:
//! - `node/`: the node API (messages, timers, streams, the context a node answers through);
//! - `protocol/`: what a protocol tells the runtime (name, roles, bugs, chart);
//! - `runtime/`: the driver and what it needs in both flavors (wire format, authentication,
//!   the transport seam, the only place the flavors differ);
//! - `simulator/` (`--cfg madsim`): the simulated world and network;
//! - `real/` (plain build): real processes, sockets and journals;
//! - `faults/`: the nemesis, Byzantine senders, drop rules, random schedules, shrinking;
//! - `scenario/`: scenario files, input errors, the compiled fault schedule;
//! - `trace/`: the trace and its digest;
//! - `check/`: the checks framework and generic checks (linearizability, mutual exclusion,
//!   exactly-once, causality);
//! - `testkit/`: the one test world and bench for unit tests, and the fuzzer.

pub mod check;
pub mod faults;
pub mod node;
pub mod protocol;
#[cfg(not(madsim))]
pub mod real;
pub mod runtime;
pub mod scenario;
#[cfg(madsim)]
pub mod simulator;
pub mod testkit;
pub mod trace;

pub use check::{Check, Cluster, Fact, Verdict};
pub use node::stream::{CloseReason, StreamEvent, StreamId};
pub use node::timers::NoTimer;
pub use node::{
    kind_of, Action, AnyNode, BoxNode, Cx, Durable, Effects, Message, MsgKind, Node, NodeId, Note,
    ProtoEvent, Timer, TimerId,
};
pub use protocol::chart::Chart;
pub use protocol::{
    Bug, Protocol, Role, Setup, Tone, ViewFile, SERVERS_AND_CLIENTS, STANDARD_STATES,
};
pub use rand_chacha::ChaCha8Rng;
pub use scenario::{InputError, Scenario, Source};
pub use trace::{DropReason, Ev, Header, Record, Trace, WORLD};
