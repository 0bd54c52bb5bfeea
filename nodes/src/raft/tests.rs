//! Unit tests of single nodes: feed a message or a timer, look at what they asked for.

use faultline_sim::testkit::{self, events, roles, sent};
use faultline_sim::{Action, Node, NodeId, Note, Timer};

use super::state_machine::{Answer, StateMachine};
use super::*;

/// A replica's surroundings.
type Bench = testkit::Bench<Msg, Event, ReplicaTimer>;
/// A client's surroundings.
type ClientBench = testkit::Bench<Msg, Event, ClientTimer>;
type Out = testkit::Out<Msg, Event>;

fn n(id: u16) -> NodeId {
    NodeId(id)
}

fn cfg(servers: u16, bugs: &[&str]) -> RaftConfig {
    let names: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    RaftConfig {
        servers: (0..servers).map(NodeId).collect(),
        bugs: Bugs::from_names(&names).unwrap(),
        // The election tests below start at the vote; pre-votes have their own tests.
        pre_vote: false,
        ..Default::default()
    }
}

fn entry(term: u64, index: u64, payload: Payload) -> Entry {
    Entry {
        term,
        index,
        at_ms: index,
        payload,
    }
}

fn noop(term: u64, index: u64) -> Entry {
    entry(term, index, Payload::Noop)
}

fn put(term: u64, index: u64, client: u16, seq: u64, key: &str, value: &str) -> Entry {
    let op = Op::Put {
        key: key.into(),
        value: value.into(),
    };
    entry(
        term,
        index,
        Payload::Command {
            client: n(client),
            seq,
            op,
        },
    )
}

fn append(term: u64, prev_index: u64, prev_term: u64, entries: Vec<Entry>, commit: u64) -> Msg {
    Msg::Append {
        term,
        prev_index,
        prev_term,
        entries,
        commit,
    }
}

/// A started follower `me` of a five-replica group.
fn follower(me: u16, bugs: &[&str]) -> (Replica, Bench) {
    let mut r = Replica::new(cfg(5, bugs));
    let mut b = Bench::new(me);
    b.run(|cx| r.on_start(cx));
    (r, b)
}

/// Replica 0 elected leader of term 1 with the votes of 1 and 2.
fn leader(bugs: &[&str]) -> (Replica, Bench) {
    let (mut r, mut b) = follower(0, bugs);
    b.advance_ms(600);
    b.run(|cx| r.on_timer(ReplicaTimer::Election, cx));
    for v in [1, 2] {
        let vote = Msg::Vote {
            term: 1,
            granted: true,
        };
        b.run(|cx| r.on_message(n(v), vote, cx));
    }
    (r, b)
}

#[test]
fn an_election_timeout_starts_a_durable_candidacy() {
    let (mut r, mut b) = follower(0, &[]);
    b.advance_ms(600);
    let out = b.run(|cx| r.on_timer(ReplicaTimer::Election, cx));
    assert_eq!(roles(&out), vec!["candidate"]);
    assert!(out.1.contains(&Note::ElectionStarted));
    for peer in 1..5 {
        assert_eq!(
            sent(&out, peer),
            vec![Msg::RequestVote {
                term: 1,
                last_index: 0,
                last_term: 0
            }]
        );
    }
    // The timeout is re-armed with a random duration within the bounds.
    let timer = out.0.iter().find_map(|a| match a {
        Action::SetTimer(t, d) if *t == ReplicaTimer::Election.id() => Some(d.as_millis()),
        _ => None,
    });
    assert!(
        timer.is_some_and(|ms| (300..=600).contains(&ms)),
        "{timer:?}"
    );
    // Term and vote survive a restart.
    let mut again = Replica::new(cfg(5, &[]));
    b.run(|cx| again.on_start(cx));
    assert_eq!((again.term, again.voted_for), (1, Some(n(0))));
}

