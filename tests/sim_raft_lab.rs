//! The MIT 6.5840 Raft lab tests of `scenarios/raft/6.5840/` (sim flavor: `cargo sim-test`):
//! every file passes over a few seeds, and a planted bug fails one. The long sweep:
//! FAULTLINE_SEEDS=500, or `cargo sim explore` per file (the folder's README has the figures).
#![cfg(madsim)]

mod common;

use std::path::PathBuf;

use common::{first_failure, request, seed_count};

/// The lab's files, sorted.
fn lab_scenarios() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir("scenarios/raft/6.5840")
        .expect("the lab's scenario folder exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_lab_test_passes_over_seeds() {
    let paths = lab_scenarios();
    assert_eq!(paths.len(), 20, "one file per test of the 2024 lab");
    let mut failures = Vec::new();
    for path in &paths {
        for seed in 0..seed_count(2) {
            let outcome = request(path, Some(seed), &[]).execute(None).expect("runs");
            if !outcome.passed() {
                let broken: Vec<_> = outcome.summary.checks.iter().filter(|c| !c.ok).collect();
                failures.push(format!("{} seed {seed}: {broken:?}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn lab_basic_agree_catches_a_double_vote() {
    let (seed, check) = first_failure(
        "scenarios/raft/6.5840/basic-agree.toml",
        "vote-twice",
        0..300,
    )
    .expect("caught");
    assert_eq!(check, "election-safety", "seed {seed}");
}

/// The lab's Figure 8 loop hands each leader a command it alone holds and crashes it: with
/// a leader that commits an entry of an earlier term by counting replicas, an old leader
/// back in office commits such an entry and a later leader that lacks it is elected.
#[test]
fn lab_figure8_catches_a_commit_of_an_old_term() {
    let (seed, check) = first_failure(
        "scenarios/raft/6.5840/figure8.toml",
        "commit-old-term",
        0..20,
    )
    .expect("caught");
    assert_eq!(check, "leader-completeness", "seed {seed}");
}

/// TestPersist33C cuts a follower off while the others commit, crashes them, and brings the
/// old leader back beside it: with votes granted whatever the candidate's log, the stale
/// server (whose term ran ahead while it was cut off) wins and lacks a committed entry.
#[test]
fn lab_persist3_catches_a_vote_for_a_stale_log() {
    let (seed, check) = first_failure(
        "scenarios/raft/6.5840/persist3.toml",
        "vote-stale-log",
        0..20,
    )
    .expect("caught");
    assert_eq!(check, "leader-completeness", "seed {seed}");
}
