//! `faultline bench`: what the simulator costs. One workload (5 nodes, a datagram to each
//! peer every 10 ms of simulated time) run by faultline (the bench's own `flood` protocol),
//! by raw madsim (madsim's own UDP, no faultline layer, in this process) and by the peers
//! (turmoil at a 1 ms and a 10 ms tick, a plain event loop, in a binary of their own), round
//! after round; then the shipped protocols' workloads, the cost per datagram as the group
//! grows, explore's memory and throughput, and the report's share of a run.

mod flood;
mod memory;
mod peers;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::registry::Registry;
use crate::run::{write_outputs, RunRequest};

/// One measurement: a round's run(s) of one line of the table.
struct Row {
    /// Simulated seconds per run.
    sim_s: f64,
    /// Runs.
    runs: u64,
    /// Wall seconds for all runs.
    wall_s: f64,
    /// Datagrams delivered in all runs.
    delivered: u64,
}

impl Row {
    fn delivered_per_s(&self) -> f64 {
        self.delivered as f64 / self.wall_s.max(1e-9)
    }

    fn ns_per_datagram(&self) -> f64 {
        self.wall_s * 1e9 / self.delivered.max(1) as f64
    }
}

/// The raw baseline: madsim alone, its own simulated UDP, the same workload as `flood`.
fn raw_madsim(sim_s: u64) -> Row {
    const NODES: u8 = 5;
    let mut config = madsim::Config::default();
    config.net.send_latency = Duration::from_millis(1)..Duration::from_millis(10);
    let delivered = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let runtime = madsim::runtime::Runtime::with_seed_and_config(1, config);
    let counter = delivered.clone();
    runtime.block_on(async move {
        let handle = madsim::runtime::Handle::current();
        let addr = |i: u8| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i + 1)), 7000);
        let mut nodes = Vec::new();
        for i in 0..NODES {
            let counter = counter.clone();
            nodes.push(
                handle
                    .create_node()
                    .ip(addr(i).ip())
                    .init(move || {
                        let counter = counter.clone();
                        async move {
                            let socket =
                                Arc::new(tokio::net::UdpSocket::bind(addr(i)).await.expect("bind"));
                            let receiver = socket.clone();
                            tokio::spawn(async move {
                                let mut buf = [0u8; 64];
                                while receiver.recv_from(&mut buf).await.is_ok() {
                                    counter.fetch_add(1, Ordering::Relaxed);
                                }
                            });
                            let payload = [7u8; 32];
                            loop {
                                tokio::time::sleep(Duration::from_millis(10)).await;
                                for j in (0..NODES).filter(|j| *j != i) {
                                    let _ = socket.send_to(addr(j), &payload).await;
                                }
                            }
                        }
                    })
                    .build(),
            );
        }
        tokio::time::sleep(Duration::from_secs(sim_s)).await;
    });
    Row {
        sim_s: sim_s as f64,
        runs: 1,
        wall_s: started.elapsed().as_secs_f64(),
        delivered: delivered.load(Ordering::Relaxed),
    }
}

/// Runs a request `runs` times (seeds 0..runs) on this thread.
fn faultline_rows(req: &RunRequest, runs: u64) -> Row {
    let started = Instant::now();
    let mut delivered = 0;
    let mut sim_ms = 0.0;
    for seed in 0..runs {
        let outcome = req
            .with_seed(seed)
            .execute(None)
            .expect("the bench's scenarios run");
        delivered += outcome.summary.messages.delivered;
        sim_ms += outcome.summary.end_ms;
    }
    Row {
        sim_s: sim_ms / 1000.0 / runs as f64,
        runs,
        wall_s: started.elapsed().as_secs_f64(),
        delivered,
    }
}

/// The bully group heartbeating every 10 ms: the same datagram density as the baseline.
const BULLY_DENSE: &str = include_str!("../../scenarios/bench/bully-dense.toml");

/// The bully group as shipped: 5 servers, 2 chat clients, a leader crash and restart.
const BULLY_STANDARD: &str = include_str!("../../scenarios/bench/bully-standard.toml");

/// 5 Raft replicas and 3 clients at 5% loss for 60 s: the issue's standard Raft workload.
const RAFT_LOSSY: &str = include_str!("../../scenarios/bench/raft-lossy.toml");

