//! `faultline bench-real primes`: the primes farm's throughput as real processes on loopback
//! (numbers tested per second, from the datasets loaded to the farm finished) with 1 and 2
//! workers, beside one process testing the same numbers sequentially, in the same run. The
//! numbers are drawn from the whole 64-bit range with a fixed seed and written as one dataset
//! file, which the coordinator cuts into parts of 4000 numbers; each run's `primes.txt` is
//! checked against the sequential answer, so a fast wrong farm does not count.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use faultline_nodes::primes::primality::is_prime;
use faultline_nodes::primes::{generate, parse_output, Event, OUTPUT_FILE};
use faultline_sim::trace::read_jsonl;
use faultline_sim::{Ev, Record};

/// Numbers per task: one dataset part each.
const TASK_NUMBERS: u32 = 4000;

/// How long a farm may take before the bench gives up on it.
const FARM_DEADLINE: Duration = Duration::from_secs(300);

/// One farm's nodes as child processes, killed when dropped.
struct Farm {
    children: Vec<Child>,
}

impl Drop for Farm {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the bench; returns the exit code.
pub fn bench(quick: bool) -> Result<i32, crate::error::Error> {
    let count: u64 = if quick { 100_000 } else { 1_000_000 };
    let root = std::env::temp_dir().join(format!("faultline-bench-primes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("data"))?;
    let numbers = generate(count, 0, u64::MAX, 16);
    let mut text = String::with_capacity(numbers.len() * 21);
    for n in &numbers {
        text.push_str(&n.to_string());
        text.push('\n');
    }
    std::fs::write(root.join("data/numbers.txt"), text)?;

    println!(
        "primes farm, real processes on loopback: {count} numbers from the whole 64-bit range, \
         tasks of {TASK_NUMBERS}, 2 file servers"
    );
    let started = Instant::now();
    let expected: Vec<u64> = {
        let mut p: Vec<u64> = numbers.iter().copied().filter(|n| is_prime(*n)).collect();
        p.sort_unstable();
        p.dedup();
        p
    };
    let sequential_s = started.elapsed().as_secs_f64();
    let base = count as f64 / sequential_s;
    println!(
        "{:<32} {:>9} {:>14} {:>9}",
        "run", "seconds", "numbers/s", "speed-up"
    );
    println!(
        "{:<32} {:>9.3} {:>14.0} {:>9.2}",
        "one process, sequential", sequential_s, base, 1.0
    );
    let mut code = 0;
    for workers in [1, 2] {
        let dir = root.join(format!("farm-{workers}"));
        match run_farm(&root, &dir, workers) {
            Ok((seconds, load_s, written)) => {
                let ok = written == expected;
                let rate = count as f64 / seconds;
                println!(
                    "{:<32} {:>9.3} {:>14.0} {:>9.2}{}",
                    format!("farm, {workers} worker(s)"),
                    seconds,
                    rate,
                    rate / base,
                    if ok {
                        format!("   (+{load_s:.2} s loading the datasets)")
                    } else {
                        code = 1;
                        format!(
                            "   WRONG: primes.txt holds {} primes, the answer {}",
                            written.len(),
                            expected.len()
                        )
                    }
                );
            }
            Err(e) => {
                code = 1;
                println!("farm, {workers} worker(s): failed: {e}");
            }
        }
    }
    println!(
        "{} primes; seconds: from the datasets loaded to the farm finished (the coordinator's \
         trace); both columns from this run, on this machine's shared cores",
        expected.len()
    );
    let _ = std::fs::remove_dir_all(&root);
    Ok(code)
}

/// Runs a farm of `workers` over `root/data` in `dir`; returns the seconds from loaded to
/// finished, the seconds loading took, and the primes it wrote.
fn run_farm(root: &Path, dir: &Path, workers: usize) -> Result<(f64, f64, Vec<u64>), String> {
    let config = write_cluster(root, workers).map_err(|e| e.to_string())?;
    let mut names = vec!["f1".to_string(), "f2".to_string(), "c1".to_string()];
    names.extend((1..=workers).map(|i| format!("w{i}")));
    let mut farm = Farm {
        children: Vec::new(),
    };
    for name in &names {
        let child = crate::node::child_command(&config, name, dir)
            .map_err(|e| format!("cannot find faultline: {e}"))?
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        farm.children.push(child);
    }
    let trace = dir.join("c1.trace.jsonl");
    let deadline = Instant::now() + FARM_DEADLINE;
    loop {
        if let Some(times) = finish_times(&trace) {
            drop(farm);
            let text = std::fs::read_to_string(dir.join(OUTPUT_FILE))
                .map_err(|e| format!("{OUTPUT_FILE}: {e}"))?;
            let written = parse_output(&text)?;
            return Ok((times.1, times.0, written));
        }
        if Instant::now() > deadline {
            return Err(format!("not finished within {FARM_DEADLINE:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// From the coordinator's trace, once the farm finished: seconds from its start to the
/// datasets loaded, and from loaded to finished.
fn finish_times(trace: &Path) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(trace).ok()?;
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let (_, records): (_, Vec<Record<Event>>) = read_jsonl(complete).ok()?;
    let start = records.first()?.t;
    let at = |pick: fn(&Event) -> bool| {
        records.iter().find_map(|r| match &r.ev {
            Ev::Proto { event } if pick(event) => Some(r.t),
            _ => None,
        })
    };
    let loaded = at(|e| matches!(e, Event::Loaded { .. }))?;
    let finished = at(|e| matches!(e, Event::Finished { .. }))?;
    Some((
        (loaded - start) as f64 / 1e6,
        (finished - loaded) as f64 / 1e6,
    ))
}

/// Writes the cluster file of a farm of `workers` at full speed (no pacing); returns its path.
fn write_cluster(root: &Path, workers: usize) -> std::io::Result<PathBuf> {
    // Ten ports per bench process: the 1-worker farm takes the first four, the 2-worker the
    // last five.
    let base = 45_000 + (std::process::id() % 1_000) as u16 * 10 + (workers as u16 - 1) * 5;
    let mut text = format!(
        "protocol = \"primes\"\ninterface = \"127.0.0.1\"\n\n\
         [config]\nheartbeat_ms = 100\nworker_timeout_ms = 2000\nfs_heartbeat_ms = 100\n\
         fs_leader_timeout_ms = 1000\nelection_timeout_ms = 300\nrequest_retry_ms = 500\n\
         replicate_timeout_ms = 1000\nflush_ms = 20\nsnapshot_ms = 0\n\
         test_us_per_number = 0\nreconnect_ms = 200\n\n\
         [workload]\ntask_numbers = {TASK_NUMBERS}\nfolder = \"data\"\n"
    );
    let roles = ["file_server", "file_server", "coordinator"];
    let names = ["f1", "f2", "c1"];
    for (i, (name, role)) in names.iter().zip(roles).enumerate() {
        text += &format!(
            "\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{}\"\n",
            base + i as u16
        );
    }
    for w in 1..=workers {
        text += &format!(
            "\n[[nodes]]\nname = \"w{w}\"\nrole = \"worker\"\naddr = \"127.0.0.1:{}\"\n",
            base + 2 + w as u16
        );
    }
    let path = root.join(format!("farm-{workers}.toml"));
    std::fs::write(&path, text)?;
    Ok(path)
}
