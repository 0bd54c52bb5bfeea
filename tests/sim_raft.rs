//! Simulated runs of every Raft scenario, snapshots of their summaries, and the planted bugs
//! caught (sim flavor: `cargo sim-test`). The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

use std::path::{Path, PathBuf};

use faultline::run::RunRequest;

fn scenarios() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir("scenarios/raft")
        .expect("scenarios/raft exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

fn request(path: &Path, seed: Option<u64>, bugs: &[&str]) -> RunRequest {
    RunRequest::load(path, seed, bugs.iter().map(|b| b.to_string()).collect())
        .expect("scenario loads")
}

fn seed_count() -> u64 {
    std::env::var("FAULTLINE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
}

#[test]
fn every_raft_scenario_passes_over_seeds() {
    let mut failures = Vec::new();
    for path in scenarios() {
        for seed in 0..seed_count() {
            let outcome = request(&path, Some(seed), &[])
                .execute(false)
                .expect("runs");
            if !outcome.passed() {
                let broken: Vec<_> = outcome.summary.checks.iter().filter(|c| !c.ok).collect();
                failures.push(format!("{} seed {seed}: {broken:?}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn summaries_of_raft_scenarios_at_their_own_seed() {
    for path in scenarios() {
        let outcome = request(&path, None, &[]).execute(false).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_json_snapshot!(format!("raft-{name}"), outcome.summary);
    }
}

fn first_failure(path: &str, bug: &str, seeds: std::ops::Range<u64>) -> Option<(u64, String)> {
    seeds.into_iter().find_map(|seed| {
        let outcome = request(Path::new(path), Some(seed), &[bug])
            .execute(false)
            .unwrap();
        outcome
            .summary
            .checks
            .iter()
            .find(|c| !c.ok)
            .map(|c| (seed, c.name.clone()))
    })
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
fn planted_bug_lease_ignored_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/raft/locks-under-crash.toml",
        "lease-ignored",
        0..1000,
    )
    .expect("caught");
    assert_eq!(check, "lock-safety", "seed {seed}");
}
