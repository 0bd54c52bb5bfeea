//! A coherent cache in front of the Raft store: cache nodes keep bounded LRU caches of the
//! store's keys, coherent by a directory (MESI by default, MOSI or MOESI by configuration)
//! kept at each key's home, chosen by consistent hashing with virtual nodes. Writes go
//! through to Raft before they are acknowledged. The store is Raft's own replica, embedded
//! as is.

mod bugs;
mod cache_node;
mod chart;
mod checks;
mod client;
mod config;
mod details;
mod directory;
mod event;
mod lines;
mod membership;
mod msg;
mod one_shot;
mod protocol;
mod replica;
mod ring;
mod store;

#[cfg(test)]
mod tests;

pub use bugs::Bugs;
pub use cache_node::{CacheNode, CacheTimer};
pub use client::{Client, ClientTimer};
pub use config::{CacheConfig, ChecksConfig, Coherence, Workload};
pub use event::{Event, Why};
pub use msg::{Answer, Msg, St, Stamp};
pub use one_shot::{CacheOp, OneShot, OneShotTimer};
pub use protocol::Cache;
pub use replica::StoreReplica;
