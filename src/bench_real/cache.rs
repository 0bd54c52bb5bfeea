//! `faultline bench-real cache`: a read-heavy workload as real processes on loopback, once
//! through the caches and once straight to the Raft store (`[workload] direct`), one after
//! the other in the same run: reads per second, read latency (p50, p99) and the caches' hit
//! rate, side by side. Each side is three Raft replicas, three cache nodes and the same
//! clients, each client one operation at a time with no pause; the figures count the reads
//! answered inside a fixed window that starts once the store has a leader.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use faultline_nodes::cache::{Answer, Cache, Event};
use faultline_sim::trace::read_jsonl;
use faultline_sim::{Ev, Protocol};

/// Clients on each side.
const CLIENTS: usize = 4;
/// Keys the clients use.
const KEYS: u32 = 64;
/// Percent of the operations that are reads.
const READ_PERCENT: u32 = 95;
/// When the clients start, after the processes (the store elects a leader meanwhile).
const START_MS: u64 = 1500;
/// Reads answered before this much time after the clients' start are not counted.
const WARMUP_MS: u64 = 500;
/// The bar: reads per second through the caches over straight to the store.
const SPEEDUP_BAR: f64 = 5.0;

/// One side's figures.
struct Side {
    /// Reads answered inside the window.
    reads: usize,
    /// Writes answered inside the window.
    writes: usize,
    /// Operations given up (unknown outcome) inside the window.
    unknown: usize,
    /// The window's length in seconds.
    window_s: f64,
    /// Read latencies inside the window, sorted, microseconds.
    latencies_us: Vec<u64>,
    /// Reads the caches answered from an entry, and after a miss (whole run).
    hits: usize,
    /// Reads and writes that missed (whole run).
    misses: usize,
}

impl Side {
    fn reads_per_s(&self) -> f64 {
        self.reads as f64 / self.window_s
    }

    fn percentile_ms(&self, p: usize) -> f64 {
        let Some(last) = self.latencies_us.len().checked_sub(1) else {
            return f64::NAN;
        };
        self.latencies_us[(last * p) / 100] as f64 / 1000.0
    }

    fn hit_rate(&self) -> Option<f64> {
        let served = self.hits + self.misses;
        (served > 0).then(|| self.hits as f64 / served as f64)
    }
}