#[test]
fn a_replica_votes_once_per_term_unless_vote_twice_is_planted() {
    let ask = |term| Msg::RequestVote {
        term,
        last_index: 0,
        last_term: 0,
    };
    let granted = |out: &Out, to| {
        sent(out, to)
            .into_iter()
            .any(|m| matches!(m, Msg::Vote { granted: true, .. }))
    };
    let (mut r, mut b) = follower(0, &[]);
    let out = b.run(|cx| r.on_message(n(1), ask(1), cx));
    assert!(granted(&out, 1));
    let out = b.run(|cx| r.on_message(n(2), ask(1), cx));
    assert!(!granted(&out, 2), "second vote in term 1");
    let out = b.run(|cx| r.on_message(n(1), ask(1), cx));
    assert!(granted(&out, 1), "a repeated request gets the same vote");
    let out = b.run(|cx| r.on_message(n(2), ask(2), cx));
    assert!(granted(&out, 2), "a new term frees the vote");

    let (mut r, mut b) = follower(0, &["vote-twice"]);
    b.run(|cx| r.on_message(n(1), ask(1), cx));
    let out = b.run(|cx| r.on_message(n(2), ask(1), cx));
    assert!(granted(&out, 2), "vote-twice grants the second vote");
}

#[test]
fn a_vote_goes_only_to_an_up_to_date_log_unless_vote_stale_log_is_planted() {
    let (mut r, mut b) = follower(0, &[]);
    let entries = vec![noop(2, 1), noop(2, 2)];
    b.run(|cx| r.on_message(n(1), append(2, 0, 0, entries, 0), cx));
    let vote = |out: &Out, to| sent(out, to);
    // Shorter log of the same last term: refused.
    let ask = Msg::RequestVote {
        term: 3,
        last_index: 1,
        last_term: 2,
    };
    let out = b.run(|cx| r.on_message(n(3), ask, cx));
    assert_eq!(
        vote(&out, 3),
        vec![Msg::Vote {
            term: 3,
            granted: false
        }]
    );
    // Higher last term wins even if shorter.
    let ask = Msg::RequestVote {
        term: 4,
        last_index: 1,
        last_term: 3,
    };
    let out = b.run(|cx| r.on_message(n(4), ask, cx));
    assert_eq!(
        vote(&out, 4),
        vec![Msg::Vote {
            term: 4,
            granted: true
        }]
    );
    // With vote-stale-log planted, an empty log gets the vote.
    let (mut r, mut b) = follower(0, &["vote-stale-log"]);
    let entries = vec![noop(2, 1), noop(2, 2)];
    b.run(|cx| r.on_message(n(1), append(2, 0, 0, entries, 0), cx));
    let ask = Msg::RequestVote {
        term: 3,
        last_index: 0,
        last_term: 0,
    };
    let out = b.run(|cx| r.on_message(n(3), ask, cx));
    assert!(matches!(
        vote(&out, 3)[..],
        [Msg::Vote { granted: true, .. }]
    ));
}

#[test]
fn a_majority_of_votes_makes_a_leader_that_heartbeats_at_once() {
    let (mut r, mut b) = follower(0, &[]);
    b.advance_ms(600);
    b.run(|cx| r.on_timer(ReplicaTimer::Election, cx));
    let yes = Msg::Vote {
        term: 1,
        granted: true,
    };
    let out = b.run(|cx| r.on_message(n(1), yes.clone(), cx));
    assert!(roles(&out).is_empty(), "two votes of five are not enough");
    let out = b.run(|cx| r.on_message(n(2), yes, cx));
    assert_eq!(roles(&out), vec!["leader"]);
    assert_eq!(events(&out), vec![Event::BecameLeader { term: 1 }]);
    for peer in 1..5 {
        assert_eq!(sent(&out, peer), vec![append(1, 0, 0, vec![], 0)]);
    }
    // Its first heartbeat tick appends a no-op of its term.
    b.advance_ms(50);
    let out = b.run(|cx| r.on_timer(ReplicaTimer::Heartbeat, cx));
    assert!(matches!(
        events(&out).first(),
        Some(Event::Appended {
            index: 1,
            term: 1,
            ..
        })
    ));
}

