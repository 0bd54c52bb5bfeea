//! The distributed TSP solver in the simulator (sim flavor: `cargo sim-test`): every
//! scenario passes a few seeds, the failover run returns Held-Karp's length without starting
//! over, and each planted bug is caught. The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

mod common;

use common::{assert_sweep_passes, first_failure, request, seed_count, Scratch};

#[test]
fn every_tsp_scenario_passes_over_seeds() {
    assert_sweep_passes("tsp", seed_count(3));
}

/// A 10-city solve with a worker crash and a coordinator failover returns the sequential
/// exact solver's length, and the replica that takes over keeps the counted results.
#[test]
fn a_failover_mid_solve_returns_the_exact_length_without_starting_over() {
    let scratch = Scratch::new("sim-tsp-failover");
    let outcome = request(
        "scenarios/tsp/coordinator-failover.toml".as_ref(),
        None,
        &[],
    )
    .execute(Some(scratch.0.as_path()))
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
    // co2 (node 1) took over from the crashed co3 with results already counted, before
    // the client had its tour.
    let trace = outcome.trace_jsonl.expect("kept").read().unwrap();
    let records: Vec<serde_json::Value> = (trace.lines().skip(1))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at = |event: &str, node: u64| {
        records
            .iter()
            .find(|r| r["node"] == node && r["event"].get(event).is_some())
            .map(|r| (r["t"].as_u64().unwrap(), r["event"][event].clone()))
    };
    let (took_over_us, active) = at("active", 1).expect("co2 took over");
    let (solved_us, _) = at("solved", 6).expect("the client has its tour");
    assert!(active["counted"].as_u64().unwrap() > 0, "{active}");
    assert!(
        took_over_us < solved_us,
        "the failover came after the solve"
    );
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

/// The adaptive strategy splits running subproblems for idle workers, and the checks
/// (exactly-once above all: parents counted with their last child) still hold.
#[test]
fn adaptive_splits_running_subproblems_and_counts_each_once() {
    let outcome = request("scenarios/tsp/strategy-adaptive.toml".as_ref(), None, &[])
        .execute(None)
        .expect("runs");
    assert!(outcome.passed(), "{:?}", outcome.summary.checks);
    let details = outcome.summary.details.as_ref().expect("details");
    assert!(details["splits"].as_u64().unwrap() >= 1, "{details}");
}
