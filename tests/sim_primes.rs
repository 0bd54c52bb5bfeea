//! Simulated runs of every primes-farm scenario, snapshots of their summaries, and the
//! planted bugs caught (sim flavor: `cargo sim-test`). The long sweep: FAULTLINE_SEEDS=500.
#![cfg(madsim)]

mod common;

use common::{assert_sweep_passes, first_failure, request, scenarios, seed_count, Scratch};

#[test]
fn every_primes_scenario_passes_over_seeds() {
    assert_sweep_passes("primes", seed_count(2));
}

#[test]
fn summaries_of_primes_scenarios_at_their_own_seed() {
    for path in scenarios("primes") {
        let outcome = request(&path, None, &[]).execute(None).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_json_snapshot!(format!("primes-{name}"), outcome.summary);
    }
}

#[test]
fn the_dataset_file_near_2_pow_64_is_read_and_classified() {
    let path = std::path::Path::new("scenarios/primes/steady.toml");
    let outcome = request(path, None, &[]).execute(None).unwrap();
    assert!(outcome.passed());
    let details = outcome.summary.details.expect("primes details");
    assert!(details["primes_found"].as_u64().unwrap() > 0);
}

#[test]
fn planted_bug_forget_dead_worker_task_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/primes/worker-crash.toml",
        "forget-dead-worker-task",
        0..20,
    )
    .expect("caught");
    // The forgotten task is missing from the next snapshot's cut, and from the output.
    assert!(
        ["snapshot-cut", "primes-output"].contains(&check.as_str()),
        "seed {seed}: {check}"
    );
}

#[test]
fn planted_bug_snapshot_without_channel_state_is_caught() {
    let (seed, check) = first_failure(
        "scenarios/primes/snapshot-load.toml",
        "snapshot-without-channel-state",
        0..20,
    )
    .expect("caught");
    assert_eq!(check, "snapshot-cut", "seed {seed}");
}

#[test]
fn a_restarted_coordinator_resumes_from_its_latest_snapshot() {
    // The coordinator crashes before its first durable write: what it had counted lives
    // only in its snapshots, and comes back from there, each seed a different cut.
    let path = std::path::Path::new("scenarios/primes/snapshot-resume.toml");
    for seed in 0..5 {
        let outcome = request(path, Some(seed), &[]).execute(None).unwrap();
        assert!(outcome.passed(), "seed {seed}");
        let details = outcome.summary.details.expect("primes details");
        let resumed = details["results_resumed_from_snapshot"].as_u64().unwrap();
        let tasks = details["tasks"].as_u64().unwrap();
        assert!(
            resumed > 0 && resumed < tasks,
            "seed {seed}: {resumed} of {tasks}"
        );
    }
}

#[test]
fn snapshots_asked_for_on_demand_are_taken_and_answered() {
    let path = std::path::Path::new("scenarios/primes/snapshot-load.toml");
    for seed in 0..5 {
        let outcome = request(path, Some(seed), &[]).execute(None).unwrap();
        assert!(outcome.passed(), "seed {seed}");
        let judged = outcome
            .summary
            .checks
            .iter()
            .find(|c| c.name == "snapshot-requests");
        assert_eq!(judged.map(|c| c.judged), Some(4), "seed {seed}: {judged:?}");
    }
}

#[test]
fn a_snapshot_asked_for_with_no_worker_left_is_answered() {
    // The only worker is gone for good: a snapshot then has the coordinator's part alone and
    // completes the instant it starts; the request must still be answered (it once was
    // registered only after its snapshot had completed, and waited for ever).
    let dir = Scratch::new("primes-lone-snapshot");
    let path = dir.0.join("lone.toml");
    std::fs::write(
        &path,
        r#"name = "lone"
protocol = "primes"
duration_ms = 6000
seed = 1

[nodes]
file_servers = 1
coordinators = 1
workers = 1
clients = 1

[workload]
task_numbers = 20
snapshot_requests_ms = [2500]
[[workload.datasets]]
name = "a"
count = 400
max = 100000
seed = 3

[[faults]]
kind = "crash"
node = "w1"
at_ms = 900
"#,
    )
    .unwrap();
    let outcome = request(&path, None, &[]).execute(None).unwrap();
    let judged = outcome
        .summary
        .checks
        .iter()
        .find(|c| c.name == "snapshot-requests");
    assert!(judged.is_some_and(|c| c.ok && c.judged == 1), "{judged:?}");
}
