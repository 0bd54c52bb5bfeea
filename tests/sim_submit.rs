//! The harness's own steps (sim flavor: `cargo sim-test`): commands submitted straight to a
//! server, as the MIT 6.5840 lab's `Start()`, and clients that each run a workload of their
//! own.
#![cfg(madsim)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::{request, Scratch};
use faultline::run::RunRequest;
use faultline::seedfile::SeedFile;
use faultline::Registry;
use serde_json::Value;

const SUBMIT_START: &str = "scenarios/raft/submit-start.toml";

/// The records of a run's trace (the header left out), and its digest and verdict.
fn run(req: &RunRequest, name: &str) -> (Vec<Value>, String, String) {
    let scratch = Scratch::new(name);
    let outcome = req.execute(Some(scratch.0.as_path())).expect("runs");
    let text = (outcome.trace_jsonl.expect("asked for the trace"))
        .read()
        .expect("readable");
    let records = (text.lines().skip(1))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let verdict = format!("{:?}", outcome.summary.verdict);
    (records, outcome.summary.digest, verdict)
}

/// The Raft event a record carries, by its name (`started`), if it is one.
fn event<'a>(r: &'a Value, name: &str) -> Option<&'a Value> {
    (r["ev"] == "proto").then(|| r["event"].get(name)).flatten()
}

#[test]
fn the_leader_takes_every_command_handed_to_it_and_every_replica_applies_them() {
    let req = request(Path::new(SUBMIT_START), None, &[]);
    let (records, digest, verdict) = run(&req, "submit-leader");
    assert!(verdict.to_lowercase().contains("pass"), "{verdict}");
    // Whom each node last reported leading, as the records go.
    let mut leads: BTreeMap<u64, bool> = BTreeMap::new();
    // Commands handed to a node that led then: (node, command) -> the instant.
    let mut to_leader: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut to_others = 0;
    let mut started: BTreeMap<(u64, u64), (u64, u64)> = BTreeMap::new();
    for r in &records {
        let node = r["node"].as_u64().unwrap();
        let t = r["t"].as_u64().unwrap();
        match r["ev"].as_str().unwrap() {
            "leader" => {
                leads.insert(node, r["leader"].as_u64() == Some(node));
            }
            "crash" => {
                leads.insert(node, false);
            }
            "submit" => {
                let first = r["first"].as_u64().unwrap();
                for command in first..first + r["count"].as_u64().unwrap() {
                    if leads.get(&node) == Some(&true) {
                        to_leader.insert((node, command), t);
                    } else {
                        to_others += 1;
                    }
                }
            }
            _ => {}
        }
        if let Some(s) = event(r, "started") {
            let command = s["command"].as_u64().unwrap();
            started.insert((node, command), (t, s["index"].as_u64().unwrap()));
        }
    }
    assert!(
        to_leader.len() >= 40,
        "{} commands reached a leader",
        to_leader.len()
    );
    assert!(to_others > 0, "`@all` hands followers commands too");
    // A leader takes each command in the instant it is handed over; nobody else takes any.
    for (key, t) in &to_leader {
        assert_eq!(started.get(key).map(|s| s.0), Some(*t), "command {key:?}");
    }
    assert_eq!(started.len(), to_leader.len(), "only leaders take commands");
    // Each taken command's index is applied by all five servers (the run ends caught up).
    let applied: BTreeMap<u64, BTreeSet<u64>> =
        (records.iter()).fold(BTreeMap::new(), |mut m, r| {
            if let Some(a) = event(r, "applied") {
                (m.entry(a["index"].as_u64().unwrap())
                    .or_insert_with(BTreeSet::new))
                .insert(r["node"].as_u64().unwrap());
            }
            m
        });
    let first_batch: Vec<u64> = (started.values())
        .map(|(_, index)| *index)
        .take(20)
        .collect();
    for index in first_batch {
        assert_eq!(
            applied.get(&index).map(|n| n.len()),
            Some(5),
            "index {index} applied by every server"
        );
    }

    // Each turn's resolved node is in the seed file, which replays to the digest.
    let outcome = req.execute(None).unwrap();
    assert_eq!(
        outcome.summary.digest, digest,
        "the same seed, the same run"
    );
    let scratch = Scratch::new("submit-seed");
    let seed_path = scratch.0.join("run.seed");
    std::fs::write(&seed_path, req.seed_file(&outcome.summary).to_toml()).unwrap();
    let seed_file = SeedFile::load(&seed_path, &Registry::builtin()).unwrap();
    assert!(seed_file.resolved.iter().any(|t| t.fault == 0));
    let replay = RunRequest::load(&Registry::builtin(), &seed_path, None, vec![]).unwrap();
    assert_eq!(replay.execute(None).unwrap().summary.digest, digest);
}

