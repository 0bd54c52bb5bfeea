//! The bench's own protocol, `flood`: every node sends a 32-byte datagram to each peer every
//! 10 ms and does nothing else. It is the peers' workload (raw madsim, turmoil, the plain
//! event loop) run through all of faultline (driver, wire, network, trace, digest, summary),
//! so that a ratio to a peer compares the same work; and, with no protocol logic to grow
//! with the group, its cost per datagram at 64 or 256 nodes is the simulator's own.
//!
//! It is registered only by the bench, never by `Registry::builtin`.

use std::time::Duration;

use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{BoxNode, Check, Cx, Message, MsgKind, Node, NodeId, Protocol, Role, Setup};
use serde::{Deserialize, Serialize};

/// The protocol's name in the bench's scenarios.
pub(crate) const NAME: &str = "flood";

/// Simulated time between one node's rounds of sends (the peers' period).
const PERIOD: Duration = Duration::from_millis(10);

/// The one message: a payload as big as the peers' datagrams.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Ping {
    /// What a peer's datagram carries.
    payload: [u8; 32],
}

impl Message for Ping {
    const KINDS: &'static [(&'static str, MsgKind)] = &[("PING", MsgKind::Heartbeat)];
    fn label(&self) -> &'static str {
        "PING"
    }
}

faultline_sim::timers! {
    /// The node's one timer.
    pub(crate) enum FloodTimer {
        /// Send to every peer.
        Period = 1,
    }
}

/// A node: a timer and a multicast.
struct Flooder;

impl Node for Flooder {
    type Msg = Ping;
    type Event = ();
    type Timer = FloodTimer;

    fn on_start(&mut self, cx: &mut Cx<'_, Ping, (), FloodTimer>) {
        cx.set_timer(FloodTimer::Period, PERIOD);
    }

    fn on_message(&mut self, _: NodeId, _: Ping, _: &mut Cx<'_, Ping, (), FloodTimer>) {}

    fn on_timer(&mut self, timer: FloodTimer, cx: &mut Cx<'_, Ping, (), FloodTimer>) {
        match timer {
            FloodTimer::Period => {
                cx.multicast(Ping { payload: [7; 32] });
                cx.set_timer(FloodTimer::Period, PERIOD);
            }
        }
    }
}

/// The protocol: nodes only, no checks (a check's cost belongs to its protocol's figures).
pub(crate) struct Flood;

impl Protocol for Flood {
    type Msg = Ping;
    type Event = ();
    const NAME: &'static str = NAME;
    const ABOUT: &'static str = "the bench's workload: a datagram to each peer every 10 ms";
    const ROLES: &'static [Role] = &[Role {
        name: "server",
        count_key: "servers",
        prefix: "s",
        min: 1,
        fault_target: true,
        about: "sends to every peer every 10 ms",
    }];

    fn new(_: &Setup, _: &Source) -> Result<Flood, InputError> {
        Ok(Flood)
    }

    fn node(&self, _: NodeId) -> BoxNode<Ping, ()> {
        Box::new(Flooder)
    }

    fn checks(&self) -> Vec<Box<dyn Check<()> + Send>> {
        Vec::new()
    }
}

/// The scenario of `nodes` flooding nodes for `duration_ms`, latency 1 to 10 ms as the peers.
pub(crate) fn scenario(nodes: usize, duration_ms: u64) -> String {
    format!(
        "name = \"flood-{nodes}\"\nprotocol = \"{NAME}\"\nduration_ms = {duration_ms}\n\
         [nodes]\nservers = {nodes}\n[network]\nlatency_ms = [1, 10]\n"
    )
}
