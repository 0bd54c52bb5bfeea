//! The checks on hand-made traces: good ones pass, each kind of violation fails.

use faultline_sim::{Check, Ev, NodeId, Record, WORLD};

use super::checks::{ChatDelivery, LeaderAgreement, ViewConvergence};
use super::event::Event;

fn n(id: u16) -> NodeId {
    NodeId(id)
}

fn at(ms: u64, node: u16, ev: Ev<Event>) -> Record<Event> {
    let node = if node == u16::MAX { WORLD } else { n(node) };
    Record {
        t: ms * 1000,
        node,
        ev,
    }
}

fn leads(ms: u64, node: u16, leader: u16, role: &str) -> Vec<Record<Event>> {
    vec![
        at(
            ms,
            node,
            Ev::Leader {
                leader: Some(n(leader)),
            },
        ),
        at(ms, node, Ev::Role { role: role.into() }),
    ]
}

fn delivered(ms: u64, node: u16, seq: u64, origin: u16, client_seq: u64) -> Record<Event> {
    at(
        ms,
        node,
        Ev::Proto {
            event: Event::Delivered {
                seq,
                origin: n(origin),
                client_seq,
            },
        },
    )
}

fn acked(ms: u64, client: u16, client_seq: u64, seq: u64) -> Record<Event> {
    at(
        ms,
        client,
        Ev::Proto {
            event: Event::ChatAcked { client_seq, seq },
        },
    )
}

fn view(ms: u64, node: u16, members: &[u16]) -> Record<Event> {
    let members = members.iter().map(|m| n(*m)).collect();
    at(
        ms,
        node,
        Ev::Proto {
            event: Event::View { members },
        },
    )
}

/// Feeds every record; returns the first online error, or the verdict at `end_ms`.
fn judge(
    check: &mut dyn Check<Event>,
    trace: &[Record<Event>],
    end_ms: u64,
) -> Result<(bool, String), String> {
    for rec in trace {
        check.observe(rec)?;
    }
    let v = check.finish(end_ms * 1000);
    Ok((v.ok, v.detail))
}

fn servers() -> Vec<NodeId> {
    (0..3).map(n).collect()
}

#[test]
fn leader_agreement_passes_when_all_follow_the_highest() {
    let mut trace = Vec::new();
    trace.extend(leads(100, 0, 2, "follower"));
    trace.extend(leads(100, 1, 2, "follower"));
    trace.extend(leads(100, 2, 2, "leader"));
    let (ok, detail) = judge(&mut LeaderAgreement::new(&servers(), 3000), &trace, 5000).unwrap();
    assert!(ok, "{detail}");
}

#[test]
fn leader_agreement_fails_on_a_lower_leader_or_a_split() {
    // Everyone follows #1 although #2 is up and connected (the accept-lower-coordinator bug).
    let mut trace = Vec::new();
    trace.extend(leads(100, 0, 1, "follower"));
    trace.extend(leads(100, 1, 1, "leader"));
    trace.extend(leads(100, 2, 1, "follower"));
    let (ok, detail) = judge(&mut LeaderAgreement::new(&servers(), 3000), &trace, 5000).unwrap();
    assert!(!ok);
    assert!(detail.contains("follows Some(#1), not #2"), "{detail}");
    // Agreement that only comes after the bound fails too.
    let mut trace = Vec::new();
    trace.extend(leads(100, 0, 1, "follower"));
    trace.extend(leads(100, 1, 1, "leader"));
    trace.extend(leads(4000, 0, 2, "follower"));
    trace.extend(leads(4000, 1, 2, "follower"));
    trace.extend(leads(4000, 2, 2, "leader"));
    let (ok, detail) = judge(&mut LeaderAgreement::new(&servers(), 3000), &trace, 9000).unwrap();
    assert!(!ok, "{detail}");
    // The highest claims leadership but plays follower.
    let mut trace = Vec::new();
    trace.extend(leads(100, 0, 2, "follower"));
    trace.extend(leads(100, 1, 2, "follower"));
    trace.extend(leads(100, 2, 2, "candidate"));
    let (ok, _) = judge(&mut LeaderAgreement::new(&servers(), 3000), &trace, 5000).unwrap();
    assert!(!ok);
}

