//! `faultline explore`: seeds of one scenario on every core, each with its own fault mix,
//! drawn lazily from a range that may be open-ended; failures leave a seed file and a report;
//! the end (the seeds, the failures or the time ran out, or Ctrl-C) is a table and a
//! distribution plot, built from aggregates that do not grow with the number of seeds.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::exploration::{election_times_ms, recovery_times_ms, FAILURES_KEPT_MAX};
pub use crate::exploration::{Exploration, LogHistogram, SeedResult, DETERMINISM_EVERY_DEFAULT};
use crate::run::{write_outputs, Outcome, RunRequest};

/// The failed check a seed that ran differently twice is recorded under, in the table and as
/// its seed file's `failed_check` (which `shrink` reads to keep it).
pub const NONDETERMINISM: &str = "nondeterminism";

/// The options of `faultline explore`.
pub struct ExploreOptions {
    /// Seeds to try, in order, drawn one at a time (`u64::MAX` as the end: open-ended).
    pub seeds: std::ops::Range<u64>,
    /// Worker threads, one simulator each.
    pub jobs: usize,
    /// Stop after this many failures.
    pub until_failures: usize,
    /// Stop after this long.
    pub time_limit: Option<Duration>,
    /// Run only seeds with `seed % count == index`.
    pub shard: Option<(u64, u64)>,
    /// Run one seed in this many twice and compare digests (1: every seed, 0: none).
    pub determinism_every: u64,
    /// Where failures go (seed files and their reports).
    pub failures_dir: PathBuf,
    /// Where explore.json and the distribution plot go.
    pub report_dir: PathBuf,
}

