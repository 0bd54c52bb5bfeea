//! The request overlay (seed 002): six processes on two hosts — a leader, team leaders of
//! the green and pink teams, workers — read from one topology file. Clients send requests
//! to the leader, which queues up to `queue_max` of them (answering "busy" at once past
//! that) and routes each by team to a team leader, which hands it to a worker; the answer
//! goes back along the request's hop path. A request never revisits a process, never goes
//! past the hop bound, and never waits past its deadline. `GetMetrics` on any process
//! returns its queue length, requests in flight, counts and latency quantiles.

mod bugs;
mod checks;
mod client;
mod config;
mod event;
mod facts;
mod grpc;
mod metrics;
mod msg;
mod process;
mod protocol;
mod topology;

#[cfg(test)]
mod checks_tests;
#[cfg(test)]
mod tests;

pub use bugs::Bugs;
pub use checks::{checks, BusyOnlyWhenFull, ExactlyOneAnswer, HopsBounded, NoUnreportedLateAnswer};
pub use client::{Client, ClientTimer};
pub use config::{OverlayConfig, Workload, PATH_LEN_MAX};
pub use event::Event;
pub use grpc::GrpcEndpoint;
pub use metrics::quantile;
pub use msg::{Key, Metrics, Msg, Outcome};
pub use process::{Process, ProcessTimer};
pub use protocol::Overlay;
pub use topology::{Place, ProcessEntry, Topology};