#[test]
fn a_follower_appends_matches_and_hints_at_conflicts() {
    let (mut r, mut b) = follower(1, &[]);
    let entries = vec![noop(1, 1), noop(1, 2), noop(2, 3)];
    let out = b.run(|cx| r.on_message(n(0), append(2, 0, 0, entries, 2), cx));
    let ok = Msg::AppendReply {
        term: 2,
        ok: true,
        match_index: 3,
        conflict_term: 0,
        conflict_index: 0,
    };
    assert_eq!(sent(&out, 0), vec![ok]);
    assert!(events(&out).contains(&Event::Committed { index: 2 }));
    // Past the end: the hint is the log's end.
    let out = b.run(|cx| r.on_message(n(0), append(2, 7, 2, vec![], 2), cx));
    assert!(matches!(
        sent(&out, 0).as_slice(),
        [Msg::AppendReply {
            ok: false,
            conflict_term: 0,
            conflict_index: 4,
            ..
        }]
    ));
    // A term mismatch at prev_index: the hint is that term and its first index.
    let out = b.run(|cx| r.on_message(n(4), append(3, 3, 3, vec![], 2), cx));
    assert!(matches!(
        sent(&out, 4).as_slice(),
        [Msg::AppendReply {
            ok: false,
            conflict_term: 2,
            conflict_index: 3,
            ..
        }]
    ));
    // The new leader overwrites the uncommitted index 3.
    let out = b.run(|cx| r.on_message(n(4), append(3, 2, 1, vec![noop(3, 3)], 2), cx));
    let evs = events(&out);
    assert_eq!(evs.first(), Some(&Event::Truncated { from_index: 3 }));
    assert!(matches!(
        evs.get(1),
        Some(Event::Appended {
            index: 3,
            term: 3,
            ..
        })
    ));
    // Asking to cut a committed entry is not obeyed.
    let out = b.run(|cx| r.on_message(n(4), append(3, 1, 1, vec![noop(3, 2)], 2), cx));
    assert!(events(&out).is_empty());
    assert!(sent(&out, 4).is_empty());
}