#[test]
fn each_client_runs_its_own_workload() {
    let req = request(Path::new(SUBMIT_START), None, &[]);
    let (records, _, _) = run(&req, "submit-workloads");
    let (c1, c2) = (5u64, 6u64);
    let mut kinds: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut first_invoke: BTreeMap<u64, u64> = BTreeMap::new();
    let mut invokes: BTreeMap<u64, u64> = BTreeMap::new();
    for r in &records {
        let Some(invoke) = event(r, "invoke") else {
            continue;
        };
        let node = r["node"].as_u64().unwrap();
        let op = invoke["op"].as_object().unwrap();
        kinds.entry(node).or_default().extend(op.keys().cloned());
        first_invoke.entry(node).or_insert(r["t"].as_u64().unwrap());
        *invokes.entry(node).or_default() += 1;
    }
    let kv = ["get", "put", "cas", "delete"];
    // Every client drains the queues at the end (dequeue and ack): kv ops otherwise.
    let drain = ["dequeue", "ack"];
    let c1_kinds = &kinds[&c1];
    assert!(
        (c1_kinds.iter()).all(|k| kv.contains(&k.as_str()) || drain.contains(&k.as_str())),
        "{c1_kinds:?}"
    );
    assert!(
        kinds[&c2].iter().all(|k| !kv.contains(&k.as_str())),
        "{:?}",
        kinds[&c2]
    );
    assert!(first_invoke[&c2] >= 3_000_000, "c2 starts at 3 s");
    assert!(first_invoke[&c1] < 3_000_000, "c1 keeps the common start");
    assert!(
        invokes[&c1] > 60,
        "c1 runs its own 250 ops, not the common 60"
    );
    // c2's 40 operations, and then the drain of the queues it used.
    assert!(invokes[&c2] >= 40, "{}", invokes[&c2]);
}

#[test]
fn nonsense_submits_and_workloads_exit_2_naming_file_line_and_field() {
    let scratch = Scratch::new("nonsense-submits");
    let raft = "name = \"bad\"\nprotocol = \"raft\"\nduration_ms = 5000\n[nodes]\nservers = 3\nclients = 2\n";
    let bully = "name = \"bad\"\nprotocol = \"bully\"\nduration_ms = 5000\n[nodes]\nservers = 3\n";
    let cases = [
        (
            bully,
            "[[faults]]\nkind = \"submit\"\nnode = \"s1\"\nat_ms = 1000",
            "faults[0].kind",
            "takes no submitted commands",
            7,
        ),
        (
            raft,
            "[[faults]]\nkind = \"submit\"\nnode = \"@leader\"\nat_ms = 1000\ncount = 0",
            "faults[0].count",
            "must be 1..=1000",
            11,
        ),
        (
            raft,
            "[[faults]]\nkind = \"submit\"\nnode = \"@rest\"\nat_ms = 1000",
            "faults[0].node",
            "`@rest`",
            9,
        ),
        (
            raft,
            "[workload]\nops = 5\n[workload.s1]\nops = 3",
            "workload.s1",
            "a workload of its own is for a client",
            9,
        ),
        (
            raft,
            "[workload]\nops = 5\n[workload.c2]\nopz = 3",
            "workload.c2.opz",
            "unknown field",
            10,
        ),
        (
            raft,
            "[workload]\nops = 5\n[workload.c2]\nretry_ms = 0",
            "workload.c2.retry_ms",
            "at least 1 ms",
            10,
        ),
    ];
    for (head, tail, field, says, line) in cases {
        let path = scratch.0.join("bad.toml");
        std::fs::write(&path, format!("{head}{tail}\n")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["run", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("bad.toml:{line}:")) && err.contains(field) && err.contains(says),
            "{field}: {err}"
        );
    }
}
