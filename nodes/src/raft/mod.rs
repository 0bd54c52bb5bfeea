//! Raft: a replicated log (leader election with randomised timeouts, log replication with
//! fast back-off, commit of the leader's own term, snapshots and InstallSnapshot) under a
//! replicated state machine of kv store, locks with leases and deadlock detection, and
//! queues with visibility timeouts, behind exactly-once client sessions.
//!
//! Membership is static: every replica knows the server list from its configuration. The
//! runtime builds nodes with [`Replica::new`] / [`Client::new`] (or [`Raft`] as a whole)
//! and checks with [`checks`].

mod bugs;
mod catch_up;
mod chart;
mod checks;
mod client;
mod codec;
mod config;
mod details;
mod election;
mod event;
mod failover;
mod hash;
mod kv;
mod kv_check;
mod kv_history;
mod lies;
mod liveness;
mod lock_check;
mod locks;
mod log;
mod mirror;
mod msg;
mod one_shot;
mod op;
mod protocol;
mod queue;
mod queue_check;
mod replica;
mod replication;
mod serve;
mod session;
mod snapshot;
mod state_machine;
mod traffic_budget;

#[cfg(test)]
mod checks_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod harness_tests;
#[cfg(test)]
mod tests;

pub use bugs::Bugs;
pub use checks::{checks, safety_checks, ChecksConfig};
pub use client::{Client, ClientTimer};
pub use config::{
    Mix, RaftConfig, Workload, ENTRIES_PER_APPEND_MAX, LOG_ENTRIES_MAX, NAME_BYTES_MAX,
    SNAPSHOT_BYTES_MAX, VALUE_BYTES_MAX,
};
pub use event::Event;
pub use msg::{Entry, Msg, Payload};
pub use one_shot::{OneShot, OneShotTimer};
pub use op::{LockMode, Op, Outcome, Refusal, Value};
pub use protocol::Raft;
pub use replica::{Replica, ReplicaTimer};
