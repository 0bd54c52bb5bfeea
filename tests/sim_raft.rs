//! Simulated runs of every Raft scenario, snapshots of their summaries, and the planted bugs
//! caught (sim flavor: `cargo sim-test`). The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

mod common;

use common::{first_failure, request, scenarios, seed_count, sweep};

#[test]
fn every_raft_scenario_passes_over_seeds() {
    let failures = sweep("raft", seed_count(3));
    assert!(
        failures.is_empty(),
        "{} failing runs:\n{}",
        failures.len(),
        failures.join("\n")
    );
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
