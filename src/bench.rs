//! `faultline bench`: what the simulator costs. Standard workloads beside a raw madsim
//! baseline measured in the same process (5 nodes exchanging datagrams every 10 ms of
//! simulated time, no faultline layer), and faultline's ratio to it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_sim::Scenario;

use crate::run::RunRequest;

/// One line of the table.
struct Row {
    /// What ran.
    name: String,
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
        name: "raw madsim: 5 nodes, datagram to each peer every 10 ms".into(),
        sim_s: sim_s as f64,
        runs: 1,
        wall_s: started.elapsed().as_secs_f64(),
        delivered: delivered.load(Ordering::Relaxed),
    }
}

/// Runs a scenario `runs` times (seeds 0..runs) on this thread.
fn faultline_rows(name: &str, text: &str, runs: u64) -> Row {
    let scenario = Scenario::parse(name, text).expect("the bench's scenarios are valid");
    let req = RunRequest {
        scenario,
        source_file: name.into(),
        source_text: text.into(),
        seed: 0,
        bugs: vec![],
        expected_digest: None,
    };
    let started = Instant::now();
    let mut delivered = 0;
    let mut sim_ms = 0.0;
    for seed in 0..runs {
        let outcome = req
            .with_seed(seed)
            .execute(false)
            .expect("the bench's scenarios run");
        delivered += outcome.summary.messages.delivered;
        sim_ms += outcome.summary.end_ms;
    }
    Row {
        name: name.into(),
        sim_s: sim_ms / 1000.0 / runs as f64,
        runs,
        wall_s: started.elapsed().as_secs_f64(),
        delivered,
    }
}

/// The bully group heartbeating every 10 ms: the same datagram density as the baseline.
const BULLY_DENSE: &str = r#"
name = "bully-5-dense"
protocol = "bully"
duration_ms = 30000
[nodes]
servers = 5
[network]
latency_ms = [1, 10]
[config]
heartbeat_ms = 10
peer_timeout_ms = 100
election_timeout_ms = 50
discovery_ms = 50
"#;

/// The bully group as shipped: 5 servers, 2 chat clients, a leader crash and restart.
const BULLY_STANDARD: &str = r#"
name = "bully-5-leader-crash"
protocol = "bully"
duration_ms = 20000
[nodes]
servers = 5
clients = 2
[network]
latency_ms = [1, 10]
[workload]
messages = 20
[[faults]]
kind = "crash"
node = "s5"
at_ms = 5000
[[faults]]
kind = "restart"
node = "s5"
at_ms = 12000
"#;

/// 5 Raft replicas and 3 clients at 5% loss for 60 s: the issue's standard Raft workload.
const RAFT_LOSSY: &str = r#"
name = "raft-5-lossy"
protocol = "raft"
duration_ms = 60000
[nodes]
servers = 5
clients = 3
[network]
latency_ms = [1, 10]
loss = 0.05
[workload]
ops = 400
rate_ms = 100
"#;

/// Seeds per minute of a scenario on every core, as `explore` runs them.
fn seeds_per_minute(text: &str, seeds: u64) -> (f64, usize) {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scenario = Scenario::parse("bench", text).expect("valid");
    let req = RunRequest {
        scenario,
        source_file: "bench".into(),
        source_text: text.into(),
        seed: 0,
        bugs: vec![],
        expected_digest: None,
    };
    let next = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds {
                    return;
                }
                let _ = req.with_seed(seed).execute(false);
            });
        }
    });
    (seeds as f64 * 60.0 / started.elapsed().as_secs_f64(), jobs)
}

/// `faultline bench`: prints the table; returns the exit code.
pub fn bench_command(quick: bool) -> i32 {
    let scale = if quick { 1 } else { 4 };
    println!(
        "faultline bench: sim flavor, one thread, this machine ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let raw = raw_madsim(30 * scale);
    let rows = vec![
        faultline_rows(
            "bully 5 servers, 10 ms heartbeats (baseline's density)",
            BULLY_DENSE,
            scale,
        ),
        faultline_rows(
            "bully 5 servers + 2 clients, leader crash (shipped)",
            BULLY_STANDARD,
            10 * scale,
        ),
        faultline_rows(
            "raft 5 replicas + 3 clients, 5% loss, 60 s",
            RAFT_LOSSY,
            scale,
        ),
    ];
    println!(
        "{:<58} {:>6} {:>8} {:>10} {:>14} {:>9} {:>9}",
        "workload", "runs", "wall s", "sim s/wall", "delivered/s", "seeds/s", "vs raw"
    );
    let line = |r: &Row, vs_raw: String| {
        println!(
            "{:<58} {:>6} {:>8.2} {:>10.0} {:>14.0} {:>9.1} {:>9}",
            r.name,
            r.runs,
            r.wall_s,
            r.sim_s * r.runs as f64 / r.wall_s.max(1e-9),
            r.delivered_per_s(),
            r.runs as f64 / r.wall_s.max(1e-9),
            vs_raw
        );
    };
    line(&raw, "1.00".into());
    for r in &rows {
        line(
            r,
            format!(
                "{:.2}",
                r.delivered_per_s() / raw.delivered_per_s().max(1e-9)
            ),
        );
    }
    println!("vs raw: faultline's delivered datagrams per wall second over the raw baseline's.");
    let (per_minute, jobs) = seeds_per_minute(RAFT_LOSSY, 10 * scale);
    println!("explore throughput, raft 5 replicas + 3 clients, 5% loss, 60 s: {per_minute:.0} seeds/minute on {jobs} threads");
    0
}