/// Runs the bench; returns 0 when the caches read at least [`SPEEDUP_BAR`] times faster.
pub fn bench(quick: bool) -> Result<i32, crate::error::Error> {
    let measure_ms: u64 = if quick { 2000 } else { 6000 };
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("faultline-bench-cache-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    // Twenty ports per process id, ten for each side.
    let base = 20_000 + (pid % 2_000) as u16 * 20;
    println!(
        "bench-real cache: {CLIENTS} clients, one operation at a time each, {READ_PERCENT}% reads \
         over {KEYS} keys; 3 Raft replicas, 3 cache nodes; {measure_ms} ms measured per side"
    );
    let cached = run_side(&dir.join("cached"), base, false, measure_ms)?;
    let direct = run_side(&dir.join("direct"), base + 10, true, measure_ms)?;
    let _ = std::fs::remove_dir_all(&dir);

    println!(
        "\n{:<18} {:>9} {:>9} {:>9} {:>7} {:>8} {:>9}",
        "", "reads/s", "p50 ms", "p99 ms", "writes", "unknown", "hit rate"
    );
    for (name, side) in [("through caches", &cached), ("straight to Raft", &direct)] {
        let hit = side
            .hit_rate()
            .map_or("-".to_string(), |h| format!("{:.1}%", h * 100.0));
        println!(
            "{name:<18} {:>9.0} {:>9.2} {:>9.2} {:>7} {:>8} {:>9}",
            side.reads_per_s(),
            side.percentile_ms(50),
            side.percentile_ms(99),
            side.writes,
            side.unknown,
            hit
        );
    }
    let speedup = cached.reads_per_s() / direct.reads_per_s().max(f64::MIN_POSITIVE);
    let verdict = if speedup >= SPEEDUP_BAR {
        "meets"
    } else {
        "misses"
    };
    println!("\nreads/s through the caches: {speedup:.1}x straight to Raft ({verdict} the {SPEEDUP_BAR}x bar)");
    Ok(if speedup >= SPEEDUP_BAR { 0 } else { 1 })
}

/// The cluster file of one side.
fn cluster_text(base: u16, direct: bool) -> String {
    let mut text = format!(
        "protocol = \"cache\"\ninterface = \"127.0.0.1\"\n\n\
         [config]\ncapacity = {KEYS}\n\n\
         [workload]\nops = 10000000\nrate_ms = 0\nstart_ms = {START_MS}\nkeys = {KEYS}\n\
         read_percent = {READ_PERCENT}\nretry_ms = 20\ntimeout_ms = 3000\ndirect = {direct}\n"
    );
    let names = (1..=3)
        .map(|i| (format!("s{i}"), "server"))
        .chain((1..=3).map(|i| (format!("c{i}"), "cache")))
        .chain((1..=CLIENTS).map(|i| (format!("u{i}"), "client")));
    for (i, (name, role)) in names.enumerate() {
        text += &format!(
            "\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{}\"\n",
            base + i as u16
        );
    }
    text
}

/// Starts one side's processes, lets them run, stops them and reads their traces.
fn run_side(
    dir: &Path,
    base: u16,
    direct: bool,
    measure_ms: u64,
) -> Result<Side, crate::error::Error> {
    std::fs::create_dir_all(dir)?;
    let config = dir.join("cluster.toml");
    std::fs::write(&config, cluster_text(base, direct))?;
    let names: Vec<String> = (1..=3)
        .map(|i| format!("s{i}"))
        .chain((1..=3).map(|i| format!("c{i}")))
        .chain((1..=CLIENTS).map(|i| format!("u{i}")))
        .collect();
    let mut children = Vec::new();
    let mut started = Ok(());
    for name in &names {
        let log = std::fs::File::create(dir.join(format!("{name}.log")))?;
        match crate::node::child_command(&config, name, dir)?
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
        {
            Ok(child) => children.push(child),
            Err(e) => {
                started = Err(format!("cannot start node {name}: {e}"));
                break;
            }
        }
    }
    if started.is_ok() {
        std::thread::sleep(Duration::from_millis(
            START_MS + WARMUP_MS + measure_ms + 200,
        ));
    }
    stop(&mut children);
    started?;
    let side = read_side(dir, &names, measure_ms)?;
    if side.reads == 0 {
        return Err(format!(
            "no read was answered {} the caches; the nodes' logs are in {}",
            if direct { "without" } else { "through" },
            dir.display()
        )
        .into());
    }
    Ok(side)
}

/// Kills every child and waits for it.
fn stop(children: &mut [Child]) {
    for child in children.iter_mut() {
        let _ = child.kill();
    }
    for child in children.iter_mut() {
        let _ = child.wait();
    }
}

/// Reads one side's traces: the clients' invokes and returns, the caches' hits and misses.
fn read_side(dir: &Path, names: &[String], measure_ms: u64) -> Result<Side, crate::error::Error> {
    let trace = |name: &str| -> Result<Vec<_>, crate::error::Error> {
        let path: PathBuf = dir.join(format!("{name}.trace.jsonl"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let (_, records) = read_jsonl::<<Cache as Protocol>::Event>(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(records)
    };
    let mut side = Side {
        reads: 0,
        writes: 0,
        unknown: 0,
        window_s: measure_ms as f64 / 1000.0,
        latencies_us: Vec::new(),
        hits: 0,
        misses: 0,
    };
    // Every node's clock is this machine's, so the clients' windows line up: the window
    // starts WARMUP_MS after the earliest first invoke.
    let mut clients = Vec::new();
    for name in names {
        let records = trace(name)?;
        for r in &records {
            if let Ev::Proto {
                event: Event::Served { hit, .. },
            } = &r.ev
            {
                if *hit {
                    side.hits += 1;
                } else {
                    side.misses += 1;
                }
            }
        }
        if name.starts_with('u') {
            clients.push(records);
        }
    }
    let first = clients
        .iter()
        .flatten()
        .filter(|r| {
            matches!(
                r.ev,
                Ev::Proto {
                    event: Event::Invoke { .. }
                }
            )
        })
        .map(|r| r.t)
        .min()
        .ok_or("no client issued an operation")?;
    let from = first + WARMUP_MS * 1000;
    let to = from + measure_ms * 1000;
    for records in &clients {
        let mut invoked = std::collections::HashMap::new();
        for r in records {
            match &r.ev {
                Ev::Proto {
                    event: Event::Invoke { op, value, .. },
                } => {
                    invoked.insert(*op, (r.t, value.is_none()));
                }
                Ev::Proto {
                    event: Event::Return { op, answer },
                } if (from..to).contains(&r.t) => {
                    let Some((at, read)) = invoked.remove(op) else {
                        continue;
                    };
                    match answer {
                        None => side.unknown += 1,
                        Some(Answer::Read(_)) if read => {
                            side.reads += 1;
                            side.latencies_us.push(r.t.saturating_sub(at));
                        }
                        Some(_) => side.writes += 1,
                    }
                }
                _ => {}
            }
        }
    }
    side.latencies_us.sort_unstable();
    Ok(side)
}
