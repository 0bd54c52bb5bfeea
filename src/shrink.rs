//! `faultline shrink`: cuts a failing seed file down to what still fails the same check —
//! the fault schedule first, then the workload, then the duration. A seed file of a
//! nondeterministic run (`failed_check = "nondeterminism"`, from `explore`) is cut down to
//! what still runs differently twice.

use std::path::{Path, PathBuf};

use faultline_sim::faults::shrink::ddmin;
use faultline_sim::Scenario;

use crate::explore::NONDETERMINISM;
use crate::registry::Registry;
use crate::run::RunRequest;
use crate::seedfile::SeedFile;
use crate::summary::ResolvedTurn;

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
    /// Whom its run-time faults' turns hit.
    resolved: Vec<ResolvedTurn>,
}

/// Runs `scenario` once, or twice when `twice`: then the failure is [`NONDETERMINISM`] when
/// the two digests differ, whatever the checks said.
fn probe(req: &RunRequest, scenario: &Scenario, twice: bool) -> Option<Probe> {
    let candidate = RunRequest {
        scenario: scenario.clone(),
        ..req.clone()
    };
    let outcome = candidate.execute(None).ok()?;
    let s = outcome.summary;
    // A check that judged nothing in a cut-down run is no failure to shrink towards.
    let mut failed = (s.checks.iter())
        .find(|c| !c.ok && !c.vacuous)
        .map(|c| c.name.clone());
    if twice {
        let again = candidate.execute(None).ok()?;
        failed = (again.summary.digest != s.digest).then(|| NONDETERMINISM.to_string());
    }
    Some(Probe {
        failed,
        events: s.events,
        end_ms: s.end_ms,
        digest: s.digest,
        resolved: s.resolved,
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
    /// Every check held (or, shrinking nondeterminism, two runs agreed): there is nothing to
    /// shrink (exit 2).
    Passes,
    /// The scenario does not run (exit 2).
    DoesNotRun(String),
}

/// Cuts `req` down to what still fails the same check: the fault schedule first, then the
/// workload, then the duration. `progress` prints how far it got on stderr.
pub fn shrink(req: &RunRequest, progress: bool) -> Result<Shrunk, ShrinkError> {
    shrink_as(req, false, progress)
}

/// Cuts `req` down to what still runs differently twice (its check is [`NONDETERMINISM`]).
/// Each candidate runs twice, so this takes twice as long as [`shrink`]; nondeterminism that
/// comes and goes may leave more behind than a failed check would.
pub fn shrink_nondeterminism(req: &RunRequest, progress: bool) -> Result<Shrunk, ShrinkError> {
    shrink_as(req, true, progress)
}

/// [`shrink`], or [`shrink_nondeterminism`] when `twice`.
fn shrink_as(req: &RunRequest, twice: bool, progress: bool) -> Result<Shrunk, ShrinkError> {
    let Some(before) = probe(req, &req.scenario, twice) else {
        return Err(ShrinkError::DoesNotRun("the scenario does not run".into()));
    };
    let Some(check) = before.failed.clone() else {
        return Err(ShrinkError::Passes);
    };
    if progress {
        eprintln!("shrink: keeping failures of `{check}`");
    }
    let still_fails = |s: &Scenario| {
        probe(req, s, twice).is_some_and(|p| p.failed.as_deref() == Some(check.as_str()))
    };
    let mut best = req.scenario.clone();

    // Faults aimed at run time (`@leader`) are pinned to whom they hit in the failing run,
    // so that removing one fault below does not re-aim the others.
    if let Some(pinned) = pinned(&best, &before.resolved) {
        if still_fails(&pinned) {
            if progress {
                eprintln!("  pinned the run-time faults to the nodes they hit");
            }
            best = pinned;
        }
    }

    // Faults that start after the violation cannot have caused it.
    if before.end_ms < best.duration_ms as f64 {
        let cut = trimmed(&best, before.end_ms.ceil() as u64 + 1);
        if still_fails(&cut) {
            best = cut;
        }
    }
    let mut runs = 0;
    let bar = if progress {
        crate::progress_bar::bar(None, "fault schedules tried")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let faults = ddmin(&best.faults, FAULT_RUNS_MAX, |subset| {
        runs += 1;
        let mut candidate = Scenario {
            faults: subset.to_vec(),
            ..best.clone()
        };
        // A restart whose crash was removed is a no-op a seed file may not hold.
        candidate.drop_no_op_faults();
        let fails = still_fails(&candidate);
        bar.set_position(runs);
        bar.set_message(format!("{} faults left", subset.len()));
        fails
    });
    bar.finish_and_clear();
    if progress {
        eprintln!(
            "  faults: tried {runs} schedules, {} faults left",
            faults.len()
        );
    }
    best.faults = faults;
    best.drop_no_op_faults();

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

    // The duration: as short as still fails, never before the violation.
    if let Some(p) = probe(req, &best, false) {
        // A failed check ends the run early, so that end is a floor; two runs that differ
        // run to the end, and only the search can say how short they may be.
        let floor = if twice { 1 } else { p.end_ms.ceil() as u64 + 1 };
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
        .execute(None)
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

/// Shrinks the seed file at `path`; returns the exit code (0 shrunk, 2 bad input or nothing
/// to shrink: the run passes).
pub fn shrink_command(registry: &Registry, path: &Path) -> i32 {
    let req = match RunRequest::load(registry, path, None, Vec::new()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    // A nondeterministic run's seed file says so; it is shrunk as such, not as a check.
    let nondeterministic = SeedFile::load(path, registry)
        .is_ok_and(|f| f.failed_check.as_deref() == Some(NONDETERMINISM));
    let shrunk = if nondeterministic {
        eprintln!("shrink: the seed file records a run that differed when run twice");
        shrink_nondeterminism(&req, true)
    } else {
        shrink(&req, true)
    };
    let s = match shrunk {
        Ok(s) => s,
        Err(ShrinkError::Passes) if nondeterministic => {
            eprintln!(
                "error: {}: two runs gave the same trace: the nondeterminism did not come back, so there is nothing to shrink",
                path.display()
            );
            return 2;
        }
        Err(ShrinkError::Passes) => {
            // Not "a check failed" (1): there is nothing to do, as with bad input.
            eprintln!(
                "error: {}: every check holds; there is no failure to shrink",
                path.display()
            );
            return 2;
        }
        Err(ShrinkError::DoesNotRun(e)) => {
            eprintln!("error: {}: {e}", path.display());
            return 2;
        }
    };
    let out = min_path(path);
    let mut file = s.seed_file.clone();
    if nondeterministic {
        file.failed_check = Some(NONDETERMINISM.into());
    }
    if let Err(e) = std::fs::write(&out, file.to_toml()) {
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
        Fault::Crash { at_ms, .. } | Fault::Restart { at_ms, .. } | Fault::Submit { at_ms, .. } => {
            *at_ms <= out.duration_ms
        }
        Fault::Partition { at_ms, heal_ms, .. } => {
            if heal_ms.is_some_and(|h| h > out.duration_ms) {
                *heal_ms = None;
            }
            *at_ms <= out.duration_ms
        }
        Fault::Loss {
            from_ms, until_ms, ..
        }
        | Fault::Network {
            from_ms, until_ms, ..
        } => {
            *until_ms = (*until_ms).min(out.duration_ms);
            *from_ms < *until_ms
        }
        Fault::Pause {
            at_ms, resume_ms, ..
        } => {
            *resume_ms = (*resume_ms).min(out.duration_ms);
            *at_ms < *resume_ms
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
    out.drop_no_op_faults();
    // An expectation past the end would judge nothing.
    out.expect.retain(|e| {
        [e.from_ms, e.until_ms, e.at_ms, e.by_ms, e.after_ms]
            .iter()
            .flatten()
            .all(|ms| *ms <= out.duration_ms)
    });
    out
}

/// The scenario with each fault decided at run time replaced by what its turns resolved to
/// in a run (`turns`): a crash of `@leader` becomes a crash of the node that led then, a
/// partition of `[["@leader"], ["@rest"]]` the groups it made. `None` when nothing is
/// decided at run time, or when random faults are still to be drawn (the turns' fault
/// indices are those of the drawn schedule).
fn pinned(s: &Scenario, turns: &[ResolvedTurn]) -> Option<Scenario> {
    use faultline_sim::scenario::Fault;
    if s.random_faults.is_some() || !s.faults.iter().any(Fault::at_run_time) {
        return None;
    }
    let mut out = s.clone();
    // Each fault's turns take its place: the file's order still breaks ties in an instant.
    out.faults.clear();
    for (i, fault) in s.faults.iter().enumerate() {
        if !fault.at_run_time() {
            out.faults.push(fault.clone());
            continue;
        }
        for turn in turns.iter().filter(|t| t.fault as usize == i) {
            let at = (turn.at_ms.round() as u64).min(s.duration_ms);
            let nodes = turn.groups.concat();
            match fault {
                Fault::Crash { .. } => {
                    out.faults
                        .extend(nodes.into_iter().map(|n| Fault::crash(n, at)));
                }
                Fault::Restart { .. } => {
                    out.faults
                        .extend(nodes.into_iter().map(|n| Fault::restart(n, at)));
                }
                Fault::Submit { count, .. } => {
                    out.faults
                        .extend(nodes.into_iter().map(|n| Fault::submit(n, at, *count)));
                }
                Fault::Partition {
                    groups,
                    at_ms,
                    heal_ms,
                    ..
                } => {
                    let heal = heal_ms
                        .map(|h| at + (h - at_ms))
                        .filter(|h| *h <= s.duration_ms);
                    out.faults.push(match &turn.groups[..] {
                        [from, to] if groups.is_empty() => {
                            Fault::partition(vec![], from.clone(), to.clone(), at, heal)
                        }
                        _ => Fault::partition(turn.groups.clone(), vec![], vec![], at, heal),
                    });
                }
                Fault::Byzantine { .. }
                | Fault::Loss { .. }
                | Fault::Network { .. }
                | Fault::Pause { .. } => {}
            }
        }
    }
    out.drop_no_op_faults();
    Some(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::scenario::{Fault, ServersAndClients};

    fn turn(at_ms: f64, fault: u32, groups: &[&[&str]]) -> ResolvedTurn {
        ResolvedTurn {
            at_ms,
            fault,
            groups: (groups.iter())
                .map(|g| g.iter().map(|n| n.to_string()).collect())
                .collect(),
        }
    }

    #[test]
    fn run_time_faults_are_pinned_to_whom_they_hit() {
        let s = Scenario::parse(
            "t.toml",
            r#"
name = "t"
protocol = "group"
duration_ms = 10000
[nodes]
servers = 3
[[faults]]
kind = "crash"
node = "@leader"
at_ms = 1000
every_ms = 2000
times = 2
[[faults]]
kind = "loss"
rate = 0.1
from_ms = 500
until_ms = 600
[[faults]]
kind = "partition"
groups = [["@leader"], ["@rest"]]
at_ms = 1500
heal_ms = 1800
"#,
            &ServersAndClients,
        )
        .unwrap();
        let turns = [
            turn(1000.0, 0, &[&["s3"]]),
            turn(1500.0, 2, &[&["s2"], &["s1"]]),
            turn(3000.0, 0, &[&["s2"]]),
        ];
        let p = pinned(&s, &turns).expect("something to pin");
        assert!(p.faults.iter().all(|f| !f.at_run_time()), "{:?}", p.faults);
        assert_eq!(p.faults[0], Fault::crash("s3".into(), 1000));
        assert_eq!(p.faults[1], Fault::crash("s2".into(), 3000));
        assert!(matches!(p.faults[2], Fault::Loss { .. }));
        assert_eq!(
            p.faults[3],
            Fault::partition(
                vec![vec!["s2".into()], vec!["s1".into()]],
                vec![],
                vec![],
                1500,
                Some(1800)
            )
        );
        // Static scenarios have nothing to pin.
        let mut plain = p.clone();
        plain.faults.truncate(1);
        assert!(pinned(&plain, &turns).is_none());
    }
}
