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

mod resume {
    use std::collections::{BTreeMap, BTreeSet};

    use faultline_sim::NodeId;

    use super::super::coordinator::resumable;
    use super::super::msg::{Msg, PartState};
    use crate::parts::chandy_lamport::{GlobalSnapshot, LocalSnapshot, SnapshotId};

    const COORD: NodeId = NodeId(1);
    const WORKER: NodeId = NodeId(2);

    /// A consistent snapshot: the coordinator buffered task 0's result and had task 1's
    /// result in flight from the worker it assigned task 1 to.
    fn snapshot() -> GlobalSnapshot<PartState, Msg> {
        let id = SnapshotId {
            initiator: COORD,
            seq: 3,
        };
        let mut global = GlobalSnapshot::new(id);
        let result = Msg::Result {
            task: 1,
            primes: vec![11, 13],
        };
        global
            .insert(LocalSnapshot {
                id,
                node: COORD,
                state: PartState::Coordinator {
                    pending: vec![2],
                    done: vec![0],
                    buffered: vec![(0, vec![2, 3])],
                    assigned: vec![(WORKER, 1)],
                },
                sent: BTreeMap::from([(WORKER, 2)]),
                received: BTreeMap::from([(WORKER, 4)]),
                in_flight: BTreeMap::from([(WORKER, vec![result])]),
            })
            .unwrap();
        global
            .insert(LocalSnapshot {
                id,
                node: WORKER,
                state: PartState::Worker { task: None },
                sent: BTreeMap::from([(COORD, 5)]),
                received: BTreeMap::from([(COORD, 2)]),
                in_flight: BTreeMap::new(),
            })
            .unwrap();
        global
    }

    fn bytes(global: &GlobalSnapshot<PartState, Msg>) -> Vec<u8> {
        global.to_json().unwrap().into_bytes()
    }

    #[test]
    fn a_restart_takes_back_buffered_and_in_flight_results() {
        let (seq, results) = resumable(&bytes(&snapshot()), &BTreeSet::new(), 3).unwrap();
        assert_eq!(seq, 3);
        assert_eq!(results, vec![(0, vec![2, 3]), (1, vec![11, 13])]);
    }

    #[test]
    fn results_already_in_the_durable_output_are_not_taken_twice() {
        let done = BTreeSet::from([0]);
        let (_, results) = resumable(&bytes(&snapshot()), &done, 3).unwrap();
        assert_eq!(results, vec![(1, vec![11, 13])]);
    }

    #[test]
    fn a_result_in_flight_from_a_worker_not_holding_that_task_is_ignored() {
        let mut global = snapshot();
        let part = global.parts.get_mut(&COORD).unwrap();
        part.state = PartState::Coordinator {
            pending: vec![2],
            done: vec![0],
            buffered: vec![(0, vec![2, 3])],
            assigned: vec![(WORKER, 2)],
        };
        let (_, results) = resumable(&bytes(&global), &BTreeSet::new(), 3).unwrap();
        assert_eq!(results, vec![(0, vec![2, 3])]);
    }

    #[test]
    fn a_damaged_or_inconsistent_snapshot_is_refused() {
        let json = bytes(&snapshot());
        let cut = &json[..json.len() / 2];
        assert!(resumable(cut, &BTreeSet::new(), 3)
            .unwrap_err()
            .contains("unreadable"));

        let mut lost = snapshot();
        lost.parts.get_mut(&COORD).unwrap().in_flight.clear();
        let why = resumable(&bytes(&lost), &BTreeSet::new(), 3).unwrap_err();
        assert!(why.contains("channel"), "{why}");

        let err = resumable(&bytes(&snapshot()), &BTreeSet::new(), 1).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
    }
}

mod snapshot_requests {
    use faultline_sim::{Check, NodeId};

    use super::super::event::Event;
    use super::super::msg::SnapshotReport;
    use super::super::snapshot_requests::SnapshotRequests;
    use super::rec;

    const CLIENT: u16 = 7;

    fn taken(seq: u64) -> Event {
        Event::Snapshot {
            seq,
            total: 3,
            pending: vec![2],
            working: vec![1],
            in_flight: vec![],
            done: vec![0],
            channel_error: None,
            channels: 2,
        }
    }

    fn complete() -> SnapshotReport {
        SnapshotReport::Complete {
            pending: 1,
            working: 1,
            in_flight: 0,
            done: 1,
            channels: 2,
        }
    }

    fn answered(seq: u64, report: SnapshotReport) -> Event {
        Event::SnapshotAnswered {
            req: 1,
            seq,
            report,
        }
    }

    fn check() -> SnapshotRequests {
        let mut c = SnapshotRequests::new(NodeId(1));
        c.observe(&rec(10, CLIENT, Event::SnapshotAsked { req: 1 }))
            .unwrap();
        c
    }

    #[test]
    fn an_answer_naming_the_snapshot_taken_holds() {
        let mut c = check();
        c.observe(&rec(20, 1, taken(15))).unwrap();
        c.observe(&rec(30, CLIENT, answered(15, complete())))
            .unwrap();
        let v = c.finish(10_000_000);
        assert!(v.ok && v.judged == 1, "{v:?}");
    }

    #[test]
    fn an_answer_naming_no_snapshot_or_other_counts_fails() {
        let mut c = check();
        assert!(c
            .observe(&rec(30, CLIENT, answered(15, complete())))
            .is_err());
        let mut c = check();
        c.observe(&rec(20, 1, taken(15))).unwrap();
        let wrong = SnapshotReport::Complete {
            pending: 0,
            working: 0,
            in_flight: 0,
            done: 3,
            channels: 2,
        };
        assert!(c.observe(&rec(30, CLIENT, answered(15, wrong))).is_err());
        let mut c = check();
        c.observe(&rec(20, 1, taken(15))).unwrap();
        assert!(c
            .observe(&rec(30, CLIENT, answered(15, SnapshotReport::Abandoned)))
            .is_err());
    }

    #[test]
    fn a_request_never_answered_fails_unless_the_run_ended_soon_after() {
        let mut c = check();
        assert!(!c.finish(10_000_000).ok);
        let mut c = check();
        let v = c.finish(1_000_000);
        assert!(!v.ok && v.vacuous, "judged nothing, so not a pass: {v:?}");
    }
}
