//! `faultline explore`: many seeds of one scenario on every core, each with its own fault mix;
//! failures leave a seed file and a report; the end is a table and a distribution plot.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::exploration::{election_times_ms, quantiles, recovery_times_ms};
pub use crate::exploration::{Exploration, SeedResult};
use crate::run::{write_outputs, Outcome, RunRequest};

/// The options of `faultline explore`.
pub struct ExploreOptions {
    /// Seeds to try, in order.
    pub seeds: std::ops::Range<u64>,
    /// Worker threads, one simulator each.
    pub jobs: usize,
    /// Stop after this many failures.
    pub until_failures: usize,
    /// Stop after this long.
    pub time_limit: Option<Duration>,
    /// Run only seeds with `seed % count == index`.
    pub shard: Option<(u64, u64)>,
    /// Run every seed twice and compare the traces.
    pub check_determinism: bool,
    /// Where failures go (seed files and their reports).
    pub failures_dir: PathBuf,
    /// Where explore.json and the distribution plot go.
    pub report_dir: PathBuf,
}

/// Parses "A..B".
pub fn parse_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not a range like 0..1000"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("`{a}` is not a number"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("`{b}` is not a number"))?;
    if b <= a {
        return Err(format!("the range {a}..{b} is empty"));
    }
    Ok(a..b)
}

/// Parses "I/N".
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a shard like 0/4"))?;
    let i: u64 = i
        .trim()
        .parse()
        .map_err(|_| format!("`{i}` is not a number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// Runs one seed (twice when checking determinism) and keeps what the table needs.
fn explore_seed(req: &RunRequest, check_determinism: bool, failures_dir: &Path) -> SeedResult {
    let files = check_determinism;
    let outcome = match req.execute(files) {
        Ok(o) => o,
        // The scenario was validated before any seed ran; a protocol section cannot turn
        // bad between seeds, so this is a bug in faultline itself.
        Err(e) => panic!("seed {}: {e}", req.seed),
    };
    let checks = &outcome.summary.checks;
    let mut failed_check = (checks.iter())
        .find(|c| !c.ok && !c.vacuous)
        .map(|c| c.name.clone());
    let vacuous = (checks.iter())
        .find(|c| !c.ok && c.vacuous)
        .map(|c| c.name.clone());
    let mut note = None;
    if check_determinism {
        let again = req.execute(true).expect("ran once already");
        if let Some(diff) = first_difference(&outcome, &again) {
            failed_check = Some("nondeterminism".into());
            note = Some(diff);
        }
    }
    let mut seed_file = None;
    if failed_check.is_some() {
        seed_file = Some(record_failure(req, failures_dir, note));
    }
    let s = &outcome.summary;
    SeedResult {
        seed: req.seed,
        digest: s.digest.clone(),
        ok: failed_check.is_none(),
        failed_check,
        vacuous,
        seed_file,
        elections_ms: election_times_ms(s),
        recoveries_ms: recovery_times_ms(s),
        sim_ms: s.end_ms,
        delivered: s.messages.delivered,
    }
}

/// Where two runs of one seed first part, as "line N: <first> / <second>".
pub fn first_difference(a: &Outcome, b: &Outcome) -> Option<String> {
    let (ta, tb) = (a.trace_jsonl.as_deref()?, b.trace_jsonl.as_deref()?);
    if ta == tb {
        return None;
    }
    let mut la = ta.split(|c| *c == b'\n');
    let mut lb = tb.split(|c| *c == b'\n');
    let mut line = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                let show = |l: Option<&[u8]>| {
                    l.map_or("<end of trace>".into(), |l| {
                        String::from_utf8_lossy(l).to_string()
                    })
                };
                return Some(format!(
                    "trace line {line}: first run {} / second run {}",
                    show(x),
                    show(y)
                ));
            }
        }
    }
}

/// Writes the seed file and the report of a failing seed; returns the seed file's path.
pub(crate) fn record_failure(req: &RunRequest, dir: &Path, note: Option<String>) -> String {
    let name = format!("{}-{}", req.scenario.name, req.seed);
    let report_dir = dir.join(&name);
    let outcome = req.execute(true).expect("ran once already");
    if let Err(e) = write_outputs(&report_dir, req, &outcome) {
        eprintln!("warning: cannot write {}: {e}", report_dir.display());
    }
    write_seed_file(req, &outcome, dir, note)
}