/// Seeds per minute of a scenario on every core, as `explore` runs them.
fn seeds_per_minute(registry: &Registry, text: &str, seeds: u64) -> (f64, usize) {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let req = RunRequest::parse(registry, "bench", text).expect("valid");
    let next = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds {
                    return;
                }
                let _ = req.with_seed(seed).execute(None);
            });
        }
    });
    (seeds as f64 * 60.0 / started.elapsed().as_secs_f64(), jobs)
}

/// A protocol workload of the table: its name, scenario text and runs per round.
struct Workload {
    name: &'static str,
    text: &'static str,
    runs: u64,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "bully 5 servers, 10 ms heartbeats (baseline's density)",
        text: BULLY_DENSE,
        runs: 1,
    },
    Workload {
        name: "bully 5 servers + 2 clients, leader crash (shipped)",
        text: BULLY_STANDARD,
        runs: 10,
    },
    Workload {
        name: "raft 5 replicas + 3 clients, 5% loss, 60 s",
        text: RAFT_LOSSY,
        runs: 5,
    },
];

/// Simulated seconds of raw madsim and of faultline's flood per round: about as long in wall
/// time as a workload's turn, so that a moment of drift weighs on a round's sides alike.
const SAME_WORKLOAD_SIM_S: u64 = 120;

/// The group sizes of the cost-per-datagram lines, with the simulated milliseconds each runs
/// (fewer as the datagrams per simulated second grow with the square of the size).
const GROUP_SIZES: [(usize, u64); 3] = [(5, 30_000), (64, 1_000), (256, 100)];

/// faultline's throughput per delivered datagram over raw madsim's, at least.
const RAW_MADSIM_TARGET: f64 = 2.0;
/// faultline's throughput per delivered datagram over turmoil's at a 10 ms tick, at least.
const TURMOIL_10MS_TARGET: f64 = 1.0;
/// The explore throughput line (`--only` matches it like a workload's name).
const EXPLORE_NAME: &str = "explore throughput, raft 5 replicas + 3 clients, 5% loss, 60 s";
/// Seeds per minute `explore` should reach on the 60 s Raft workload.
const SEEDS_PER_MINUTE_TARGET: f64 = 600.0;
/// The group-size lines' name (for `--only`).
const GROUP_NAME: &str = "cost per delivered datagram by group size (flood)";
/// The explore memory line's name (for `--only`).
const MEMORY_NAME: &str = "explore memory";
/// The report line's name (for `--only`).
const REPORT_NAME: &str = "report's share of a run";
/// The most of a run's cost its report (trace, timeline, summary) should take.
const REPORT_SHARE_TARGET: f64 = 0.20;

/// The middle value (the upper middle of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// A ratio's median over the rounds, with its range when there are several.
fn ratio_text(ratios: &[f64]) -> (f64, String) {
    let (lo, hi) = ratios
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
    let mid = median(ratios.to_vec());
    if ratios.len() > 1 {
        (mid, format!("{mid:.2} ({lo:.2}-{hi:.2})"))
    } else {
        (mid, format!("{mid:.2}"))
    }
}

/// Each round's ratio of `a`'s delivered datagrams per wall second over `b`'s.
fn ratios(a: &[Row], b: &[Row]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(a, b)| a.delivered_per_s() / b.delivered_per_s().max(1e-9))
        .collect()
}

/// What `faultline bench` measures.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// One round of shorter runs (a look, not figures).
    pub quick: bool,
    /// One round of tiny runs: the table's lines, for the test suite; no figure means
    /// anything.
    pub smoke: bool,
    /// Only the lines whose name contains this (the same-workload lines always run).
    pub only: Option<String>,
    /// Whether to run the peers (turmoil, the event loop); their binary is built on first
    /// use.
    pub peers: bool,
}

