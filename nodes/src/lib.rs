//! The protocols faultline tests: sans-IO state machines built on `faultline_sim::Node`.

pub mod bully;
pub mod cache;
pub mod overlay;
pub mod parts;
pub mod primes;
pub mod raft;
pub mod tsp;
