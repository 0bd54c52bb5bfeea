//! `faultline shrink`: cuts a failing seed file down to what still fails the same check —
//! the fault schedule first, then the workload, then the duration.

use std::path::{Path, PathBuf};

use faultline_sim::faults::shrink::ddmin;
use faultline_sim::Scenario;

use crate::registry::Registry;
use crate::run::RunRequest;
use crate::seedfile::SeedFile;

/// Test runs allowed for the fault schedule.
const FAULT_RUNS_MAX: usize = 400;

/// What one candidate run came to.
struct Probe {
    /// The check that failed first, if any.
    failed: Option<String>,
    /// Trace events.
    events: u64,
    /// When the run ended (early at a violation).
    end_ms: f64,
    /// The digest.
    digest: String,
}

fn probe(req: &RunRequest, scenario: &Scenario) -> Option<Probe> {
    let candidate = RunRequest {
        scenario: scenario.clone(),
        ..req.clone()
    };
    let outcome = candidate.execute(false).ok()?;
    let s = outcome.summary;
    Some(Probe {
        // A check that judged nothing in a cut-down run is no failure to shrink towards.
        failed: s
            .checks
            .iter()
            .find(|c| !c.ok && !c.vacuous)
            .map(|c| c.name.clone()),
        events: s.events,
        end_ms: s.end_ms,
        digest: s.digest,
    })
}

/// What shrinking a failing run came to.
pub struct Shrunk {
    /// The check that failed, and still fails.
    pub check: String,
    /// The request cut down: its scenario has the fewest faults, the smallest workload and
    /// the shortest run found that still fail `check`.
    pub request: RunRequest,
    /// Its seed file.
    pub seed_file: SeedFile,
    /// Faults before and after.
    pub faults: (usize, usize),
    /// Trace events before and after.
    pub events: (u64, u64),
    /// Simulated milliseconds before and after.
    pub end_ms: (f64, f64),
    /// Digests before and after.
    pub digests: (String, String),
}

/// Why a run could not be shrunk.
pub enum ShrinkError {
    /// Every check held: there is nothing to shrink (exit 1).
    Passes,
    /// The scenario does not run (exit 2).
    DoesNotRun(String),
}

/// Cuts `req` down to what still fails the same check: the fault schedule first, then the
/// workload, then the duration. `progress` prints how far it got on stderr.
pub fn shrink(req: &RunRequest, progress: bool) -> Result<Shrunk, ShrinkError> {
    let Some(before) = probe(req, &req.scenario) else {
        return Err(ShrinkError::DoesNotRun("the scenario does not run".into()));
    };
    let Some(check) = before.failed.clone() else {
        return Err(ShrinkError::Passes);
    };
    if progress {
        eprintln!("shrink: keeping failures of `{check}`");
    }
    let still_fails =
        |s: &Scenario| probe(req, s).is_some_and(|p| p.failed.as_deref() == Some(check.as_str()));
    let mut best = req.scenario.clone();

    // Faults that start after the violation cannot have caused it.
    if before.end_ms < best.duration_ms as f64 {
        let cut = trimmed(&best, before.end_ms.ceil() as u64 + 1);
        if still_fails(&cut) {
            best = cut;
        }
    }
    let mut runs = 0;
    let faults = ddmin(&best.faults, FAULT_RUNS_MAX, |subset| {
        runs += 1;
        let candidate = Scenario {
            faults: subset.to_vec(),
            ..best.clone()
        };
        let fails = still_fails(&candidate);
        if progress {
            eprint!(
                "\r  faults: tried {runs} schedules, {} faults left   ",
                subset.len()
            );
        }
        fails
    });
    if progress {
        eprintln!();
    }
    best.faults = faults;

    // The workload: halve its counts while the failure stays. Durations (`*_ms`) are left
    // alone: half an interval is twice the traffic, not a smaller workload.
    let keys: Vec<String> = best
        .workload
        .keys()
        .filter(|k| !k.ends_with("_ms"))
        .cloned()
        .collect();
    for key in keys {
        while let Some(value) = best.workload.get(&key).and_then(toml::Value::as_integer) {
            if value <= 1 {
                break;
            }
            let mut candidate = best.clone();
            candidate
                .workload
                .insert(key.clone(), toml::Value::Integer(value / 2));
            if !still_fails(&candidate) {
                break;
            }
            if progress {
                eprintln!("  workload.{key}: {value} -> {}", value / 2);
            }
            best = candidate;
        }
    }

    // The duration: as short as still fails, never before the last fault.
    if let Some(p) = probe(req, &best) {
        let floor = p.end_ms.ceil() as u64 + 1;
        let mut candidate = trimmed(&best, floor);
        if candidate.duration_ms < best.duration_ms && still_fails(&candidate) {
            best = candidate;
        } else {
            let mut d = best.duration_ms;
            while d / 2 >= floor {
                candidate = trimmed(&best, d * 3 / 4);
                if !still_fails(&candidate) {
                    break;
                }
                d = candidate.duration_ms;
                best = candidate;
            }
        }
    }

    let shrunk = RunRequest {
        scenario: best,
        ..req.clone()
    };
    let outcome = shrunk
        .execute(false)
        .map_err(|e| ShrinkError::DoesNotRun(format!("the shrunk scenario does not run: {e}")))?;
    let after = &outcome.summary;
    Ok(Shrunk {
        check,
        seed_file: shrunk.seed_file(after),
        faults: (req.scenario.faults.len(), shrunk.scenario.faults.len()),
        events: (before.events, after.events),
        end_ms: (before.end_ms, after.end_ms),
        digests: (before.digest, after.digest.clone()),
        request: shrunk,
    })
}

