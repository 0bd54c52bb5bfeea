//! The seeded fuzzer of bully's messages (engine: `faultline_sim::testkit::fuzz`): mangled frames and
//! payloads, hostile values built from the message types, all delivered to servers and a chat
//! client in several states. No decoder and no node may panic.
//!
//! `FAULTLINE_FUZZ_ITERS=200000 cargo test -p faultline-nodes bully::fuzz --release` hunts
//! longer; a failure prints the seed and iteration that replay it.

use faultline_sim::testkit::fuzz::{Fuzzer, Target};
use faultline_sim::testkit::Bench;
use faultline_sim::{Node, NodeId, Timer};
use rand::Rng;

use super::*;

/// The seed every run starts from, so a failure replays.
const SEED: u64 = 0x4255_4c4c;
/// Servers in the fuzzed group (ids 0..=5; clients above).
const SERVERS: u16 = 6;

fn cfg() -> BullyConfig {
    BullyConfig {
        servers_total: SERVERS as usize,
        ..Default::default()
    }
}

fn chat(epoch: u64, seq: u64) -> Entry {
    Entry {
        epoch,
        seq,
        origin: NodeId(9),
        client_seq: seq,
        text: "hello".into(),
    }
}

fn heartbeat(kind: Kind, leader: Option<u16>, epoch: u64, commit: u64) -> Msg {
    Msg::Heartbeat {
        kind,
        leader: leader.map(NodeId),
        epoch,
        commit,
    }
}

/// One message of every kind with realistic values.
fn corpus() -> Vec<Msg> {
    vec![
        heartbeat(Kind::Server, Some(5), 2, 3),
        heartbeat(Kind::Client, Some(5), 2, 3),
        Msg::Probe { kind: Kind::Server },
        Msg::Hello {
            leader: Some(NodeId(5)),
            epoch: 2,
        },
        Msg::Leave,
        Msg::Election,
        Msg::Ok,
        Msg::Coordinator { epoch: 2 },
        Msg::Stale { epoch: 2 },
        Msg::Sync { epoch: 2 },
        Msg::SyncOk {
            epoch: 2,
            last_epoch: 1,
            last_seq: 3,
        },
        Msg::Fetch {
            epoch: 2,
            from_seq: 1,
        },
        Msg::Entries {
            epoch: 2,
            entries: vec![chat(1, 1), chat(1, 2)],
        },
        Msg::Append {
            epoch: 2,
            prev_seq: 1,
            prev_epoch: 1,
            entries: vec![chat(2, 2), chat(2, 3)],
            commit: 2,
        },
        Msg::AppendOk {
            epoch: 2,
            ok: true,
            last_seq: 3,
        },
        Msg::Chat {
            client_seq: 4,
            text: "hi".into(),
        },
        Msg::ChatAck {
            client_seq: 4,
            seq: 5,
        },
        Msg::NotLeader {
            leader: Some(NodeId(5)),
        },
        Msg::Publish {
            entries: vec![chat(1, 1)],
        },
        Msg::Pull { from_seq: 2 },
    ]
}

/// Entries with hostile numbers and texts, contiguous from `first` half the time.
fn hostile_entries(f: &mut Fuzzer, first: u64) -> Vec<Entry> {
    let n = f.len(ENTRIES_PER_DATAGRAM_MAX);
    let contiguous = f.bool();
    (0..n as u64)
        .map(|i| Entry {
            epoch: if contiguous { 1 } else { f.u64() },
            seq: if contiguous {
                first.wrapping_add(i)
            } else {
                f.u64()
            },
            origin: f.node(SERVERS + 4),
            client_seq: f.u64(),
            text: f.text(TEXT_BYTES_MAX),
        })
        .collect()
}

fn kind(f: &mut Fuzzer) -> Kind {
    if f.bool() {
        Kind::Server
    } else {
        Kind::Client
    }
}

/// A message of a random kind built straight from edge values.
fn hostile_msg(f: &mut Fuzzer) -> Msg {
    match f.rng().gen_range(0..19) {
        0 => Msg::Heartbeat {
            kind: kind(f),
            leader: f.bool().then(|| f.node(SERVERS)),
            epoch: f.u64(),
            commit: f.u64(),
        },
        1 => Msg::Probe { kind: kind(f) },
        2 => Msg::Hello {
            leader: f.bool().then(|| f.node(SERVERS)),
            epoch: f.u64(),
        },
        3 => Msg::Leave,
        4 => Msg::Election,
        5 => Msg::Ok,
        6 => Msg::Coordinator { epoch: f.u64() },
        7 => Msg::Stale { epoch: f.u64() },
        8 => Msg::Sync { epoch: f.u64() },
        9 => Msg::SyncOk {
            epoch: f.u64(),
            last_epoch: f.u64(),
            last_seq: f.u64(),
        },
        10 => Msg::Fetch {
            epoch: f.u64(),
            from_seq: f.u64(),
        },
        11 => {
            let first = f.u64();
            Msg::Entries {
                epoch: f.u64(),
                entries: hostile_entries(f, first),
            }
        }
        12 => {
            let prev_seq = f.u64();
            Msg::Append {
                epoch: f.u64(),
                prev_seq,
                prev_epoch: f.u64(),
                entries: hostile_entries(f, prev_seq.wrapping_add(1)),
                commit: f.u64(),
            }
        }
        13 => Msg::AppendOk {
            epoch: f.u64(),
            ok: f.bool(),
            last_seq: f.u64(),
        },
        14 => Msg::Chat {
            client_seq: f.u64(),
            text: f.text(TEXT_BYTES_MAX),
        },
        15 => Msg::ChatAck {
            client_seq: f.u64(),
            seq: f.u64(),
        },
        16 => Msg::NotLeader {
            leader: f.bool().then(|| f.node(SERVERS)),
        },
        17 => {
            let first = f.u64();
            Msg::Publish {
                entries: hostile_entries(f, first),
            }
        }
        _ => Msg::Pull { from_seq: f.u64() },
    }
}

