//! The checks on hand-written records: each holds on a good history and fails on a bad one.

use faultline_sim::{Check, Ev, NodeId, Record};

use super::*;

fn rec(t_ms: u64, node: u16, event: Event) -> Record<Event> {
    Record {
        t: t_ms * 1000,
        node: NodeId(node),
        ev: Ev::Proto { event },
    }
}

fn raw(t_ms: u64, node: u16, ev: Ev<Event>) -> Record<Event> {
    Record {
        t: t_ms * 1000,
        node: NodeId(node),
        ev,
    }
}

fn run(check: &mut dyn Check<Event>, recs: &[Record<Event>]) -> Result<(), String> {
    for r in recs {
        check.observe(r)?;
    }
    Ok(())
}

fn issued(t: u64, seq: u64) -> Record<Event> {
    rec(
        t,
        6,
        Event::Issued {
            seq,
            team: 0,
            deadline_ms: 1000,
        },
    )
}

fn answered(t: u64, seq: u64) -> Record<Event> {
    rec(
        t,
        6,
        Event::Answered {
            seq,
            outcome: Outcome::Busy,
            latency_us: 0,
            path: vec![NodeId(0)],
        },
    )
}

#[test]
fn exactly_one_answer_holds_and_catches_a_lost_request() {
    let mut c = ExactlyOneAnswer::new(NodeId(0));
    run(&mut c, &[issued(0, 1), answered(10, 1)]).unwrap();
    assert!(c.finish(5000).ok);

    let mut c = ExactlyOneAnswer::new(NodeId(0));
    let err = run(
        &mut c,
        &[issued(0, 1), rec(1100, 6, Event::GaveUp { seq: 1 })],
    )
    .unwrap_err();
    assert!(err.contains("lost"), "{err}");

    // With the leader down meanwhile, going unanswered is excused.
    let mut c = ExactlyOneAnswer::new(NodeId(0));
    run(
        &mut c,
        &[
            issued(0, 1),
            raw(5, 0, Ev::Crash),
            rec(1100, 6, Event::GaveUp { seq: 1 }),
        ],
    )
    .unwrap();

    let mut c = ExactlyOneAnswer::new(NodeId(0));
    assert!(run(&mut c, &[issued(0, 1), answered(10, 1), answered(20, 1)]).is_err());

    let mut c = ExactlyOneAnswer::new(NodeId(0));
    run(&mut c, &[issued(0, 1)]).unwrap();
    assert!(!c.finish(5000).ok, "neither answered nor reported");
}

#[test]
fn hops_bounded_catches_a_revisit_and_a_long_path() {
    let key = Key {
        client: NodeId(6),
        seq: 1,
    };
    let hop = |p: &[u16]| {
        rec(
            0,
            p[p.len() - 1],
            Event::Hop {
                key,
                path: p.iter().map(|i| NodeId(*i)).collect(),
            },
        )
    };
    let mut c = HopsBounded::new(4);
    run(&mut c, &[hop(&[0]), hop(&[0, 1]), hop(&[0, 1, 2, 4])]).unwrap();
    assert!(c.finish(0).ok);
    assert!(run(&mut HopsBounded::new(4), &[hop(&[0, 1, 2, 1])])
        .unwrap_err()
        .contains("twice"));
    assert!(run(&mut HopsBounded::new(3), &[hop(&[0, 1, 2, 4])])
        .unwrap_err()
        .contains("bound"));
}

#[test]
fn a_late_answer_must_be_reported() {
    let mut c = NoUnreportedLateAnswer::new(100);
    run(
        &mut c,
        &[
            issued(0, 1),
            answered(1050, 1),
            issued(0, 2),
            rec(1200, 6, Event::GaveUp { seq: 2 }),
        ],
    )
    .unwrap();
    assert!(c.finish(0).ok);
    let err = run(
        &mut NoUnreportedLateAnswer::new(100),
        &[issued(0, 1), answered(1200, 1)],
    )
    .unwrap_err();
    assert!(err.contains("past its deadline"), "{err}");
}

#[test]
fn busy_only_when_the_queue_is_full() {
    let key = |seq| Key {
        client: NodeId(6),
        seq,
    };
    let q = |seq, len| rec(0, 0, Event::Queued { key: key(seq), len });
    let busy = |seq, len| rec(0, 0, Event::Busy { key: key(seq), len });
    let mut c = BusyOnlyWhenFull::new(NodeId(0), 2);
    run(&mut c, &[q(1, 1), q(2, 2), busy(3, 2)]).unwrap();
    assert!(c.finish(0).ok);
    let err = run(
        &mut BusyOnlyWhenFull::new(NodeId(0), 2),
        &[q(1, 1), busy(2, 1)],
    )
    .unwrap_err();
    assert!(err.contains("busy with its queue at 1 of 2"), "{err}");
    assert!(run(
        &mut BusyOnlyWhenFull::new(NodeId(0), 1),
        &[q(1, 1), q(2, 2)]
    )
    .is_err());
    // A crash empties the queue: busy right after it is wrong.
    let err = run(
        &mut BusyOnlyWhenFull::new(NodeId(0), 1),
        &[q(1, 1), raw(1, 0, Ev::Crash), busy(2, 1)],
    );
    assert!(err.is_err());
}
