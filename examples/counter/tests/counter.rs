//! The counter tested with faultline from its own `cargo test` (simulator flavor: this
//! crate's `.cargo/config.toml` sets `--cfg madsim`). A failure prints the seed and how to
//! replay it (`FAULTLINE_SEED=<seed> cargo test`, or the seed file with `faultline replay`).
#![cfg(madsim)]

use counter::Counter;
use faultline::testing::Sim;
use faultline::Registry;

fn sim() -> Sim {
    Sim::new(Registry::default().with::<Counter>())
}

#[test]
fn the_counter_keeps_every_acknowledged_increment_through_a_crash() {
    let run = sim().check("scenarios/steady.toml");
    let check = &run.summary.checks[0];
    assert!(
        check.detail.contains("1 restarts held"),
        "the crash must be judged: {}",
        check.detail
    );
    for file in ["trace.jsonl", "summary.json", "timeline.svg", "run.seed"] {
        assert!(run.dir.join(file).exists(), "{file} written");
    }
}

#[test]
fn two_hundred_seeds_of_random_crashes_pass() {
    let explored = sim().explore("scenarios/swarm.toml", 0..200).all_pass();
    assert!(explored.seeds_run >= 200 || std::env::var("FAULTLINE_SEED").is_ok());
}

#[test]
fn explore_finds_the_lazy_flush_bug_and_shrink_cuts_it_to_one_crash_and_restart() {
    let sim = sim();
    let explored = sim
        .explore("scenarios/swarm.toml", 0..200)
        .bug("lazy-flush")
        .first_failure();
    let failure = explored
        .failure
        .expect("lazy-flush loses an acknowledged increment");
    assert_eq!(failure.check, "nothing-acked-is-lost");
    for file in ["trace.jsonl", "summary.json", "timeline.svg"] {
        assert!(failure.dir.join(file).exists(), "{file} written");
    }
    let replayed = sim.run(&failure.seed_file);
    assert_eq!(
        (replayed.failed_check(), &replayed.summary.seed),
        (Some("nothing-acked-is-lost"), &failure.seed),
        "the seed file replays the failure"
    );
    let shrunk = sim.shrink(&failure.seed_file);
    assert_eq!(shrunk.check, "nothing-acked-is-lost");
    // A crash and the restart that shows what the server lost: nothing else is needed.
    assert_eq!(
        shrunk.faults.1, 2,
        "one crash and its restart: {:?}",
        shrunk.request.scenario.faults
    );
    assert!(shrunk.faults.0 >= shrunk.faults.1);
}
