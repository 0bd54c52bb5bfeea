//! A node that breaks an invariant in the simulator (sim flavor: `cargo sim-test -p
//! faultline-sim --test invariant_sim`): its panic ends the run as a failed `invariant` check
//! with the message, the node and the time, and the trace up to it replays to one digest.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use faultline_sim::check::Check;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::simulator::invariant::INVARIANT;
use faultline_sim::simulator::world::{simulate_into, RunOutput};
use faultline_sim::{
    BoxNode, Cx, Ev, Message, Node, NodeId, Protocol, Record, Role, Scenario, Setup,
    SERVERS_AND_CLIENTS,
};
use serde::{Deserialize, Serialize};

/// The one message: a tick count.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Count(u64);

impl Message for Count {
    fn label(&self) -> &'static str {
        "COUNT"
    }
}

/// Node #1 counts ticks of node #0 and asserts that it never gets past `limit` of them.
struct Bounded {
    /// The last count node #1 accepts.
    limit: u64,
}

impl Protocol for Bounded {
    type Msg = Count;
    type Event = u64;
    const NAME: &'static str = "bounded";
    const ABOUT: &'static str = "a count that must stay under a limit";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    fn new(_: &Setup, src: &Source) -> Result<Bounded, InputError> {
        Err(src.error("protocol", "tests build it directly"))
    }
    fn node(&self, id: NodeId) -> BoxNode<Count, u64> {
        Box::new(BoundedNode {
            me: id,
            limit: self.limit,
            count: 0,
        })
    }
    fn checks(&self) -> Vec<Box<dyn Check<u64> + Send>> {
        Vec::new()
    }
}

/// One node of [`Bounded`].
struct BoundedNode {
    /// Its id.
    me: NodeId,
    /// The last count accepted.
    limit: u64,
    /// Ticks sent (node #0) or heard of (node #1).
    count: u64,
}

faultline_sim::timers! {
    /// Node #0's one timer.
    enum Tick {
        /// Send the next count.
        Next = 0,
    }
}

impl Node for BoundedNode {
    type Msg = Count;
    type Event = u64;
    type Timer = Tick;
    fn on_start(&mut self, cx: &mut Cx<'_, Count, u64, Tick>) {
        if self.me == NodeId(0) {
            cx.set_timer(Tick::Next, Duration::from_millis(10));
        }
    }
    fn on_message(&mut self, _from: NodeId, msg: Count, cx: &mut Cx<'_, Count, u64, Tick>) {
        assert!(
            msg.0 <= self.limit,
            "count {} past its limit {}",
            msg.0,
            self.limit
        );
        self.count = msg.0;
        cx.emit(msg.0);
    }
    fn on_timer(&mut self, _timer: Tick, cx: &mut Cx<'_, Count, u64, Tick>) {
        self.count += 1;
        cx.send(NodeId(1), Count(self.count));
        cx.set_timer(Tick::Next, Duration::from_millis(10));
    }
}

/// Two nodes for one simulated second, node #1 accepting counts up to `limit`.
fn run(limit: u64, seed: u64) -> RunOutput<Vec<Record<u64>>> {
    let text = "name = \"bounded\"\nprotocol = \"group\"\nduration_ms = 1000\n\
                [nodes]\nservers = 2\n[network]\nlatency_ms = [1, 5]\n";
    let scenario = Scenario::parse(
        "bounded.toml",
        text,
        &faultline_sim::scenario::ServersAndClients,
    )
    .unwrap();
    simulate_into(Arc::new(Bounded { limit }), &scenario, seed, Vec::new())
}

#[test]
fn a_broken_assertion_fails_the_invariant_check_with_its_message_node_and_time() {
    let out = run(20, 7);
    let broken = &out.verdicts[0];
    assert_eq!(broken.name, INVARIANT);
    assert!(!broken.ok);
    assert!(
        broken.detail.contains("count 21 past its limit 20"),
        "{}",
        broken.detail
    );
    assert!(
        broken.detail.contains("sim/tests/invariant_sim.rs:"),
        "{}",
        broken.detail
    );
    // Node #1 is the second server; 21 ticks of 10 ms plus a latency.
    assert!(
        broken.detail.contains("node s2 panicked at "),
        "{}",
        broken.detail
    );
    assert!(
        out.end_us >= 210_000 && out.end_us < 220_000,
        "{}",
        out.end_us
    );
    assert!(broken.detail.starts_with("at 0.21"), "{}", broken.detail);
    // The trace holds what came before the panic, the last count accepted among it.
    let accepted: Vec<u64> = out
        .sink
        .iter()
        .filter_map(|r| match &r.ev {
            Ev::Proto { event } => Some(*event),
            _ => None,
        })
        .collect();
    assert_eq!(accepted, (1..=20).collect::<Vec<_>>());
}

#[test]
fn the_same_seed_breaks_it_at_the_same_point_with_the_same_digest() {
    let (a, b) = (run(20, 3), run(20, 3));
    assert_eq!(a.trace.digest(), b.trace.digest());
    assert_eq!(a.verdicts, b.verdicts);
    assert_eq!(a.trace.digest().len(), 16);
}

#[test]
fn every_seed_of_an_explore_records_it_and_an_unbroken_run_has_no_invariant_verdict() {
    for seed in 0..5 {
        let out = run(20, seed);
        assert_eq!(out.verdicts.len(), 1, "seed {seed}");
        assert_eq!(out.verdicts[0].name, INVARIANT, "seed {seed}");
        assert!(!out.verdicts[0].ok, "seed {seed}");
    }
    let fine = run(1000, 0);
    assert!(fine.verdicts.iter().all(|v| v.name != INVARIANT));
    assert_eq!(fine.end_us, 1_000_000);
}
