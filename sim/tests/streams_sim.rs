//! Streams in the simulator (sim flavor: `cargo sim-test -p faultline-sim`): order and
//! exactly-once under loss, and the notifications of a crash and of a lasting partition.
#![cfg(madsim)]

use std::sync::Arc;

use faultline_sim::node::stream::CloseReason;
use faultline_sim::simulator::world::{simulate_into, RunOutput};
use faultline_sim::{DropReason, Ev, NodeId, Record, Scenario};

mod pipe;

use pipe::{in_order_exactly_once, Event, Pipe};

/// Two nodes, numbers every 10 ms for `count` of them, with `network` and `faults` as TOML.
fn run(
    over_stream: bool,
    count: u64,
    network: &str,
    faults: &str,
    seed: u64,
) -> RunOutput<Vec<Record<Event>>> {
    let text = format!(
        "name = \"pipe\"\nprotocol = \"group\"\nduration_ms = 12000\n\
         [nodes]\nservers = 2\n[network]\n{network}\n{faults}"
    );
    let scenario = Scenario::parse(
        "pipe.toml",
        &text,
        &faultline_sim::scenario::ServersAndClients,
    )
    .unwrap();
    simulate_into(
        Arc::new(Pipe { over_stream, count }),
        &scenario,
        seed,
        Vec::new(),
    )
}

/// The events node `node` reported, with their times in ms.
fn events(out: &RunOutput<Vec<Record<Event>>>, node: u16) -> Vec<(u64, Event)> {
    out.sink
        .iter()
        .filter(|r| r.node == NodeId(node))
        .filter_map(|r| match &r.ev {
            Ev::Proto { event } => Some((r.t / 1000, event.clone())),
            _ => None,
        })
        .collect()
}

