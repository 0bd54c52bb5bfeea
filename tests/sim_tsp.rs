//! The distributed TSP solver in the simulator (sim flavor: `cargo sim-test`): every
//! scenario passes a few seeds, the failover run returns Held-Karp's length without starting
//! over, and each planted bug is caught. The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

mod common;

use common::{assert_sweep_passes, first_failure, request, seed_count};

#[test]
fn every_tsp_scenario_passes_over_seeds() {
    assert_sweep_passes("tsp", seed_count(3));
}

/// A 10-city solve with a worker crash and a coordinator failover returns the sequential
/// exact solver's length, and the replica that takes over keeps the counted results.
#[test]
fn a_failover_mid_solve_returns_the_exact_length_without_starting_over() {
    let outcome = request(
        "scenarios/tsp/coordinator-failover.toml".as_ref(),
        None,
        &[],
    )
    .execute(None)
    .expect("runs");
    assert!(outcome.passed(), "{:?}", outcome.summary.checks);
    let optimal = outcome
        .summary
        .checks
        .iter()
        .find(|c| c.name == "tour-is-optimal")
        .expect("judged");
    assert!(optimal.detail.contains("Held-Karp"), "{}", optimal.detail);
    let details = outcome.summary.details.as_ref().expect("details");
    assert!(details["failovers"].as_u64().unwrap() >= 1, "{details}");
}

#[test]
fn planted_bug_forget_dead_worker_subproblem_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/tsp/worker-crash.toml",
        "forget-dead-worker-subproblem",
        0..20,
    )
    .expect("caught");
    assert!(
        check == "tour-is-optimal" || check == "exactly-once",
        "seed {seed}: {check}"
    );
}

#[test]
fn planted_bug_ra_no_tiebreak_is_caught() {
    let (seed, check) =
        first_failure("scenarios/tsp/steady.toml", "ra-no-tiebreak", 0..200).expect("caught");
    assert_eq!(check, "mutual-exclusion", "seed {seed}");
}
