//! Testing a protocol from its own `cargo test`, as madsim and turmoil allow: run a scenario
//! and assert it passes, explore many seeds for a failure, shrink what fails, and keep the
//! usual report (`trace.jsonl`, `summary.json`, `timeline.svg`, seed files) under
//! `target/faultline/`. Simulator flavor only (`--cfg madsim`).
//!
//! ```ignore
//! let sim = faultline::testing::Sim::new(Registry::default().with::<MyProtocol>());
//! sim.check("scenarios/steady.toml");                       // every check holds
//! let found = sim.explore("scenarios/swarm.toml", 0..200).bug("my-bug").first_failure();
//! let shrunk = sim.shrink(&found.unwrap().seed_file);
//! ```
//!
//! A failing [`Sim::check`] panics with the check that failed and how to replay the run:
//! `FAULTLINE_SEED=<seed> cargo test <name>` runs that one seed again (any check of any
//! scenario honours the variable), and `faultline replay <seed file>` replays it exactly.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::registry::Registry;
use crate::run::{write_outputs, RunRequest};
use crate::shrink::{shrink, ShrinkError, Shrunk};
use crate::summary::Summary;

/// The environment variable that picks the one seed a test runs.
pub const SEED_VAR: &str = "FAULTLINE_SEED";

/// A simulator for a registry of protocols, writing reports under one folder.
pub struct Sim {
    /// The protocols scenarios may name.
    registry: Registry,
    /// Where reports and seed files go.
    out: PathBuf,
}

/// One finished run and where its report is.
pub struct Run {
    /// Its summary (also `summary.json`).
    pub summary: Summary,
    /// The folder holding `trace.jsonl`, `summary.json`, `timeline.svg` and its seed files.
    pub dir: PathBuf,
}

impl Run {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.summary.verdict == "pass"
    }

    /// The first check that failed, if any.
    pub fn failed_check(&self) -> Option<&str> {
        (self.summary.checks.iter())
            .find(|c| !c.ok)
            .map(|c| c.name.as_str())
    }
}

/// A failing seed an exploration found.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// The check that failed.
    pub check: String,
    /// What it said.
    pub detail: String,
    /// The seed file that replays it.
    pub seed_file: PathBuf,
    /// Its report folder.
    pub dir: PathBuf,
}

/// An exploration being set up: which seeds, which planted bugs.
pub struct Explore<'a> {
    /// The simulator.
    sim: &'a Sim,
    /// The scenario.
    scenario: PathBuf,
    /// The seeds to try.
    seeds: Range<u64>,
    /// Planted bugs to switch on.
    bugs: Vec<String>,
}

/// What an exploration found.
#[derive(Clone, Debug)]
pub struct Explored {
    /// Seeds run.
    pub seeds_run: u64,
    /// The first failure, if any.
    pub failure: Option<Failure>,
}

impl Sim {
    /// A simulator over `registry`, writing under `target/faultline/`.
    pub fn new(registry: Registry) -> Sim {
        Sim {
            registry,
            out: PathBuf::from("target").join("faultline"),
        }
    }

    /// Writes reports under `dir` instead.
    pub fn out(mut self, dir: impl Into<PathBuf>) -> Sim {
        self.out = dir.into();
        self
    }

    /// Loads a scenario or seed file; bad input panics with its file, line and field.
    fn load(&self, path: &Path, bugs: &[String]) -> RunRequest {
        RunRequest::load(&self.registry, path, None, bugs.to_vec())
            .unwrap_or_else(|e| panic!("faultline: {e}"))
    }

    /// Runs `req` and writes its report under `out/<protocol>/<name>`.
    fn run_request(&self, req: &RunRequest, name: &str) -> Run {
        let dir = self.out.join(&req.scenario.protocol).join(name);
        let outcome = req
            .execute(Some(&dir))
            .unwrap_or_else(|e| panic!("faultline: {e}"));
        if let Err(e) = write_outputs(&dir, req, &outcome) {
            panic!("faultline: cannot write {}: {e}", dir.display());
        }
        Run {
            summary: outcome.summary,
            dir,
        }
    }

    /// Runs a scenario at its own seed (or at `FAULTLINE_SEED`), or a seed file, and writes
    /// its report.
    pub fn run(&self, scenario: impl AsRef<Path>) -> Run {
        let mut req = self.load(scenario.as_ref(), &[]);
        if let Some(seed) = seed_from_env() {
            req = req.with_seed(seed);
        }
        let name = req.scenario.name.clone();
        self.run_request(&req, &name)
    }

    /// Runs a scenario and panics unless every check held, saying which failed and how to
    /// replay it.
    pub fn check(&self, scenario: impl AsRef<Path>) -> Run {
        let run = self.run(scenario.as_ref());
        if !run.passed() {
            panic!("{}", failure_message(&run, scenario.as_ref()));
        }
        run
    }

