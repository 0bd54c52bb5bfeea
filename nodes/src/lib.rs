//! The protocols faultline tests: sans-IO state machines built on `faultline_sim::Node`.

pub mod bully;
pub mod cache;
pub mod parts;
pub mod raft;
