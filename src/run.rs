//! `faultline run`: one simulated run of a scenario or a seed file, its report and verdict.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use faultline_sim::scenario::{InputError, Scenario, Source};
use faultline_sim::simulator::world::simulate_into;
use faultline_sim::Protocol;

use crate::explore::first_difference;
pub use crate::outcome::Outcome;
use crate::outcome::{print_verdict_unless, write_report, RunInfo};
use crate::recorder::{trace_path, Recorder, TraceTo};
use crate::registry::{check_bugs, Entry, Registry};
use crate::seedfile::{SeedFile, VERSION};
use crate::summary::Summary;

/// What to run.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The protocol the scenario names.
    pub protocol: Arc<dyn Entry>,
    /// The scenario as loaded; random faults are drawn per seed when it runs.
    pub scenario: Scenario,
    /// The text the scenario came from, so protocol sections can point at their lines.
    pub source_file: String,
    /// That text.
    pub source_text: String,
    /// The seed.
    pub seed: u64,
    /// Planted bugs to switch on.
    pub bugs: Vec<String>,
    /// The digest a seed file recorded, to compare with.
    pub expected_digest: Option<String>,
}

impl RunRequest {
    /// Loads a scenario (`.toml`) or a seed file (`.seed`).
    pub fn load(
        registry: &Registry,
        path: &Path,
        seed: Option<u64>,
        bugs: Vec<String>,
    ) -> Result<RunRequest, InputError> {
        let file = path.display().to_string();
        if path.extension().is_some_and(|e| e == "seed") {
            let sf = SeedFile::load(path, registry)?;
            if seed.is_some() || !bugs.is_empty() {
                return Err(InputError {
                    file,
                    line: None,
                    field: String::new(),
                    message:
                        "a seed file fixes its seed and bugs: drop --seed and --bug to replay it"
                            .into(),
                });
            }
            let text = toml::to_string(&sf.scenario).unwrap_or_default();
            let protocol = registry
                .get(&sf.scenario.protocol)
                .expect("the seed file's scenario was checked against the registry");
            return Ok(RunRequest {
                protocol,
                scenario: sf.scenario,
                source_file: format!("{file} [scenario]"),
                source_text: text,
                seed: sf.seed,
                bugs: sf.bugs,
                expected_digest: Some(sf.digest),
            });
        }
        let scenario = Scenario::load(path, registry)?;
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let protocol = registry
            .get(&scenario.protocol)
            .expect("the scenario was checked against the registry");
        check_bugs(&*protocol, &bugs, None)?;
        Ok(RunRequest {
            protocol,
            seed: seed.unwrap_or(scenario.seed),
            scenario,
            source_file: file,
            source_text: text,
            bugs,
            expected_digest: None,
        })
    }

    /// A request for scenario text (the bench's, a test's); `name` names it in errors.
    pub fn parse(registry: &Registry, name: &str, text: &str) -> Result<RunRequest, InputError> {
        let scenario = Scenario::parse(name, text, registry)?;
        let protocol = registry
            .get(&scenario.protocol)
            .expect("the scenario was checked against the registry");
        Ok(RunRequest {
            protocol,
            seed: scenario.seed,
            scenario,
            source_file: name.into(),
            source_text: text.into(),
            bugs: Vec::new(),
            expected_digest: None,
        })
    }

    /// The `Source` protocol sections are checked against.
    pub fn source(&self) -> Source<'_> {
        Source {
            file: &self.source_file,
            text: &self.source_text,
        }
    }

    /// The same request under another seed.
    pub fn with_seed(&self, seed: u64) -> RunRequest {
        RunRequest {
            seed,
            expected_digest: None,
            ..self.clone()
        }
    }

    /// The scenario this seed runs, with its random faults drawn.
    pub fn concrete(&self) -> Scenario {
        self.scenario.concretize(self.seed)
    }

    /// Runs it in the simulator. `files` is a report folder: the run writes its
    /// `trace.jsonl` there as it goes, and draws the timeline. Without it, no record is
    /// kept at all.
    pub fn execute(&self, files: Option<&Path>) -> Result<Outcome, InputError> {
        let concrete = RunRequest {
            scenario: self.concrete(),
            ..self.clone()
        };
        self.protocol.simulate(&concrete, files)
    }

    /// The seed file that replays this run.
    pub fn seed_file(&self, summary: &Summary) -> SeedFile {
        SeedFile {
            faultline_version: VERSION.to_string(),
            seed: self.seed,
            bugs: self.bugs.clone(),
            digest: summary.digest.clone(),
            // The violation, when there is one; else the check that judged nothing.
            failed_check: (summary.checks.iter())
                .find(|c| !c.ok && !c.vacuous)
                .or_else(|| summary.checks.iter().find(|c| !c.ok))
                .map(|c| c.name.clone()),
            resolved: summary.resolved.clone(),
            scenario: self.concrete(),
        }
    }
}

