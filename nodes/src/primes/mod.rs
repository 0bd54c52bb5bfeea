//! The primes farm (issue 16): a coordinator turns datasets of integers into tasks and hands
//! them to workers over streams; workers read the datasets through a cached client of a
//! primary-backup file service (bully-elected primary, AFS-style callbacks), test each number
//! with a deterministic Miller-Rabin and report the primes; a dead worker's task goes back to
//! the front of the queue; the coordinator's output is durable and deduplicated; and
//! Chandy-Lamport snapshots over the worker streams are taken periodically and checked as
//! consistent cuts.

mod bugs;
mod checks;
mod client;
mod config;
mod coordinator;
mod dataset;
mod details;
mod event;
mod file_client;
mod file_server;
mod msg;
mod output;
pub mod primality;
mod protocol;
mod snapshot;
mod snapshot_requests;
mod worker;

#[cfg(test)]
mod tests;

pub use bugs::Bugs;
pub use checks::{checks, FarmOutput, SnapshotCut};
pub use client::{Client, ClientTimer};
pub use config::{PrimesConfig, DATASET_NUMBERS_MAX};
pub use coordinator::{CoordTimer, Coordinator, KEY_SNAPSHOT};
pub use dataset::{generate, parse, Dataset, DatasetSpec};
pub use event::{task_fact, Event};
pub use file_server::{FileServer, FsTimer};
pub use msg::{Msg, PartState, SnapshotReport, Task};
pub use output::{parse_output, OUTPUT_FILE};
pub use protocol::{tasks_of, Primes, Workload};
pub use snapshot_requests::SnapshotRequests;
pub use worker::{Worker, WorkerTimer};