#[test]
fn a_leader_backs_off_with_the_conflict_hint() {
    let (mut r, mut b) = leader(&[]);
    b.advance_ms(50);
    b.run(|cx| r.on_timer(ReplicaTimer::Heartbeat, cx)); // no-op at index 1
    for i in 2..=4 {
        let req = Msg::Request {
            seq: i,
            op: Op::Get { key: "k".into() },
        };
        b.run(|cx| r.on_message(n(5), req, cx));
    }
    // Follower 3 has a term-0 log ending at 0.
    let reply = Msg::AppendReply {
        term: 1,
        ok: false,
        match_index: 0,
        conflict_term: 0,
        conflict_index: 1,
    };
    let out = b.run(|cx| r.on_message(n(3), reply, cx));
    match sent(&out, 3).as_slice() {
        [Msg::Append {
            prev_index: 0,
            entries,
            ..
        }] => assert_eq!(entries.len(), 4),
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_entries_of_the_current_term_commit_by_counting() {
    // Replica 0 has entries of term 1 from an old leader, then wins term 2.
    let run = |bugs: &[&str]| {
        let (mut r, mut b) = follower(0, bugs);
        let entries = vec![noop(1, 1), noop(1, 2)];
        b.run(|cx| r.on_message(n(4), append(1, 0, 0, entries, 0), cx));
        b.advance_ms(700);
        b.run(|cx| r.on_timer(ReplicaTimer::Election, cx));
        for v in [1, 2] {
            let vote = Msg::Vote {
                term: 2,
                granted: true,
            };
            b.run(|cx| r.on_message(n(v), vote, cx));
        }
        assert_eq!(r.term, 2);
        // Two followers confirm index 2 (of term 1) before the no-op of term 2.
        let mut committed = Vec::new();
        for f in [1, 2] {
            let ok = Msg::AppendReply {
                term: 2,
                ok: true,
                match_index: 2,
                conflict_term: 0,
                conflict_index: 0,
            };
            let out = b.run(|cx| r.on_message(n(f), ok, cx));
            committed.extend(events(&out));
        }
        committed
    };
    assert!(
        run(&[]).is_empty(),
        "old-term entries wait for one of term 2"
    );
    assert!(run(&["commit-old-term"]).contains(&Event::Committed { index: 2 }));
}

#[test]
fn a_restarted_replica_recovers_term_vote_and_log() {
    let (mut r, mut b) = follower(1, &[]);
    let entries = vec![noop(1, 1), put(1, 2, 5, 1, "k", "v"), noop(2, 3)];
    b.run(|cx| r.on_message(n(0), append(2, 0, 0, entries, 2), cx));
    let chain = r.log.last_chain();
    let mut again = Replica::new(cfg(5, &[]));
    let out = b.run(|cx| again.on_start(cx));
    assert_eq!(again.term, 2);
    assert_eq!(again.log.last_index(), 3);
    assert_eq!(
        events(&out),
        vec![Event::Restored {
            snapshot_index: 0,
            last_index: 3,
            chain
        }]
    );
    // Commit is volatile: it is relearned from the leader.
    assert_eq!(again.commit, 0);
}

#[test]
fn a_follower_redirects_and_a_leader_proposes_once_and_answers_retries() {
    let (mut f, mut fb) = follower(1, &[]);
    fb.run(|cx| f.on_message(n(0), append(1, 0, 0, vec![], 0), cx));
    let req = Msg::Request {
        seq: 1,
        op: Op::Put {
            key: "k".into(),
            value: "v".into(),
        },
    };
    let out = fb.run(|cx| f.on_message(n(5), req.clone(), cx));
    assert_eq!(
        sent(&out, 5),
        vec![Msg::Redirect {
            seq: 1,
            leader: Some(n(0))
        }]
    );

    let (mut r, mut b) = leader(&[]);
    let out = b.run(|cx| r.on_message(n(5), req.clone(), cx));
    assert_eq!(events(&out).len(), 1, "appended once");
    let out = b.run(|cx| r.on_message(n(5), req.clone(), cx));
    assert!(
        events(&out).is_empty(),
        "a retry in flight is not appended again"
    );
    // Two followers store it: committed, applied, answered.
    let mut replies = Vec::new();
    for f in [1, 2] {
        let ok = Msg::AppendReply {
            term: 1,
            ok: true,
            match_index: 1,
            conflict_term: 0,
            conflict_index: 0,
        };
        let out = b.run(|cx| r.on_message(n(f), ok, cx));
        replies.extend(sent(&out, 5));
    }
    let done = Msg::Reply {
        client: n(5),
        seq: 1,
        result: Outcome::ok(Value::Done),
    };
    assert_eq!(replies, vec![done.clone()]);
    // A retry after that is answered from the session cache, without a new entry.
    let out = b.run(|cx| r.on_message(n(5), req, cx));
    assert_eq!(sent(&out, 5), vec![done]);
    assert!(events(&out).is_empty());
}

#[test]
fn a_lagging_follower_gets_the_snapshot_in_chunks() {
    let mut cfg_small = cfg(5, &[]);
    cfg_small.snapshot_entries = 3;
    let mut r = Replica::new(cfg_small.clone());
    let mut b = Bench::new(0);
    b.run(|cx| r.on_start(cx));
    b.advance_ms(600);
    b.run(|cx| r.on_timer(ReplicaTimer::Election, cx));
    for v in [1, 2] {
        let vote = Msg::Vote {
            term: 1,
            granted: true,
        };
        b.run(|cx| r.on_message(n(v), vote, cx));
    }
    let mut taken = Vec::new();
    for seq in 1..=4 {
        let req = Msg::Request {
            seq,
            op: Op::Put {
                key: format!("k{seq}"),
                value: "v".into(),
            },
        };
        b.run(|cx| r.on_message(n(5), req, cx));
        let ok = Msg::AppendReply {
            term: 1,
            ok: true,
            match_index: seq,
            conflict_term: 0,
            conflict_index: 0,
        };
        b.run(|cx| r.on_message(n(1), ok.clone(), cx));
        let out = b.run(|cx| r.on_message(n(2), ok, cx));
        taken.extend(
            events(&out)
                .into_iter()
                .filter(|e| matches!(e, Event::SnapshotTaken { .. })),
        );
    }
    assert!(matches!(
        taken.as_slice(),
        [Event::SnapshotTaken { index: 3, .. }]
    ));
    // Follower 3 has nothing: the leader's back-off reaches the snapshot.
    let reply = Msg::AppendReply {
        term: 1,
        ok: false,
        match_index: 0,
        conflict_term: 0,
        conflict_index: 1,
    };
    let out = b.run(|cx| r.on_message(n(3), reply, cx));
    let chunk = sent(&out, 3).pop().unwrap();
    assert!(matches!(
        chunk,
        Msg::Snapshot {
            last_index: 3,
            offset_bytes: 0,
            ..
        }
    ));
    // The follower installs it and reports, then takes index 4 by append.
    let (mut f, mut fb) = follower(3, &[]);
    let out = fb.run(|cx| f.on_message(n(0), chunk, cx));
    let evs = events(&out);
    assert!(matches!(
        evs.first(),
        Some(Event::SnapshotInstalled { index: 3, .. })
    ));
    assert_eq!(f.sm, r_state_at(&cfg_small, 3));
    let reply = sent(&out, 0).pop().unwrap();
    let out = b.run(|cx| r.on_message(n(3), reply, cx));
    let next = sent(&out, 3).pop().unwrap();
    assert!(matches!(&next, Msg::Append { prev_index: 3, entries, .. } if entries.len() == 1));
    let out = fb.run(|cx| f.on_message(n(0), next, cx));
    assert!(matches!(
        sent(&out, 0).as_slice(),
        [Msg::AppendReply {
            ok: true,
            match_index: 4,
            ..
        }]
    ));
}

/// The state machine after the puts k1..k`upto` of the snapshot test.
fn r_state_at(cfg: &RaftConfig, upto: u64) -> StateMachine {
    let mut sm = StateMachine::default();
    let mut out = Vec::new();
    for seq in 1..=upto {
        let e = put(1, seq, 5, seq, &format!("k{seq}"), "v");
        sm.apply(&e, cfg, &mut out);
    }
    sm
}

/// Applies commands to a state machine at the given times; returns every answer.
fn apply_all(sm: &mut StateMachine, cfg: &RaftConfig, cmds: &[(u64, u16, u64, Op)]) -> Vec<Answer> {
    let mut out = Vec::new();
    for (i, (at_ms, client, seq, op)) in cmds.iter().enumerate() {
        let e = Entry {
            term: 1,
            index: i as u64 + 1,
            at_ms: *at_ms,
            payload: Payload::Command {
                client: n(*client),
                seq: *seq,
                op: op.clone(),
            },
        };
        sm.apply(&e, cfg, &mut out);
    }
    out
}

fn acquire(resource: &str, mode: LockMode) -> Op {
    Op::Acquire {
        resource: resource.into(),
        mode,
    }
}

fn answer(client: u16, seq: u64, result: Outcome) -> Answer {
    Answer {
        client: n(client),
        seq,
        result,
    }
}

#[test]
fn locks_share_exclude_queue_fifo_and_expire_by_entry_time() {
    let cfg = cfg(3, &[]); // lease 1000 ms
    let mut sm = StateMachine::default();
    let ok = || Outcome::ok(Value::Done);
    let out = apply_all(
        &mut sm,
        &cfg,
        &[
            (0, 10, 1, acquire("r", LockMode::Shared)),
            (1, 11, 1, acquire("r", LockMode::Shared)),
            // An exclusive request waits for both...
            (2, 12, 1, acquire("r", LockMode::Exclusive)),
            // ...and a later shared one waits behind it (FIFO).
            (3, 13, 1, acquire("r", LockMode::Shared)),
            (
                4,
                10,
                2,
                Op::Release {
                    resource: "r".into(),
                },
            ),
            (
                5,
                11,
                2,
                Op::Release {
                    resource: "r".into(),
                },
            ),
        ],
    );
    assert_eq!(
        out,
        vec![
            answer(10, 1, ok()),
            answer(11, 1, ok()),
            answer(10, 2, ok()),
            answer(11, 2, ok()),
            answer(12, 1, ok()),
        ]
    );
    // 12 holds it exclusively from t=5 until 1005; a tick at 1005 frees it for 13.
    assert!(!sm.needs_tick(1004));
    assert!(sm.needs_tick(1005));
    let mut out = Vec::new();
    sm.apply(&noop(1, 7), &cfg, &mut out); // at_ms 7: too early
    assert!(out.is_empty());
    let tick = Entry {
        at_ms: 1005,
        ..noop(1, 8)
    };
    sm.apply(&tick, &cfg, &mut out);
    assert_eq!(out, vec![answer(13, 1, ok())]);
    // 12's lease ran out: its renew fails.
    let out = apply_all(
        &mut sm,
        &cfg,
        &[(
            1006,
            12,
            2,
            Op::Renew {
                resource: "r".into(),
            },
        )],
    );
    assert_eq!(out, vec![answer(12, 2, Outcome::fail(Refusal::NotHeld))]);
}

#[test]
fn a_deadlock_refuses_the_youngest_waiter() {
    let cfg = cfg(3, &[]);
    let mut sm = StateMachine::default();
    let out = apply_all(
        &mut sm,
        &cfg,
        &[
            (0, 10, 1, acquire("a", LockMode::Exclusive)),
            (0, 11, 1, acquire("b", LockMode::Exclusive)),
            (1, 10, 2, acquire("b", LockMode::Exclusive)), // waits for 11
            (2, 11, 2, acquire("a", LockMode::Exclusive)), // would close the cycle
        ],
    );
    let ok = Outcome::ok(Value::Done);
    assert_eq!(
        out,
        vec![
            answer(10, 1, ok.clone()),
            answer(11, 1, ok.clone()),
            answer(11, 2, Outcome::fail(Refusal::Deadlock)),
        ]
    );
    // 11 gives b up: 10 gets it.
    let out = apply_all(
        &mut sm,
        &cfg,
        &[(
            3,
            11,
            3,
            Op::Release {
                resource: "b".into(),
            },
        )],
    );
    assert_eq!(out, vec![answer(11, 3, ok.clone()), answer(10, 2, ok)]);
}

#[test]
fn lease_ignored_takes_a_lock_from_a_live_holder() {
    let run = |bugs: &[&str]| {
        let mut sm = StateMachine::default();
        apply_all(
            &mut sm,
            &cfg(3, bugs),
            &[
                (0, 10, 1, acquire("a", LockMode::Exclusive)),
                (10, 11, 1, acquire("a", LockMode::Exclusive)),
            ],
        )
    };
    assert_eq!(run(&[]).len(), 1, "11 waits");
    assert_eq!(run(&["lease-ignored"]).len(), 2, "11 gets it at once");
}

#[test]
fn sessions_apply_a_command_once_and_cas_compares() {
    let cfg = cfg(3, &[]);
    let mut sm = StateMachine::default();
    let cas = |expected: Option<&str>, new: &str| Op::Cas {
        key: "k".into(),
        expected: expected.map(String::from),
        new: new.into(),
    };
    let out = apply_all(
        &mut sm,
        &cfg,
        &[
            (0, 10, 1, cas(None, "a")),
            (1, 10, 1, cas(None, "a")), // the retry: answered from the cache
            (2, 11, 1, cas(None, "b")),
            (3, 11, 2, cas(Some("a"), "b")),
            (4, 10, 2, Op::Get { key: "k".into() }),
            (5, 10, 1, Op::Delete { key: "k".into() }), // stale: ignored
        ],
    );
    let ok = Outcome::ok(Value::Done);
    assert_eq!(
        out,
        vec![
            answer(10, 1, ok.clone()),
            answer(10, 1, ok.clone()),
            answer(11, 1, Outcome::fail(Refusal::Mismatch)),
            answer(11, 2, ok),
            answer(
                10,
                2,
                Outcome::ok(Value::Read {
                    value: Some("b".into())
                })
            ),
        ]
    );
    // Snapshots round-trip the whole state.
    assert_eq!(StateMachine::decode(&sm.encode()), Some(sm));
}

#[test]
fn a_client_invokes_retries_and_gives_up_as_unknown() {
    let work = Workload {
        ops: 1,
        mix: Mix {
            kv: 1,
            lock: 0,
            queue: 0,
        },
        ..Default::default()
    };
    let mut c = Client::new(cfg(3, &[]), work);
    let mut b = ClientBench::new(5);
    b.run(|cx| c.on_start(cx));
    b.advance_ms(500);
    let out = b.run(|cx| c.on_timer(ClientTimer::Next, cx));
    let invoke = events(&out);
    assert!(matches!(invoke.as_slice(), [Event::Invoke { seq: 1, .. }]));
    let requests: Vec<&Action<Msg>> = out
        .0
        .iter()
        .filter(|a| matches!(a, Action::Send(_, Msg::Request { seq: 1, .. })))
        .collect();
    assert_eq!(requests.len(), 1);
    b.advance_ms(3000);
    let out = b.run(|cx| c.on_timer(ClientTimer::Deadline, cx));
    assert_eq!(
        events(&out),
        vec![Event::Return {
            seq: 1,
            result: Outcome::Unknown.into()
        }]
    );
}

#[test]
fn garbage_from_peers_is_ignored_without_panics() {
    let (mut r, mut b) = follower(1, &[]);
    // Entries that are not contiguous, a term above the message's, an absurd prev index.
    let bad = append(1, 0, 0, vec![noop(1, 2)], 0);
    let out = b.run(|cx| r.on_message(n(0), bad, cx));
    assert!(out.0.is_empty() || events(&out).is_empty());
    let bad = append(1, 0, 0, vec![noop(5, 1)], 0);
    let out = b.run(|cx| r.on_message(n(0), bad, cx));
    assert!(events(&out).is_empty());
    b.run(|cx| r.on_message(n(0), append(1, u64::MAX, 1, vec![], u64::MAX), cx));
    // A client cannot speak as a replica, nor a replica as a client.
    let out = b.run(|cx| r.on_message(n(7), append(9, 0, 0, vec![], 0), cx));
    assert!(out.0.is_empty() && out.1.is_empty());
    let snap = Msg::Snapshot {
        term: 1,
        last_index: 5,
        last_term: 1,
        last_chain: 0,
        offset_bytes: 0,
        total_bytes: 3,
        data: vec![1, 2, 3],
    };
    let out = b.run(|cx| r.on_message(n(0), snap, cx));
    assert!(!events(&out)
        .iter()
        .any(|e| matches!(e, Event::SnapshotInstalled { .. })));
    assert_eq!(r.log.last_index(), 0);
}

/// A started follower of five with pre-vote on.
fn pre_voting_follower(me: u16) -> (Replica, Bench) {
    let mut r = Replica::new(RaftConfig {
        pre_vote: true,
        ..cfg(5, &[])
    });
    let mut b = Bench::new(me);
    b.run(|cx| r.on_start(cx));
    (r, b)
}

#[test]
fn a_pre_vote_leaves_the_term_alone_until_a_majority_would_vote() {
    let (mut r, mut b) = pre_voting_follower(0);
    b.advance_ms(600);
    let out = b.run(|cx| r.on_timer(ReplicaTimer::Election, cx));
    assert!(roles(&out).is_empty(), "no candidacy yet");
    assert_eq!((r.term, r.voted_for), (0, None));
    let ask = Msg::PreVote {
        term: 1,
        last_index: 0,
        last_term: 0,
    };
    for peer in 1..5 {
        assert_eq!(sent(&out, peer), vec![ask.clone()]);
    }
    let yes = Msg::PreVoteReply {
        term: 1,
        granted: true,
    };
    let out = b.run(|cx| r.on_message(n(1), yes.clone(), cx));
    assert!(roles(&out).is_empty(), "two of five are not enough");
    let no = Msg::PreVoteReply {
        term: 1,
        granted: false,
    };
    b.run(|cx| r.on_message(n(3), no, cx));
    let out = b.run(|cx| r.on_message(n(2), yes, cx));
    assert_eq!(roles(&out), vec!["candidate"]);
    assert_eq!(r.term, 1);
    assert_eq!(
        sent(&out, 4),
        vec![Msg::RequestVote {
            term: 1,
            last_index: 0,
            last_term: 0
        }]
    );
}

#[test]
fn a_replica_that_hears_its_leader_refuses_pre_votes_and_keeps_its_term() {
    let (mut r, mut b) = pre_voting_follower(1);
    b.run(|cx| r.on_message(n(0), append(1, 0, 0, vec![], 0), cx));
    let ask = |term| Msg::PreVote {
        term,
        last_index: 0,
        last_term: 0,
    };
    let out = b.run(|cx| r.on_message(n(2), ask(7), cx));
    assert_eq!(
        sent(&out, 2),
        vec![Msg::PreVoteReply {
            term: 7,
            granted: false
        }]
    );
    assert_eq!(
        (r.term, r.leader),
        (1, Some(n(0))),
        "a pre-vote deposes nobody"
    );
    // Once the leader has been silent for the shortest election timeout, it would vote.
    b.advance_ms(300);
    let out = b.run(|cx| r.on_message(n(2), ask(7), cx));
    assert_eq!(
        sent(&out, 2),
        vec![Msg::PreVoteReply {
            term: 7,
            granted: true
        }]
    );
    assert_eq!(r.term, 1);
    // Never for a term it has already passed.
    let out = b.run(|cx| r.on_message(n(2), ask(1), cx));
    assert!(matches!(
        sent(&out, 2)[..],
        [Msg::PreVoteReply { granted: false, .. }]
    ));
}

#[test]
fn a_term_pushed_to_its_end_by_a_hostile_peer_stops_elections_without_a_panic() {
    // Found by the fuzzer: `term += 1` overflowed once a forged append set the term to u64::MAX.
    for (mut r, mut b) in [follower(1, &[]), pre_voting_follower(1)] {
        b.run(|cx| r.on_message(n(0), append(u64::MAX, 0, 0, vec![], 0), cx));
        assert_eq!(r.term, u64::MAX);
        b.advance_ms(700);
        let out = b.run(|cx| r.on_timer(ReplicaTimer::Election, cx));
        assert!(roles(&out).is_empty(), "no candidacy past the last term");
        assert_eq!(r.term, u64::MAX);
    }
}

#[test]
fn lies_about_counters_at_their_end_saturate_instead_of_panicking() {
    // Found by the fuzzer: `match_index + cx.bump()` overflowed on a reply at u64::MAX.
    use faultline_sim::faults::byzantine::Lie;
    use faultline_sim::testkit::twist;
    let reply = Msg::AppendReply {
        term: u64::MAX,
        ok: false,
        match_index: u64::MAX,
        conflict_term: 0,
        conflict_index: 0,
    };
    let lie = twist(&reply, Lie::Forge);
    assert!(matches!(
        lie,
        Some(Msg::AppendReply {
            match_index: u64::MAX,
            ..
        })
    ));
    let ask = Msg::RequestVote {
        term: u64::MAX,
        last_index: u64::MAX,
        last_term: u64::MAX,
    };
    let lie = twist(&ask, Lie::Forge);
    assert!(matches!(
        lie,
        Some(Msg::RequestVote {
            term: u64::MAX,
            last_index: u64::MAX,
            ..
        })
    ));
}
