//! What the real-process tests share: `faultline node` processes of one cluster file started,
//! killed with SIGKILL and read back from their traces, and waiting for something with a
//! bound. Each test writes its own cluster file into a scratch folder that goes away with
//! it, unless the test failed, on ports [`free_ports`] found free. A wait that fails says
//! what every node was doing (a real Raft test once timed out waiting for a leader in CI, a
//! real TSP test waiting for results, and neither output said why).
#![allow(dead_code, reason = "each test uses the part it needs")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faultline_sim::trace::read_jsonl;
use faultline_sim::ProtoEvent;
use faultline_sim::{Ev, Record};

/// The node processes of one cluster file.
pub struct Nodes {
    /// The scratch folder: the cluster file, the nodes' stderr logs.
    pub dir: PathBuf,
    /// The cluster file.
    pub config: PathBuf,
    /// Where the nodes keep traces and durable state (`--dir`).
    pub data: PathBuf,
    /// The nodes' names, in the order tests index them.
    names: Vec<String>,
    /// Each node's running process.
    children: Vec<Option<Child>>,
}

impl Nodes {
    /// A fresh scratch folder `faultline-<test>-<pid>` with `cluster` written into it as
    /// `cluster.toml`; the nodes `names` keep their data in `data` under it ("" for the
    /// folder itself).
    pub fn new(test: &str, cluster: &str, names: &[&str], data: &str) -> Nodes {
        let dir = std::env::temp_dir().join(format!("faultline-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("cluster.toml");
        std::fs::write(&config, cluster).unwrap();
        Nodes {
            data: dir.join(data),
            dir,
            config,
            names: names.iter().map(|n| n.to_string()).collect(),
            children: names.iter().map(|_| None).collect(),
        }
    }

    /// Node `i`'s name.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Starts node `i` (its stderr appended to `<dir>/<name>.stderr`, across restarts).
    pub fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.stderr", self.names[i])))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["node", "--config"])
            .arg(&self.config)
            .args(["--id", &self.names[i], "--dir"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("faultline node starts");
        self.children[i] = Some(child);
    }

    /// Whether node `i` runs.
    pub fn is_up(&self, i: usize) -> bool {
        self.children[i].is_some()
    }

    /// SIGKILLs node `i` and waits for it; returns when (µs since the epoch).
    pub fn kill(&mut self, i: usize) -> u64 {
        let mut child = self.children[i].take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
        now_us()
    }

    /// The complete records of node `i`'s trace so far (a line being written is left out).
    pub fn trace<E: ProtoEvent>(&self, i: usize) -> Vec<Record<E>> {
        let path = self.data.join(format!("{}.trace.jsonl", self.names[i]));
        read_complete(&path)
    }

    /// The protocol events of node `i`'s trace so far, with when.
    pub fn events<E: ProtoEvent>(&self, i: usize) -> Vec<(u64, E)> {
        (self.trace(i).into_iter())
            .filter_map(|r| match r.ev {
                Ev::Proto { event } => Some((r.t, event)),
                _ => None,
            })
            .collect()
    }
}

impl Nodes {
    /// Waits until `ok` holds of the nodes, polling every 50 ms. Fails the test naming `what`
    /// after `within`, or at once if a node's process ended that the test did not kill
    /// (it could not bind its port, say), with what every node is doing and the end of its
    /// stderr: a real run that stalls in CI is diagnosed from the test's output alone.
    pub fn wait_until(&mut self, what: &str, within: Duration, mut ok: impl FnMut(&Nodes) -> bool) {
        let deadline = Instant::now() + within;
        while !ok(self) {
            if let Some(i) = self.exited() {
                let name = self.names[i].clone();
                panic!("{name} exited while waiting for {what}\n{}", self.report());
            }
            if Instant::now() >= deadline {
                panic!("timed out waiting for {what}\n{}", self.report());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A node whose process ended on its own, if any.
    fn exited(&mut self) -> Option<usize> {
        (self.children.iter_mut()).position(|c| {
            c.as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))))
        })
    }

    /// Each node: running, ended (how) or killed; its trace's length; its stderr's last lines.
    pub fn report(&mut self) -> String {
        let mut out = format!("nodes (folder {}):\n", self.dir.display());
        for i in 0..self.names.len() {
            let state = match self.children[i].as_mut().map(|c| c.try_wait()) {
                None => "not running (killed or never started)".to_string(),
                Some(Ok(None)) => "running".to_string(),
                Some(Ok(Some(status))) => format!("ended: {status}"),
                Some(Err(e)) => format!("unknown: {e}"),
            };
            let path = self.data.join(format!("{}.trace.jsonl", self.names[i]));
            let records = std::fs::read_to_string(&path).map_or(0, |t| t.lines().count());
            out += &format!("- {}: {state}, {records} trace records\n", self.names[i]);
            let log = std::fs::read_to_string(self.dir.join(format!("{}.stderr", self.names[i])))
                .unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            for line in &lines[lines.len().saturating_sub(STDERR_LINES)..] {
                out += &format!("    {line}\n");
            }
        }
        out
    }
}

/// A cluster file's `[[nodes]]` entry: `name` of `role` on loopback port `port`.
pub fn node_entry(name: &str, role: &str, port: u16) -> String {
    format!("\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{port}\"\n")
}

/// Lines of each node's stderr a failed wait shows.
const STDERR_LINES: usize = 12;

/// The first of `count` consecutive loopback ports, all free for TCP and UDP right now.
/// Blocks of [`PORTS_PER_BLOCK`] are searched from a pid-derived one in 10000..32000, below
/// Linux's ephemeral range (so an outgoing connection is never lent one later); concurrent
/// test processes start apart, the tests of one process take blocks in turn, and a port some
/// process holds is stepped over instead of making a node fail to bind.
pub fn free_ports(count: u16) -> u16 {
    const LOW: u32 = 10_000;
    const HIGH: u32 = 32_000;
    static NEXT: std::sync::Mutex<u32> = std::sync::Mutex::new(0);
    assert!(count <= PORTS_PER_BLOCK, "at most {PORTS_PER_BLOCK} ports");
    let blocks = (HIGH - LOW) / PORTS_PER_BLOCK as u32;
    // Four blocks per pid before the next pid's first.
    let first = std::process::id().wrapping_mul(4) % blocks;
    let mut next = NEXT.lock().unwrap_or_else(|p| p.into_inner());
    for k in *next..*next + blocks {
        let base = (LOW + (first + k) % blocks * PORTS_PER_BLOCK as u32) as u16;
        let free = (base..base + count).all(|port| {
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
                && std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
        });
        if free {
            *next = k + 1;
            return base;
        }
    }
    panic!("no {count} consecutive free loopback ports in {LOW}..{HIGH}");
}

/// Ports in a block of [`free_ports`].
pub const PORTS_PER_BLOCK: u16 = 20;

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // A failed test leaves its folder (logs, traces) to look at.
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The complete records of a trace file being written (none if it is not there yet).
pub fn read_complete<E: ProtoEvent>(path: &Path) -> Vec<Record<E>> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    read_jsonl(complete).map(|(_, r)| r).unwrap_or_default()
}

/// Microseconds since the epoch, the clock real nodes stamp their traces with.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// Waits until `ok` holds, polling every 50 ms; fails the test naming `what` after `within`.
/// For a condition on nodes, [`Nodes::wait_until`] says more when it fails.
pub fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
