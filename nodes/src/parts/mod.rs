//! Parts shared by the protocols: small sans-IO components, each independent of any one
//! protocol. A part is a plain struct whose methods take an input and return what to send
//! (`(NodeId, PartMsg)` pairs the host wraps into its own message enum) and what happened
//! (facts the host may emit as trace events). None needs a `Cx`.

pub mod chandy_lamport;
pub mod lamport_clock;
pub mod ricart_agrawala;
