//! The seeded fuzzer of Raft's messages (engine: `faultline_sim::testkit::fuzz`): mangled frames and
//! payloads, hostile values built from the message types, all delivered to replicas and a
//! client in several states. No decoder and no node may panic.
//!
//! `FAULTLINE_FUZZ_ITERS=200000 cargo test -p faultline-nodes raft::fuzz --release` hunts
//! longer; a failure prints the seed and iteration that replay it.

use faultline_sim::testkit::fuzz::{Fuzzer, Target};
use faultline_sim::testkit::Bench;
use faultline_sim::{Node, NodeId, Timer};
use rand::Rng;

use super::config::{NAME_BYTES_MAX, VALUE_BYTES_MAX};
use super::op::every_op;
use super::*;

/// The seed every run starts from, so a failure replays.
const SEED: u64 = 0x5241_4654;
/// Replicas in the fuzzed group.
const SERVERS: u16 = 5;

fn cfg() -> RaftConfig {
    RaftConfig {
        servers: (0..SERVERS).map(NodeId).collect(),
        // Small, so hostile appends reach compaction and snapshots.
        snapshot_entries: 8,
        ..Default::default()
    }
}

fn put(term: u64, index: u64) -> Entry {
    Entry {
        term,
        index,
        at_ms: 10 * index,
        payload: Payload::Command {
            client: NodeId(7),
            seq: index,
            op: Op::Put {
                key: "k".into(),
                value: "v".into(),
            },
        },
    }
}

/// One message of every kind (and every op and outcome) with realistic values.
fn corpus() -> Vec<Msg> {
    let mut msgs = vec![
        Msg::RequestVote {
            term: 2,
            last_index: 3,
            last_term: 1,
        },
        Msg::Vote {
            term: 2,
            granted: true,
        },
        Msg::PreVote {
            term: 3,
            last_index: 3,
            last_term: 1,
        },
        Msg::PreVoteReply {
            term: 3,
            granted: true,
        },
        Msg::Append {
            term: 1,
            prev_index: 1,
            prev_term: 1,
            entries: vec![put(1, 2), put(1, 3)],
            commit: 2,
        },
        Msg::AppendReply {
            term: 1,
            ok: false,
            match_index: 0,
            conflict_term: 1,
            conflict_index: 2,
        },
        Msg::Snapshot {
            term: 2,
            last_index: 9,
            last_term: 1,
            last_chain: 0xfeed,
            offset_bytes: 0,
            total_bytes: 6,
            data: vec![1, 2, 3],
        },
        Msg::SnapshotReply {
            term: 2,
            last_index: 9,
            received_bytes: 3,
            done: false,
        },
        Msg::Redirect {
            seq: 4,
            leader: Some(NodeId(2)),
        },
    ];
    for (seq, op) in every_op().into_iter().enumerate() {
        msgs.push(Msg::Request {
            seq: seq as u64 + 1,
            op,
        });
    }
    let values = [
        Value::Done,
        Value::Read {
            value: Some("v".into()),
        },
        Value::Enqueued { id: 1 },
        Value::Message {
            id: 1,
            body: "b".into(),
        },
        Value::Empty { in_flight: 2 },
    ];
    for (seq, value) in values.into_iter().enumerate() {
        msgs.push(Msg::Reply {
            client: NodeId(3),
            seq: seq as u64 + 1,
            result: Outcome::ok(value),
        });
    }
    msgs.push(Msg::Reply {
        client: NodeId(4),
        seq: 9,
        result: Outcome::fail(Refusal::Deadlock),
    });
    msgs
}

/// An operation with hostile names and values.
fn hostile_op(f: &mut Fuzzer) -> Op {
    let mut op = every_op()[f.rng().gen_range(0..10)].clone();
    match &mut op {
        Op::Put { key, value } => {
            *key = f.text(NAME_BYTES_MAX);
            *value = f.text(VALUE_BYTES_MAX);
        }
        Op::Ack { id, .. } => *id = f.u64(),
        Op::Enqueue { body, .. } => *body = f.text(VALUE_BYTES_MAX),
        Op::Cas { expected, .. } => *expected = f.bool().then(|| f.text(VALUE_BYTES_MAX)),
        _ => {}
    }
    op
}

/// An entry with hostile numbers, at `index` or anywhere.
fn hostile_entry(f: &mut Fuzzer, index: u64) -> Entry {
    let payload = match f.rng().gen_range(0..3) {
        0 => Payload::Noop,
        1 => Payload::Start { command: f.u64() },
        _ => Payload::Command {
            client: f.node(SERVERS + 3),
            seq: f.u64(),
            op: hostile_op(f),
        },
    };
    Entry {
        term: if f.bool() { 1 } else { f.u64() },
        index: if f.bool() { index } else { f.u64() },
        at_ms: f.u64(),
        payload,
    }
}

