//! The richer network as a run sees it (sim flavor: `cargo sim-test -p faultline-sim`):
//! loss of some kinds only, delays and long reordering, windows of an unreliable net, a
//! node's skewed or drifting clock, and a paused process.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use faultline_sim::check::Check;
use faultline_sim::scenario::{InputError, ServersAndClients, Source};
use faultline_sim::simulator::world::{simulate_into, RunOutput};
use faultline_sim::{
    BoxNode, Cx, DropReason, Ev, Message, Node, NodeId, Protocol, Record, Role, Scenario, Setup,
    SERVERS_AND_CLIENTS,
};
use serde::{Deserialize, Serialize};

/// Requests and their replies.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum Msg {
    /// Node #0 asks, numbered.
    Ping(u64),
    /// The others answer.
    Pong(u64),
}

impl Message for Msg {
    fn label(&self) -> &'static str {
        match self {
            Msg::Ping(_) => "PING",
            Msg::Pong(_) => "PONG_REPLY",
        }
    }
}

/// What the nodes report.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum Event {
    /// A tick fired, at this time of the node's own clock (µs).
    Tick(u64),
    /// A ping arrived.
    Pinged(u64),
}

/// Node #0 pings every other node every 10 ms; every node ticks every 100 ms of its own
/// clock and reports what its clock reads.
struct PingPong;

impl Protocol for PingPong {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "pingpong";
    const ABOUT: &'static str = "pings and their replies";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    fn new(_: &Setup, src: &Source) -> Result<PingPong, InputError> {
        Err(src.error("protocol", "tests build it directly"))
    }
    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        Box::new(PingNode { me: id, next: 0 })
    }
    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        Vec::new()
    }
}

/// One node of [`PingPong`].
struct PingNode {
    /// Its id.
    me: NodeId,
    /// The next ping's number (node #0).
    next: u64,
}

faultline_sim::timers! {
    /// The nodes' timers.
    enum PingTimer {
        /// Node #0 pings.
        Ping = 0,
        /// Every node reports its clock.
        Tick = 1,
    }
}

type PingCx<'a> = Cx<'a, Msg, Event, PingTimer>;

impl Node for PingNode {
    type Msg = Msg;
    type Event = Event;
    type Timer = PingTimer;
    fn on_start(&mut self, cx: &mut PingCx<'_>) {
        if self.me == NodeId(0) {
            cx.set_timer(PingTimer::Ping, Duration::from_millis(10));
        }
        cx.set_timer(PingTimer::Tick, Duration::from_millis(100));
    }
    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut PingCx<'_>) {
        if let Msg::Ping(n) = msg {
            cx.emit(Event::Pinged(n));
            cx.send(from, Msg::Pong(n));
        }
    }
    fn on_timer(&mut self, timer: PingTimer, cx: &mut PingCx<'_>) {
        match timer {
            PingTimer::Ping => {
                cx.multicast(Msg::Ping(self.next));
                self.next += 1;
                cx.set_timer(PingTimer::Ping, Duration::from_millis(10));
            }
            PingTimer::Tick => {
                cx.emit(Event::Tick(cx.now_us()));
                cx.set_timer(PingTimer::Tick, Duration::from_millis(100));
            }
        }
    }
}

type Out = RunOutput<Vec<Record<Event>>>;

/// Three nodes for 2 s under `extra` (TOML sections), seed 1.
fn run(extra: &str) -> Out {
    let text = format!(
        "name = \"pp\"\nprotocol = \"group\"\nduration_ms = 2000\n[nodes]\nservers = 3\n{extra}"
    );
    let scenario =
        Scenario::parse("pp.toml", &text, &ServersAndClients).unwrap_or_else(|e| panic!("{e}"));
    simulate_into(Arc::new(PingPong), &scenario, 1, Vec::new())
}

/// (sends, losses) of datagrams labelled `label`.
fn sent_and_lost(out: &Out, label: &str) -> (usize, usize) {
    let sent = out
        .sink
        .iter()
        .filter(|r| matches!(&r.ev, Ev::Send { label: l, .. } if l == label))
        .count();
    let lost = out
        .sink
        .iter()
        .filter(
            |r| matches!(&r.ev, Ev::Drop { label: l, reason: DropReason::Loss, .. } if l == label),
        )
        .count();
    (sent, lost)
}