/// Writes the seed file that replays `outcome`; returns its path.
pub(crate) fn write_seed_file(
    req: &RunRequest,
    outcome: &Outcome,
    dir: &Path,
    note: Option<String>,
) -> String {
    let seed_path = dir.join(format!("{}-{}.seed", req.scenario.name, req.seed));
    let mut text = req.seed_file(&outcome.summary).to_toml();
    if let Some(note) = note {
        text = format!("# {}\n{text}", note.replace('\n', " "));
    }
    if let Err(e) = std::fs::write(&seed_path, text) {
        eprintln!("warning: cannot write {}: {e}", seed_path.display());
    }
    seed_path.display().to_string()
}

/// Runs the exploration and prints its table; returns the exit code.
pub fn explore_command(req: &RunRequest, opts: &ExploreOptions) -> i32 {
    // Validate once, before any thread starts: bad input is exit 2, not a panic in a worker.
    if let Err(e) = req.with_seed(opts.seeds.start).execute(false) {
        eprintln!("error: {e}");
        return 2;
    }
    if let Err(e) = std::fs::create_dir_all(&opts.failures_dir)
        .and_then(|()| std::fs::create_dir_all(&opts.report_dir))
    {
        eprintln!("error: cannot create output directories: {e}");
        return 2;
    }
    let seeds: Vec<u64> = opts
        .seeds
        .clone()
        .filter(|s| opts.shard.is_none_or(|(i, n)| s % n == i))
        .collect();
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(opts.jobs.max(1));
    let results = Mutex::new(Vec::with_capacity(seeds.len()));
    let bugs = if req.bugs.is_empty() {
        String::new()
    } else {
        format!(", bugs: {}", req.bugs.join(", "))
    };
    eprintln!(
        "explore: {} / {}, {} seeds ({}..{}{}) on {} jobs{bugs}",
        req.scenario.protocol,
        req.scenario.name,
        seeds.len(),
        opts.seeds.start,
        opts.seeds.end,
        opts.shard
            .map_or(String::new(), |(i, n)| format!(", shard {i}/{n}")),
        opts.jobs
    );
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    let result = explore_seed(
                        &req.with_seed(seed),
                        opts.check_determinism,
                        &opts.failures_dir,
                    );
                    if !result.ok
                        && failures.fetch_add(1, Ordering::Relaxed) + 1 >= opts.until_failures
                    {
                        stop.store(true, Ordering::Relaxed);
                    }
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(result);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                running.fetch_sub(1, Ordering::Relaxed);
            });
        }
        progress(
            &done,
            &failures,
            &stop,
            &running,
            seeds.len(),
            started,
            opts.time_limit,
        );
    });
    let mut seeds_run = results.into_inner().unwrap_or_else(|p| p.into_inner());
    seeds_run.sort_by_key(|r| r.seed);
    let exploration = Exploration {
        scenario: req.scenario.name.clone(),
        protocol: req.scenario.protocol.clone(),
        bugs: req.bugs.clone(),
        wall_s: started.elapsed().as_secs_f64(),
        seeds: seeds_run,
    };
    finish(&exploration, &opts.report_dir)
}

/// Prints progress on stderr until the workers are done; stops them at the time limit.
pub(crate) fn progress(
    done: &AtomicUsize,
    failures: &AtomicUsize,
    stop: &AtomicBool,
    running: &AtomicUsize,
    total: usize,
    started: Instant,
    time_limit: Option<Duration>,
) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(10)
    };
    let mut last = Instant::now();
    loop {
        if running.load(Ordering::Relaxed) == 0 {
            break;
        }
        let n = done.load(Ordering::Relaxed);
        if !stop.load(Ordering::Relaxed)
            && time_limit.is_some_and(|limit| started.elapsed() >= limit)
        {
            stop.store(true, Ordering::Relaxed);
            eprintln!("\nexplore: time limit reached, finishing the seeds under way");
        }
        std::thread::sleep(Duration::from_millis(50));
        if last.elapsed() >= every {
            last = Instant::now();
            let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let line = format!(
                "  {n}/{total} seeds  {rate:.0} seeds/s  failures {}  {:.0} s",
                failures.load(Ordering::Relaxed),
                started.elapsed().as_secs_f64()
            );
            if tty {
                eprint!("\r{line}   ");
            } else {
                eprintln!("{line}");
            }
        }
    }
    if tty {
        eprintln!();
    }
}

