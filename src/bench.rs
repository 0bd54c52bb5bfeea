//! `faultline bench`: what the simulator costs. Standard workloads beside a raw madsim
//! baseline measured in the same process (5 nodes exchanging datagrams every 10 ms of
//! simulated time, no faultline layer), and faultline's ratio to it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::registry::Registry;

use crate::run::RunRequest;

/// One line of the table.
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
}

/// The raw baseline: madsim alone.
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

/// Runs a scenario `runs` times (seeds 0..runs) on this thread.
fn faultline_rows(registry: &Registry, name: &str, text: &str, runs: u64) -> Row {
    let req = RunRequest::parse(registry, name, text).expect("the bench's scenarios are valid");
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
const BULLY_DENSE: &str = include_str!("../scenarios/bench/bully-dense.toml");

/// The bully group as shipped: 5 servers, 2 chat clients, a leader crash and restart.
const BULLY_STANDARD: &str = include_str!("../scenarios/bench/bully-standard.toml");

/// 5 Raft replicas and 3 clients at 5% loss for 60 s: the standard Raft workload.
const RAFT_LOSSY: &str = include_str!("../scenarios/bench/raft-lossy.toml");

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

/// A workload of the table: its name, scenario text and runs per round (seeds 0..runs).
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

/// Simulated seconds of the raw baseline per round: about as long in wall time as a
/// workload's turn, so that a moment of drift weighs on a round's two sides alike.
const RAW_SIM_S: u64 = 120;

/// The share of the raw baseline's delivered datagrams per second faultline should reach.
const SHARE_TARGET: f64 = 2.0 / 3.0;
/// The explore throughput line (`--only` matches it like a workload's name).
const EXPLORE_NAME: &str = "explore throughput, raft 5 replicas + 3 clients, 5% loss, 60 s";
/// Seeds per minute `explore` should reach on the 60 s Raft workload.
const SEEDS_PER_MINUTE_TARGET: f64 = 600.0;

/// The middle value (the upper middle of an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// `faultline bench`: prints the table; returns the exit code.
///
/// The machine's speed drifts (the raw baseline alone has measured anywhere from 370k to
/// 720k datagrams a second here), so the baseline and the workloads take turns, round after
/// round, and each share is taken within its round: drift moves both sides of a ratio alike.
pub fn bench_command(registry: &Registry, quick: bool, only: Option<&str>) -> i32 {
    let rounds = if quick { 1 } else { 7 };
    let chosen: Vec<&Workload> = WORKLOADS
        .iter()
        .filter(|w| only.is_none_or(|o| w.name.contains(o)))
        .collect();
    let explore = only.is_none_or(|o| EXPLORE_NAME.contains(o));
    println!(
        "faultline bench: sim flavor, one thread, this machine ({} cores), {rounds} round(s)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut raw_rows = Vec::new();
    let mut rows: Vec<Vec<Row>> = chosen.iter().map(|_| Vec::new()).collect();
    for round in 1..=rounds {
        let progress = |name: &str| eprint!("\rround {round}/{rounds}: {name:<60}");
        progress("raw madsim");
        raw_rows.push(raw_madsim(RAW_SIM_S));
        for (w, out) in chosen.iter().zip(rows.iter_mut()) {
            progress(w.name);
            out.push(faultline_rows(registry, w.name, w.text, w.runs));
        }
    }
    eprintln!("\r{:<80}", "");
    println!(
        "{:<58} {:>6} {:>10} {:>12} {:>9} {:>17}",
        "workload (median of the rounds)",
        "runs",
        "sim s/wall",
        "delivered/s",
        "seeds/s",
        "share of raw"
    );
    let line = |name: &str, rows: &[Row], share: String| {
        let per_wall = |f: &dyn Fn(&Row) -> f64| median(rows.iter().map(f).collect());
        println!(
            "{:<58} {:>6} {:>10.0} {:>12.0} {:>9.1} {:>17}",
            name,
            rows.iter().map(|r| r.runs).sum::<u64>(),
            per_wall(&|r| r.sim_s * r.runs as f64 / r.wall_s.max(1e-9)),
            per_wall(&|r| r.delivered_per_s()),
            per_wall(&|r| r.runs as f64 / r.wall_s.max(1e-9)),
            share
        );
    };
    line(
        "raw madsim: 5 nodes, datagram to each peer every 10 ms",
        &raw_rows,
        "1.00".into(),
    );
    let mut verdicts = Vec::new();
    for (w, rows) in chosen.iter().zip(&rows) {
        let shares: Vec<f64> = rows
            .iter()
            .zip(&raw_rows)
            .map(|(r, raw)| r.delivered_per_s() / raw.delivered_per_s().max(1e-9))
            .collect();
        let (lo, hi) = shares
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
        let share = median(shares);
        let spread = if rounds > 1 {
            format!("{share:.2} ({lo:.2}-{hi:.2})")
        } else {
            format!("{share:.2}")
        };
        line(w.name, rows, spread);
        verdicts.push(format!(
            "{}: {share:.2} of raw, target {SHARE_TARGET:.2}: {}",
            w.name,
            if share >= SHARE_TARGET {
                "met"
            } else {
                "NOT met"
            }
        ));
    }
    println!("share of raw: faultline's delivered datagrams per wall second over the raw baseline's, in the same round.");
    if explore {
        eprint!("explore throughput ...");
        let (per_minute, jobs) =
            seeds_per_minute(registry, RAFT_LOSSY, if quick { 10 } else { 40 });
        eprintln!("\r{:<30}", "");
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