fn server_target(server: Server, bench: Bench<Msg, Event, ServerTimer>) -> Target<Msg, Event> {
    Target {
        node: Box::new(server),
        bench: bench.retimed(),
        timers: vec![
            ServerTimer::Heartbeat.id(),
            ServerTimer::Discovery.id(),
            ServerTimer::Election.id(),
        ],
    }
}

/// Runs `msgs` from `from` through `node`.
fn feed<N: Node<Msg = Msg, Event = Event>>(
    node: &mut N,
    b: &mut Bench<Msg, Event, N::Timer>,
    msgs: &[(u16, Msg)],
) {
    for (from, msg) in msgs {
        b.run(|cx| node.on_message(NodeId(*from), msg.clone(), cx));
    }
}

/// A leader with a log and two followers, a follower with a log, a server in an election,
/// a newcomer, and a chat client that follows the leader with chats in flight.
fn targets() -> Vec<Target<Msg, Event>> {
    let mut leader = Server::new(cfg());
    let mut lb = Bench::new(5);
    lb.run(|cx| leader.on_start(cx));
    feed(
        &mut leader,
        &mut lb,
        &[
            (1, heartbeat(Kind::Server, None, 0, 0)),
            (2, heartbeat(Kind::Server, None, 0, 0)),
            (3, heartbeat(Kind::Server, None, 0, 0)),
        ],
    );
    lb.advance_ms(500);
    lb.run(|cx| leader.on_timer(ServerTimer::Discovery, cx));
    let sync_ok = Msg::SyncOk {
        epoch: 1,
        last_epoch: 0,
        last_seq: 0,
    };
    feed(
        &mut leader,
        &mut lb,
        &[(1, sync_ok.clone()), (2, sync_ok.clone()), (3, sync_ok)],
    );
    for seq in 1..=5 {
        let chat = Msg::Chat {
            client_seq: seq,
            text: "hi".into(),
        };
        feed(&mut leader, &mut lb, &[(9, chat)]);
    }

    let mut follower = Server::new(cfg());
    let mut fb = Bench::new(2);
    fb.run(|cx| follower.on_start(cx));
    feed(
        &mut follower,
        &mut fb,
        &[
            (5, heartbeat(Kind::Server, Some(5), 1, 0)),
            (5, Msg::Coordinator { epoch: 1 }),
            (5, Msg::Sync { epoch: 1 }),
            (
                5,
                Msg::Append {
                    epoch: 1,
                    prev_seq: 0,
                    prev_epoch: 0,
                    entries: (1..=3).map(|s| chat(1, s)).collect(),
                    commit: 2,
                },
            ),
        ],
    );

    let mut electing = Server::new(cfg());
    let mut eb = Bench::new(3);
    eb.run(|cx| electing.on_start(cx));
    feed(
        &mut electing,
        &mut eb,
        &[(4, heartbeat(Kind::Server, None, 0, 0))],
    );
    eb.advance_ms(500);
    eb.run(|cx| electing.on_timer(ServerTimer::Discovery, cx));

    let mut newcomer = Server::new(cfg());
    let mut nb = Bench::new(0);
    nb.run(|cx| newcomer.on_start(cx));

    let work = ChatWorkload {
        messages: 1000,
        start_ms: 0,
        ..Default::default()
    };
    let mut client = ChatClient::new(cfg(), work);
    let mut kb = Bench::new(9);
    kb.run(|cx| client.on_start(cx));
    feed(
        &mut client,
        &mut kb,
        &[(5, heartbeat(Kind::Server, Some(5), 1, 0))],
    );
    kb.advance_ms(400);
    kb.run(|cx| client.on_timer(ClientTimer::Chat, cx));
    let client = Target {
        node: Box::new(client),
        bench: kb.retimed(),
        timers: vec![ClientTimer::Heartbeat.id(), ClientTimer::Chat.id()],
    };

    vec![
        server_target(leader, lb),
        server_target(follower, fb),
        server_target(electing, eb),
        server_target(newcomer, nb),
        client,
    ]
}

#[test]
fn no_malformed_or_hostile_message_panics_a_decoder_or_a_node() {
    Fuzzer::new(SEED).hunt(corpus(), SERVERS + 4, hostile_msg, targets);
}
