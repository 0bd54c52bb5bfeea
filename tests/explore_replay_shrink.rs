//! Explore, replay, shrink, merge and the regression corpus, through the command line a user
//! types (sim flavor: `cargo sim-test`).
#![cfg(madsim)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Scratch;
use faultline::run::RunRequest;
use faultline::seedfile::SeedFile;
use faultline::Registry;

fn faultline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("faultline runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .to_string_lossy()
        .to_string()
}

fn corpus() -> Vec<PathBuf> {
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(repo("scenarios/regressions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seed"))
        .collect();
    seeds.sort();
    seeds
}

#[test]
fn regression_corpus_replays_its_recorded_verdicts() {
    for path in corpus() {
        let recorded = SeedFile::load(&path, &Registry::builtin()).unwrap();
        let outcome = RunRequest::load(&Registry::builtin(), &path, None, vec![])
            .unwrap()
            .execute(false)
            .unwrap();
        let failed = outcome
            .summary
            .checks
            .iter()
            .find(|c| !c.ok && !c.vacuous)
            .or_else(|| outcome.summary.checks.iter().find(|c| !c.ok))
            .map(|c| c.name.clone());
        assert_eq!(failed, recorded.failed_check, "{}", path.display());
        // A change that alters traces must re-record the corpus (`faultline run <seed>` writes
        // run.seed with the new digest): a stale digest would make `replay` refuse the file.
        assert_eq!(
            outcome.summary.digest,
            recorded.digest,
            "{}: digest drifted",
            path.display()
        );
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_json_snapshot!(format!("regression-{name}"), outcome.summary);
    }
}

#[test]
fn explore_finds_each_planted_bug_and_shrink_cuts_it_to_a_replayable_minimum() {
    let scratch = Scratch::new("explore-bugs");
    for bug in ["accept-lower-coordinator", "ack-before-quorum", "no-dedup"] {
        let failures = scratch.0.join(bug);
        let failures = failures.to_string_lossy();
        let out = faultline(
            &scratch.0,
            &[
                "explore",
                &repo("scenarios/bully/swarm.toml"),
                "--seeds",
                "0..60",
                "--bug",
                bug,
                "--failures",
                &failures,
                "--jobs",
                "2",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{bug}: {}", text(&out));
        let seed = std::fs::read_dir(&*failures)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "seed"))
            .unwrap_or_else(|| panic!("{bug}: no seed file"));
        let original = SeedFile::load(&seed, &Registry::builtin()).unwrap();

        let shrunk = faultline(&scratch.0, &["shrink", &seed.to_string_lossy()]);
        assert_eq!(shrunk.status.code(), Some(0), "{bug}: {}", text(&shrunk));
        let min_path = seed.with_file_name(format!(
            "{}.min.seed",
            seed.file_stem().unwrap().to_string_lossy()
        ));
        let min = SeedFile::load(&min_path, &Registry::builtin()).unwrap();
        assert_eq!(
            min.failed_check, original.failed_check,
            "{bug}: shrink keeps the same check"
        );
        assert!(min.scenario.faults.len() <= original.scenario.faults.len());
        assert!(
            min.scenario.faults.len() <= 5,
            "{bug}: {} faults left",
            min.scenario.faults.len()
        );

        let replay = faultline(
            &scratch.0,
            &[
                "replay",
                &min_path.to_string_lossy(),
                "--out",
                &scratch.0.join("r").to_string_lossy(),
            ],
        );
        assert_eq!(replay.status.code(), Some(1), "{bug}: {}", text(&replay));
        assert!(
            text(&replay).contains("digest matches the seed file"),
            "{bug}: {}",
            text(&replay)
        );
    }
}

#[test]
fn shards_merge_into_the_unsharded_exploration() {
    let scratch = Scratch::new("shards");
    let scenario = repo("scenarios/bully/swarm.toml");
    let run = |args: &[&str]| {
        let out = faultline(&scratch.0, args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    };
    run(&["explore", &scenario, "--seeds", "0..12", "--out", "whole"]);
    run(&[
        "explore", &scenario, "--seeds", "0..12", "--shard", "0/2", "--out", "a",
    ]);
    run(&[
        "explore", &scenario, "--seeds", "0..12", "--shard", "1/2", "--out", "b",
    ]);
    run(&["merge", "a", "b", "--out", "merged"]);
    let read = |dir: &str| -> faultline::explore::Exploration {
        serde_json::from_str(
            &std::fs::read_to_string(scratch.0.join(dir).join("explore.json")).unwrap(),
        )
        .unwrap()
    };
    let (whole, merged) = (read("whole"), read("merged"));
    assert_eq!(merged.seeds.len(), 12);
    assert_eq!(
        whole.seeds, merged.seeds,
        "the same seeds give the same results wherever they run"
    );
    assert!(scratch.0.join("merged/distribution.svg").exists());
}

#[test]
fn check_determinism_runs_each_seed_twice() {
    let scratch = Scratch::new("determinism");
    let out = faultline(
        &scratch.0,
        &[
            "explore",
            &repo("scenarios/bully/clients-chat.toml"),
            "--seeds",
            "0..4",
            "--check-determinism",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = faultline(
        &scratch.0,
        &[
            "run",
            &repo("scenarios/raft/leader-crash.toml"),
            "--check-determinism",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("determinism: a second run gave the same trace"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_seed_file_from_another_version_is_refused() {
    let scratch = Scratch::new("version");
    let text_in = std::fs::read_to_string(corpus()[0].clone()).unwrap();
    let old = scratch.0.join("old.seed");
    std::fs::write(
        &old,
        text_in.replace(
            &format!("faultline_version = \"{}\"", env!("CARGO_PKG_VERSION")),
            "faultline_version = \"0.0.1\"",
        ),
    )
    .unwrap();
    let out = faultline(&scratch.0, &["replay", &old.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("written by faultline 0.0.1"),
        "{}",
        text(&out)
    );
}