/// A message of a random kind built straight from edge values.
fn hostile_msg(f: &mut Fuzzer) -> Msg {
    match f.rng().gen_range(0..11) {
        0 => Msg::RequestVote {
            term: f.u64(),
            last_index: f.u64(),
            last_term: f.u64(),
        },
        1 => Msg::Vote {
            term: f.u64(),
            granted: f.bool(),
        },
        2 => Msg::PreVote {
            term: f.u64(),
            last_index: f.u64(),
            last_term: f.u64(),
        },
        3 => Msg::PreVoteReply {
            term: f.u64(),
            granted: f.bool(),
        },
        4 => {
            let prev_index = f.u64();
            let n = f.len(ENTRIES_PER_APPEND_MAX);
            let entries = (0..n as u64)
                .map(|i| hostile_entry(f, prev_index.wrapping_add(i + 1)))
                .collect();
            Msg::Append {
                term: f.u64(),
                prev_index,
                prev_term: f.u64(),
                entries,
                commit: f.u64(),
            }
        }
        5 => Msg::AppendReply {
            term: f.u64(),
            ok: f.bool(),
            match_index: f.u64(),
            conflict_term: f.u64(),
            conflict_index: f.u64(),
        },
        6 => {
            let len = f.len(4096);
            Msg::Snapshot {
                term: f.u64(),
                last_index: f.u64(),
                last_term: f.u64(),
                last_chain: f.u64(),
                offset_bytes: f.u64(),
                total_bytes: f.u64(),
                data: (0..len).map(|_| f.rng().gen()).collect(),
            }
        }
        7 => Msg::SnapshotReply {
            term: f.u64(),
            last_index: f.u64(),
            received_bytes: f.u64(),
            done: f.bool(),
        },
        8 => Msg::Request {
            seq: f.u64(),
            op: hostile_op(f),
        },
        9 => Msg::Reply {
            client: NodeId(f.u64() as u16),
            seq: f.u64(),
            result: Outcome::ok(Value::Empty {
                in_flight: f.u64() as u32,
            }),
        },
        _ => Msg::Redirect {
            seq: f.u64(),
            leader: f.bool().then(|| f.node(SERVERS)),
        },
    }
}

fn target(replica: Replica, bench: Bench<Msg, Event, ReplicaTimer>) -> Target<Msg, Event> {
    Target {
        node: Box::new(replica),
        bench: bench.retimed(),
        timers: vec![ReplicaTimer::Election.id(), ReplicaTimer::Heartbeat.id()],
    }
}

/// Replicas as follower with a log, candidate, pre-voting follower and leader with a log, and
/// a client with a request in flight.
fn targets() -> Vec<Target<Msg, Event>> {
    let mut follower = Replica::new(cfg());
    let mut fb = Bench::new(1);
    fb.run(|cx| follower.on_start(cx));
    let entries = (1..=4).map(|i| put(1, i)).collect();
    let append = Msg::Append {
        term: 1,
        prev_index: 0,
        prev_term: 0,
        entries,
        commit: 2,
    };
    fb.run(|cx| follower.on_message(NodeId(0), append, cx));

    let mut candidate = Replica::new(RaftConfig {
        pre_vote: false,
        ..cfg()
    });
    let mut cb = Bench::new(2);
    cb.run(|cx| candidate.on_start(cx));
    cb.advance_ms(700);
    cb.run(|cx| candidate.on_timer(ReplicaTimer::Election, cx));

    let mut pre_voter = Replica::new(cfg());
    let mut pb = Bench::new(3);
    pb.run(|cx| pre_voter.on_start(cx));
    pb.advance_ms(700);
    pb.run(|cx| pre_voter.on_timer(ReplicaTimer::Election, cx));

    let mut leader = Replica::new(RaftConfig {
        pre_vote: false,
        ..cfg()
    });
    let mut lb = Bench::new(0);
    lb.run(|cx| leader.on_start(cx));
    lb.advance_ms(700);
    lb.run(|cx| leader.on_timer(ReplicaTimer::Election, cx));
    for voter in [1, 2] {
        let vote = Msg::Vote {
            term: 1,
            granted: true,
        };
        lb.run(|cx| leader.on_message(NodeId(voter), vote, cx));
    }
    for seq in 1..=12 {
        let request = Msg::Request {
            seq,
            op: every_op()[seq as usize % 10].clone(),
        };
        lb.run(|cx| leader.on_message(NodeId(7), request, cx));
    }

    let work = Workload {
        ops: 1000,
        start_ms: 0,
        ..Default::default()
    };
    let mut client = Client::new(cfg(), work);
    let mut kb = Bench::new(7);
    kb.run(|cx| client.on_start(cx));
    kb.advance_ms(10);
    kb.run(|cx| client.on_timer(ClientTimer::Next, cx));
    let client = Target {
        node: Box::new(client),
        bench: kb.retimed(),
        timers: vec![
            ClientTimer::Next.id(),
            ClientTimer::Retry.id(),
            ClientTimer::Deadline.id(),
        ],
    };

    vec![
        target(follower, fb),
        target(candidate, cb),
        target(pre_voter, pb),
        target(leader, lb),
        client,
    ]
}

#[test]
fn no_malformed_or_hostile_message_panics_a_decoder_or_a_node() {
    Fuzzer::new(SEED).hunt(corpus(), SERVERS, hostile_msg, targets);
}
