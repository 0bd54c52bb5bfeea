//! Faults: the nemesis that decides each datagram's fate (partitions, loss, noise), the
//! per-link seeded draws behind it, Byzantine senders, the drop rules real nodes follow,
//! random fault schedules (swarm testing), the shrinking of a failing schedule, and the
//! injector that carries a schedule out (composing cuts, resolving `@leader` at run time).

pub mod byzantine;
pub mod drop_rules;
pub mod injector;
pub(crate) mod link_draws;
pub mod links;
pub mod nemesis;
pub mod net_rules;
pub mod shrink;
pub mod swarm;
pub mod target;
