//! The test world's semantics, on a toy protocol: every node multicasts a numbered ping every
//! 100 ms and reports what it receives.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::World;
use crate::check::{Check, Verdict};
use crate::node::{BoxNode, Cx, Message, Node, NodeId, Timer, TimerId};
use crate::protocol::{Protocol, Role, Setup, SERVERS_AND_CLIENTS};
use crate::scenario::{InputError, Source};
use crate::testkit::Bench;
use crate::trace::{DropReason, Ev, Record};

/// The toy's one message: the sender's ping count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Ping(u32);

impl Message for Ping {
    fn label(&self) -> &'static str {
        "PING"
    }
}

/// What a toy node reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Seen {
    /// It started for the `boots`th time (durable) having sent `sent` pings (volatile).
    Started { boots: u8, sent: u32 },
    /// A ping arrived.
    Got { from: NodeId, n: u32 },
}

/// The toy's timers.
#[derive(Copy, Clone, Debug, PartialEq)]
enum Tick {
    /// Time to ping.
    Ping,
}

impl Timer for Tick {
    fn id(self) -> TimerId {
        match self {
            Tick::Ping => TimerId(1),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id {
            TimerId(1) => Some(Tick::Ping),
            _ => None,
        }
    }
}

/// A toy node.
struct Pinger {
    /// Pings sent by this incarnation: volatile, lost in a crash.
    sent: u32,
}

impl Node for Pinger {
    type Msg = Ping;
    type Event = Seen;
    type Timer = Tick;

    fn on_start(&mut self, cx: &mut Cx<'_, Ping, Seen, Tick>) {
        let boots = cx.durable_get("boots").map_or(0, |b| b[0]) + 1;
        cx.durable_put("boots", vec![boots]);
        cx.emit(Seen::Started {
            boots,
            sent: self.sent,
        });
        cx.set_timer(Tick::Ping, Duration::from_millis(100));
    }

    fn on_message(&mut self, from: NodeId, msg: Ping, cx: &mut Cx<'_, Ping, Seen, Tick>) {
        cx.emit(Seen::Got { from, n: msg.0 });
    }

    fn on_timer(&mut self, timer: Tick, cx: &mut Cx<'_, Ping, Seen, Tick>) {
        match timer {
            Tick::Ping => {}
        }
        self.sent += 1;
        cx.multicast(Ping(self.sent));
        cx.set_timer(Tick::Ping, Duration::from_millis(100));
    }
}

/// Fails on the first ping from `banned`.
struct NoPingFrom {
    /// The node that must not be heard.
    banned: NodeId,
    /// Pings judged.
    judged: u64,
}

impl Check<Seen> for NoPingFrom {
    fn name(&self) -> &'static str {
        "no-ping-from"
    }
    fn observe(&mut self, rec: &Record<Seen>) -> Result<(), String> {
        match &rec.ev {
            Ev::Proto {
                event: Seen::Got { from, .. },
            } if *from == self.banned => Err(format!("{} heard {from}", rec.node)),
            Ev::Proto {
                event: Seen::Got { .. },
            } => {
                self.judged += 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.judged,
            "pings",
            format!("{} pings", self.judged),
        )
    }
}

/// The toy protocol; its check bans node #2.
struct Toy;

impl Protocol for Toy {
    type Msg = Ping;
    type Event = Seen;
    const NAME: &'static str = "toy";
    const ABOUT: &'static str = "nodes that ping each other";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    fn new(_: &Setup, _: &Source) -> Result<Toy, InputError> {
        Ok(Toy)
    }
    fn node(&self, _id: NodeId) -> BoxNode<Ping, Seen> {
        Box::new(Pinger { sent: 0 })
    }
    fn checks(&self) -> Vec<Box<dyn Check<Seen> + Send>> {
        vec![Box::new(NoPingFrom {
            banned: NodeId(2),
            judged: 0,
        })]
    }
}

/// The pings `id` received, as (time ms, from, n).
fn got(w: &World<Toy>, id: u16) -> Vec<(u64, u16, u32)> {
    w.trace()
        .iter()
        .filter_map(|r| match &r.ev {
            Ev::Proto {
                event: Seen::Got { from, n },
            } if r.node == NodeId(id) => Some((r.t / 1000, from.0, *n)),
            _ => None,
        })
        .collect()
}

