//! The checks on hand-made traces: good ones pass, each kind of violation fails.

use faultline_sim::{Check, Ev, NodeId, Record, WORLD};

use super::catch_up::CatchUp;
use super::checks::{
    ChecksConfig, ElectionSafety, LeaderAppendOnly, LeaderCompleteness, LogMatching,
    StateMachineSafety,
};
use super::event::Event;
use super::failover::Failover;
use super::liveness::Liveness;
use super::lock_check::LockSafety;
use super::op::{LockMode, Op, Outcome, Refusal, Value};
use super::queue_check::QueueDelivery;
use super::traffic_budget::TrafficBudget;

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

fn proto(ms: u64, node: u16, event: Event) -> Record<Event> {
    at(ms, node, Ev::Proto { event })
}

fn leads(ms: u64, node: u16, term: u64) -> Vec<Record<Event>> {
    vec![
        at(
            ms,
            node,
            Ev::Role {
                role: "leader".into(),
            },
        ),
        proto(ms, node, Event::BecameLeader { term }),
    ]
}

fn appended(ms: u64, node: u16, index: u64, term: u64, chain: u64) -> Record<Event> {
    proto(ms, node, Event::Appended { index, term, chain })
}

fn invoke(ms: u64, client: u16, seq: u64, op: Op) -> Record<Event> {
    proto(ms, client, Event::Invoke { seq, op: op.into() })
}

fn ret(ms: u64, client: u16, seq: u64, result: Outcome) -> Record<Event> {
    proto(
        ms,
        client,
        Event::Return {
            seq,
            result: result.into(),
        },
    )
}

