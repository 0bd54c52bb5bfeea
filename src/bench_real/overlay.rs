//! `faultline bench-real overlay`: six real overlay processes on loopback, driven through
//! their gRPC API by tonic clients. First 64 clients send requests back to back for a while
//! (requests per second, p50/p99 latency); then the leader gets twice its capacity at once
//! (its queue plus what it hands on, twice over): how many are answered "busy", and that
//! none is lost. The baseline beside the rate is its bound: the requests that can be in
//! process at once (the clients, or what the leader hands on) over a worker's time per
//! request.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::overlay_grpc::pb::overlay_client::OverlayClient;
use crate::overlay_grpc::pb::ForwardRequest;

/// The processes: name, role, team, neighbours (the seed's layout).
const PROCESSES: [(&str, &str, &str, &[&str]); 6] = [
    ("A", "leader", "green", &["B", "E"]),
    ("B", "team-leader", "green", &["A", "E", "C"]),
    ("C", "worker", "green", &["B"]),
    ("D", "worker", "pink", &["E"]),
    ("E", "team-leader", "pink", &["A", "B", "D", "F"]),
    ("F", "worker", "pink", &["E"]),
];
/// Concurrent gRPC clients of the steady phase.
const CLIENTS: usize = 64;
/// The overlay's bounds in the bench (the seed's).
const QUEUE_MAX: usize = 200;
const INFLIGHT_MAX: usize = 100;
const PROCESS_MS: u64 = 50;
/// Each request's deadline.
const DEADLINE_MS: u32 = 5000;

/// The node processes, killed when dropped.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Writes the cluster file; returns it and the leader's gRPC address.
fn cluster_file(dir: &Path) -> std::io::Result<(PathBuf, String)> {
    let base = 52_000 + (std::process::id() % 300) as u16 * 20;
    let mut text = format!(
        "protocol = \"overlay\"\ninterface = \"127.0.0.1\"\n\n[config]\nqueue_max = {QUEUE_MAX}\n\
         inflight_max = {INFLIGHT_MAX}\nprocess_ms = {PROCESS_MS}\n"
    );
    for (i, (name, role, team, neighbours)) in PROCESSES.iter().enumerate() {
        let list: Vec<String> = neighbours.iter().map(|n| format!("\"{n}\"")).collect();
        text += &format!(
            "\n[[config.process]]\nname = \"{name}\"\nrole = \"{role}\"\nteam = \"{team}\"\n\
             neighbours = [{}]\ngrpc = \"127.0.0.1:{}\"\ngateway = \"g{name}\"\n",
            list.join(", "),
            base + 12 + i as u16
        );
        text += &format!(
            "\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{}\"\n\n\
             [[nodes]]\nname = \"g{name}\"\nrole = \"client\"\naddr = \"127.0.0.1:{}\"\n",
            base + i as u16,
            base + 6 + i as u16
        );
    }
    let path = dir.join("cluster.toml");
    std::fs::write(&path, text)?;
    Ok((path, format!("127.0.0.1:{}", base + 12)))
}

/// One request's end: its outcome ("lost" when no answer came) and latency.
type Sample = (String, Duration);

async fn one(client: &mut OverlayClient<tonic::transport::Channel>) -> Sample {
    let start = Instant::now();
    let req = ForwardRequest {
        payload: Vec::new(),
        team: String::new(),
        deadline_ms: DEADLINE_MS,
    };
    let outcome = match client.forward(req).await {
        Ok(r) => r.into_inner().outcome,
        Err(_) => "lost".to_string(),
    };
    (outcome, start.elapsed())
}

fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn counts(samples: &[Sample]) -> String {
    let mut by: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (o, _) in samples {
        *by.entry(o.as_str()).or_default() += 1;
    }
    let lost = by.get("lost").copied().unwrap_or(0);
    let mut parts: Vec<String> = (by.iter())
        .filter(|(o, _)| **o != "lost")
        .map(|(o, n)| format!("{n} {o}"))
        .collect();
    parts.push(format!("{lost} lost"));
    parts.join(", ")
}