/// `faultline run`: returns the exit code (0 pass, 1 a check failed, 2 bad input).
pub fn run_command(
    registry: &Registry,
    path: &Path,
    seed: Option<u64>,
    bugs: Vec<String>,
    out_dir: Option<PathBuf>,
    check_determinism: bool,
) -> i32 {
    match RunRequest::load(registry, path, seed, bugs) {
        Ok(req) => {
            let out_dir = out_dir.unwrap_or_else(|| {
                crate::cli::default_out(&req.scenario.protocol, &req.scenario.name, "")
            });
            run_and_report(&req, &out_dir, check_determinism)
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// `faultline replay`: like `run` on a seed file, but a run whose digest differs from the
/// recorded one is an error (exit 2): the failure was not reproduced.
pub fn replay_command(registry: &Registry, path: &Path, out_dir: Option<PathBuf>) -> i32 {
    if path.extension().is_none_or(|e| e != "seed") {
        eprintln!(
            "error: {}: replay takes a seed file (.seed); run a scenario with `faultline run`",
            path.display()
        );
        return 2;
    }
    let req = match RunRequest::load(registry, path, None, Vec::new()) {
        Ok(req) => req,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let out_dir = out_dir.unwrap_or_else(|| {
        crate::cli::default_out(&req.scenario.protocol, &req.scenario.name, "replay")
    });
    let code = run_and_report(&req, &out_dir, false);
    let digest = std::fs::read_to_string(out_dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Summary>(&t).ok())
        .map(|s| s.digest);
    if digest.is_some() && digest != req.expected_digest {
        eprintln!(
            "error: the replay's digest differs from the seed file's: the run was not reproduced"
        );
        return 2;
    }
    code
}

/// Runs `req` (twice when `check_determinism`), writes its report and prints the verdict;
/// returns the exit code.
fn run_and_report(req: &RunRequest, out_dir: &Path, check_determinism: bool) -> i32 {
    let started = Instant::now();
    let outcome = match req.execute(Some(out_dir)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let wall = started.elapsed();
    if let Err(e) = write_outputs(out_dir, req, &outcome) {
        eprintln!("error: cannot write {}: {e}", out_dir.display());
        return 2;
    }
    let s = &outcome.summary;
    let clock = format!(
        "{:.1} simulated s in {:.2} wall s",
        s.end_ms / 1000.0,
        wall.as_secs_f64()
    );
    let mut notes: Vec<String> = match &req.expected_digest {
        Some(expected) if *expected == s.digest => {
            vec!["replay: digest matches the seed file".into()]
        }
        Some(expected) => vec![format!(
            "replay: DIGEST DIFFERS from the seed file's {expected}"
        )],
        None => Vec::new(),
    };
    let mut deterministic = true;
    if check_determinism {
        // The second run's trace goes beside the first; it is kept only when they differ.
        let again_dir = out_dir.join("determinism");
        let difference = match req.execute(Some(again_dir.as_path())) {
            Ok(again) => first_difference(&outcome, &again),
            Err(e) => Some(format!("the second run did not start: {e}")),
        };
        if difference.is_none() {
            let _ = std::fs::remove_dir_all(&again_dir);
        }
        notes.push(match difference {
            None => "determinism: a second run gave the same trace, byte for byte".into(),
            Some(diff) => {
                deterministic = false;
                format!(
                    "determinism: the two runs PART at {diff} (the second run's trace: {})",
                    trace_path(&again_dir).display()
                )
            }
        });
    }
    let nondeterministic =
        (!deterministic).then_some("nondeterministic: two runs of one seed parted");
    print_verdict_unless(
        "faultline run",
        &outcome,
        out_dir,
        &clock,
        &notes,
        nondeterministic,
    );
    if !outcome.passed() {
        println!(
            "  replay it: cargo sim run {}",
            out_dir.join("failure.seed").display()
        );
    }
    i32::from(!outcome.passed() || !deterministic)
}

/// Writes the report of a simulated run, and its seed files.
pub fn write_outputs(dir: &Path, req: &RunRequest, o: &Outcome) -> std::io::Result<()> {
    write_report(dir, o)?;
    // Every run can be replayed or added to the regression corpus, passing or not.
    std::fs::write(dir.join("run.seed"), req.seed_file(&o.summary).to_toml())?;
    let failure = dir.join("failure.seed");
    if o.passed() {
        // A stale failure.seed from an earlier run would mislead.
        let _ = std::fs::remove_file(failure);
    } else {
        std::fs::write(failure, req.seed_file(&o.summary).to_toml())?;
    }
    Ok(())
}

/// Runs one protocol's simulation and summarises it as it goes; with `files` (a report
/// folder), its `trace.jsonl` is written there as the run goes.
pub fn execute<P: Protocol>(
    proto: P,
    req: &RunRequest,
    files: Option<&Path>,
) -> Result<Outcome, InputError> {
    let trace_to = files.map_or(TraceTo::Nowhere, |dir| TraceTo::File(trace_path(dir)));
    let cannot_write = |e: std::io::Error| InputError {
        file: files
            .map(|d| trace_path(d).display().to_string())
            .unwrap_or_default(),
        line: None,
        field: String::new(),
        message: format!("cannot write the trace: {e}"),
    };
    let recorder =
        Recorder::new(&proto, &req.scenario, req.seed, trace_to).map_err(cannot_write)?;
    let out = simulate_into(Arc::new(proto), &req.scenario, req.seed, recorder);
    let run = RunInfo {
        scenario: &req.scenario,
        seed: req.seed,
        bugs: &req.bugs,
    };
    (out.sink)
        .finish(&run, &out.trace, out.verdicts, out.end_us)
        .map_err(cannot_write)
}