fn ok() -> Outcome {
    Outcome::ok(Value::Done)
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

#[test]
fn election_safety_fails_on_two_leaders_of_one_term() {
    let mut good = leads(10, 0, 1);
    good.extend(leads(20, 1, 2));
    good.extend(leads(30, 1, 2)); // the same leader reported again is fine
    assert!(judge(&mut ElectionSafety::default(), &good, 40).unwrap().0);
    let mut bad = leads(10, 0, 1);
    bad.extend(leads(12, 3, 1));
    let err = judge(&mut ElectionSafety::default(), &bad, 40).unwrap_err();
    assert!(err.contains("term 1 has two leaders"), "{err}");
}

#[test]
fn leader_append_only_fails_when_a_leader_truncates() {
    let mut trace = leads(10, 0, 1);
    trace.push(appended(11, 0, 1, 1, 7));
    let mut good = trace.clone();
    good.push(at(
        20,
        0,
        Ev::Role {
            role: "follower".into(),
        },
    ));
    good.push(proto(21, 0, Event::Truncated { from_index: 1 }));
    assert!(
        judge(&mut LeaderAppendOnly::default(), &good, 30)
            .unwrap()
            .0
    );
    let mut bad = trace;
    bad.push(proto(20, 0, Event::Truncated { from_index: 1 }));
    let err = judge(&mut LeaderAppendOnly::default(), &bad, 30).unwrap_err();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn log_matching_fails_on_two_chains_at_one_index_and_term() {
    let good = vec![
        appended(1, 0, 1, 1, 7),
        appended(2, 1, 1, 1, 7),
        appended(3, 1, 2, 1, 8),
        proto(4, 1, Event::Truncated { from_index: 2 }),
        appended(5, 1, 2, 2, 9),
    ];
    assert!(judge(&mut LogMatching::default(), &good, 10).unwrap().0);
    let bad = vec![appended(1, 0, 1, 1, 7), appended(2, 1, 1, 1, 8)];
    let err = judge(&mut LogMatching::default(), &bad, 10).unwrap_err();
    assert!(err.contains("index 1 term 1"), "{err}");
    // A hole in one replica's log.
    let hole = vec![appended(1, 0, 1, 1, 7), appended(2, 0, 3, 1, 8)];
    let err = judge(&mut LogMatching::default(), &hole, 10).unwrap_err();
    assert!(err.contains("appended index 3 after index 1"), "{err}");
    // A restart that lost durable entries.
    let lost = vec![
        appended(1, 0, 1, 1, 7),
        at(2, 0, Ev::Crash),
        at(3, 0, Ev::Restart),
        proto(
            3,
            0,
            Event::Restored {
                snapshot_index: 0,
                last_index: 0,
                chain: 0,
            },
        ),
    ];
    let err = judge(&mut LogMatching::default(), &lost, 10).unwrap_err();
    assert!(err.contains("durably written"), "{err}");
}

#[test]
fn leader_completeness_fails_when_a_leader_lacks_a_committed_entry() {
    let base = vec![
        appended(1, 0, 1, 1, 7),
        appended(1, 1, 1, 1, 7),
        appended(2, 0, 2, 1, 8),
        appended(2, 1, 2, 1, 8),
        appended(2, 2, 1, 1, 7),
        proto(3, 0, Event::Committed { index: 2 }),
    ];
    let mut good = base.clone();
    good.extend(leads(10, 1, 2));
    assert!(
        judge(&mut LeaderCompleteness::default(), &good, 20)
            .unwrap()
            .0
    );
    let mut bad = base;
    bad.extend(leads(10, 2, 2));
    let err = judge(&mut LeaderCompleteness::default(), &bad, 20).unwrap_err();
    assert!(err.contains("without committed index 2"), "{err}");
}

#[test]
fn state_machine_safety_fails_on_two_entries_applied_at_one_index() {
    let applied = |ms, node, index, chain| proto(ms, node, Event::Applied { index, chain });
    let good = vec![
        applied(1, 0, 1, 7),
        applied(2, 1, 1, 7),
        applied(3, 0, 2, 8),
    ];
    assert!(
        judge(&mut StateMachineSafety::default(), &good, 10)
            .unwrap()
            .0
    );
    let bad = vec![applied(1, 0, 1, 7), applied(2, 1, 1, 9)];
    let err = judge(&mut StateMachineSafety::default(), &bad, 10).unwrap_err();
    assert!(err.contains("index 1"), "{err}");
    let skip = vec![applied(1, 0, 2, 7)];
    let err = judge(&mut StateMachineSafety::default(), &skip, 10).unwrap_err();
    assert!(err.contains("expected 1"), "{err}");
    let falls = vec![
        proto(1, 0, Event::Committed { index: 5 }),
        proto(2, 0, Event::Committed { index: 4 }),
    ];
    let err = judge(&mut StateMachineSafety::default(), &falls, 10).unwrap_err();
    assert!(err.contains("fell"), "{err}");
}

fn acquire(resource: &str, mode: LockMode) -> Op {
    Op::Acquire {
        resource: resource.into(),
        mode,
    }
}

fn release(resource: &str) -> Op {
    Op::Release {
        resource: resource.into(),
    }
}

#[test]
fn lock_safety_fails_on_overlapping_exclusive_holds() {
    let x = LockMode::Exclusive;
    // 10 holds r from 5 to its release at 50; 11 from 60.
    let good = vec![
        invoke(0, 10, 1, acquire("r", x)),
        ret(5, 10, 1, ok()),
        invoke(50, 10, 2, release("r")),
        invoke(40, 11, 1, acquire("r", x)),
        ret(60, 11, 1, ok()),
        ret(61, 10, 2, ok()),
    ];
    assert!(judge(&mut LockSafety::new(1000), &good, 100).unwrap().0);
    // Lease: 10 never releases, but its lease (invoke 0 + 100 ms) ends before 11's grant.
    let lapsed = vec![
        invoke(0, 10, 1, acquire("r", x)),
        ret(5, 10, 1, ok()),
        invoke(40, 11, 1, acquire("r", x)),
        ret(100, 11, 1, ok()),
    ];
    assert!(judge(&mut LockSafety::new(100), &lapsed, 200).unwrap().0);
    // A successful renew extends the lease: now they overlap.
    let mut renewed = lapsed.clone();
    renewed.insert(
        2,
        invoke(
            30,
            10,
            2,
            Op::Renew {
                resource: "r".into(),
            },
        ),
    );
    renewed.insert(3, ret(35, 10, 2, ok()));
    let (held, detail) = judge(&mut LockSafety::new(100), &renewed, 200).unwrap();
    assert!(!held, "{detail}");
    // Shared beside shared is fine; exclusive beside shared is not.
    let s = LockMode::Shared;
    let shared = vec![
        invoke(0, 10, 1, acquire("r", s)),
        ret(5, 10, 1, ok()),
        invoke(1, 11, 1, acquire("r", s)),
        ret(6, 11, 1, ok()),
    ];
    assert!(judge(&mut LockSafety::new(1000), &shared, 100).unwrap().0);
    let mixed = vec![
        invoke(0, 10, 1, acquire("r", s)),
        ret(5, 10, 1, ok()),
        invoke(1, 11, 1, acquire("r", x)),
        ret(6, 11, 1, ok()),
    ];
    let (held, detail) = judge(&mut LockSafety::new(1000), &mixed, 100).unwrap();
    assert!(!held && detail.contains("r:"), "{detail}");
    // Refused or unknown acquires hold nothing.
    let refused = vec![
        invoke(0, 10, 1, acquire("r", x)),
        ret(5, 10, 1, ok()),
        invoke(1, 11, 1, acquire("r", x)),
        ret(6, 11, 1, Outcome::fail(Refusal::Deadlock)),
        invoke(7, 11, 2, acquire("r", x)),
        ret(8, 11, 2, Outcome::Unknown),
    ];
    assert!(judge(&mut LockSafety::new(1000), &refused, 100).unwrap().0);
}

#[test]
fn queue_delivery_fails_on_lost_messages_and_delivery_after_ack() {
    let enq = |ms, client, seq, body: &str| {
        invoke(
            ms,
            client,
            seq,
            Op::Enqueue {
                queue: "q".into(),
                body: body.into(),
            },
        )
    };
    let deq = |ms, client, seq| invoke(ms, client, seq, Op::Dequeue { queue: "q".into() });
    let ack = |ms, client, seq, id| {
        let queue = "q".into();
        invoke(ms, client, seq, Op::Ack { queue, id })
    };
    let msg = |id, body: &str| {
        Outcome::ok(Value::Message {
            id,
            body: body.into(),
        })
    };
    let base = vec![
        enq(0, 10, 1, "a"),
        ret(5, 10, 1, Outcome::ok(Value::Enqueued { id: 1 })),
    ];
    // Never dequeued is no loss by itself (the consumers may be slow)...
    assert!(judge(&mut QueueDelivery::new(), &base, 60_000).unwrap().0);
    // ...but a queue found empty with nothing in flight after the enqueue returned is.
    let empty = |ms, client, seq| ret(ms, client, seq, Outcome::ok(Value::Empty { in_flight: 0 }));
    let mut lost = base.clone();
    lost.extend([deq(10, 11, 1), empty(15, 11, 1)]);
    let err = judge(&mut QueueDelivery::new(), &lost, 2000).unwrap_err();
    assert!(err.contains("message 1") && err.contains("lost"), "{err}");
    // An empty queue seen by a dequeue invoked before the enqueue returned proves nothing.
    let mut early = vec![deq(0, 11, 1)];
    early.extend(base.clone());
    early.push(empty(6, 11, 1));
    assert!(judge(&mut QueueDelivery::new(), &early, 2000).unwrap().0);
    // Nor does one after an ack was asked for, whatever came of it (it may be applied).
    let mut maybe = base.clone();
    maybe.extend([
        deq(10, 11, 1),
        ret(15, 11, 1, msg(1, "a")),
        ack(20, 11, 2, 1),
        ret(25, 11, 2, Outcome::Unknown),
        deq(30, 12, 1),
        empty(35, 12, 1),
    ]);
    assert!(judge(&mut QueueDelivery::new(), &maybe, 2000).unwrap().0);
    let mut good = base.clone();
    good.extend([
        deq(10, 11, 1),
        ret(15, 11, 1, msg(1, "a")),
        ack(20, 11, 2, 1),
        ret(25, 11, 2, ok()),
        // A dequeue concurrent with the ack may still see it.
        deq(22, 12, 1),
        ret(30, 12, 1, msg(1, "a")),
    ]);
    assert!(judge(&mut QueueDelivery::new(), &good, 2000).unwrap().0);
    let mut after_ack = good.clone();
    after_ack.extend([deq(40, 12, 2), ret(45, 12, 2, msg(1, "a"))]);
    let err = judge(&mut QueueDelivery::new(), &after_ack, 2000).unwrap_err();
    assert!(err.contains("after an ack"), "{err}");
    let mut wrong_body = base;
    wrong_body.extend([deq(10, 11, 1), ret(15, 11, 1, msg(1, "b"))]);
    let err = judge(&mut QueueDelivery::new(), &wrong_body, 2000).unwrap_err();
    assert!(err.contains("enqueued as"), "{err}");
}

#[test]
fn liveness_fails_without_a_leader_or_progress_after_the_last_fault() {
    let servers = [n(0), n(1), n(2)];
    let clients = [n(3)];
    let cfg = ChecksConfig {
        leader_within_ms: 1000,
        progress_within_ms: 2000,
        ..ChecksConfig::default()
    };
    let crash = at(100, 0, Ev::Crash);
    let get = || Op::Get { key: "k".into() };
    let mut good = leads(10, 0, 1);
    good.push(crash.clone());
    good.extend(leads(600, 1, 2));
    good.push(invoke(700, 3, 1, get()));
    good.push(ret(800, 3, 1, Outcome::ok(Value::Read { value: None })));
    let (held, detail) = judge(&mut Liveness::new(&servers, &clients, &cfg), &good, 5000).unwrap();
    assert!(held, "{detail}");
    // The leader of term 1 crashed and nobody took over.
    let mut leaderless = leads(10, 0, 1);
    leaderless.push(crash.clone());
    let (held, detail) = judge(
        &mut Liveness::new(&servers, &clients, &cfg),
        &leaderless,
        5000,
    )
    .unwrap();
    assert!(!held && detail.contains("no leader"), "{detail}");
    // A stale leader of an older term does not count.
    let mut stale = leads(10, 1, 1);
    stale.extend(leads(20, 0, 2));
    stale.push(crash.clone());
    let (held, _) = judge(&mut Liveness::new(&servers, &clients, &cfg), &stale, 5000).unwrap();
    assert!(!held);
    // A leader, but the client's operations never complete.
    let mut stuck = leads(10, 0, 1);
    stuck.push(crash);
    stuck.extend(leads(600, 1, 2));
    stuck.push(invoke(700, 3, 1, get()));
    stuck.push(ret(3700, 3, 1, Outcome::Unknown));
    let (held, detail) = judge(&mut Liveness::new(&servers, &clients, &cfg), &stuck, 5000).unwrap();
    assert!(!held && detail.contains("none completed"), "{detail}");
    // Without a majority connected, nothing is judged: vacuous, which is no pass.
    let mut split = leads(10, 0, 1);
    split.push(at(100, 1, Ev::Crash));
    split.push(at(100, 2, Ev::Crash));
    let (held, detail) = judge(&mut Liveness::new(&servers, &clients, &cfg), &split, 5000).unwrap();
    assert!(!held && detail.contains("not judged"), "{detail}");
}

/// The detail of a failed judgement, whether found as the trace went or at its end.
fn failure(check: &mut dyn Check<Event>, trace: &[Record<Event>], end_ms: u64) -> String {
    match judge(check, trace, end_ms) {
        Err(detail) | Ok((false, detail)) => detail,
        Ok((true, detail)) => panic!("held: {detail}"),
    }
}

fn committed(ms: u64, node: u16, index: u64) -> Record<Event> {
    proto(ms, node, Event::Committed { index })
}

#[test]
fn catch_up_fails_when_a_connected_replica_stays_behind_the_leader() {
    let servers = [n(0), n(1), n(2)];
    // s1 leads and commits 5; a partition of s3 heals at 1000 ms; the bound is 2000 ms.
    let link = vec![(n(2), n(0)), (n(0), n(2))];
    let mut base = leads(10, 0, 1);
    base.push(at(
        500,
        u16::MAX,
        Ev::Partition {
            links: link.clone(),
        },
    ));
    base.push(committed(600, 0, 5));
    base.push(committed(650, 1, 5));
    base.push(at(1000, u16::MAX, Ev::Heal { links: link }));
    let mut good = base.clone();
    good.push(committed(1200, 2, 5));
    let (held, detail) = judge(&mut CatchUp::new(&servers, 2000), &good, 5000).unwrap();
    assert!(held, "{detail}");
    // s3 never catches up: the leader does not bring it back.
    let err = failure(&mut CatchUp::new(&servers, 2000), &base, 5000);
    assert!(
        err.contains("#2 at 0") && err.contains("commit index 5"),
        "{err}"
    );
    // A crashed replica is not asked to catch up; a run too short judges nothing.
    let mut down = base.clone();
    down.push(at(1100, 2, Ev::Crash));
    let (held, detail) = judge(&mut CatchUp::new(&servers, 2000), &down, 5000).unwrap();
    assert!(held, "{detail}");
    let (held, detail) = judge(&mut CatchUp::new(&servers, 2000), &base, 2500).unwrap();
    assert!(!held && detail.contains("not judged"), "{detail}");
}

#[test]
fn failover_is_judged_after_every_leader_crash_not_only_the_last() {
    let servers = [n(0), n(1), n(2)];
    // The leader of term 1 crashes at 100 ms and is replaced at 600 ms: in time.
    let mut good = leads(10, 0, 1);
    good.push(at(100, 0, Ev::Crash));
    good.extend(leads(600, 1, 2));
    good.push(at(5000, 0, Ev::Restart));
    let (held, detail) = judge(&mut Failover::new(&servers, 1000), &good, 9000).unwrap();
    assert!(held && detail.contains("1 crashed"), "{detail}");
    // Nobody takes over for 4 s; the old leader's restart later does not excuse it.
    let mut slow = leads(10, 0, 1);
    slow.push(at(100, 0, Ev::Crash));
    slow.extend(leads(4100, 1, 2));
    slow.push(at(8000, 0, Ev::Restart));
    let err = failure(&mut Failover::new(&servers, 1000), &slow, 9000);
    assert!(err.contains("crashed at 100ms"), "{err}");
    // The leader back within the bound: not judged. A paused leader counts as gone.
    let mut back = leads(10, 0, 1);
    back.push(at(100, 0, Ev::Crash));
    back.push(at(400, 0, Ev::Restart));
    let (held, _) = judge(&mut Failover::new(&servers, 1000), &back, 9000).unwrap();
    assert!(!held, "vacuous is no pass");
    let mut paused = leads(10, 0, 1);
    paused.push(at(100, 0, Ev::Pause));
    let err = failure(&mut Failover::new(&servers, 1000), &paused, 9000);
    assert!(err.contains("no new leader"), "{err}");
}

#[test]
fn the_traffic_budget_fails_the_run_past_its_messages() {
    let send = |ms: u64| {
        at(
            ms,
            0,
            Ev::Send {
                to: Some(n(1)),
                id: ms,
                label: "HB".into(),
            },
        )
    };
    let trace: Vec<Record<Event>> = (1..=10).map(send).collect();
    let (held, detail) = judge(&mut TrafficBudget::new(10), &trace, 100).unwrap();
    assert!(held && detail.contains("10 messages"), "{detail}");
    let err = judge(&mut TrafficBudget::new(9), &trace, 100).unwrap_err();
    assert!(err.contains("over the budget of 9"), "{err}");
}
