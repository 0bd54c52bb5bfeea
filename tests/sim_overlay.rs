//! Simulated runs of every overlay scenario, the burst's refusals, and the planted bugs
//! caught (sim flavor: `cargo sim-test`). The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

mod common;

use common::{assert_sweep_passes, first_failure, request, seed_count};

#[test]
fn every_overlay_scenario_passes_over_seeds() {
    assert_sweep_passes("overlay", seed_count(3));
}

/// Past the leader's queue, requests are answered busy at once: the summary counts them,
/// and every request has its one answer.
#[test]
fn a_burst_beyond_capacity_is_refused_busy_and_nothing_is_lost() {
    let path = std::path::Path::new("scenarios/overlay/burst.toml");
    let outcome = request(path, None, &[]).execute(None).unwrap();
    assert!(outcome.passed());
    let d = outcome.summary.details.expect("overlay details");
    assert_eq!(d["queue_peak"], 200, "{d}");
    assert!(d["by_outcome"]["busy"].as_u64().unwrap() > 0, "{d}");
    assert_eq!(d["answered"], d["requests"], "{d}");
    assert_eq!(d["reported_late"], 0, "{d}");
}

#[test]
fn planted_bug_drop_beyond_capacity_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/overlay/burst.toml",
        "drop-beyond-capacity",
        0..10,
    )
    .expect("caught");
    assert_eq!(check, "exactly-one-answer", "seed {seed}");
}

#[test]
fn planted_bug_no_hop_check_is_caught() {
    let (seed, check) = first_failure("scenarios/overlay/worker-crash.toml", "no-hop-check", 0..10)
        .expect("caught");
    assert_eq!(check, "hops-bounded", "seed {seed}");
}

#[test]
fn summaries_of_overlay_scenarios_at_their_own_seed() {
    for path in common::scenarios("overlay") {
        let outcome = request(&path, None, &[]).execute(None).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_json_snapshot!(format!("overlay-{name}"), outcome.summary);
    }
}
