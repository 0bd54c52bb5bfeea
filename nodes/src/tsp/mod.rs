//! The distributed travelling-salesman solver (issue #17): a client submits a problem
//! (a TSPLIB file, or generated from a seed); the active coordinator replica splits the
//! exact search into subproblems (fixed tour prefixes), hands them to workers that search
//! them by branch and bound, counts their results and returns the optimal tour.
//!
//! Coordinator replicas elect the active one with the shared bully election and replicate
//! its ledger (problem, counted results, best tour), so a failover continues the solve
//! without starting over; Ricart-Agrawala among the replicas guards every write of the
//! shared ledger and best tour; every message carries a Lamport timestamp. See
//! `docs/tsp.md`.

mod bugs;
mod chart;
mod checks;
mod client;
mod config;
mod coordinator;
mod details;
mod event;
mod held_karp;
mod instance;
mod ledger;
mod msg;
mod protocol;
mod search;
mod tsplib;
mod worker;

#[cfg(test)]
mod tests;

pub use bugs::Bugs;
pub use checks::{checks, TourIsOptimal};
pub use client::{Client, ClientTimer};
pub use config::{ChecksConfig, Strategy, TspConfig, Workload};
pub use coordinator::{Coordinator, CoordinatorTimer};
pub use details::TspFacts;
pub use event::{Event, RESOURCE};
pub use held_karp::{held_karp, HELD_KARP_CITIES_MAX};
pub use instance::{Instance, Tour, CITIES_MAX};
pub use ledger::{Ledger, Problem};
pub use msg::{Body, Msg};
pub use protocol::Tsp;
pub use search::{prefixes, search, solve, start_tour, Bounds, Found, Search};
pub use tsplib::{load, parse};
pub use worker::{Worker, WorkerTimer};
