//! Parts shared by the protocols: small sans-IO components, each independent of any one
//! protocol. A part is a plain struct whose methods take an input (what the host heard, the
//! time) and return what to send (its own message type, which the host wraps in its own)
//! and what happened (facts the host may emit as trace events). None needs a `Cx`.

pub mod bully_election;
pub mod chandy_lamport;
pub mod failure_detector;
pub mod lamport_clock;
pub mod membership;
pub mod ricart_agrawala;
