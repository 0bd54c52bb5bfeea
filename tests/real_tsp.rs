//! A real TSP solver on loopback: three coordinator replicas and two workers as `faultline
//! node` processes, and `faultline client tsp solve` submitting burma14 (TSPLIB, optimum
//! 3323). Mid-solve a worker and then the active coordinator are killed (SIGKILL); the
//! client still gets the optimal tour, from the replica that took over with the finished
//! work, and every subproblem is counted exactly once across the replicas' traces.
#![cfg(not(madsim))]

mod real;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use faultline_nodes::tsp::Event;
use faultline_sim::check::{StampKind, TaskFact};
use faultline_sim::NodeId;

use real::{free_ports, node_entry, Nodes};

const NAMES: [&str; 6] = ["co1", "co2", "co3", "w1", "w2", "c1"];
/// Indices into [`NAMES`].
const CO2: usize = 1;
const CO3: usize = 2;
const W1: usize = 3;
const W2: usize = 4;
/// burma14 split two cities deep: 13 x 12 subproblems.
const TASKS: u64 = 156;

/// Three coordinators, two workers and a client on free loopback ports.
fn cluster_file() -> String {
    let base = free_ports(NAMES.len() as u16);
    // The start tour is burma14's optimum and its bound proves most subproblems at their
    // first node, so the real search is over in milliseconds; node_us makes every node
    // expanded take 25 ms of the worker's time (between slices, heartbeats going on), so
    // that the solve lasts a few seconds, long enough to kill nodes in the middle of it,
    // without burning the CPU of a shared machine.
    let mut text = String::from(
        "protocol = \"tsp\"\ninterface = \"127.0.0.1\"\n\n\
         [config]\nheartbeat_ms = 50\npeer_timeout_ms = 600\nelection_timeout_ms = 300\nnode_us = 25000\n",
    );
    for (i, name) in NAMES.iter().enumerate() {
        let role = match &name[..1] {
            "c" if name.starts_with("co") => "coordinator",
            "w" => "worker",
            _ => "client",
        };
        text += &node_entry(name, role, base + i as u16);
    }
    text
}

/// The subproblems coordinator `i` counted, with when.
fn counted(c: &Nodes, i: usize) -> Vec<(u64, u64)> {
    (c.events(i).into_iter())
        .filter_map(|(t, e)| match e {
            Event::Task(TaskFact::Counted { id }) => Some((id, t)),
            _ => None,
        })
        .collect()
}

/// When coordinator `i` became active, and how many results it already had.
fn activations(c: &Nodes, i: usize) -> Vec<(u64, u32)> {
    (c.events(i).into_iter())
        .filter_map(|(t, e)| match e {
            Event::Active { counted, .. } => Some((t, counted)),
            _ => None,
        })
        .collect()
}

/// Whether coordinator `i` has heard from node `from`.
fn heard(c: &Nodes, i: usize, from: usize) -> bool {
    (c.events(i).into_iter()).any(|(_, e)| {
        matches!(e, Event::Stamp(s)
            if matches!(s.kind, StampKind::Receive { from: f, .. } if f == NodeId(from as u16)))
    })
}

/// When worker `i` finished its searches.
fn searched(c: &Nodes, i: usize) -> Vec<u64> {
    (c.events(i).into_iter())
        .filter_map(|(t, e)| matches!(e, Event::Searched { .. }).then_some(t))
        .collect()
}

#[test]
fn a_real_solver_survives_a_worker_and_the_active_coordinator_killed_mid_solve() {
    let mut c = Nodes::new("real-tsp", &cluster_file(), &NAMES, "");
    for i in 0..5 {
        c.start(i);
    }
    // The solve starts once co3 is active and hears both workers: a worker late to start
    // would leave the other one alone, and nobody once it is killed.
    c.wait_until(
        "co3 active, hearing w1 and w2",
        Duration::from_secs(10),
        |c| !activations(c, CO3).is_empty() && heard(c, CO3, W1) && heard(c, CO3, W2),
    );
    let burma14 = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tsp/burma14.tsp");
    let client = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["client", "--config"])
        .arg(&c.config)
        .args(["--deadline-ms", "25000", "tsp", "solve", burma14])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline client starts");

    c.wait_until(
        "20 results counted, w2 searching too",
        Duration::from_secs(15),
        |c| counted(c, CO3).len() >= 20 && !searched(c, W2).is_empty(),
    );
    let worker_killed_at = c.kill(W1);
    c.wait_until("40 results counted", Duration::from_secs(15), |c| {
        counted(c, CO3).len() >= 40
    });
    let coordinator_killed_at = c.kill(CO3);
    let before_failover = counted(&c, CO3).len();
    assert!(
        (before_failover as u64) < TASKS,
        "the solve ended before the active coordinator was killed; slow it down (node_us)"
    );

    let out = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client failed: {stdout}{stderr} (logs in {})",
        c.dir.display()
    );
    assert!(
        stdout.contains("burma14: 14 cities, tour length 3323"),
        "not the optimum: {stdout}"
    );

    // co2 (the highest replica left) took over with the finished work, not from scratch.
    let (_, had) = *activations(&c, CO2)
        .iter()
        .find(|(t, _)| *t > coordinator_killed_at)
        .expect("co2 became active after co3 was killed");
    assert!(had > 0, "co2 took over with no finished result");
    // The surviving worker kept searching after the other was killed.
    assert!(searched(&c, W2).iter().any(|&t| t > worker_killed_at));
    // Every subproblem counted exactly once across the replicas.
    let mut counts = BTreeMap::new();
    for i in 0..3 {
        for (id, _) in counted(&c, i) {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    assert_eq!(counts.len() as u64, TASKS, "some subproblem never counted");
    assert!(
        counts.values().all(|&n| n == 1),
        "some subproblem counted twice: {counts:?}"
    );
}
