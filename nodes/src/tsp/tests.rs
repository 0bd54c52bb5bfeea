//! The solver in the unit-test world: whole runs of a few coordinators, workers and a
//! client, with crashes, judged by the solver's checks.

use faultline_sim::scenario::Source;
use faultline_sim::testkit::World;
use faultline_sim::{Node, NodeId, Protocol, Setup};
use serde_json::json;

use super::bugs::Bugs;
use super::config::TspConfig;
use super::event::Event;
use super::instance::Instance;
use super::msg::{Body, Msg};
use super::protocol::Tsp;
use super::worker::Worker;
use super::{Coordinator, Ledger, Problem, Tour};

/// A solver of `coordinators` replicas (ids first), `workers` and one client, with `config`
/// and `workload` sections.
fn solver(
    coordinators: u16,
    workers: u16,
    config: serde_json::Value,
    workload: serde_json::Value,
    bugs: &[&str],
) -> (Tsp, u16) {
    let mut setup = Setup::default();
    for (role, prefix, count) in [
        ("coordinator", "co", coordinators),
        ("worker", "w", workers),
        ("client", "c", 1),
    ] {
        for i in 1..=count {
            setup.names.push(format!("{prefix}{i}"));
            setup.roles.push(role);
        }
    }
    // The sections are TOML tables; JSON objects deserialize into them.
    setup.config = serde_json::from_value(config).unwrap();
    setup.workload = serde_json::from_value(workload).unwrap();
    setup.bugs = bugs.iter().map(|b| b.to_string()).collect();
    let src = Source {
        file: "test.toml",
        text: "",
    };
    let n = setup.names.len() as u16;
    (Tsp::new(&setup, &src).unwrap(), n)
}

fn solved(w: &World<Tsp>, client: u16) -> Option<Tour> {
    w.events(client).find_map(|e| match e {
        Event::Solved { tour } => Some(tour.clone()),
        _ => None,
    })
}

#[test]
fn three_replicas_and_two_workers_solve_a_nine_city_problem() {
    let (tsp, n) = solver(3, 2, json!({}), json!({"cities": 9, "seed": 4}), &[]);
    let mut w = World::new(tsp, n, 1);
    w.run_until(6000);
    w.assert_checks_ok();
    let tour = solved(&w, n - 1).expect("the client has its tour");
    let inst = Instance::generated(9, 4);
    assert_eq!(tour.len, super::held_karp(&inst).len);
    assert_eq!(
        w.role_of(2),
        Some("coordinator"),
        "the highest replica is active"
    );
}

#[test]
fn a_worker_crash_and_a_failover_keep_the_finished_work_and_the_optimum() {
    let (tsp, n) = solver(
        3,
        3,
        json!({"node_us": 20000, "start_tour": false}),
        json!({"cities": 10, "seed": 2}),
        &[],
    );
    let mut w = World::new(tsp, n, 3);
    // The solve runs from 0.5 s to about 3.4 s: both crashes land in it.
    w.run_until(1500);
    w.crash(3);
    w.run_until(2000);
    w.crash(2);
    w.run_until(12000);
    w.assert_checks_ok();
    assert!(solved(&w, n - 1).is_some());
    let takeover = w
        .events(1)
        .find_map(|e| match e {
            Event::Active { counted, .. } => Some(*counted),
            _ => None,
        })
        .expect("co2 took over");
    assert!(
        takeover > 0,
        "the new active replica kept the counted results"
    );
}

#[test]
fn forgetting_a_dead_workers_subproblems_never_finishes() {
    let (tsp, n) = solver(
        2,
        2,
        json!({"node_us": 20000, "start_tour": false}),
        json!({"cities": 10, "seed": 2}),
        &["forget-dead-worker-subproblem"],
    );
    let mut w = World::new(tsp, n, 3);
    w.run_until(900);
    w.crash(2);
    w.run_until(12000);
    let failed = w.failed_checks();
    assert!(
        failed.iter().any(|c| c.contains("tour-is-optimal")),
        "{failed:?}"
    );
}