/// Shrinks the seed file at `path`; returns the exit code (0 shrunk, 1 it did not fail,
/// 2 bad input).
pub fn shrink_command(registry: &Registry, path: &Path) -> i32 {
    let req = match RunRequest::load(registry, path, None, Vec::new()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let s = match shrink(&req, true) {
        Ok(s) => s,
        Err(ShrinkError::Passes) => {
            eprintln!(
                "{}: every check holds; there is no failure to shrink",
                path.display()
            );
            return 1;
        }
        Err(ShrinkError::DoesNotRun(e)) => {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    };
    let out = min_path(path);
    if let Err(e) = std::fs::write(&out, s.seed_file.to_toml()) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return 2;
    }
    println!("shrink: {} still fails `{}`", out.display(), s.check);
    println!("  faults       {:>6} -> {}", s.faults.0, s.faults.1);
    println!("  events       {:>6} -> {}", s.events.0, s.events.1);
    println!(
        "  simulated ms {:>6} -> {}",
        s.end_ms.0 as u64, s.end_ms.1 as u64
    );
    println!("  digest       {} -> {}", s.digests.0, s.digests.1);
    for f in &s.request.scenario.faults {
        println!(
            "    {}",
            toml::to_string(f).unwrap_or_default().replace('\n', " ")
        );
    }
    println!("replay it: cargo sim replay {}", out.display());
    0
}

/// The scenario cut to `duration_ms`, without the faults that would fall past the end.
fn trimmed(s: &Scenario, duration_ms: u64) -> Scenario {
    use faultline_sim::scenario::Fault;
    let mut out = s.clone();
    out.duration_ms = duration_ms.min(s.duration_ms).max(1);
    out.faults.retain_mut(|f| match f {
        Fault::Crash { at_ms, .. } | Fault::Restart { at_ms, .. } => *at_ms <= out.duration_ms,
        Fault::Partition { at_ms, heal_ms, .. } => {
            if heal_ms.is_some_and(|h| h > out.duration_ms) {
                *heal_ms = None;
            }
            *at_ms <= out.duration_ms
        }
        Fault::Loss {
            from_ms, until_ms, ..
        } => {
            *until_ms = (*until_ms).min(out.duration_ms);
            *from_ms < *until_ms
        }
        Fault::Byzantine {
            from_ms, until_ms, ..
        } => {
            if until_ms.is_some_and(|u| u > out.duration_ms) {
                *until_ms = None;
            }
            *from_ms < out.duration_ms
        }
    });
    // An expectation past the end would judge nothing.
    out.expect.retain(|e| {
        [e.from_ms, e.until_ms, e.at_ms, e.by_ms, e.after_ms]
            .iter()
            .flatten()
            .all(|ms| *ms <= out.duration_ms)
    });
    out
}

/// `x.seed` -> `x.min.seed`.
pub fn min_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = stem.strip_suffix(".min").unwrap_or(&stem).to_string();
    path.with_file_name(format!("{stem}.min.seed"))
}