async fn connect(addr: &str) -> Result<OverlayClient<tonic::transport::Channel>, String> {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        match OverlayClient::connect(format!("http://{addr}")).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > until => {
                return Err(format!("the leader's gRPC server at {addr}: {e}"))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn measure(leader: String, quick: bool) -> Result<(), String> {
    let steady = Duration::from_secs(if quick { 3 } else { 10 });
    // Warm up: the processes find each other (pings) before the clock starts.
    let mut first = connect(&leader).await?;
    let until = Instant::now() + Duration::from_secs(10);
    while one(&mut first).await.0 != "done" {
        if Instant::now() > until {
            return Err("the overlay answered no request with a result in 10 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let mut client = connect(&leader).await?;
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while start.elapsed() < steady {
                samples.push(one(&mut client).await);
            }
            samples
        }));
    }
    let mut samples: Vec<Sample> = Vec::new();
    for t in tasks {
        samples.extend(t.await.map_err(|e| e.to_string())?);
    }
    let took = start.elapsed().as_secs_f64();
    let mut done: Vec<Duration> = (samples.iter())
        .filter(|(o, _)| o == "done")
        .map(|(_, d)| *d)
        .collect();
    done.sort();
    // At most this many requests are processed at once: the clients, or what the leader
    // hands on, whichever is fewer; each takes a worker process_ms.
    let bound = CLIENTS.min(INFLIGHT_MAX) as f64 * 1000.0 / PROCESS_MS as f64;
    println!(
        "steady, {CLIENTS} clients for {took:.1} s: {} requests ({}), {:.0} done/s (bound: min(clients, inflight_max) / process_ms = {bound:.0}/s); done p50 {:.1} ms, p99 {:.1} ms (process_ms {PROCESS_MS})",
        samples.len(),
        counts(&samples),
        done.len() as f64 / took,
        quantile_ms(&done, 0.5),
        quantile_ms(&done, 0.99),
    );

    // Twice the leader's capacity at once, over several connections (one HTTP/2 connection
    // takes a bounded number of streams at once).
    let burst = 2 * (QUEUE_MAX + INFLIGHT_MAX);
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(connect(&leader).await?);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..burst {
        let mut client = clients[i % clients.len()].clone();
        tasks.push(tokio::spawn(async move { one(&mut client).await }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.push(t.await.map_err(|e| e.to_string())?);
    }
    let mut busy: Vec<Duration> = (samples.iter())
        .filter(|(o, _)| o == "busy")
        .map(|(_, d)| *d)
        .collect();
    busy.sort();
    println!(
        "twice the leader's capacity ({burst} at once; queue_max {QUEUE_MAX} + inflight_max {INFLIGHT_MAX}): {} in {:.2} s; busy answered in p50 {:.1} ms, p99 {:.1} ms",
        counts(&samples),
        start.elapsed().as_secs_f64(),
        quantile_ms(&busy, 0.5),
        quantile_ms(&busy, 0.99),
    );
    if samples.iter().any(|(o, _)| o == "lost") {
        return Err("some requests got no answer".into());
    }
    Ok(())
}

/// Runs the bench; returns the exit code.
pub fn bench(quick: bool) -> Result<i32, crate::error::Error> {
    let dir = std::env::temp_dir().join(format!("faultline-bench-overlay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (config, leader) = cluster_file(&dir)?;
    let mut nodes = Nodes(Vec::new());
    for (name, ..) in PROCESSES {
        let log = std::fs::File::create(dir.join(format!("{name}.stderr")))?;
        nodes.0.push(
            crate::node::child_command(&config, name, &dir)?
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?,
        );
    }
    println!(
        "overlay over gRPC: six real processes on loopback (queue_max {QUEUE_MAX}, inflight_max {INFLIGHT_MAX}, process_ms {PROCESS_MS}), tonic clients"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(measure(leader, quick));
    for (i, node) in nodes.0.iter_mut().enumerate() {
        if let Ok(Some(status)) = node.try_wait() {
            eprintln!(
                "process {} ended during the bench: {status}",
                PROCESSES[i].0
            );
            return Ok(1);
        }
    }
    drop(nodes);
    match result {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&dir);
            Ok(0)
        }
        Err(e) => {
            eprintln!("bench-real overlay: {e} (logs in {})", dir.display());
            Ok(1)
        }
    }
}