/// `faultline bench`: prints the table; returns the exit code.
///
/// The machine's speed drifts (the raw baseline alone has measured anywhere from 370k to
/// 720k datagrams a second here), so every side of a ratio takes its turn in every round and
/// each ratio is taken within its round: drift moves both sides alike.
pub fn bench_command(registry: &Registry, opts: &BenchOptions) -> i32 {
    let (rounds, scale) = match (opts.smoke, opts.quick) {
        (true, _) => (1, 100),
        (false, true) => (1, 10),
        (false, false) => (7, 1),
    };
    let short = opts.smoke || opts.quick;
    let chosen = |name: &str| opts.only.as_deref().is_none_or(|o| name.contains(o));
    let workloads: Vec<&Workload> = WORKLOADS.iter().filter(|w| chosen(w.name)).collect();
    let registry = registry.clone().with::<flood::Flood>();
    println!(
        "faultline bench: sim flavor, one thread, this machine ({} cores), {rounds} round(s)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let peer_bin = if opts.peers {
        match peers::binary() {
            Ok(bin) => Some(bin),
            Err(why) => {
                println!("peers: skipped: {why}");
                None
            }
        }
    } else {
        println!(
            "peers: skipped (--no-peers); they are built with: {}",
            peers::build_hint()
        );
        None
    };

    let same_s = (SAME_WORKLOAD_SIM_S / scale).max(1);
    let flood_req = RunRequest::parse(&registry, "flood", &flood::scenario(5, same_s * 1000))
        .expect("the flood scenario is valid");
    let workload_reqs: Vec<RunRequest> = workloads
        .iter()
        .map(|w| RunRequest::parse(&registry, w.name, w.text).expect("the bench's scenarios"))
        .collect();
    let mut raw_rows = Vec::new();
    let mut flood_rows = Vec::new();
    let mut peer_rows: Vec<Vec<Row>> = peers::PEERS.iter().map(|_| Vec::new()).collect();
    let mut peer_failed: Option<String> = None;
    let mut rows: Vec<Vec<Row>> = workloads.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        let progress = |name: &str| eprint!("\rround {round}/{rounds}: {name:<60}");
        progress("raw madsim");
        raw_rows.push(raw_madsim(same_s));
        progress("faultline flood");
        flood_rows.push(faultline_rows(&flood_req, 1));
        if let (Some(bin), None) = (&peer_bin, &peer_failed) {
            for (peer, out) in peers::PEERS.iter().zip(peer_rows.iter_mut()) {
                progress(peer.arg);
                let sim_s = (peer.sim_s / scale).max(1);
                match peers::measure(bin, *peer, sim_s) {
                    Ok((delivered, wall_s)) => out.push(Row {
                        sim_s: sim_s as f64,
                        runs: 1,
                        wall_s,
                        delivered,
                    }),
                    Err(why) => peer_failed = Some(why),
                }
            }
        }
        for ((w, req), out) in workloads.iter().zip(&workload_reqs).zip(rows.iter_mut()) {
            progress(w.name);
            out.push(faultline_rows(req, (w.runs / scale).max(1)));
        }
    }
    eprint!("\r{:<80}\r", "");
    if let Some(why) = &peer_failed {
        println!("peers: failed: {why}");
        peer_rows.iter_mut().for_each(Vec::clear);
    }

    println!();
    println!(
        "{:<58} {:>5} {:>10} {:>12} {:>8} {:>10} {:>19}",
        "same workload: 5 nodes, datagram to each peer every 10 ms",
        "runs",
        "sim s/wall",
        "delivered/s",
        "seeds/s",
        "ns/datagram",
        "faultline's share"
    );
    let line = |name: &str, rows: &[Row], share: &str| {
        let mid = |f: &dyn Fn(&Row) -> f64| median(rows.iter().map(f).collect());
        println!(
            "{:<58} {:>5} {:>10.0} {:>12.0} {:>8.1} {:>10.0} {:>19}",
            name,
            rows.iter().map(|r| r.runs).sum::<u64>(),
            mid(&|r| r.sim_s * r.runs as f64 / r.wall_s.max(1e-9)),
            mid(&|r| r.delivered_per_s()),
            mid(&|r| r.runs as f64 / r.wall_s.max(1e-9)),
            mid(&|r| r.ns_per_datagram()),
            share
        );
    };
    line(
        "faultline (flood protocol, whole pipeline)",
        &flood_rows,
        "1.00",
    );
    let (raw_share, raw_text) = ratio_text(&ratios(&flood_rows, &raw_rows));
    line(
        "raw madsim (its own UDP, no faultline layer)",
        &raw_rows,
        &raw_text,
    );
    let mut peer_shares = Vec::new();
    for (peer, rows) in peers::PEERS.iter().zip(&peer_rows) {
        if rows.is_empty() {
            continue;
        }
        let (share, text) = ratio_text(&ratios(&flood_rows, rows));
        line(peer.name, rows, &text);
        peer_shares.push((*peer, share));
    }
    println!("faultline's share: its delivered datagrams per wall second over the line's, in the same round (median, range).");

    if !workloads.is_empty() {
        println!();
        println!(
            "{:<58} {:>5} {:>10} {:>12} {:>8} {:>10} {:>19}",
            "faultline on protocols", "", "", "", "", "", "share of raw madsim"
        );
        for (w, rows) in workloads.iter().zip(&rows) {
            let (_, text) = ratio_text(&ratios(rows, &raw_rows));
            line(w.name, rows, &text);
        }
    }

    if chosen(GROUP_NAME) {
        println!();
        println!("{GROUP_NAME}:");
        for (nodes, ms) in GROUP_SIZES {
            let ms = (ms / scale).max(20);
            let text = flood::scenario(nodes, ms);
            match RunRequest::parse(&registry, &format!("flood-{nodes}"), &text) {
                Ok(req) => {
                    eprint!("\rgroup of {nodes} ...");
                    let row = faultline_rows(&req, 1);
                    eprint!("\r{:<30}\r", "");
                    println!(
                        "  {nodes:>4} nodes: {:>6.0} ns per delivered datagram ({} delivered in {:.1} simulated s, {:.2} wall s)",
                        row.ns_per_datagram(),
                        row.delivered,
                        row.sim_s,
                        row.wall_s
                    );
                }
                Err(e) => println!(
                    "  {nodes:>4} nodes: skipped: the scenario is refused: {}",
                    e.message
                ),
            }
        }
    }

    let scratch = std::env::temp_dir().join(format!("faultline-bench-{}", std::process::id()));
    if chosen(MEMORY_NAME) {
        let seeds = if short { 1 } else { 3 };
        match memory::explore_peak_rss(&scratch, RAFT_LOSSY, seeds) {
            Ok(kb) => println!(
                "\n{MEMORY_NAME}: peak RSS {:.1} MB (explore, raft 60 s, {seeds} seed(s), 1 job, in a child process)",
                kb as f64 / 1024.0
            ),
            Err(why) => println!("\n{MEMORY_NAME}: not measured: {why}"),
        }
    }
    let mut report_verdict = None;
    if chosen(REPORT_NAME) {
        let req = RunRequest::parse(&registry, "raft", RAFT_LOSSY).expect("valid");
        // A pair costs a fifth of a second: even a quick look takes enough of them for a
        // median.
        let tries = match (opts.smoke, opts.quick) {
            (true, _) => 1,
            (false, true) => 7,
            (false, false) => 15,
        };
        match report_share(&req, &scratch, tries) {
            Ok(r) => {
                println!(
                    "{REPORT_NAME}: {:.0}% of the run's CPU time (raft 60 s: {:.3} CPU s with trace, timeline and summary written, {:.3} s without; wall {:.3} s and {:.3} s, {:.0}%; medians of {tries} pairs)",
                    100.0 * r.cpu_share,
                    r.cpu_s.0,
                    r.cpu_s.1,
                    r.wall_s.0,
                    r.wall_s.1,
                    100.0 * r.wall_share
                );
                report_verdict = Some(format!(
                    "report's share of a raft 60 s run: {:.0}%, target at most {:.0}%: {}",
                    100.0 * r.cpu_share,
                    100.0 * REPORT_SHARE_TARGET,
                    if r.cpu_share <= REPORT_SHARE_TARGET {
                        "met"
                    } else {
                        "NOT met"
                    }
                ));
            }
            Err(why) => println!("{REPORT_NAME}: not measured: {why}"),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);

    let mut verdicts = Vec::new();
    let verdict = |what: &str, value: f64, target: f64| {
        format!(
            "{what}: {value:.2}x, target at least {target:.2}x: {}",
            if value >= target { "met" } else { "NOT met" }
        )
    };
    verdicts.push(verdict(
        "faultline per delivered datagram vs raw madsim",
        raw_share,
        RAW_MADSIM_TARGET,
    ));
    for (peer, share) in &peer_shares {
        let what = format!("faultline per delivered datagram vs {}", peer.arg);
        verdicts.push(match *peer {
            peers::TURMOIL_10MS => verdict(&what, *share, TURMOIL_10MS_TARGET),
            _ => format!("{what}: {share:.2}x (no target)"),
        });
    }
    if peer_shares.iter().all(|(p, _)| *p != peers::TURMOIL_10MS) {
        verdicts.push(format!(
            "faultline per delivered datagram vs turmoil-10ms: not measured, target at least {TURMOIL_10MS_TARGET:.2}x"
        ));
    }
    verdicts.extend(report_verdict);
    if chosen(EXPLORE_NAME) {
        eprint!("explore throughput ...");
        let seeds = match (opts.smoke, opts.quick) {
            (true, _) => 2,
            (false, true) => 4,
            (false, false) => 40,
        };
        let (per_minute, jobs) = seeds_per_minute(&registry, RAFT_LOSSY, seeds);
        eprint!("\r{:<30}\r", "");
        println!("{EXPLORE_NAME}: {per_minute:.0} seeds/minute on {jobs} threads");
        verdicts.push(format!(
            "explore, raft 60 s: {per_minute:.0} seeds/minute, target {SEEDS_PER_MINUTE_TARGET:.0}: {}",
            if per_minute >= SEEDS_PER_MINUTE_TARGET { "met" } else { "NOT met" }
        ));
    }
    println!();
    for v in verdicts {
        println!("{v}");
    }
    0
}