#[test]
fn hostile_messages_are_dropped_without_panic() {
    let cfg = TspConfig::default();
    let coordinators = vec![NodeId(0), NodeId(1)];
    let mut co = Coordinator::new(
        cfg.clone(),
        Bugs::default(),
        coordinators.clone(),
        vec![NodeId(2)],
    );
    let mut worker = Worker::new(cfg, coordinators);
    let bad_instance = Instance {
        name: "bad".into(),
        n: 40,
        dist: vec![1; 3],
    };
    let good = Instance::generated(5, 1);
    let mut ledger = Ledger {
        problem: Some(Problem {
            instance: bad_instance.clone(),
            depth: 200,
        }),
        ..Ledger::default()
    };
    ledger.counted.insert(u32::MAX);
    let bodies = vec![
        Body::Assign {
            task: 0,
            prefix: vec![0, 9, 9],
            bound: 0,
            instance: good.clone(),
        },
        Body::Assign {
            task: 7,
            prefix: vec![0, 200],
            bound: 0,
            instance: good.clone(),
        },
        Body::Assign {
            task: 1,
            prefix: vec![0],
            bound: 5,
            instance: bad_instance.clone(),
        },
        Body::Solve {
            instance: bad_instance,
        },
        Body::State {
            ledger: ledger.clone(),
        },
        Body::Update { round: 9, ledger },
        Body::Result {
            task: u32::MAX,
            best: Some(Tour {
                len: 0,
                cities: vec![0, 0, 0],
            }),
            nodes: 1,
        },
        Body::Hello {
            tasks: vec![u32::MAX, 3],
        },
        Body::Bound {
            tour: Tour {
                len: 0,
                cities: vec![0, 0, 0, 0, 0],
            },
        },
        Body::Cancel { task: u32::MAX },
    ];
    let mut bench = faultline_sim::testkit::Bench::<Msg, Event, super::CoordinatorTimer>::new(0);
    bench.run(|cx| co.on_start(cx));
    let mut wbench = faultline_sim::testkit::Bench::<Msg, Event, super::WorkerTimer>::new(2);
    wbench.run(|cx| worker.on_start(cx));
    for body in bodies {
        for from in [1, 2, 3] {
            let msg = Msg {
                ts: u64::MAX,
                body: body.clone(),
            };
            bench.run(|cx| co.on_message(NodeId(from), msg.clone(), cx));
            wbench.run(|cx| worker.on_message(NodeId(from), msg, cx));
        }
    }
}

#[test]
fn a_worker_searches_in_slices_hears_a_bound_between_them_and_keeps_beating() {
    use super::WorkerTimer;
    use faultline_sim::testkit::{events, sent, Bench};
    use faultline_sim::{Action, Timer};

    let cfg = TspConfig {
        node_us: 1000,
        slice_nodes: 3,
        ..TspConfig::default()
    };
    let inst = Instance::generated(12, 6);
    let optimum = super::held_karp(&inst);
    let mut worker = Worker::new(cfg, vec![NodeId(0)]);
    let mut bench = Bench::<Msg, Event, WorkerTimer>::new(1);
    bench.run(|cx| worker.on_start(cx));
    let msg = |body| Msg { ts: 1, body };
    let assign = msg(Body::Assign {
        task: 0,
        prefix: vec![0],
        bound: u64::MAX,
        instance: inst.clone(),
    });
    let out = bench.run(|cx| worker.on_message(NodeId(0), assign, cx));
    let slice_timer = |out: &faultline_sim::testkit::Out<Msg, Event>| {
        out.0.iter().find_map(|a| match a {
            Action::SetTimer(id, after) if *id == WorkerTimer::Slice.id() => Some(*after),
            _ => None,
        })
    };
    // A slice of 3 nodes at 1 ms each, then the worker waits for its time.
    assert_eq!(slice_timer(&out), Some(std::time::Duration::from_millis(3)));
    // Meanwhile someone found the optimum: the search keeps only shorter tours, so it
    // reports none.
    bench.run(|cx| worker.on_message(NodeId(0), msg(Body::Bound { tour: optimum }), cx));
    let mut result = None;
    for slice in 0.. {
        assert!(slice < 100_000, "the search never ends");
        bench.advance_ms(1);
        // Heartbeats go out between slices, however long the search.
        let hello = bench.run(|cx| worker.on_timer(WorkerTimer::Hello, cx));
        assert!(matches!(
            sent(&hello, 0)[..],
            [Msg { body: Body::Hello { ref tasks }, .. }] if tasks == &[0]
        ));
        let out = bench.run(|cx| worker.on_timer(WorkerTimer::Slice, cx));
        if let Some(Body::Result { best, nodes, .. }) = sent(&out, 0).pop().map(|m| m.body) {
            let searched = events(&out).into_iter().find_map(|e| match e {
                Event::Searched { busy_us, .. } => Some(busy_us),
                _ => None,
            });
            assert_eq!(searched, Some(nodes * 1000), "every node charged once");
            result = Some(best);
            break;
        }
        assert!(slice_timer(&out).is_some(), "the next slice is due");
    }
    assert_eq!(result, Some(None), "nothing shorter than the optimum");
}

