//! Unit tests of the farm's checks and nodes, each check shown able to fail.

use std::collections::BTreeSet;
use std::sync::Arc;

use faultline_sim::{Check, Ev, NodeId, Record};

use super::checks::{FarmOutput, SnapshotCut};
use super::dataset::Dataset;
use super::event::Event;
use super::protocol::tasks_of;

fn rec(t: u64, node: u16, event: Event) -> Record<Event> {
    Record {
        t,
        node: NodeId(node),
        ev: Ev::Proto { event },
    }
}

fn output_check() -> FarmOutput {
    let expected: BTreeSet<u64> = [2, 3, 5, 7].into_iter().collect();
    FarmOutput::new(
        Arc::new(expected),
        2,
        NodeId(1),
        vec![NodeId(2)],
        vec![NodeId(0)],
    )
}

#[test]
fn output_holds_when_every_prime_is_counted_once() {
    let mut c = output_check();
    c.observe(&rec(
        1,
        1,
        Event::Counted {
            task: 0,
            primes: vec![2, 3],
        },
    ))
    .unwrap();
    c.observe(&rec(
        2,
        1,
        Event::Counted {
            task: 1,
            primes: vec![5, 7],
        },
    ))
    .unwrap();
    let v = c.finish(10);
    assert_eq!(v.status(), "ok", "{v:?}");
}

#[test]
fn output_fails_on_a_missing_prime_an_extra_one_or_a_lost_restart() {
    let mut c = output_check();
    c.observe(&rec(
        1,
        1,
        Event::Counted {
            task: 0,
            primes: vec![2, 3],
        },
    ))
    .unwrap();
    assert_eq!(c.finish(10).status(), "FAIL");

    let mut c = output_check();
    assert!(c
        .observe(&rec(
            1,
            1,
            Event::Counted {
                task: 0,
                primes: vec![4]
            }
        ))
        .is_err());

    let mut c = output_check();
    c.observe(&rec(
        1,
        1,
        Event::Counted {
            task: 0,
            primes: vec![2, 3],
        },
    ))
    .unwrap();
    assert!(c
        .observe(&rec(2, 1, Event::Restored { done: 0, primes: 0 }))
        .is_err());
}

fn snapshot(pending: Vec<u64>, working: Vec<u64>, in_flight: Vec<u64>, done: Vec<u64>) -> Event {
    Event::Snapshot {
        seq: 1,
        total: 4,
        pending,
        working,
        in_flight,
        done,
        channel_error: None,
        channels: 2,
    }
}

#[test]
fn a_cut_that_accounts_for_each_task_once_holds() {
    let mut c = SnapshotCut::default();
    c.observe(&rec(1, 1, snapshot(vec![3], vec![0], vec![1], vec![2])))
        .unwrap();
    assert_eq!(c.finish(10).status(), "ok");
}

#[test]
fn a_cut_missing_a_task_in_flight_or_unbalanced_fails() {
    let mut c = SnapshotCut::default();
    let err = c
        .observe(&rec(1, 1, snapshot(vec![3], vec![0], vec![], vec![2])))
        .unwrap_err();
    assert!(err.contains("missing from the cut: [1]"), "{err}");
    let mut c = SnapshotCut::default();
    assert!(c
        .observe(&rec(
            1,
            1,
            snapshot(vec![3, 1], vec![0, 1], vec![], vec![2])
        ))
        .is_err());
    let mut c = SnapshotCut::default();
    let unbalanced = Event::Snapshot {
        seq: 1,
        total: 1,
        pending: vec![0],
        working: vec![],
        in_flight: vec![],
        done: vec![],
        channel_error: Some("channel #2 -> #1: 3 sent, 2 received".into()),
        channels: 0,
    };
    assert!(c.observe(&rec(1, 1, unbalanced)).is_err());
    assert!(
        SnapshotCut::default().finish(1).vacuous,
        "judging no snapshot is vacuous"
    );
}

#[test]
fn tasks_cover_every_number_once() {
    let d = |name: &str, n: u64| Dataset {
        name: name.into(),
        numbers: (0..n).collect(),
    };
    let tasks = tasks_of(&[d("a", 120), d("b", 50)], 50);
    let spans: Vec<(String, u32, u32)> = tasks
        .iter()
        .map(|t| (t.dataset.clone(), t.lo, t.hi))
        .collect();
    assert_eq!(
        spans,
        vec![
            ("a".into(), 0, 50),
            ("a".into(), 50, 100),
            ("a".into(), 100, 120),
            ("b".into(), 0, 50)
        ]
    );
    assert!(tasks.iter().enumerate().all(|(i, t)| t.id == i as u64));
}
