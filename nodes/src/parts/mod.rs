//! Parts shared by protocols: sans-IO components a host protocol feeds with what it hears
//! and the time, and whose messages and decisions it carries out through its own `Cx`. Each
//! has its own message type (when it talks), which the host wraps in its own.

pub mod bully_election;
pub mod failure_detector;
pub mod membership;