    /// An exploration of `scenario` over `seeds`; each seed draws its own random faults.
    pub fn explore(&self, scenario: impl AsRef<Path>, seeds: Range<u64>) -> Explore<'_> {
        Explore {
            sim: self,
            scenario: scenario.as_ref().to_path_buf(),
            seeds,
            bugs: Vec::new(),
        }
    }

    /// Cuts a failing seed file down to the fewest faults, smallest workload and shortest
    /// run that still fail the same check; writes `<name>.min.seed` beside it and the
    /// shrunk run's report. Panics if the seed file does not fail.
    pub fn shrink(&self, seed_file: impl AsRef<Path>) -> Shrunk {
        let path = seed_file.as_ref();
        let req = self.load(path, &[]);
        let shrunk = match shrink(&req, false) {
            Ok(s) => s,
            Err(ShrinkError::Passes) => {
                panic!(
                    "faultline: {}: every check holds, nothing to shrink",
                    path.display()
                )
            }
            Err(ShrinkError::DoesNotRun(e)) => panic!("faultline: {}: {e}", path.display()),
        };
        let min = crate::shrink::min_path(path);
        if let Err(e) = std::fs::write(&min, shrunk.seed_file.to_toml()) {
            panic!("faultline: cannot write {}: {e}", min.display());
        }
        let name = format!("{}-{}-min", req.scenario.name, req.seed);
        self.run_request(&shrunk.request, &name);
        shrunk
    }
}

impl Explore<'_> {
    /// Switches on a planted bug.
    pub fn bug(mut self, name: &str) -> Self {
        self.bugs.push(name.to_string());
        self
    }

    /// Runs the seeds in order until one fails (or `FAULTLINE_SEED` alone, when set);
    /// writes the failure's report and seed file.
    pub fn first_failure(self) -> Explored {
        let base = self.sim.load(&self.scenario, &self.bugs);
        let seeds = match seed_from_env() {
            Some(seed) => seed..seed + 1,
            None => self.seeds.clone(),
        };
        let mut seeds_run = 0;
        for seed in seeds {
            seeds_run += 1;
            let req = base.with_seed(seed);
            let outcome = req
                .execute(None)
                .unwrap_or_else(|e| panic!("faultline: {e}"));
            // Hunting bugs: a seed whose checks judged nothing found none.
            let failed = (outcome.summary.checks.iter()).find(|c| !c.ok && !c.vacuous);
            let Some(failed) = failed else {
                continue;
            };
            let (check, detail) = (failed.name.clone(), failed.detail.clone());
            // Run again with files: the report and its failure.seed.
            let name = format!("{}-{seed}", req.scenario.name);
            let run = self.sim.run_request(&req, &name);
            return Explored {
                seeds_run,
                failure: Some(Failure {
                    seed,
                    check,
                    detail,
                    seed_file: run.dir.join("failure.seed"),
                    dir: run.dir,
                }),
            };
        }
        Explored {
            seeds_run,
            failure: None,
        }
    }

    /// Runs every seed and panics at the first failure, saying how to replay it.
    pub fn all_pass(self) -> Explored {
        let scenario = self.scenario.clone();
        let explored = self.first_failure();
        if let Some(f) = &explored.failure {
            panic!(
                "faultline: {} failed at seed {}: check `{}`: {}\n  report: {}\n  replay: {SEED_VAR}={} cargo test, or `faultline replay {}`",
                scenario.display(),
                f.seed,
                f.check,
                f.detail,
                f.dir.display(),
                f.seed,
                f.seed_file.display()
            );
        }
        explored
    }
}

/// The seed `FAULTLINE_SEED` names, if set.
fn seed_from_env() -> Option<u64> {
    let text = std::env::var(SEED_VAR).ok()?;
    Some(
        text.trim().parse().unwrap_or_else(|_| {
            panic!("faultline: {SEED_VAR}={text} is not a seed (a whole number)")
        }),
    )
}

/// What a failing check says: the check, the report and how to replay.
fn failure_message(run: &Run, scenario: &Path) -> String {
    let failed = run.summary.checks.iter().find(|c| !c.ok);
    format!(
        "faultline: {} failed at seed {}: check `{}`: {}\n  report: {}\n  replay: {SEED_VAR}={} cargo test, or `faultline replay {}`",
        scenario.display(),
        run.summary.seed,
        failed.map_or("?", |c| c.name.as_str()),
        failed.map_or(String::new(), |c| if c.vacuous {
            format!("vacuous, judged nothing: {}", c.detail)
        } else {
            c.detail.clone()
        }),
        run.dir.display(),
        run.summary.seed,
        run.dir.join("failure.seed").display()
    )
}