/// Each delivery's one-way time in ms, by label, matching sends and deliveries by id.
fn transit_ms(out: &Out, label: &str) -> Vec<u64> {
    let mut sent_at = std::collections::BTreeMap::new();
    let mut out_ms = Vec::new();
    for r in &out.sink {
        match &r.ev {
            Ev::Send { id, label: l, .. } if l == label => {
                sent_at.insert(*id, r.t);
            }
            Ev::Deliver { id, label: l, .. } if l == label => {
                if let Some(t) = sent_at.get(id) {
                    out_ms.push((r.t - t) / 1000);
                }
            }
            _ => {}
        }
    }
    out_ms
}

#[test]
fn a_replies_only_rule_drops_replies_and_no_request() {
    let out = run("[[network.rules]]\nkinds = [\"*REPLY\"]\nloss = 0.5\n");
    let (pings, pings_lost) = sent_and_lost(&out, "PING");
    let (pongs, pongs_lost) = sent_and_lost(&out, "PONG_REPLY");
    assert!(
        pings > 150 && pongs > 300,
        "{pings} pings (multicasts), {pongs} pongs"
    );
    assert_eq!(pings_lost, 0, "a request was lost");
    let share = pongs_lost as f64 / pongs as f64;
    assert!(
        (0.4..0.6).contains(&share),
        "{pongs_lost} of {pongs} replies lost"
    );
}

#[test]
fn a_scenario_without_the_new_fields_keeps_its_digest_and_a_rule_changes_it() {
    let plain = run("");
    let again = run("[network]\nlatency_ms = [1, 10]\n");
    assert_eq!(plain.trace.digest(), again.trace.digest());
    let ruled = run("[[network.rules]]\nkinds = [\"NOTHING\"]\nloss = 1.0\n");
    assert_eq!(
        plain.trace.digest(),
        ruled.trace.digest(),
        "a rule that takes no datagram changes nothing"
    );
    let delayed = run("[[network.rules]]\nkinds = [\"PING\"]\ndelay_ms = [20, 30]\n");
    assert_ne!(plain.trace.digest(), delayed.trace.digest());
}

#[test]
fn a_delay_rule_delays_its_kind_only_and_reordering_holds_a_share_long() {
    let out = run(
        "[network]\nlatency_ms = [1, 5]\n[[network.rules]]\nkinds = [\"PING\"]\nfrom = [\"s1\"]\nto = [\"s2\"]\ndelay_ms = [40, 50]\n",
    );
    let pings = transit_ms(&out, "PING");
    let slow = pings.iter().filter(|ms| **ms >= 41).count();
    let fast = pings.iter().filter(|ms| **ms <= 5).count();
    // To s2 late, to s3 on time: about half each.
    assert!(slow > 150 && fast > 150, "{slow} slow, {fast} fast");
    assert!(transit_ms(&out, "PONG_REPLY").iter().all(|ms| *ms <= 5));

    let out = run(
        "[network]\nlatency_ms = [1, 5]\n[[network.rules]]\nkinds = [\"PING\"]\nreorder = 0.2\nreorder_ms = 30\n",
    );
    let pings = transit_ms(&out, "PING");
    let held = pings.iter().filter(|ms| **ms >= 30).count() as f64 / pings.len() as f64;
    assert!((0.12..0.28).contains(&held), "share held {held}");
    assert!(pings.iter().any(|ms| *ms >= 150), "no long hold");
    // Held pings arrive after later ones: out of order at the receiver.
    let got: Vec<u64> = out
        .sink
        .iter()
        .filter(|r| r.node == NodeId(1))
        .filter_map(|r| match &r.ev {
            Ev::Proto {
                event: Event::Pinged(n),
            } => Some(*n),
            _ => None,
        })
        .collect();
    assert!(got.windows(2).any(|w| w[1] < w[0]), "never reordered");
}

