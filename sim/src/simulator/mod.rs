//! The simulated world (sim flavor only, `--cfg madsim`): one madsim node per protocol node,
//! faultline's own simulated network of datagrams and streams, and the fault schedule applied
//! on simulated time.

pub mod invariant;
pub(crate) mod network;
pub(crate) mod stream_wire;
pub(crate) mod wakeups;
pub mod world;
