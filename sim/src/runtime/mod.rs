//! The one driver that runs a node in either world, and what it needs in both: its alarm,
//! the wire format of a datagram, sender authentication, and the transport seam (the only
//! place the two flavors differ, behind one cfg).

pub(crate) mod alarm;
pub mod auth;
pub mod driver;
pub mod node_clock;
pub mod submits;
pub mod transport;
pub mod wire;