#[test]
fn a_network_window_is_unreliable_inside_and_reliable_outside() {
    let out = run(
        "[[faults]]\nkind = \"network\"\nfrom_ms = 500\nuntil_ms = 1000\nrules = [{ loss = 0.5 }, { kinds = [\"PING\"], delay_ms = [30, 30] }]\n",
    );
    let mut inside = (0, 0);
    let mut outside_lost = 0;
    for r in &out.sink {
        if let Ev::Drop {
            reason: DropReason::Loss,
            ..
        } = r.ev
        {
            if (500_000..1_100_000).contains(&r.t) {
                inside.1 += 1;
            } else {
                outside_lost += 1;
            }
        }
        if matches!(r.ev, Ev::Deliver { .. }) && (500_000..1_000_000).contains(&r.t) {
            inside.0 += 1;
        }
    }
    assert_eq!(outside_lost, 0, "loss outside the window");
    assert!(inside.1 > 50 && inside.0 > 50, "{inside:?}");
    let windows: Vec<(u64, u32)> = out
        .sink
        .iter()
        .filter_map(|r| match r.ev {
            Ev::Network { windows } => Some((r.t / 1000, windows)),
            _ => None,
        })
        .collect();
    assert_eq!(windows, [(500, 1), (1000, 0)]);
}

/// The clock readings node `node` reported, with the run's time, both in ms.
fn ticks(out: &Out, node: u16) -> Vec<(u64, u64)> {
    out.sink
        .iter()
        .filter(|r| r.node == NodeId(node))
        .filter_map(|r| match r.ev {
            Ev::Proto {
                event: Event::Tick(local),
            } => Some((r.t / 1000, local / 1000)),
            _ => None,
        })
        .collect()
}

#[test]
fn skew_shifts_what_a_node_reads_and_drift_the_pace_of_its_timers() {
    let out = run("[clocks]\ns2 = { skew_ms = 700 }\ns3 = { drift_ppm = 250000 }\n");
    let exact = ticks(&out, 0);
    assert_eq!(exact[..3], [(100, 100), (200, 200), (300, 300)]);
    let skewed = ticks(&out, 1);
    assert_eq!(
        skewed[..3],
        [(100, 800), (200, 900), (300, 1000)],
        "skew: the same pace, read 700 ms ahead"
    );
    let fast = ticks(&out, 2);
    // 100 ms of a clock 25% fast last 80 ms of the run's.
    assert_eq!(fast[..3], [(80, 100), (160, 200), (240, 300)]);
    assert!(
        fast.len() > exact.len() + 3,
        "a fast clock ticks more often"
    );
}

#[test]
fn a_paused_node_sends_nothing_and_handles_what_waited_when_it_resumes() {
    let out = run("[[faults]]\nkind = \"pause\"\nnode = \"s1\"\nat_ms = 491\nresume_ms = 900\n");
    let s1 = |r: &&Record<Event>| r.node == NodeId(0);
    let during = |t: u64| (491_000..900_000).contains(&t);
    let sent_during = out
        .sink
        .iter()
        .filter(s1)
        .filter(|r| matches!(r.ev, Ev::Send { .. }) && during(r.t))
        .count();
    assert_eq!(sent_during, 0, "a paused node sent");
    let handled_during = out
        .sink
        .iter()
        .filter(s1)
        .filter(|r| matches!(r.ev, Ev::Deliver { .. } | Ev::Timer { .. }) && during(r.t))
        .count();
    assert_eq!(handled_during, 0, "a paused node handled something");
    // At resume, the replies to the last ping, which came during the pause, are handled
    // at once, and pinging goes on.
    let at_resume = out
        .sink
        .iter()
        .filter(s1)
        .filter(|r| matches!(r.ev, Ev::Deliver { .. }) && (900_000..=901_000).contains(&r.t))
        .count();
    assert!(
        at_resume >= 2,
        "{at_resume} waiting replies handled at resume"
    );
    assert!(out
        .sink
        .iter()
        .filter(s1)
        .any(|r| r.t > 950_000 && matches!(&r.ev, Ev::Send { label, .. } if label == "PING")));
    let marks: Vec<(u64, bool)> = out
        .sink
        .iter()
        .filter(s1)
        .filter_map(|r| match r.ev {
            Ev::Pause => Some((r.t / 1000, true)),
            Ev::Resume => Some((r.t / 1000, false)),
            _ => None,
        })
        .collect();
    assert_eq!(marks, [(491, true), (900, false)]);
    // The others ran on: s2 still answered what s1 had sent before.
    assert!(out
        .sink
        .iter()
        .any(|r| r.node == NodeId(1) && during(r.t) && matches!(r.ev, Ev::Timer { .. })));
}
