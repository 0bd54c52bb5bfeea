//! Faults as a run sees them (sim flavor: `cargo sim-test`): partitions that overlap compose,
//! faults of one instant apply at once, and a fault aimed at `@leader` hits the leader, is
//! named in the trace and replays from its seed file.
#![cfg(madsim)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::Scratch;
use faultline::run::RunRequest;
use faultline::seedfile::SeedFile;
use faultline::Registry;
use serde_json::Value;

/// The records of a run's trace (the header left out).
fn records(req: &RunRequest) -> (Vec<Value>, String) {
    let dir = std::env::temp_dir().join(format!(
        "faultline-sim-faults-{}-{}-{}",
        std::process::id(),
        req.scenario.name,
        req.seed
    ));
    let outcome = req.execute(Some(dir.as_path())).expect("runs");
    let text = (outcome.trace_jsonl.expect("asked for the trace"))
        .read()
        .expect("readable");
    let _ = std::fs::remove_dir_all(&dir);
    let records = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, outcome.summary.digest)
}

fn parse(name: &str, text: &str) -> RunRequest {
    RunRequest::parse(&Registry::builtin(), name, text).unwrap_or_else(|e| panic!("{e}"))
}

const OVERLAP: &str = r#"
name = "overlap"
protocol = "bully"
duration_ms = 8000
[nodes]
servers = 4
# A: s1 alone, 1 s to 3 s.
[[faults]]
kind = "partition"
groups = [["s1"], ["s2", "s3", "s4"]]
at_ms = 1000
heal_ms = 3000
# B: s1 and s2 apart from s3 and s4, 2 s to 5 s. A and B both cut s1-s3 and s1-s4.
[[faults]]
kind = "partition"
groups = [["s1", "s2"], ["s3", "s4"]]
at_ms = 2000
heal_ms = 5000
"#;

/// The scenario's own windows, not the trace's partition records (which come from the
/// link table under test): a link is cut strictly inside a window of a partition that
/// separates its ends.
fn cut_by_scenario(t_us: u64, a: u64, b: u64) -> bool {
    let side_a = |n: u64| n == 0;
    let side_b = |n: u64| n <= 1;
    (1_000_000 < t_us && t_us < 3_000_000 && side_a(a) != side_a(b))
        || (2_000_000 < t_us && t_us < 5_000_000 && side_b(a) != side_b(b))
}

#[test]
fn no_datagram_crosses_a_link_while_either_of_two_overlapping_partitions_cuts_it() {
    let (records, _) = records(&parse("overlap.toml", OVERLAP));
    let mut crossed = Vec::new();
    let mut delivered: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &records {
        if r["ev"] != "deliver" {
            continue;
        }
        let (t, to, from) = (
            r["t"].as_u64().unwrap(),
            r["node"].as_u64().unwrap(),
            r["from"].as_u64().unwrap(),
        );
        if cut_by_scenario(t, from, to) {
            crossed.push(format!("{t} us: #{from} -> #{to}"));
        }
        let pair = (from.min(to), from.max(to));
        let window = match (pair, t) {
            ((0, 2 | 3), 3_000_000..=5_000_000) => "s1-s3/s4 after A healed, B in force",
            ((0, 1), 3_000_000..=5_000_000) => "s1-s2 after A healed",
            ((0, 2 | 3), 5_000_001..) => "s1-s3/s4 after both healed",
            _ => continue,
        };
        *delivered.entry(window).or_default() += 1;
    }
    assert!(
        crossed.is_empty(),
        "{} datagrams crossed a cut link: {:?}",
        crossed.len(),
        &crossed[..crossed.len().min(5)]
    );
    // Not vacuous: the link A alone cut carries traffic once A heals, and so do the links
    // both cut once both heal.
    assert!(
        delivered
            .get("s1-s2 after A healed")
            .is_some_and(|n| *n > 0),
        "{delivered:?}"
    );
    assert!(
        delivered
            .get("s1-s3/s4 after both healed")
            .is_some_and(|n| *n > 0),
        "{delivered:?}"
    );
    assert_eq!(delivered.get("s1-s3/s4 after A healed, B in force"), None);
    // The trace says what changed: A's heal restores only s1-s2, both ways.
    let heals: Vec<&Value> = records.iter().filter(|r| r["ev"] == "heal").collect();
    assert_eq!(heals[0]["t"], 3_000_000);
    assert_eq!(heals[0]["links"], serde_json::json!([[0, 1], [1, 0]]));
}

#[test]
fn faults_of_one_instant_apply_together() {
    let text = r#"
name = "same-instant"
protocol = "bully"
duration_ms = 6000
[nodes]
servers = 3
[[faults]]
kind = "crash"
node = "s3"
at_ms = 2000
[[faults]]
kind = "partition"
groups = [["s1"]]
at_ms = 2000
heal_ms = 4000
[[faults]]
kind = "restart"
node = "s3"
at_ms = 4000
"#;
    let (records, _) = records(&parse("same.toml", text));
    let at = |ev: &str| -> Vec<u64> {
        (records.iter())
            .filter(|r| r["ev"] == ev)
            .map(|r| r["t"].as_u64().unwrap())
            .collect()
    };
    // They used to land 1 ms apart, and datagrams crossed the gap.
    assert_eq!(at("crash"), [2_000_000]);
    assert_eq!(at("partition"), [2_000_000]);
    assert_eq!(at("heal"), [4_000_000]);
    assert_eq!(at("restart"), [4_000_000]);
}