/// Prints the table, writes explore.json and the distribution plot; returns the exit code.
pub fn finish(x: &Exploration, report_dir: &Path) -> i32 {
    let n = x.seeds.len();
    let failed: Vec<&SeedResult> = x.seeds.iter().filter(|r| !r.ok).collect();
    let rate = n as f64 / x.wall_s.max(1e-9);
    let sim_s: f64 = x.seeds.iter().map(|r| r.sim_ms).sum::<f64>() / 1000.0;
    println!("explore: {} / {}", x.protocol, x.scenario);
    println!(
        "  seeds run     {n} in {:.1} s ({rate:.1} seeds/s, {:.0} simulated s)",
        x.wall_s, sim_s
    );
    let vacuous: Vec<&SeedResult> = (x.seeds.iter())
        .filter(|r| r.ok && r.vacuous.is_some())
        .collect();
    println!("  passed        {}", n - failed.len() - vacuous.len());
    if !vacuous.is_empty() {
        let mut by_check: std::collections::BTreeMap<&str, usize> = Default::default();
        for r in &vacuous {
            *by_check
                .entry(r.vacuous.as_deref().unwrap_or("?"))
                .or_default() += 1;
        }
        let checks: Vec<String> = by_check.iter().map(|(c, k)| format!("{c}: {k}")).collect();
        println!(
            "  vacuous       {}  ({}; judged nothing, no bug found)",
            vacuous.len(),
            checks.join(", ")
        );
    }
    let mut by_check: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &failed {
        *by_check
            .entry(r.failed_check.as_deref().unwrap_or("?"))
            .or_default() += 1;
    }
    let checks: Vec<String> = by_check.iter().map(|(c, k)| format!("{c}: {k}")).collect();
    println!(
        "  failed        {}{}",
        failed.len(),
        if checks.is_empty() {
            String::new()
        } else {
            format!("  ({})", checks.join(", "))
        }
    );
    let elections: Vec<f64> = x
        .seeds
        .iter()
        .flat_map(|r| r.elections_ms.iter().copied())
        .collect();
    let recoveries: Vec<f64> = x
        .seeds
        .iter()
        .flat_map(|r| r.recoveries_ms.iter().copied())
        .collect();
    println!("  election time {}", quantiles(&elections));
    println!("  recovery time {}", quantiles(&recoveries));
    for r in failed.iter().take(20) {
        println!(
            "  FAIL seed {:<8} {:<18} {}",
            r.seed,
            r.failed_check.as_deref().unwrap_or("?"),
            r.seed_file.as_deref().unwrap_or("")
        );
    }
    if failed.len() > 20 {
        println!("  ... and {} more in explore.json", failed.len() - 20);
    }
    let json = report_dir.join("explore.json");
    let svg = report_dir.join("distribution.svg");
    let written = serde_json::to_string(x)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&json, text))
        .and_then(|()| std::fs::write(&svg, crate::report::distribution(x)));
    match written {
        Ok(()) => println!("  report        {} and {}", json.display(), svg.display()),
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", report_dir.display());
            return 2;
        }
    }
    if let Some(first) = failed.first() {
        println!(
            "FAIL  replay: cargo sim replay {}",
            first.seed_file.as_deref().unwrap_or("?")
        );
        println!(
            "      shrink: cargo sim shrink {}",
            first.seed_file.as_deref().unwrap_or("?")
        );
        1
    } else {
        println!("PASS  every seed held every check");
        0
    }
}

/// `faultline merge`: the shards' explore.json files as one exploration.
pub fn merge_command(inputs: &[PathBuf], out: &Path) -> i32 {
    let mut merged: Option<Exploration> = None;
    for input in inputs {
        let path = if input.is_dir() {
            input.join("explore.json")
        } else {
            input.clone()
        };
        let x: Exploration = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return 2;
            }
        };
        match &mut merged {
            None => merged = Some(x),
            Some(m) => {
                if (m.protocol.as_str(), m.scenario.as_str(), &m.bugs)
                    != (x.protocol.as_str(), x.scenario.as_str(), &x.bugs)
                {
                    eprintln!(
                        "error: {}: explores {} / {}, not {} / {}",
                        path.display(),
                        x.protocol,
                        x.scenario,
                        m.protocol,
                        m.scenario
                    );
                    return 2;
                }
                m.wall_s += x.wall_s;
                m.seeds.extend(x.seeds);
            }
        }
    }
    let Some(mut merged) = merged else {
        eprintln!("error: give at least one explore.json");
        return 2;
    };
    merged.seeds.sort_by_key(|r| r.seed);
    merged.seeds.dedup_by_key(|r| r.seed);
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return 2;
    }
    finish(&merged, out)
}