#[test]
fn leader_agreement_judges_each_component_and_waits_for_the_bound() {
    let mut trace = Vec::new();
    trace.extend(leads(100, 0, 2, "follower"));
    trace.extend(leads(100, 1, 2, "follower"));
    trace.extend(leads(100, 2, 2, "leader"));
    // #2 is cut off: #0 and #1 must settle on #1, #2 stays its own leader.
    trace.push(at(
        1000,
        u16::MAX,
        Ev::Partition {
            links: vec![(n(2), n(0)), (n(0), n(2)), (n(2), n(1)), (n(1), n(2))],
        },
    ));
    trace.extend(leads(2500, 0, 1, "follower"));
    trace.extend(leads(2500, 1, 1, "leader"));
    let (ok, detail) = judge(&mut LeaderAgreement::new(&servers(), 3000), &trace, 5000).unwrap();
    assert!(ok, "{detail}");
    // A crash of the leader at 4000ms cannot be judged by 5000ms: vacuous, no pass.
    trace.push(at(4000, 1, Ev::Crash));
    let (ok, detail) = judge(&mut LeaderAgreement::new(&servers(), 3000), &trace, 5000).unwrap();
    assert!(!ok && detail.contains("not judged"), "{detail}");
    let (ok, _) = judge(&mut LeaderAgreement::new(&servers(), 3000), &trace, 8000).unwrap();
    assert!(!ok, "#0 still follows the crashed #1");
}

fn chat(nodes: &[NodeId]) -> ChatDelivery {
    ChatDelivery::new(&servers(), nodes, 5000)
}

fn all_nodes() -> Vec<NodeId> {
    (0..4).map(n).collect()
}

#[test]
fn chat_delivery_passes_a_good_trace_with_a_restart() {
    let mut trace = vec![acked(1000, 3, 1, 2), acked(1200, 3, 2, 3)];
    for node in 0..4 {
        trace.push(delivered(1000, node, 2, 3, 1));
        trace.push(delivered(1200, node, 3, 3, 2));
    }
    // #0 restarts and delivers the history again: a new incarnation.
    trace.push(at(2000, 0, Ev::Crash));
    trace.push(at(3000, 0, Ev::Restart));
    trace.push(delivered(3200, 0, 2, 3, 1));
    trace.push(delivered(3200, 0, 3, 3, 2));
    let (ok, detail) = judge(&mut chat(&all_nodes()), &trace, 9000).unwrap();
    assert!(ok, "{detail}");
}

#[test]
fn chat_delivery_catches_order_violations_online() {
    let cases: Vec<(Vec<Record<Event>>, &str)> = vec![
        (
            vec![delivered(1, 0, 2, 3, 1), delivered(1, 1, 2, 3, 9)],
            "holds two chats",
        ),
        (
            vec![delivered(1, 0, 2, 3, 1), delivered(1, 1, 4, 3, 1)],
            "two seqs",
        ),
        (
            vec![delivered(1, 0, 2, 3, 1), delivered(2, 0, 2, 3, 1)],
            "twice",
        ),
        (
            vec![delivered(1, 0, 4, 3, 2), delivered(2, 0, 2, 3, 1)],
            "after seq 4",
        ),
        (
            vec![acked(1, 3, 1, 2), delivered(2, 0, 2, 3, 7)],
            "holds two chats",
        ),
    ];
    for (trace, why) in cases {
        let err = judge(&mut chat(&all_nodes()), &trace, 9000).unwrap_err();
        assert!(err.contains(why), "{err} should say {why}");
    }
}

