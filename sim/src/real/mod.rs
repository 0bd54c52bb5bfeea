//! Real processes (the plain build): a node over real sockets (UDP and IP multicast, TCP, TCP
//! streams), its durable journal and trace file.

pub(crate) mod connections;
pub(crate) mod datagram;
pub(crate) mod journal;
pub mod process;
pub(crate) mod tcp;
pub mod transport;
