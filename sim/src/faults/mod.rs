//! Faults: the nemesis that decides each datagram's fate (partitions, loss, noise), the
//! per-link seeded draws behind it, Byzantine senders, the drop rules real nodes follow,
//! random fault schedules (swarm testing) and the shrinking of a failing schedule.

pub mod byzantine;
pub mod drop_rules;
pub(crate) mod link_draws;
pub mod nemesis;
pub mod shrink;
pub mod swarm;
