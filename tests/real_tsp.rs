//! A real TSP solver on loopback: three coordinator replicas and two workers as `faultline
//! node` processes, and `faultline client tsp solve` submitting burma14 (TSPLIB, optimum
//! 3323). Mid-solve a worker and then the active coordinator are killed (SIGKILL); the
//! client still gets the optimal tour, from the replica that took over with the finished
//! work, and every subproblem is counted exactly once across the replicas' traces.
#![cfg(not(madsim))]

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faultline_nodes::tsp::Event;
use faultline_sim::check::TaskFact;
use faultline_sim::trace::read_jsonl;
use faultline_sim::{Ev, Record};

const NAMES: [&str; 6] = ["co1", "co2", "co3", "w1", "w2", "c1"];
/// Indices into [`NAMES`].
const CO2: usize = 1;
const CO3: usize = 2;
const W1: usize = 3;
const W2: usize = 4;
/// burma14 split two cities deep: 13 x 12 subproblems.
const TASKS: u64 = 156;

struct Cluster {
    dir: std::path::PathBuf,
    config: std::path::PathBuf,
    children: Vec<Option<Child>>,
}

impl Cluster {
    fn new() -> Cluster {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("faultline-real-tsp-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let base = 30_000 + (pid % 2_000) as u16 * 10;
        // node_us stretches each search by simulated time per node expanded, so that the
        // solve lasts a few seconds (long enough to kill nodes in the middle of it) without
        // burning the CPU of a shared machine.
        let mut text = String::from(
            "protocol = \"tsp\"\ninterface = \"127.0.0.1\"\n\n\
             [config]\nheartbeat_ms = 50\npeer_timeout_ms = 600\nelection_timeout_ms = 300\nnode_us = 4\n",
        );
        for (i, name) in NAMES.iter().enumerate() {
            let role = match &name[..1] {
                "c" if name.starts_with("co") => "coordinator",
                "w" => "worker",
                _ => "client",
            };
            text += &format!(
                "\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{}\"\n",
                base + 1 + i as u16
            );
        }
        let config = dir.join("cluster.toml");
        std::fs::write(&config, text).unwrap();
        Cluster {
            dir,
            config,
            children: (0..NAMES.len()).map(|_| None).collect(),
        }
    }

    fn start(&mut self, i: usize) {
        let log = std::fs::File::create(self.dir.join(format!("{}.stderr", NAMES[i]))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["node", "--config"])
            .arg(&self.config)
            .args(["--id", NAMES[i], "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("faultline node starts");
        self.children[i] = Some(child);
    }

    /// SIGKILLs node `i`; returns when (µs since the epoch).
    fn kill(&mut self, i: usize) -> u64 {
        let mut child = self.children[i].take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
        now_us()
    }

    fn trace(&self, i: usize) -> Vec<Record<Event>> {
        let text = std::fs::read_to_string(self.dir.join(format!("{}.trace.jsonl", NAMES[i])))
            .unwrap_or_default();
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        read_jsonl(complete).map(|(_, r)| r).unwrap_or_default()
    }

    /// The subproblems coordinator `i` counted, with when.
    fn counted(&self, i: usize) -> Vec<(u64, u64)> {
        self.trace(i)
            .into_iter()
            .filter_map(|r| match r.ev {
                Ev::Proto {
                    event: Event::Task(TaskFact::Counted { id }),
                } => Some((id, r.t)),
                _ => None,
            })
            .collect()
    }

    /// When coordinator `i` became active, and how many results it already had.
    fn activations(&self, i: usize) -> Vec<(u64, u32)> {
        self.trace(i)
            .into_iter()
            .filter_map(|r| match r.ev {
                Ev::Proto {
                    event: Event::Active { counted, .. },
                } => Some((r.t, counted)),
                _ => None,
            })
            .collect()
    }

    /// When worker `i` finished its searches.
    fn searched(&self, i: usize) -> Vec<u64> {
        self.trace(i)
            .into_iter()
            .filter_map(|r| match r.ev {
                Ev::Proto {
                    event: Event::Searched { .. },
                } => Some(r.t),
                _ => None,
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn a_real_solver_survives_a_worker_and_the_active_coordinator_killed_mid_solve() {
    let mut c = Cluster::new();
    for i in 0..5 {
        c.start(i);
    }
    wait_until("co3 active", Duration::from_secs(10), || {
        !c.activations(CO3).is_empty()
    });
    let burma14 = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tsp/burma14.tsp");
    let client = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["client", "--config"])
        .arg(&c.config)
        .args(["--deadline-ms", "25000", "tsp", "solve", burma14])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline client starts");

    wait_until("20 results counted", Duration::from_secs(15), || {
        c.counted(CO3).len() >= 20
    });
    let worker_killed_at = c.kill(W1);
    wait_until("40 results counted", Duration::from_secs(15), || {
        c.counted(CO3).len() >= 40
    });
    let coordinator_killed_at = c.kill(CO3);
    let before_failover = c.counted(CO3).len();
    assert!(
        (before_failover as u64) < TASKS,
        "the solve ended before the active coordinator was killed; slow it down (node_us)"
    );

    let out = client.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "client failed: {stdout}{stderr} (logs in {})",
        c.dir.display()
    );
    assert!(
        stdout.contains("burma14: 14 cities, tour length 3323"),
        "not the optimum: {stdout}"
    );

    // co2 (the highest replica left) took over with the finished work, not from scratch.
    let (_, had) = *c
        .activations(CO2)
        .iter()
        .find(|(t, _)| *t > coordinator_killed_at)
        .expect("co2 became active after co3 was killed");
    assert!(had > 0, "co2 took over with no finished result");
    // The surviving worker kept searching after the other was killed.
    assert!(c.searched(W2).iter().any(|&t| t > worker_killed_at));
    // Every subproblem counted exactly once across the replicas.
    let mut counts = BTreeMap::new();
    for i in 0..3 {
        for (id, _) in c.counted(i) {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    assert_eq!(counts.len() as u64, TASKS, "some subproblem never counted");
    assert!(
        counts.values().all(|&n| n == 1),
        "some subproblem counted twice: {counts:?}"
    );
}
