//! What the simulated test files share: the scenarios of a protocol, requests, seed sweeps and
//! the search for a planted bug's first failing seed.
#![cfg(madsim)]
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};

use faultline::run::RunRequest;
use faultline::Registry;

/// Every protocol faultline ships, by name: the simulated suites go through the registry.
pub fn protocols() -> Vec<&'static str> {
    Registry::builtin().names()
}

/// The scenario files of `scenarios/<protocol>/` but the large ones, sorted.
pub fn scenarios(protocol: &str) -> Vec<PathBuf> {
    shipped(protocol)
        .into_iter()
        .filter(|p| !is_large(p))
        .collect()
}

/// The protocol's large scenarios (`large*.toml`, hundreds of nodes): a run costs seconds to
/// tens of seconds, so the sweeps over many seeds leave them out and one test runs each
/// once ([`scenarios`] is every other one).
pub fn large_scenarios(protocol: &str) -> Vec<PathBuf> {
    shipped(protocol)
        .into_iter()
        .filter(|p| is_large(p))
        .collect()
}

fn is_large(path: &Path) -> bool {
    path.file_stem()
        .is_some_and(|s| s.to_string_lossy().starts_with("large"))
}

fn shipped(protocol: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(format!("scenarios/{protocol}"))
        .expect("the protocol's scenario folder exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

/// A run of `path` under `seed` (the scenario's own when `None`) with planted `bugs`.
pub fn request(path: &Path, seed: Option<u64>, bugs: &[&str]) -> RunRequest {
    RunRequest::load(
        &Registry::builtin(),
        path,
        seed,
        bugs.iter().map(|b| b.to_string()).collect(),
    )
    .expect("scenario loads")
}

/// Seeds per scenario: `default` in CI, more with FAULTLINE_SEEDS=500.
pub fn seed_count(default: u64) -> u64 {
    std::env::var("FAULTLINE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs every (non-large) scenario of `protocol` at seeds `0..seeds` and fails naming each
/// failing (scenario, seed) with the checks that broke.
pub fn assert_sweep_passes(protocol: &str, seeds: u64) {
    let mut failures = Vec::new();
    for path in scenarios(protocol) {
        for seed in 0..seeds {
            let outcome = request(&path, Some(seed), &[]).execute(None).expect("runs");
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

/// The first seed among `seeds` that fails with `bug` switched on, and the check it broke.
pub fn first_failure(path: &str, bug: &str, seeds: std::ops::Range<u64>) -> Option<(u64, String)> {
    seeds.into_iter().find_map(|seed| {
        let outcome = request(Path::new(path), Some(seed), &[bug])
            .execute(None)
            .unwrap();
        outcome
            .summary
            .checks
            .iter()
            .find(|c| !c.ok && !c.vacuous)
            .map(|c| (seed, c.name.clone()))
    })
}

/// A scratch directory, removed at the end of the test.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("faultline-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
