//! faultline's runtime: the node API, the one driver that runs a node in the simulator or over
//! real sockets, scenarios, traces and the checkers framework.

pub mod check;
pub mod node;
pub mod trace;

pub use check::{Check, Cluster, Verdict};
pub use node::{Action, BoxNode, Cx, Durable, Effects, Message, Node, NodeId, Note, ProtoEvent, TimerId};
pub use trace::{DropReason, Ev, Header, Record, Trace, WORLD};
pub use rand_chacha::ChaCha8Rng;
