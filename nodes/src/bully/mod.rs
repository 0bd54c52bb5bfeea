//! Bully: a multicast group of servers with discovery, a group view, heartbeats and bully
//! leader election, and chat clients whose messages are totally ordered through the leader
//! and reliably delivered.
//!
//! Every node knows only its own id, whether it is a server or a client, and the configured
//! number of servers; it learns the rest from multicast probes and heartbeats. The highest
//! live server leads. Under it, a Raft-like log (epochs, log matching, majority commit) keeps
//! every acknowledged chat through leader crashes and partitions: a new leader syncs with a
//! majority and takes the most up-to-date log before it serves.
//!
//! The runtime builds nodes with [`Server::new`] / [`ChatClient::new`] (or [`server`] /
//! [`client`] for boxed ones) and checks with [`checks`].

mod bugs;
mod chat_log;
mod checks;
mod client;
mod codec;
mod config;
mod election;
mod event;
mod lies;
mod msg;
mod protocol;
mod replication;
mod server;
mod view;

#[cfg(test)]
mod checks_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod harness_tests;
#[cfg(test)]
mod tests;

use faultline_sim::BoxNode;

pub use bugs::Bugs;
pub use checks::{checks, ChecksConfig};
pub use client::{ChatClient, ClientTimer};
pub use config::{
    BullyConfig, ChatWorkload, ENTRIES_PER_DATAGRAM_MAX, LOG_CHATS_MAX, LOG_ENTRIES_MAX,
    TEXT_BYTES_MAX,
};
pub use event::{Event, Refusal};
pub use msg::{Entry, Kind, Msg};
pub use protocol::Bully;
pub use server::{Server, ServerTimer};

/// A boxed server, for a world that holds servers and clients side by side.
pub fn server(cfg: BullyConfig) -> BoxNode<Msg, Event> {
    Box::new(Server::new(cfg))
}

/// A boxed chat client.
pub fn client(cfg: BullyConfig, work: ChatWorkload) -> BoxNode<Msg, Event> {
    Box::new(ChatClient::new(cfg, work))
}