/// The CPU seconds (user and system) this thread has used so far.
fn thread_cpu_s() -> f64 {
    // SAFETY: zeroed rusage is a valid value of a plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_THREAD asks for this thread only.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return 0.0;
    }
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(usage.ru_utime) + s(usage.ru_stime)
}

/// What one run cost: CPU seconds of this thread (user and system) and wall seconds.
#[derive(Clone, Copy)]
struct Cost {
    /// CPU seconds.
    cpu_s: f64,
    /// Wall seconds.
    wall_s: f64,
}

/// Runs `f` and returns what it cost.
fn cost<T>(f: impl FnOnce() -> T) -> (T, Cost) {
    let (cpu, wall) = (thread_cpu_s(), Instant::now());
    let out = f();
    let cost = Cost {
        cpu_s: thread_cpu_s() - cpu,
        wall_s: wall.elapsed().as_secs_f64(),
    };
    (out, cost)
}

/// The report's share of a run, measured over `tries` pairs of the same run with its files
/// written (trace, timeline, summary, seed file) and without.
struct ReportShare {
    /// The median over the pairs of (with - without) / with, in CPU time.
    cpu_share: f64,
    /// The same in wall time.
    wall_share: f64,
    /// Median CPU seconds with the files and without.
    cpu_s: (f64, f64),
    /// Median wall seconds with the files and without.
    wall_s: (f64, f64),
}

