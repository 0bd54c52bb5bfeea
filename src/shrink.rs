//! `faultline shrink`: cuts a failing seed file down to what still fails the same check —
//! the fault schedule first, then the workload, then the duration.

use std::path::{Path, PathBuf};

use faultline_sim::shrink::ddmin;
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
        failed: s.checks.iter().find(|c| !c.ok).map(|c| c.name.clone()),
        events: s.events,
        end_ms: s.end_ms,
        digest: s.digest,
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
    let Some(before) = probe(&req, &req.scenario) else {
        eprintln!("error: {}: the scenario does not run", path.display());
        return 2;
    };
    let Some(check) = before.failed.clone() else {
        eprintln!(
            "{}: every check holds; there is no failure to shrink",
            path.display()
        );
        return 1;
    };
    eprintln!("shrink: keeping failures of `{check}`");
    let still_fails =
        |s: &Scenario| probe(&req, s).is_some_and(|p| p.failed.as_deref() == Some(check.as_str()));
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
        eprint!(
            "\r  faults: tried {runs} schedules, {} faults left   ",
            subset.len()
        );
        fails
    });
    eprintln!();
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
            eprintln!("  workload.{key}: {value} -> {}", value / 2);
            best = candidate;
        }
    }

    // The duration: as short as still fails, never before the last fault.
    if let Some(p) = probe(&req, &best) {
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
        scenario: best.clone(),
        ..req.clone()
    };
    let Ok(outcome) = shrunk.execute(false) else {
        eprintln!("error: the shrunk scenario does not run");
        return 2;
    };
    let after = &outcome.summary;
    let seed_file: SeedFile = shrunk.seed_file(after);
    let out = min_path(path);
    if let Err(e) = std::fs::write(&out, seed_file.to_toml()) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return 2;
    }
    println!("shrink: {} still fails `{check}`", out.display());
    println!(
        "  faults       {:>6} -> {}",
        req.scenario.faults.len(),
        best.faults.len()
    );
    println!("  events       {:>6} -> {}", before.events, after.events);
    println!(
        "  simulated ms {:>6} -> {}",
        before.end_ms as u64, after.end_ms as u64
    );
    println!("  digest       {} -> {}", before.digest, after.digest);
    for f in &best.faults {
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
    out
}

/// `x.seed` -> `x.min.seed`.
fn min_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = stem.strip_suffix(".min").unwrap_or(&stem).to_string();
    path.with_file_name(format!("{stem}.min.seed"))
}
