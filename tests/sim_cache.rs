//! Simulated runs of every cache scenario and the planted bugs caught (sim flavor:
//! `cargo sim-test`). The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

mod common;

use common::{assert_sweep_passes, first_failure, request, scenarios, seed_count};

#[test]
fn every_cache_scenario_passes_over_seeds() {
    assert_sweep_passes("cache", seed_count(2));
}

#[test]
fn summaries_of_cache_scenarios_at_their_own_seed() {
    for path in scenarios("cache") {
        let outcome = request(&path, None, &[]).execute(None).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_json_snapshot!(format!("cache-{name}"), outcome.summary);
    }
}

#[test]
fn planted_bug_skip_invalidation_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/cache/write-heavy.toml",
        "skip-invalidation",
        0..20,
    )
    .expect("caught");
    assert_eq!(check, "single-writer", "seed {seed}");
}

#[test]
fn planted_bug_evict_modified_without_writeback_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/cache/write-heavy.toml",
        "evict-modified-without-writeback",
        0..20,
    )
    .expect("caught");
    assert_eq!(check, "acked-is-stored", "seed {seed}");
}

#[test]
fn planted_bug_ring_moves_every_key_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/cache/join-leave.toml",
        "ring-moves-every-key",
        0..20,
    )
    .expect("caught");
    assert_eq!(check, "ring-moves-its-share", "seed {seed}");
}