#[test]
fn chat_delivery_catches_lost_acknowledged_chats_and_gaps() {
    // Acknowledged, but only the old leader (#2, now down) ever delivered it.
    let trace = vec![
        acked(1000, 3, 1, 2),
        delivered(1000, 2, 2, 3, 1),
        at(1500, 2, Ev::Crash),
    ];
    let (ok, detail) = judge(&mut chat(&all_nodes()), &trace, 9000).unwrap();
    assert!(!ok);
    assert!(detail.contains("never delivered #3/1"), "{detail}");
    // A node that skipped a seq another delivered.
    let trace = vec![
        delivered(1000, 0, 2, 3, 1),
        delivered(1000, 0, 3, 3, 2),
        delivered(1000, 1, 3, 3, 2),
    ];
    let (ok, detail) = judge(&mut chat(&all_nodes()), &trace, 9000).unwrap();
    assert!(!ok);
    assert!(
        detail.contains("#1 delivered seq 3 but not seq 2"),
        "{detail}"
    );
}

#[test]
fn chat_delivery_does_not_judge_too_early_or_the_minority() {
    let lost = vec![acked(1000, 3, 1, 2), delivered(1000, 2, 2, 3, 1)];
    // The run ends too soon after the ack: nothing judged, which is no pass either.
    let (ok, detail) = judge(&mut chat(&all_nodes()), &lost, 3000).unwrap();
    assert!(!ok && detail.contains("not judged"), "{detail}");
    // A restart (a fault) 2s before the end: not judged.
    let mut trace = lost.clone();
    trace.push(at(7000, 1, Ev::Restart));
    let (ok, detail) = judge(&mut chat(&all_nodes()), &trace, 9000).unwrap();
    assert!(!ok && detail.contains("not judged"), "{detail}");
    // #0 is cut off from everyone: the majority side (#1, #2, #3) delivered, so it is fine.
    let cut: Vec<(NodeId, NodeId)> = (1..4).flat_map(|o| [(n(0), n(o)), (n(o), n(0))]).collect();
    let trace = vec![
        at(100, u16::MAX, Ev::Partition { links: cut }),
        acked(1000, 3, 1, 2),
        delivered(1000, 1, 2, 3, 1),
        delivered(1000, 2, 2, 3, 1),
        delivered(1000, 3, 2, 3, 1),
    ];
    let (ok, detail) = judge(&mut chat(&all_nodes()), &trace, 9000).unwrap();
    assert!(ok, "{detail}");
}

#[test]
fn view_convergence_matches_views_to_components() {
    let nodes: Vec<NodeId> = (0..3).map(n).collect();
    let good = vec![
        view(100, 0, &[0, 1, 2]),
        view(100, 1, &[0, 1, 2]),
        view(100, 2, &[0, 1, 2]),
    ];
    let (ok, detail) = judge(&mut ViewConvergence::new(&nodes, 3000), &good, 5000).unwrap();
    assert!(ok, "{detail}");
    // #2 crashes; the others drop it in time.
    let mut crash = good.clone();
    crash.push(at(1000, 2, Ev::Crash));
    crash.push(view(2200, 0, &[0, 1]));
    crash.push(view(2200, 1, &[0, 1]));
    let (ok, detail) = judge(&mut ViewConvergence::new(&nodes, 3000), &crash, 5000).unwrap();
    assert!(ok, "{detail}");
    // #1 never drops it.
    let mut stale = good.clone();
    stale.push(at(1000, 2, Ev::Crash));
    stale.push(view(2200, 0, &[0, 1]));
    let (ok, detail) = judge(&mut ViewConvergence::new(&nodes, 3000), &stale, 5000).unwrap();
    assert!(!ok);
    assert!(detail.contains("#1 sees"), "{detail}");
    // A view with a node it cannot reach.
    let mut split = good;
    split.push(at(
        1000,
        u16::MAX,
        Ev::Partition {
            links: vec![(n(0), n(2)), (n(2), n(0)), (n(1), n(2)), (n(2), n(1))],
        },
    ));
    split.push(view(2000, 2, &[2]));
    split.push(view(2000, 0, &[0, 1]));
    let (ok, _) = judge(&mut ViewConvergence::new(&nodes, 3000), &split, 5000).unwrap();
    assert!(!ok, "#1 still sees #2");
}
