//! Unit tests: the topology's validation, and single processes fed a message or a timer.

use std::sync::Arc;

use faultline_sim::scenario::Source;
use faultline_sim::testkit::{self, events, sent};
use faultline_sim::{Node, NodeId, Protocol, Setup};

use super::*;

/// A process's surroundings.
type Bench = testkit::Bench<Msg, Event, ProcessTimer>;

/// The seed's topology with the scenario names (l1 = A, t1 = B, t2 = E, w1 = C, w2 = D,
/// w3 = F), then a client c1.
const SEED: &str = r#"
[config]
queue_max = 2
inflight_max = 1
process_ms = 50

[[config.process]]
name = "l1"
role = "leader"
neighbours = ["t1", "t2"]

[[config.process]]
name = "t1"
team = "green"
neighbours = ["l1", "t2", "w1"]

[[config.process]]
name = "t2"
team = "pink"
neighbours = ["l1", "t1", "w2", "w3"]

[[config.process]]
name = "w1"
team = "green"
neighbours = ["t1"]

[[config.process]]
name = "w2"
team = "pink"
neighbours = ["t2"]

[[config.process]]
name = "w3"
team = "pink"
neighbours = ["t2"]
"#;

fn n(id: u16) -> NodeId {
    NodeId(id)
}

fn setup(text: &str, roles: &[&'static str], bugs: &[&str]) -> Setup {
    let table: toml::Table = toml::from_str(text).unwrap();
    let names = ["l1", "t1", "t2", "w1", "w2", "w3", "c1"];
    Setup {
        names: names[..roles.len()].iter().map(|s| s.to_string()).collect(),
        roles: roles.to_vec(),
        config: table
            .get("config")
            .and_then(|c| c.as_table())
            .cloned()
            .unwrap_or_default(),
        bugs: bugs.iter().map(|b| b.to_string()).collect(),
        ..Default::default()
    }
}

const ROLES: &[&str] = &[
    "leader",
    "team-leader",
    "team-leader",
    "worker",
    "worker",
    "worker",
    "client",
];

fn overlay(text: &str, bugs: &[&str]) -> Result<Overlay, faultline_sim::InputError> {
    let src = Source {
        file: "topo.toml",
        text,
    };
    Overlay::new(&setup(text, ROLES, bugs), &src)
}

/// Process `id` of the seed topology, started, with every neighbour heard.
fn process(id: u16, bugs: &[&str]) -> (Process, Bench) {
    let o = overlay(SEED, bugs).unwrap();
    let mut p = Process::new(Arc::new(o.config().clone()), Arc::new(o.topology().clone()));
    let mut b = Bench::new(id);
    b.run(|cx| p.on_start(cx));
    (p, b)
}

#[test]
fn the_seed_topology_is_accepted() {
    let o = overlay(SEED, &[]).unwrap();
    let t = o.topology();
    assert_eq!(t.teams, vec!["green", "pink"]);
    assert_eq!(t.leader, n(0));
    assert_eq!(t.team_leader(0), Some(n(1)));
    assert_eq!(t.neighbours(n(2)), &[n(0), n(1), n(4), n(5)]);
}

/// Each wrong topology is refused with the field and the line of the entry at fault.
#[test]
fn wrong_topologies_are_refused_with_file_line_and_field() {
    let cases = [
        (
            SEED.replace(
                r#"neighbours = ["t1", "t2"]"#,
                r#"neighbours = ["t1", "t9"]"#,
            ),
            "config.process[0].neighbours",
            "unknown neighbour `t9`",
        ),
        (
            SEED.replace(
                r#"name = "w3"
team = "pink"
neighbours = ["t2"]"#,
                r#"name = "w3"
team = "pink"
neighbours = ["w2"]"#,
            ),
            "config.process[5].neighbours",
            "cycle the routing cannot break",
        ),
        (
            SEED.replace(
                r#"name = "w1"
team = "green""#,
                r#"name = "w1"
team = "blue""#,
            ),
            "config.process[3].team",
            "no team leader",
        ),
        (
            SEED.replace(
                r#"neighbours = ["l1", "t2", "w1"]"#,
                r#"neighbours = ["l1", "t2"]"#,
            ),
            "config.process[3].team",
            "no team leader",
        ),
    ];
    for (text, field, message) in cases {
        let err = overlay(&text, &[]).err().expect("refused");
        assert_eq!(err.field, field, "{err}");
        assert!(err.message.contains(message), "{err}");
        assert!(err.line.is_some(), "{err}");
    }
    // Two leaders: t1 said to be a leader by the nodes section too.
    let roles = &[
        "leader",
        "leader",
        "team-leader",
        "worker",
        "worker",
        "worker",
        "client",
    ];
    let text = SEED.replace(
        "name = \"t1\"\nteam",
        "name = \"t1\"\nrole = \"leader\"\nteam",
    );
    let src = Source {
        file: "topo.toml",
        text: &text,
    };
    let err = Overlay::new(&setup(&text, roles, &[]), &src)
        .err()
        .expect("refused");
    assert!(err.message.contains("two leaders"), "{err}");
    assert_eq!(err.field, "config.process[1].role");
}

/// The seed topology with l1 serving gRPC at `grpc` through gateway `gateway`.
fn with_grpc(grpc: &str, gateway: &str) -> String {
    SEED.replace(
        "role = \"leader\"\n",
        &format!("role = \"leader\"\ngrpc = \"{grpc}\"\ngateway = \"{gateway}\"\n"),
    )
}

#[test]
fn grpc_endpoints_are_read_and_wrong_ones_refused_with_line_and_field() {
    let o = overlay(&with_grpc("127.0.0.1:50151", "c1"), &[]).unwrap();
    assert_eq!(
        o.grpc(),
        &[GrpcEndpoint {
            process: n(0),
            addr: "127.0.0.1:50151".parse().unwrap(),
            gateway: n(6),
        }]
    );
    assert!(overlay(SEED, &[]).unwrap().grpc().is_empty());
    let cases = [
        (
            with_grpc("localhost", "c1"),
            "config.process[0].grpc",
            "not an address",
        ),
        (
            with_grpc("127.0.0.1:50151", "t1"),
            "config.process[0].gateway",
            "role \"client\"",
        ),
        (
            with_grpc("127.0.0.1:50151", "c9"),
            "config.process[0].gateway",
            "no node is named `c9`",
        ),
        (
            SEED.replace(
                "role = \"leader\"\n",
                "role = \"leader\"\ngrpc = \"127.0.0.1:1\"\n",
            ),
            "config.process[0].gateway",
            "needs a gateway",
        ),
        (
            SEED.replace(
                "role = \"leader\"\n",
                "role = \"leader\"\ngateway = \"c1\"\n",
            ),
            "config.process[0].grpc",
            "serves nothing",
        ),
        (
            with_grpc("127.0.0.1:50151", "c1").replace(
                "name = \"t1\"\n",
                "name = \"t1\"\ngrpc = \"127.0.0.1:50152\"\ngateway = \"c1\"\n",
            ),
            "config.process[1].gateway",
            "already process[0]'s gateway",
        ),
    ];
    for (text, field, message) in cases {
        let err = overlay(&text, &[]).err().expect("refused");
        assert_eq!(err.field, field, "{err}");
        assert!(err.message.contains(message), "{err}");
        assert!(err.line.is_some(), "{err}");
    }
}

#[test]
fn the_leader_queues_to_its_bound_then_answers_busy_at_once() {
    let (mut l, mut b) = process(0, &[]);
    let req = |seq| Msg::Request {
        seq,
        team: 0,
        deadline_ms: 2000,
    };
    // One in flight (inflight_max 1), two queued (queue_max 2), the fourth refused.
    let out = b.run(|cx| l.on_message(n(6), req(1), cx));
    assert!(matches!(sent(&out, 1)[..], [Msg::Forward { .. }]));
    b.run(|cx| l.on_message(n(6), req(2), cx));
    b.run(|cx| l.on_message(n(6), req(3), cx));
    let out = b.run(|cx| l.on_message(n(6), req(4), cx));
    assert!(events(&out).contains(&Event::Busy {
        key: Key {
            client: n(6),
            seq: 4
        },
        len: 2
    }));
    assert!(matches!(
        sent(&out, 6)[..],
        [Msg::Reply {
            seq: 4,
            outcome: Outcome::Busy,
            ..
        }]
    ));
    // Asked again, it answers the same, once more, from what it remembers.
    let out = b.run(|cx| l.on_message(n(6), req(4), cx));
    assert!(matches!(
        sent(&out, 6)[..],
        [Msg::Reply {
            seq: 4,
            outcome: Outcome::Busy,
            ..
        }]
    ));
    assert!(events(&out).is_empty());
}

#[test]
fn with_drop_beyond_capacity_the_leader_answers_nothing_past_its_queue() {
    let (mut l, mut b) = process(0, &["drop-beyond-capacity"]);
    for seq in 1..=3 {
        b.run(|cx| {
            l.on_message(
                n(6),
                Msg::Request {
                    seq,
                    team: 0,
                    deadline_ms: 2000,
                },
                cx,
            )
        });
    }
    let out = b.run(|cx| {
        l.on_message(
            n(6),
            Msg::Request {
                seq: 4,
                team: 0,
                deadline_ms: 2000,
            },
            cx,
        )
    });
    assert!(sent(&out, 6).is_empty());
}

fn forward(path: &[u16]) -> Msg {
    Msg::Forward {
        key: Key {
            client: n(6),
            seq: 1,
        },
        team: 0,
        remaining_ms: 1000,
        path: path.iter().map(|i| n(*i)).collect(),
    }
}

#[test]
fn a_request_that_comes_back_is_refused_and_never_loops() {
    let (mut t1, mut b) = process(1, &[]);
    let out = b.run(|cx| t1.on_message(n(2), forward(&[0, 1, 2]), cx));
    assert!(matches!(
        sent(&out, 2)[..],
        [Msg::Answer {
            outcome: Outcome::HopRefused,
            hop: 2,
            ..
        }]
    ));
    // The buggy forwarder takes it and hands it on again.
    let (mut t1, mut b) = process(1, &["no-hop-check"]);
    let out = b.run(|cx| t1.on_message(n(2), forward(&[0, 1, 2]), cx));
    assert!(events(&out)
        .iter()
        .any(|e| matches!(e, Event::Hop { path, .. } if path.len() == 4)));
}

#[test]
fn a_worker_processes_then_answers_back_along_the_path() {
    let (mut w, mut b) = process(3, &[]);
    let out = b.run(|cx| w.on_message(n(1), forward(&[0, 1]), cx));
    assert!(sent(&out, 1).is_empty());
    b.advance_ms(50);
    let out = b.run(|cx| w.on_timer(ProcessTimer::Tick, cx));
    let answers: Vec<Msg> = (sent(&out, 1).into_iter())
        .filter(|m| !matches!(m, Msg::Ping))
        .collect();
    assert!(
        matches!(&answers[..], [Msg::Answer { outcome: Outcome::Done { worker }, hop: 1, path, .. }] if *worker == n(3) && path.len() == 3),
        "{answers:?}"
    );
}

#[test]
fn a_team_leader_with_no_live_way_answers_no_route_at_once() {
    let (mut t2, mut b) = process(2, &[]);
    // Nobody answered its pings for longer than the peer timeout.
    b.advance_ms(1000);
    let out = b.run(|cx| t2.on_message(n(0), forward(&[0]), cx));
    assert!(matches!(
        sent(&out, 0)[..],
        [Msg::Answer {
            outcome: Outcome::NoRoute,
            hop: 0,
            ..
        }]
    ));
}

#[test]
fn hostile_paths_are_dropped_without_a_panic() {
    let (mut t1, mut b) = process(1, &[]);
    let long: Vec<u16> = (0..40).collect();
    for msg in [
        forward(&[]),
        forward(&long),
        Msg::Answer {
            key: Key {
                client: n(6),
                seq: 9,
            },
            outcome: Outcome::Busy,
            path: vec![],
            hop: u32::MAX,
        },
        Msg::Forward {
            key: Key {
                client: n(6),
                seq: 1,
            },
            team: u16::MAX,
            remaining_ms: 5,
            path: vec![n(0)],
        },
    ] {
        b.run(|cx| t1.on_message(n(0), msg, cx));
    }
}