/// Measures [`ReportShare`] over `tries` pairs, each pair's order alternating (so that
/// neither side always runs first, on caches the other warmed); each share is taken within
/// its pair. The verdict is in this thread's CPU time: on a machine shared with other
/// builds, wall time also counts the moments the thread waited for a core, which fall on
/// either side at random (one pair on this 2-core machine read 0% and the next 33% for the
/// same binary); the CPU time includes the system time of writing the files.
fn report_share(req: &RunRequest, scratch: &Path, tries: usize) -> Result<ReportShare, String> {
    let dir = scratch.join("report");
    let with = || -> Result<Cost, String> {
        let (done, c) = cost(|| -> Result<(), String> {
            let outcome = req
                .execute(Some(dir.as_path()))
                .map_err(|e| e.to_string())?;
            write_outputs(&dir, req, &outcome).map_err(|e| format!("{}: {e}", dir.display()))
        });
        done.map(|()| c)
    };
    let without = || -> Result<Cost, String> {
        let (done, c) = cost(|| req.execute(None).map(|_| ()).map_err(|e| e.to_string()));
        done.map(|()| c)
    };
    let mut pairs = Vec::new();
    for i in 0..tries {
        let (w, wo) = if i % 2 == 0 {
            let w = with()?;
            (w, without()?)
        } else {
            let wo = without()?;
            (with()?, wo)
        };
        pairs.push((w, wo));
    }
    let share = |f: fn(&Cost) -> f64| {
        median(
            pairs
                .iter()
                .map(|(w, wo)| (f(w) - f(wo)).max(0.0) / f(w).max(1e-9))
                .collect(),
        )
    };
    let mid = |f: fn(&Cost) -> f64| {
        (
            median(pairs.iter().map(|(w, _)| f(w)).collect()),
            median(pairs.iter().map(|(_, wo)| f(wo)).collect()),
        )
    };
    Ok(ReportShare {
        cpu_share: share(|c| c.cpu_s),
        wall_share: share(|c| c.wall_s),
        cpu_s: mid(|c| c.cpu_s),
        wall_s: mid(|c| c.wall_s),
    })
}