#[test]
fn a_leader_crash_hits_the_leader_is_named_in_the_trace_and_replays_from_its_seed_file() {
    let path = std::path::Path::new("scenarios/raft/leader-crash-targeted.toml");
    let req = RunRequest::load(&Registry::builtin(), path, None, vec![]).unwrap();
    let (records, digest) = records(&req);
    // Whom each up node last reported leading.
    let mut follows: BTreeMap<u64, Option<u64>> = BTreeMap::new();
    let mut hits = 0;
    for (i, r) in records.iter().enumerate() {
        let node = r["node"].as_u64().unwrap();
        match r["ev"].as_str().unwrap() {
            "leader" => {
                follows.insert(node, r["leader"].as_u64());
            }
            "crash" => {
                follows.remove(&node);
            }
            "resolved" if r["fault"] == 0 => {
                let leader = r["groups"][0][0].as_u64().unwrap();
                assert_eq!(r["groups"], serde_json::json!([[leader]]));
                assert_eq!(
                    follows.get(&leader),
                    Some(&Some(leader)),
                    "the node resolved at {} claims to lead",
                    r["t"]
                );
                let next = &records[i + 1];
                assert_eq!(
                    (next["ev"].as_str(), next["node"].as_u64()),
                    (Some("crash"), Some(leader))
                );
                assert_eq!(next["t"], r["t"], "crashed in the same instant");
                hits += 1;
            }
            _ => {}
        }
    }
    assert_eq!(hits, 4, "every turn found a leader");

    // The seed file keeps the scenario as written and replays to the same digest.
    let outcome = req.execute(None).unwrap();
    assert_eq!(outcome.summary.digest, digest);
    let scratch = Scratch::new("leader-crash-targeted");
    let seed_path = scratch.0.join("run.seed");
    std::fs::write(&seed_path, req.seed_file(&outcome.summary).to_toml()).unwrap();
    let seed_file = SeedFile::load(&seed_path, &Registry::builtin()).unwrap();
    let leaders: Vec<_> = (seed_file.resolved.iter())
        .filter(|t| t.fault == 0)
        .collect();
    assert_eq!(leaders.len(), 4, "the seed file names each turn's leader");
    let replay = RunRequest::load(&Registry::builtin(), &seed_path, None, vec![]).unwrap();
    assert_eq!(replay.execute(None).unwrap().summary.digest, digest);
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["replay", seed_path.to_str().unwrap(), "--out"])
        .arg(scratch.0.join("out"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("digest matches"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn nonsense_faults_exit_2_naming_file_line_and_field() {
    let scratch = Scratch::new("nonsense-faults");
    let cases = [
        ("kind = \"restart\"\nnode = \"s2\"\nat_ms = 1000", "faults[0].node", "up then"),
        (
            "kind = \"crash\"\nnode = \"s2\"\nat_ms = 1000\n[[faults]]\nkind = \"crash\"\nnode = \"s2\"\nat_ms = 2000",
            "faults[1].node",
            "down since 1000",
        ),
        (
            "kind = \"partition\"\ngroups = [[\"s1\", \"s2\"], [\"s2\", \"s3\"]]\nat_ms = 1000",
            "faults[0].groups",
            "two groups",
        ),
    ];
    for (fault, field, says) in cases {
        let path = scratch.0.join("bad.toml");
        let text = format!(
            "name = \"bad\"\nprotocol = \"bully\"\nduration_ms = 5000\n[nodes]\nservers = 3\n[[faults]]\n{fault}\n"
        );
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["run", path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("bad.toml:") && err.contains(field) && err.contains(says),
            "{err}"
        );
    }
}

#[test]
fn a_turn_waiting_for_a_leader_acts_the_instant_one_claims_office() {
    let text = r#"
name = "wait-for-leader"
protocol = "raft"
duration_ms = 8000
[nodes]
servers = 3
clients = 1
# Due before any election can end: it waits, and strikes when the first leader appears.
[[faults]]
kind = "crash"
node = "@leader"
at_ms = 1
when = "leader"
wait_ms = 5000
"#;
    let (records, _) = records(&parse("wait.toml", text));
    let first_claim = (records.iter())
        .find(|r| r["ev"] == "leader" && r["leader"] == r["node"])
        .expect("a leader was elected");
    let resolved = (records.iter())
        .find(|r| r["ev"] == "resolved")
        .expect("the turn acted");
    assert!(first_claim["t"].as_u64().unwrap() > 1000, "{first_claim}");
    assert_eq!(
        resolved["t"], first_claim["t"],
        "at the instant of the claim"
    );
    assert_eq!(resolved["groups"][0][0], first_claim["node"]);
    assert!(!records.iter().any(|r| r["ev"] == "skipped"));
}