/// Parses "A..B", or "A.." for every seed from A on (up to u64::MAX).
pub fn parse_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}` is not a range like 0..1000 or 0.."))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("`{a}` is not a number"))?;
    let b: u64 = if b.trim().is_empty() {
        u64::MAX
    } else {
        b.trim()
            .parse()
            .map_err(|_| format!("`{b}` is not a number"))?
    };
    if b <= a {
        return Err(format!("the range {a}..{b} is empty"));
    }
    Ok(a..b)
}

/// "A..B", or "A.." when open-ended.
fn range_text(r: &std::ops::Range<u64>) -> String {
    if r.end == u64::MAX {
        format!("{}..", r.start)
    } else {
        format!("{}..{}", r.start, r.end)
    }
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

/// The seeds of a range (and shard), handed out one at a time to whichever worker asks: the
/// range is never materialised, so `0..` costs what `0..10` does.
pub(crate) struct SeedSource {
    /// The first seed of the shard.
    first: u64,
    /// The distance between seeds (the shard count, or 1).
    step: u64,
    /// One past the last seed.
    end: u64,
    /// Seeds handed out so far.
    taken: AtomicU64,
}

impl SeedSource {
    /// The seeds of `range` with `seed % n == i` when `shard` is `(i, n)`.
    pub(crate) fn new(range: &std::ops::Range<u64>, shard: Option<(u64, u64)>) -> SeedSource {
        let (i, n) = shard.unwrap_or((0, 1));
        assert!(i < n, "shard {i}/{n}");
        // The first seed >= start in the shard, or past the end when there is none.
        let ahead = (u128::from(i) + u128::from(n) - u128::from(range.start % n)) % u128::from(n);
        let first = range.start.saturating_add(ahead as u64);
        SeedSource {
            first,
            step: n,
            end: range.end,
            taken: AtomicU64::new(0),
        }
    }

    /// The next seed, or `None` when the range is used up.
    pub(crate) fn next(&self) -> Option<u64> {
        let k = self.taken.fetch_add(1, Ordering::Relaxed);
        k.checked_mul(self.step)
            .and_then(|d| self.first.checked_add(d))
            .filter(|&s| s < self.end)
    }

    /// How many seeds it holds, counting as a u128 so that `0..` does not overflow.
    pub(crate) fn len(&self) -> u128 {
        if self.first >= self.end {
            return 0;
        }
        (self.end - self.first).div_ceil(self.step) as u128
    }
}

/// Whether `seed` is one of the one-in-`every` seeds run twice: a hash of the seed, not its
/// position, so a seed is sampled or not whichever shard or worker runs it.
pub(crate) fn sampled_for_determinism(seed: u64, every: u64) -> bool {
    match every {
        0 => false,
        1 => true,
        n => {
            let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)).is_multiple_of(n)
        }
    }
}

/// Set by SIGINT or SIGTERM; the workers take no new seed once it is.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Records the signal for the workers; a second one ends the process at once, for a user
/// who will not wait for the seeds in flight.
extern "C" fn on_interrupt(signal: libc::c_int) {
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + signal) };
    }
}

/// SIGINT and SIGTERM handed to [`on_interrupt`] while it lives; the old handlers come back
/// when it is dropped.
struct InterruptGuard {
    /// The handlers it replaced, by signal.
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl InterruptGuard {
    /// Installs the handler.
    fn install() -> InterruptGuard {
        INTERRUPTED.store(false, Ordering::SeqCst);
        let mut previous = Vec::new();
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed sigaction is valid; the handler only touches an atomic (and
            // calls _exit), which is async-signal-safe.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_interrupt as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) == 0 {
                    previous.push((signal, old));
                }
            }
        }
        InterruptGuard { previous }
    }

    /// Whether a signal came.
    fn fired(&self) -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }
}

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        for (signal, old) in &self.previous {
            // SAFETY: restores a handler sigaction returned.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

/// Runs one seed (twice when it is sampled for determinism) and keeps what the table needs.
fn explore_seed(req: &RunRequest, twice: bool, failures_dir: &Path) -> SeedResult {
    let outcome = match req.execute(None) {
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
    if twice {
        let again = req.execute(None).expect("ran once already");
        if again.summary.digest != outcome.summary.digest {
            failed_check = Some(NONDETERMINISM.into());
            note = Some(locate_difference(req, &outcome, &again));
        }
    }
    let mut seed_file = None;
    if let Some(check) = &failed_check {
        seed_file = Some(record_failure(req, failures_dir, note, check));
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

/// Where two runs whose digests differed part: two more runs with their traces kept, since
/// the first two kept only digests (a trace per seed would cost memory for nothing).
fn locate_difference(req: &RunRequest, a: &Outcome, b: &Outcome) -> String {
    let digests = format!("digests {} / {}", a.summary.digest, b.summary.digest);
    // The two traces go to a scratch folder, removed once compared.
    let scratch = std::env::temp_dir().join(format!(
        "faultline-determinism-{}-{}",
        std::process::id(),
        req.seed
    ));
    let said = match (
        req.execute(Some(scratch.join("first").as_path())),
        req.execute(Some(scratch.join("second").as_path())),
    ) {
        (Ok(x), Ok(y)) => match first_difference(&x, &y) {
            Some(diff) => format!("nondeterminism: {digests}; {diff}"),
            None => format!("nondeterminism: {digests}; two more runs agreed"),
        },
        _ => format!("nondeterminism: {digests}"),
    };
    let _ = std::fs::remove_dir_all(&scratch);
    said
}

/// Where two runs of one seed first part, as "line N: <first> / <second>".
/// The traces are read line by line, never whole.
pub fn first_difference(a: &Outcome, b: &Outcome) -> Option<String> {
    let (ta, tb) = (a.trace_jsonl.as_ref()?, b.trace_jsonl.as_ref()?);
    let (mut la, mut lb) = match (ta.reader(), tb.reader()) {
        (Ok(a), Ok(b)) => (a.split(b'\n'), b.split(b'\n')),
        (Err(e), _) | (_, Err(e)) => return Some(format!("a trace cannot be read: {e}")),
    };
    let mut line = 1;
    loop {
        let (x, y) = (la.next().transpose(), lb.next().transpose());
        let (x, y) = match (x, y) {
            (Ok(x), Ok(y)) => (x, y),
            (Err(e), _) | (_, Err(e)) => return Some(format!("a trace cannot be read: {e}")),
        };
        match (x, y) {
            (None, None) => return None,
            (Some(x), Some(y)) if x == y => line += 1,
            (x, y) => {
                let show = |l: Option<Vec<u8>>| {
                    l.map_or("<end of trace>".into(), |l| {
                        String::from_utf8_lossy(&l).to_string()
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

/// Writes the seed file and the report of a failing seed; returns the seed file's path. A
/// nondeterministic seed's file says so in `failed_check`, for `shrink`.
pub(crate) fn record_failure(
    req: &RunRequest,
    dir: &Path,
    note: Option<String>,
    check: &str,
) -> String {
    let name = format!("{}-{}", req.scenario.name, req.seed);
    let report_dir = dir.join(&name);
    let outcome = req
        .execute(Some(report_dir.as_path()))
        .expect("ran once already");
    if let Err(e) = write_outputs(&report_dir, req, &outcome) {
        eprintln!("warning: cannot write {}: {e}", report_dir.display());
    }
    let mut file = req.seed_file(&outcome.summary);
    if check == NONDETERMINISM {
        file.failed_check = Some(NONDETERMINISM.into());
    }
    save_seed_file(req, &file, dir, note)
}

/// Writes the seed file that replays `outcome`; returns its path.
pub(crate) fn write_seed_file(
    req: &RunRequest,
    outcome: &Outcome,
    dir: &Path,
    note: Option<String>,
) -> String {
    save_seed_file(req, &req.seed_file(&outcome.summary), dir, note)
}

/// Writes `file` as `<dir>/<scenario>-<seed>.seed`, `note` as a comment on top.
fn save_seed_file(
    req: &RunRequest,
    file: &crate::seedfile::SeedFile,
    dir: &Path,
    note: Option<String>,
) -> String {
    let seed_path = dir.join(format!("{}-{}.seed", req.scenario.name, req.seed));
    let mut text = file.to_toml();
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
    if let Err(e) = req.with_seed(opts.seeds.start).execute(None) {
        eprintln!("error: {e}");
        return 2;
    }
    if let Err(e) = std::fs::create_dir_all(&opts.failures_dir)
        .and_then(|()| std::fs::create_dir_all(&opts.report_dir))
    {
        eprintln!("error: cannot create output directories: {e}");
        return 2;
    }
    let source = SeedSource::new(&opts.seeds, opts.shard);
    let total = source.len();
    let started = Instant::now();
    let done = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(opts.jobs.max(1));
    let interrupt = InterruptGuard::install();
    let exploration = Mutex::new(Exploration {
        scenario: req.scenario.name.clone(),
        protocol: req.scenario.protocol.clone(),
        bugs: req.bugs.clone(),
        seed_range: range_text(&opts.seeds),
        shard: opts
            .shard
            .map_or(String::new(), |(i, n)| format!("{i}/{n}")),
        ..Exploration::default()
    });
    let bugs = if req.bugs.is_empty() {
        String::new()
    } else {
        format!(", bugs: {}", req.bugs.join(", "))
    };
    let count = if opts.seeds.end == u64::MAX {
        "open-ended".to_string()
    } else {
        format!("{total} seeds")
    };
    let determinism = match opts.determinism_every {
        0 => String::new(),
        1 => ", every seed run twice".into(),
        n => format!(", 1 seed in {n} run twice"),
    };
    eprintln!(
        "explore: {} / {}, {count} ({}{}) on {} jobs{bugs}{determinism}",
        req.scenario.protocol,
        req.scenario.name,
        range_text(&opts.seeds),
        opts.shard
            .map_or(String::new(), |(i, n)| format!(", shard {i}/{n}")),
        opts.jobs
    );
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) && !interrupt.fired() {
                    let Some(seed) = source.next() else { break };
                    let twice = sampled_for_determinism(seed, opts.determinism_every);
                    let result = explore_seed(&req.with_seed(seed), twice, &opts.failures_dir);
                    if !result.ok
                        && failures.fetch_add(1, Ordering::Relaxed) + 1 >= opts.until_failures
                    {
                        stop.store(true, Ordering::Relaxed);
                    }
                    let mut x = exploration.lock().unwrap_or_else(|p| p.into_inner());
                    x.determinism_checked += u64::from(twice);
                    x.add(result);
                    drop(x);
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
            (opts.seeds.end != u64::MAX).then_some(total),
            started,
            opts.time_limit,
        );
    });
    let mut exploration = exploration.into_inner().unwrap_or_else(|p| p.into_inner());
    exploration.wall_s = started.elapsed().as_secs_f64();
    exploration.interrupted = interrupt.fired();
    drop(interrupt);
    finish(&exploration, &opts.report_dir)
}

/// Shows progress on stderr until the workers are done (a bar on a terminal, else a line every
/// 10 s); stops them at the time limit. `total` is `None` for an open-ended search.
pub(crate) fn progress(
    done: &AtomicUsize,
    failures: &AtomicUsize,
    stop: &AtomicBool,
    running: &AtomicUsize,
    total: Option<u128>,
    started: Instant,
    time_limit: Option<Duration>,
) {
    let bar = crate::progress_bar::bar(total.map(|t| t.min(u64::MAX as u128) as u64), "seeds");
    // Notes go above the bar, or straight to stderr when none is drawn.
    let note = |text: &str| {
        if bar.is_hidden() {
            eprintln!("{text}");
        } else {
            bar.println(text);
        }
    };
    let every = Duration::from_secs(10);
    let mut last = Instant::now();
    let mut told_interrupt = false;
    loop {
        if running.load(Ordering::Relaxed) == 0 {
            break;
        }
        let n = done.load(Ordering::Relaxed);
        if !stop.load(Ordering::Relaxed)
            && time_limit.is_some_and(|limit| started.elapsed() >= limit)
        {
            stop.store(true, Ordering::Relaxed);
            note("explore: time limit reached, finishing the seeds under way");
        }
        if !told_interrupt && INTERRUPTED.load(Ordering::Relaxed) {
            told_interrupt = true;
            note("explore: interrupted, finishing the seeds under way (again to quit at once)");
        }
        std::thread::sleep(Duration::from_millis(50));
        let failed = failures.load(Ordering::Relaxed);
        bar.set_position(n as u64);
        bar.set_message(format!("failures {failed}"));
        if bar.is_hidden() && last.elapsed() >= every {
            last = Instant::now();
            let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
            let of = total.map_or(String::new(), |t| format!("/{t}"));
            eprintln!(
                "  {n}{of} seeds  {rate:.0} seeds/s  failures {failed}  {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    bar.finish_and_clear();
}

/// Prints the table, writes explore.json and the distribution plot; returns the exit code.
pub fn finish(x: &Exploration, report_dir: &Path) -> i32 {
    let n = x.seeds_run;
    let rate = n as f64 / x.wall_s.max(1e-9);
    let sim_s = x.sim_us as f64 / 1e6;
    println!("explore: {} / {}", x.protocol, x.scenario);
    println!(
        "  seeds run     {n} in {:.1} s ({rate:.1} seeds/s, {:.0} simulated s)",
        x.wall_s, sim_s
    );
    if x.interrupted {
        println!("  interrupted   after {n} seeds (seeds in flight were finished)");
    }
    if x.vacuous > 0 {
        let checks: Vec<String> = (x.vacuous_by_check.iter())
            .map(|(c, k)| format!("{c}: {k}"))
            .collect();
        println!(
            "  vacuous       {}  ({}; judged nothing, no bug found)",
            x.vacuous,
            checks.join(", ")
        );
    }
    println!("  passed        {}", x.passed);
    let checks: Vec<String> = x
        .failed_by_check
        .iter()
        .map(|(c, k)| format!("{c}: {k}"))
        .collect();
    println!(
        "  failed        {}{}",
        x.failed,
        if checks.is_empty() {
            String::new()
        } else {
            format!("  ({})", checks.join(", "))
        }
    );
    if x.determinism_checked > 0 {
        let differed = x.failed_by_check.get(NONDETERMINISM).copied().unwrap_or(0);
        println!(
            "  run twice     {} (determinism), {differed} ran differently",
            x.determinism_checked
        );
    }
    println!("  election time {}", x.elections_ms.describe());
    println!("  recovery time {}", x.recoveries_ms.describe());
    for r in x.failures.iter().take(20) {
        println!(
            "  FAIL seed {:<8} {:<18} {}",
            r.seed,
            r.failed_check.as_deref().unwrap_or("?"),
            r.seed_file.as_deref().unwrap_or("")
        );
    }
    let shown = x.failures.len().min(20) as u64;
    if x.failed > shown {
        let kept = if x.failed > x.failures.len() as u64 {
            format!(" (explore.json keeps the first {FAILURES_KEPT_MAX})")
        } else {
            " in explore.json".into()
        };
        println!("  ... and {} more{kept}", x.failed - shown);
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
    if let Some(first) = x.failures.first() {
        println!(
            "FAIL  replay: cargo sim replay {}",
            first.seed_file.as_deref().unwrap_or("?")
        );
        println!(
            "      shrink: cargo sim shrink {}",
            first.seed_file.as_deref().unwrap_or("?")
        );
        1
    } else if x.interrupted {
        println!("PASS  every seed run held every check (interrupted after {n} seeds)");
        0
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
                if let Err(e) = m.merge(x) {
                    eprintln!("error: {}: {e}", path.display());
                    return 2;
                }
            }
        }
    }
    let Some(merged) = merged else {
        eprintln!("error: give at least one explore.json");
        return 2;
    };
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return 2;
    }
    finish(&merged, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(source: &SeedSource) -> Vec<u64> {
        std::iter::from_fn(|| source.next()).collect()
    }

    #[test]
    fn ranges_parse_open_ended_and_to_the_last_seed() {
        assert_eq!(parse_range("0.."), Ok(0..u64::MAX));
        assert_eq!(parse_range("0..18446744073709551615"), Ok(0..u64::MAX));
        assert_eq!(parse_range("3..7"), Ok(3..7));
        assert!(parse_range("7..7").is_err());
        assert!(parse_range("..7").is_err());
        assert_eq!(range_text(&(5..u64::MAX)), "5..");
    }

    #[test]
    fn a_seed_source_hands_out_its_shard_once_each() {
        assert_eq!(
            all(&SeedSource::new(&(3..10), None)),
            vec![3, 4, 5, 6, 7, 8, 9]
        );
        let shard = SeedSource::new(&(3..20), Some((1, 4)));
        assert_eq!(shard.len(), 4);
        assert_eq!(all(&shard), vec![5, 9, 13, 17]);
        assert_eq!(shard.next(), None, "used up stays used up");
        assert_eq!(SeedSource::new(&(3..5), Some((1, 4))).len(), 0);
    }

    #[test]
    fn an_open_ended_source_costs_nothing_and_reaches_the_top() {
        let open = SeedSource::new(&(0..u64::MAX), None);
        assert_eq!(open.len(), u128::from(u64::MAX));
        assert_eq!((open.next(), open.next()), (Some(0), Some(1)));
        let top = SeedSource::new(&(u64::MAX - 2..u64::MAX), Some((0, u64::MAX)));
        assert_eq!(all(&top), Vec::<u64>::new());
        let near = SeedSource::new(&(u64::MAX - 2..u64::MAX), None);
        assert_eq!(all(&near), vec![u64::MAX - 2, u64::MAX - 1]);
    }

    #[test]
    fn about_one_seed_in_sixty_four_is_run_twice() {
        let n = (0..64_000)
            .filter(|&s| sampled_for_determinism(s, DETERMINISM_EVERY_DEFAULT))
            .count();
        assert!((800..1200).contains(&n), "{n}");
        assert!((0..100).all(|s| sampled_for_determinism(s, 1)));
        assert!(!(0..100).any(|s| sampled_for_determinism(s, 0)));
    }
}