/// The drops recorded, as (time ms, at node, from, to, reason).
fn drops(w: &World<Toy>) -> Vec<(u64, u16, u16, u16, DropReason)> {
    w.trace()
        .iter()
        .filter_map(|r| match &r.ev {
            Ev::Drop {
                from, to, reason, ..
            } => Some((r.t / 1000, r.node.0, from.0, to.0, *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_multicast_reaches_every_other_node_after_a_seeded_latency() {
    let mut w = World::new(Toy, 3, 1);
    w.run_until(150);
    for id in 0..3u16 {
        let got = got(&w, id);
        let from: Vec<u16> = got.iter().map(|g| g.1).collect();
        let others: Vec<u16> = (0..3).filter(|o| *o != id).collect();
        let mut sorted = from.clone();
        sorted.sort();
        assert_eq!(sorted, others, "node {id}: {got:?}");
        for (t, _, n) in got {
            assert_eq!(n, 1);
            assert!((101..=110).contains(&t), "node {id} at {t} ms");
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_another() {
    let run = |seed| {
        let mut w = World::new(Toy, 4, seed);
        w.set_loss(0.2);
        w.run_until(1000);
        w.trace().to_vec()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn a_restart_builds_a_fresh_node_that_keeps_its_durable_store() {
    let mut w = World::new(Toy, 2, 1);
    w.run_until(350);
    w.crash(0);
    assert!(!w.is_up(0));
    w.restart(0);
    assert!(w.is_up(0));
    let starts: Vec<Seen> = w
        .events(0)
        .filter(|e| matches!(e, Seen::Started { .. }))
        .cloned()
        .collect();
    // A node kept across the crash would say it had sent 3.
    assert_eq!(
        starts,
        [
            Seen::Started { boots: 1, sent: 0 },
            Seen::Started { boots: 2, sent: 0 }
        ]
    );
}

#[test]
fn a_crash_loses_pending_timers_and_datagrams_on_their_way() {
    let mut w = World::new(Toy, 2, 1);
    w.set_latency_ms(50, 50);
    w.run_until(120);
    // Node 1's first ping left at 100 ms and is due at 150 ms.
    w.crash(0);
    w.run_until(130);
    w.restart(0);
    w.run_until(240);
    assert_eq!(got(&w, 0), []);
    // The timer set before the crash (due at 200 ms) never fired; the new one did at 230.
    let ticks: Vec<u64> = w
        .trace()
        .iter()
        .filter(|r| r.node == NodeId(0) && matches!(r.ev, Ev::Timer { .. }))
        .map(|r| r.t / 1000)
        .collect();
    assert_eq!(ticks, [100, 230]);
    w.run_until(300);
    assert_eq!(got(&w, 0), [(250, 1, 2)]);
}

#[test]
fn a_partition_drops_what_is_sent_and_what_arrives_on_a_cut_link() {
    let mut w = World::new(Toy, 3, 1);
    w.set_latency_ms(50, 50);
    w.run_until(120);
    // The pings of 100 ms are on their way: they are dropped as they arrive.
    w.partition(&[&[0], &[1, 2]]);
    w.run_until(220);
    w.heal();
    w.run_until(360);
    let dropped = drops(&w);
    let arriving: Vec<_> = dropped.iter().filter(|d| d.0 == 150).collect();
    let sent: Vec<_> = dropped.iter().filter(|d| d.0 == 200).collect();
    assert_eq!(arriving.len(), 4, "{dropped:?}");
    assert_eq!(sent.len(), 4, "{dropped:?}");
    assert!(dropped.iter().all(|d| d.4 == DropReason::Partition));
    // Dropped on arrival at the receiver, or at send at the sender.
    assert!(arriving.iter().all(|d| d.1 == d.3));
    assert!(sent.iter().all(|d| d.1 == d.2));
    // Ping 3 went out after the heal.
    assert_eq!(got(&w, 0).iter().map(|g| g.2).collect::<Vec<_>>(), [3, 3]);
    assert_eq!(
        got(&w, 1).iter().map(|g| g.2).collect::<Vec<_>>(),
        [1, 2, 3, 3]
    );
}

#[test]
fn full_loss_drops_every_datagram() {
    let mut w = World::new(Toy, 3, 1);
    w.set_loss(1.0);
    w.run_until(1000);
    assert!((0..3).all(|id| got(&w, id).is_empty()));
    assert_eq!(drops(&w).len(), 54);
    assert!(drops(&w).iter().all(|d| d.4 == DropReason::Loss));
}

#[test]
fn the_protocols_checks_judge_the_trace_and_can_fail() {
    let mut w = World::new(Toy, 2, 1);
    w.run_until(500);
    w.assert_checks_ok();
    let mut w = World::new(Toy, 3, 1);
    w.run_until(500);
    assert_eq!(w.failed_checks(), ["no-ping-from"]);
    // Nothing judged is no pass: vacuous, though not a violation.
    let mut w = World::new(Toy, 1, 1);
    w.run_until(500);
    let v = &w.verdicts()[0];
    assert!(!v.ok && v.vacuous, "{v:?}");
    assert!(w.failed_checks().is_empty());
}

#[test]
fn a_boxed_node_gets_its_typed_timers_by_number_and_ignores_strangers() {
    let mut node: BoxNode<Ping, Seen> = Toy.node(NodeId(0));
    let mut bench: Bench<Ping, Seen> = Bench::new(0);
    let (actions, _) = bench.run(|cx| node.on_start(cx));
    assert_eq!(
        actions,
        [crate::node::Action::SetTimer(
            TimerId(1),
            Duration::from_millis(100)
        )]
    );
    let (actions, _) = bench.run(|cx| node.on_timer(TimerId(2), cx));
    assert!(actions.is_empty(), "{actions:?}");
    let (actions, _) = bench.run(|cx| node.on_timer(TimerId(1), cx));
    assert_eq!(actions.len(), 2, "{actions:?}");
}