#[test]
fn the_start_tour_is_the_first_bound_and_saves_the_search() {
    let nodes = |start_tour: bool| {
        let (tsp, n) = solver(
            3,
            2,
            json!({ "start_tour": start_tour }),
            json!({"cities": 11, "seed": 4}),
            &[],
        );
        let mut w = World::new(tsp, n, 1);
        w.run_until(8000);
        w.assert_checks_ok();
        assert!(solved(&w, n - 1).is_some());
        (0..n)
            .flat_map(|i| w.events(i).cloned().collect::<Vec<_>>())
            .map(|e| match e {
                Event::Searched { nodes, .. } => nodes,
                _ => 0,
            })
            .sum::<u64>()
    };
    let (with, without) = (nodes(true), nodes(false));
    assert!(
        with * 2 < without,
        "{with} nodes with a start tour, {without} without"
    );
}

#[test]
fn adaptive_splits_a_running_subproblem_for_idle_workers_and_counts_it_once() {
    // Nine subproblems (one city deep) for three workers: towards the end workers idle
    // while the longest searches run, and those get split.
    let (tsp, n) = solver(
        3,
        3,
        json!({"strategy": "adaptive", "depth": 0, "node_us": 20000, "start_tour": false}),
        json!({"cities": 10, "seed": 2}),
        &[],
    );
    let mut w = World::new(tsp, n, 5);
    w.run_until(20000);
    w.assert_checks_ok();
    assert!(solved(&w, n - 1).is_some());
    let splits: Vec<u32> = (0..3)
        .flat_map(|i| w.events(i).cloned().collect::<Vec<_>>())
        .filter_map(|e| match e {
            Event::Split { task, .. } => Some(task),
            _ => None,
        })
        .collect();
    assert!(!splits.is_empty(), "no subproblem was split");
}

#[test]
fn a_split_survives_a_failover() {
    // As above, and the active replica crashes while children are out: the replica that
    // takes over knows the split, hands out only children, and counts the parent once.
    let (tsp, n) = solver(
        3,
        3,
        json!({"strategy": "adaptive", "depth": 0, "node_us": 20000, "start_tour": false}),
        json!({"cities": 10, "seed": 2}),
        &[],
    );
    let mut w = World::new(tsp, n, 5);
    let split_at = (1..400).map(|k| k * 50).find(|&ms| {
        w.run_until(ms);
        w.events(2).any(|e| matches!(e, Event::Split { .. }))
    });
    assert!(split_at.is_some(), "co3 split nothing");
    w.crash(2);
    w.run_until(25000);
    w.assert_checks_ok();
    assert!(solved(&w, n - 1).is_some());
}