/// The numbers node #1 got, in the order it got them.
fn got(out: &RunOutput<Vec<Record<Event>>>) -> Vec<u64> {
    events(out, 1)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Event::Got(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// When node `node` heard its stream close, and why.
fn closes(out: &RunOutput<Vec<Record<Event>>>, node: u16) -> Vec<(u64, CloseReason)> {
    events(out, node)
        .into_iter()
        .filter_map(|(t, e)| match e {
            Event::Closed(reason) => Some((t, reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn every_number_arrives_once_and_in_order_under_20_percent_loss() {
    for seed in 0..5 {
        let out = run(true, 500, "loss = 0.2\nlatency_ms = [1, 20]", "", seed);
        let got = got(&out);
        assert_eq!(in_order_exactly_once(&got, 500), Ok(()), "seed {seed}");
        // The close came after the last number.
        assert!(closes(&out, 0).is_empty());
        assert_eq!(closes(&out, 1).len(), 1);
        let last = events(&out, 1).pop().unwrap();
        assert_eq!(
            last.1,
            Event::Closed(CloseReason::PeerClosed),
            "seed {seed}"
        );
        // Loss became delay: some numbers took at least one retransmission timeout.
        let sends = traffic(&out, true);
        let delivers = traffic(&out, false);
        assert_eq!(sends.len(), 500);
        assert_eq!(delivers.len(), 500);
        let slowest = delivers
            .iter()
            .zip(&sends)
            .map(|(d, s)| d.1 - s.1)
            .max()
            .unwrap();
        assert!(slowest >= 200_000, "seed {seed}: slowest {slowest} us");
    }
}

/// (id, time) of each stream message's send (or deliver) record, in trace order.
fn traffic(out: &RunOutput<Vec<Record<Event>>>, sends: bool) -> Vec<(u64, u64)> {
    out.sink
        .iter()
        .filter_map(|r| match &r.ev {
            Ev::Send { id, label, .. } if sends && label == "NUM" => Some((*id, r.t)),
            Ev::Deliver { id, label, .. } if !sends && label == "NUM" => Some((*id, r.t)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_check_catches_what_datagrams_lose_under_the_same_loss() {
    let out = run(false, 500, "loss = 0.2\nlatency_ms = [1, 20]", "", 0);
    let verdict = in_order_exactly_once(&got(&out), 500);
    assert!(
        verdict.is_err(),
        "datagrams under loss should fail the check"
    );
}

#[test]
fn same_seed_same_trace() {
    let a = run(true, 300, "loss = 0.2", "", 3);
    let b = run(true, 300, "loss = 0.2", "", 3);
    let c = run(true, 300, "loss = 0.2", "", 4);
    assert_eq!(a.trace.digest(), b.trace.digest());
    assert_ne!(a.trace.digest(), c.trace.digest());
}

#[test]
fn a_crashed_receiver_is_noticed_by_the_sender_within_a_latency() {
    let faults = "[[faults]]\nkind = \"crash\"\nnode = \"s2\"\nat_ms = 1000\n";
    let out = run(true, 500, "latency_ms = [1, 10]", faults, 0);
    assert_eq!(closes(&out, 0).len(), 1, "{:?}", closes(&out, 0));
    let (t, reason) = closes(&out, 0)[0];
    assert_eq!(reason, CloseReason::PeerCrashed);
    assert!((1000..=1011).contains(&t), "noticed at {t} ms");
    // The receiver had everything up to the crash, in order.
    let got = got(&out);
    assert!(got.len() > 50 && in_order_exactly_once(&got, got.len() as u64).is_ok());
    // Traced at the sender as the stream's end.
    let traced = out.sink.iter().any(|r| {
        r.node == NodeId(0)
            && matches!(
                r.ev,
                Ev::StreamClose {
                    reason: Some(CloseReason::PeerCrashed),
                    ..
                }
            )
    });
    assert!(traced);
}

#[test]
fn a_crashed_sender_is_noticed_by_the_receiver_and_its_restart_opens_a_new_stream() {
    let faults = "[[faults]]\nkind = \"crash\"\nnode = \"s1\"\nat_ms = 1000\n\
                  [[faults]]\nkind = \"restart\"\nnode = \"s1\"\nat_ms = 2000\n";
    let out = run(true, 500, "latency_ms = [1, 10]", faults, 0);
    let closes = closes(&out, 1);
    assert_eq!(closes.len(), 2, "{closes:?}");
    assert_eq!(closes[0].1, CloseReason::PeerCrashed);
    assert!(
        (1000..=1011).contains(&closes[0].0),
        "noticed at {} ms",
        closes[0].0
    );
    // The new incarnation's stream carries all of its numbers, then its close.
    assert_eq!(closes[1].1, CloseReason::PeerClosed);
    let opened: Vec<_> = events(&out, 1)
        .into_iter()
        .filter(|(_, e)| *e == Event::Open(false))
        .collect();
    assert_eq!(opened.len(), 2, "the restarted sender connects again");
    assert!(opened[1].0 >= 2000);
}

#[test]
fn a_partition_longer_than_the_timeout_breaks_the_stream_at_both_ends() {
    let faults = "[[faults]]\nkind = \"partition\"\ngroups = [[\"s1\"], [\"s2\"]]\n\
                  at_ms = 1000\nheal_ms = 8000\n";
    let out = run(true, 900, "stream_timeout_ms = 3000", faults, 0);
    for node in [0, 1] {
        let closes = closes(&out, node);
        assert_eq!(closes.len(), 1, "node {node}: {closes:?}");
        let (t, reason) = closes[0];
        assert_eq!(reason, CloseReason::TimedOut, "node {node}");
        assert!((3900..=4300).contains(&t), "node {node} broke at {t} ms");
    }
    // Everything before the break arrived in order; nothing after it.
    let got = got(&out);
    assert!(in_order_exactly_once(&got, got.len() as u64).is_ok());
    assert!(got.len() < 200, "{} arrived", got.len());
    // What the sender tried after the break is traced as dropped on a closed stream... but
    // it stopped sending when it heard; so no drop records, and no sends after the break.
    let late_sends = out
        .sink
        .iter()
        .any(|r| r.t > 4_300_000 && matches!(&r.ev, Ev::Send { label, .. } if label == "NUM"));
    assert!(!late_sends);
    let _ = DropReason::Closed;
}

#[test]
fn a_partition_shorter_than_the_timeout_only_delays_the_stream() {
    let faults = "[[faults]]\nkind = \"partition\"\ngroups = [[\"s1\"], [\"s2\"]]\n\
                  at_ms = 1000\nheal_ms = 3000\n";
    let out = run(true, 500, "", faults, 0);
    assert!(closes(&out, 0).is_empty());
    assert_eq!(closes(&out, 1).len(), 1);
    assert_eq!(closes(&out, 1)[0].1, CloseReason::PeerClosed);
    assert!(closes(&out, 1)[0].0 > 5000);
    assert_eq!(in_order_exactly_once(&got(&out), 500), Ok(()));
}

#[test]
fn a_close_before_the_handshake_still_reaches_the_peer_after_its_accept() {
    // Nothing to send: node #0 closes its stream at its first tick, before it is connected.
    let out = run(true, 0, "", "", 0);
    assert!(events(&out, 0).is_empty(), "{:?}", events(&out, 0));
    let heard: Vec<_> = events(&out, 1).into_iter().map(|(_, e)| e).collect();
    assert_eq!(
        heard,
        [Event::Open(false), Event::Closed(CloseReason::PeerClosed)]
    );
}

#[test]
fn a_connect_to_a_crashed_node_is_refused_after_a_round_trip() {
    let faults = "[[faults]]\nkind = \"crash\"\nnode = \"s2\"\nat_ms = 0\n";
    let out = run(true, 10, "latency_ms = [5, 5]", faults, 0);
    assert_eq!(closes(&out, 0), [(10, CloseReason::Refused)]);
}

#[test]
fn a_connect_across_a_partition_times_out() {
    let faults = "[[faults]]\nkind = \"partition\"\nfrom = [\"s1\"]\nto = [\"s2\"]\nat_ms = 0\n";
    let out = run(true, 500, "stream_timeout_ms = 2000", faults, 0);
    let closes = closes(&out, 0);
    assert_eq!(closes.len(), 1, "{closes:?}");
    assert_eq!(closes[0].1, CloseReason::TimedOut);
    assert!(
        (2000..=2500).contains(&closes[0].0),
        "at {} ms",
        closes[0].0
    );
    assert!(events(&out, 1).is_empty(), "the peer never heard of it");
}

#[test]
fn every_message_a_crash_loses_is_traced_as_a_drop() {
    let faults = "[[faults]]\nkind = \"crash\"\nnode = \"s2\"\nat_ms = 1000\n";
    // Long latencies: many numbers are on their way when the receiver crashes.
    let out = run(true, 500, "latency_ms = [50, 300]\nloss = 0.2", faults, 1);
    let sends = traffic(&out, true).len();
    let delivers = traffic(&out, false).len();
    let dropped = out
        .sink.iter()
        .filter(|r| {
            matches!(&r.ev, Ev::Drop { reason: DropReason::Closed, label, .. } if label == "NUM")
        })
        .count();
    assert!(dropped > 0, "some were on their way");
    assert_eq!(
        sends,
        delivers + dropped,
        "each send is delivered or dropped"
    );
}
