//! Simulated runs of every Raft scenario, snapshots of their summaries, and the planted bugs
//! caught (sim flavor: `cargo sim-test`). The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

mod common;

use common::{assert_sweep_passes, first_failure, request, scenarios, seed_count, Scratch};

#[test]
fn every_raft_scenario_passes_over_seeds() {
    assert_sweep_passes("raft", seed_count(3));
}

#[test]
fn summaries_of_raft_scenarios_at_their_own_seed() {
    for path in scenarios("raft") {
        let outcome = request(&path, None, &[]).execute(None).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_json_snapshot!(format!("raft-{name}"), outcome.summary);
    }
}

#[test]
fn planted_bug_vote_twice_is_caught() {
    let (seed, check) =
        first_failure("scenarios/raft/leader-crash.toml", "vote-twice", 0..1000).expect("caught");
    assert_eq!(check, "election-safety", "seed {seed}");
}

#[test]
fn planted_bug_commit_old_term_is_caught() {
    let (seed, check) =
        first_failure("scenarios/raft/figure-8.toml", "commit-old-term", 0..1000).expect("caught");
    assert_eq!(check, "leader-completeness", "seed {seed}");
}

#[test]
fn planted_bug_follower_reads_local_is_caught() {
    // Only where clients read through followers: a cut-off follower answers stale reads.
    let (seed, check) = first_failure(
        "scenarios/raft/follower-reads.toml",
        "follower-reads-local",
        0..20,
    )
    .expect("caught");
    assert_eq!(check, "kv-linearizable", "seed {seed}");
}

#[test]
fn planted_bug_lease_ignored_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/raft/locks-under-crash.toml",
        "lease-ignored",
        0..1000,
    )
    .expect("caught");
    assert_eq!(check, "lock-safety", "seed {seed}");
}

/// From 15 s to 21 s of `one-way-partition`, s1 hears nobody while everyone hears it. With
/// pre-votes its timeouts change no term, so no new leader is elected in that window (without
/// them, every seed elected several).
#[test]
fn a_replica_cut_off_one_way_does_not_depose_the_leader() {
    let path = std::path::Path::new("scenarios/raft/one-way-partition.toml");
    for seed in 0..seed_count(10) {
        let outcome = request(path, Some(seed), &[]).execute(None).unwrap();
        let details = outcome.summary.details.expect("raft details");
        let deposed: Vec<_> = details["terms"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| (15_000..21_000).contains(&t["at_ms"].as_u64().unwrap()))
            .collect();
        assert!(deposed.is_empty(), "seed {seed}: new leaders {deposed:?}");
    }
}

/// `faultline check-history` on `path`: its exit code and what it printed.
fn check_history(path: &std::path::Path) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .arg("check-history")
        .arg(path)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text)
}

/// A Raft run's report holds its clients' history (`history.jsonl`), which `check-history`
/// reads and judges as the run's own `kv-linearizable` check did, operation for operation; a
/// read in it changed to a value never written is found. The report also draws its clients'
/// latency and throughput.
#[test]
fn a_raft_report_holds_a_history_that_check_history_judges() {
    let scratch = Scratch::new("raft-history");
    let req = request("scenarios/raft/leader-crash.toml".as_ref(), None, &[]);
    let outcome = req.execute(Some(&scratch.0)).unwrap();
    faultline::outcome::write_report(&scratch.0, &outcome).unwrap();
    for f in [
        "history.jsonl",
        "latency.svg",
        "throughput.svg",
        "timeline.svg",
    ] {
        assert!(scratch.0.join(f).exists(), "{f} written");
    }
    let kv = (outcome.summary.checks.iter())
        .find(|c| c.name == "kv-linearizable")
        .unwrap();
    assert!(kv.ok && kv.judged > 0, "{kv:?}");
    let path = scratch.0.join("history.jsonl");
    let (code, out) = check_history(&path);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(": {} ops (jsonl", kv.judged)) && out.contains("linearizable"),
        "the run's check and check-history judge the same ops: {out}"
    );

    // A read that returned a value nobody wrote: not linearizable.
    let text = std::fs::read_to_string(&path).unwrap();
    let read = text
        .lines()
        .position(|l| l.contains("\"op\":\"get\"") && l.contains("{\"value\":\""))
        .expect("a read of a written value");
    let forged: Vec<String> = (text.lines().enumerate())
        .map(|(i, l)| match i == read {
            true => {
                let at = l.find("{\"value\":").unwrap();
                format!("{}{{\"value\":\"never-written\"}}}}", &l[..at])
            }
            false => l.to_string(),
        })
        .collect();
    let bad = scratch.0.join("forged.jsonl");
    std::fs::write(&bad, forged.join("\n") + "\n").unwrap();
    let (code, out) = check_history(&bad);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not linearizable"), "{out}");
}
