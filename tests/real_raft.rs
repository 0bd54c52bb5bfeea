//! Three real Raft replicas and a workload client on loopback: writes succeed, the leader is
//! killed (SIGKILL), writes go on under a new leader, the old leader restarts from its durable
//! state and catches up. Judged from the processes' own traces by Raft's own checks. Also:
//! bad frames over TCP are refused and traced while the replicas keep serving.
#![cfg(not(madsim))]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faultline::cluster::Cluster as ClusterFile;
use faultline::registry::Registry;
use faultline_nodes::raft::{Event, Outcome, Raft};
use faultline_sim::trace::read_jsonl;
use faultline_sim::{Ev, NodeId, Protocol, Record};

const NAMES: [&str; 4] = ["s1", "s2", "s3", "c1"];

struct Cluster {
    dir: std::path::PathBuf,
    config: std::path::PathBuf,
    children: Vec<Option<Child>>,
}

impl Cluster {
    /// `test` tells apart the clusters of tests that run at once in one process.
    fn new(test: u16) -> Cluster {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("faultline-real-raft-{pid}-{test}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let base = 10_000 + (pid % 1_000) as u16 * 20 + test * 5;
        let mut text = format!(
            "protocol = \"raft\"\nmulticast = \"239.255.{}.{}:{base}\"\ninterface = \"127.0.0.1\"\n\n\
             [config]\nelection_timeout_ms_min = 300\nelection_timeout_ms_max = 600\nheartbeat_ms = 50\n\n\
             [workload]\nops = 100000\nrate_ms = 20\nstart_ms = 500\nretry_ms = 200\ntimeout_ms = 3000\n\n\
             [workload.mix]\nkv = 1\nlock = 0\nqueue = 0\n",
            100 + pid % 100,
            1 + pid % 200
        );
        for (i, name) in NAMES.iter().enumerate() {
            let role = if name.starts_with('s') {
                "server"
            } else {
                "client"
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
        let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["node", "--config"])
            .arg(&self.config)
            .args(["--id", NAMES[i], "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(self.log(i))
            .spawn()
            .expect("faultline node starts");
        self.children[i] = Some(child);
    }

    /// Where node `i`'s stderr goes (appended across restarts).
    fn log(&self, i: usize) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.stderr", NAMES[i])))
            .unwrap()
    }

    fn addr(&self, i: usize) -> std::net::SocketAddr {
        ClusterFile::load(&self.config, &Registry::builtin())
            .unwrap()
            .file
            .nodes[i]
            .addr
    }

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

    /// The node that most recently became leader, and when.
    fn leader(&self) -> Option<(usize, u64)> {
        (0..3)
            .flat_map(|i| {
                self.trace(i).into_iter().filter_map(move |r| match r.ev {
                    Ev::Proto {
                        event: Event::BecameLeader { term },
                    } => Some((term, r.t, i)),
                    _ => None,
                })
            })
            .max()
            .map(|(_, t, i)| (i, t))
    }

    /// Successful client operations that returned after `since_us`.
    fn ok_ops_since(&self, since_us: u64) -> usize {
        self.trace(3)
            .iter()
            .filter(|r| {
                r.t > since_us
                    && matches!(
                        &r.ev,
                        Ev::Proto {
                            event: Event::Return { result, .. }
                        } if matches!(**result, Outcome::Ok { .. })
                    )
            })
            .count()
    }

    /// The highest index a replica applied.
    fn applied(&self, i: usize) -> u64 {
        self.trace(i)
            .iter()
            .filter_map(|r| match r.ev {
                Ev::Proto {
                    event: Event::Applied { index, .. },
                } => Some(index),
                _ => None,
            })
            .max()
            .unwrap_or(0)
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
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn three_real_replicas_survive_a_leader_kill_and_the_old_leader_catches_up() {
    let mut c = Cluster::new(0);
    for i in 0..4 {
        c.start(i);
    }
    wait_until(
        "a leader and 20 successful writes",
        Duration::from_secs(20),
        || c.leader().is_some() && c.ok_ops_since(0) >= 20,
    );
    let (old, _) = c.leader().unwrap();
    let killed_at = c.kill(old);
    wait_until("a new leader", Duration::from_secs(20), || {
        c.leader().is_some_and(|(i, t)| i != old && t > killed_at)
    });
    wait_until(
        "20 writes under the new leader",
        Duration::from_secs(20),
        || c.ok_ops_since(killed_at) >= 20,
    );

    let restarted_at = now_us();
    let target = (0..3)
        .filter(|i| *i != old)
        .map(|i| c.applied(i))
        .max()
        .unwrap();
    c.start(old);
    wait_until(
        "the old leader to catch up",
        Duration::from_secs(20),
        || c.applied(old) >= target,
    );
    std::thread::sleep(Duration::from_millis(500));
    c.kill(3);
    for i in 0..3 {
        if c.children[i].is_some() {
            c.kill(i);
        }
    }

    // Merge the traces (one host, one clock), add the kill the dead process could not record,
    // and judge them with Raft's own checks.
    let mut records: Vec<Record<Event>> = (0..4).flat_map(|i| c.trace(i)).collect();
    records.push(Record {
        t: killed_at,
        node: NodeId(old as u16),
        ev: Ev::Crash,
    });
    records.sort_by_key(|r| r.t);
    let cluster = ClusterFile::load(&c.config, &Registry::builtin()).unwrap();
    let raft = Raft::new(&cluster.setup(), &cluster.source()).unwrap();
    let mut checks = raft.checks();
    for rec in &records {
        for check in checks.iter_mut() {
            check
                .observe(rec)
                .unwrap_or_else(|e| panic!("{}: {e}", check.name()));
        }
    }
    let end = records.last().unwrap().t;
    for check in checks.iter_mut() {
        let v = check.finish(end);
        if [
            "election-safety",
            "leader-append-only",
            "log-matching",
            "leader-completeness",
            "state-machine-safety",
            "kv-linearizable",
        ]
        .contains(&v.name.as_str())
        {
            assert!(v.ok, "{}: {}", v.name, v.detail);
        }
    }
    assert!(restarted_at > killed_at);
    assert!(
        c.applied(old) >= target,
        "the restarted replica applied up to {} of {target}",
        c.applied(old)
    );
}

fn client(c: &Cluster, op: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["client", "--config"])
        .arg(&c.config)
        .args(["--id", "c1", "--deadline-ms", "8000"])
        .args(op)
        .output()
        .expect("faultline client runs");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_client_command_writes_and_reads_across_a_leader_kill() {
    let mut c = Cluster::new(1);
    for i in 0..3 {
        c.start(i);
    }
    wait_until("a leader", Duration::from_secs(20), || c.leader().is_some());
    let (code, out) = client(&c, &["kv", "put", "k", "v1"]);
    assert_eq!(code, Some(0), "{out}");
    let (old, _) = c.leader().unwrap();
    let killed_at = c.kill(old);
    wait_until("a new leader", Duration::from_secs(20), || {
        c.leader().is_some_and(|(i, t)| i != old && t > killed_at)
    });
    let (code, out) = client(&c, &["kv", "get", "k"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(r#""value":"v1""#),
        "the acknowledged write survived the leader: {out}"
    );
    let (code, out) = client(&c, &["kv", "cas", "k", "v0", "v2"]);
    assert_eq!(
        code,
        Some(1),
        "a compare-and-set against the wrong value is refused: {out}"
    );
}

/// Any message: a replica must refuse the frame before it gets as far as the message type.
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug)]
struct Junk(String);
impl faultline_sim::Message for Junk {
    const KINDS: &'static [(&'static str, faultline_sim::MsgKind)] =
        &[("Junk", faultline_sim::MsgKind::Control)];
    fn label(&self) -> &'static str {
        "Junk"
    }
}

/// Waits for the replica to close `conn` (read returns end of stream or a reset).
fn closed_by_peer(conn: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn bad_frames_over_tcp_are_refused_and_traced_while_the_replicas_keep_serving() {
    use std::io::Write;
    use std::net::{Shutdown, TcpStream};

    let mut c = Cluster::new(2);
    for i in 0..3 {
        c.start(i);
    }
    wait_until("a leader", Duration::from_secs(20), || c.leader().is_some());
    let mut good = Vec::new();
    faultline_sim::runtime::wire::encode(NodeId(3), 1, &Junk("hello".repeat(20)), &mut good)
        .unwrap();
    let mut garbled = good.clone();
    garbled[30] ^= 0x08;
    // An idle connection that never sends a byte holds its slot but harms no one.
    let _idle: Vec<TcpStream> = (0..3)
        .map(|i| TcpStream::connect(c.addr(i)).unwrap())
        .collect();
    for i in 0..3 {
        // Oversized: a length prefix far past the bound, then bytes that must not be read.
        let mut conn = TcpStream::connect(c.addr(i)).unwrap();
        conn.write_all(&u32::MAX.to_le_bytes()).unwrap();
        let _ = conn.write_all(&[0xAB; 1000]);
        assert!(closed_by_peer(&mut conn), "s{}: oversized frame", i + 1);

        // Truncated: the prefix promises the whole datagram, half arrives, the peer hangs up.
        let mut conn = TcpStream::connect(c.addr(i)).unwrap();
        conn.write_all(&(good.len() as u32).to_le_bytes()).unwrap();
        conn.write_all(&good[..good.len() / 2]).unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        assert!(closed_by_peer(&mut conn), "s{}: truncated frame", i + 1);

        // Garbled: a whole frame with one bit flipped, so its checksum fails.
        let mut conn = TcpStream::connect(c.addr(i)).unwrap();
        conn.write_all(&(garbled.len() as u32).to_le_bytes())
            .unwrap();
        conn.write_all(&garbled).unwrap();
        assert!(closed_by_peer(&mut conn), "s{}: garbled frame", i + 1);
    }

    let (code, out) = client(&c, &["kv", "put", "after", "attack"]);
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = client(&c, &["kv", "get", "after"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(r#""value":"attack""#), "{out}");

    for i in 0..3 {
        let corrupt: Vec<u32> = c
            .trace(i)
            .iter()
            .filter_map(|r| match r.ev {
                Ev::Corrupt { bytes } => Some(bytes),
                _ => None,
            })
            .collect();
        // The bytes that arrived of each bad frame: the oversized one's prefix, half a
        // datagram, the whole garbled datagram.
        assert_eq!(
            corrupt,
            vec![4, (good.len() / 2) as u32, garbled.len() as u32],
            "s{}: corrupt frames in the trace",
            i + 1
        );
        let log = std::fs::read_to_string(c.dir.join(format!("s{}.stderr", i + 1))).unwrap();
        for why in ["exceeds the bound", "truncated", "Checksum"] {
            assert!(
                log.lines()
                    .any(|l| l.contains("refused a frame") && l.contains(why)),
                "s{}: no log line for `{why}` in:\n{log}",
                i + 1
            );
        }
    }
}

#[test]
fn the_client_refuses_at_once_what_cannot_work() {
    // No replica is started: every server refuses the connection.
    let c = Cluster::new(3);
    let started = Instant::now();
    let (code, out) = client(&c, &["kv", "get", "k"]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("connection refused by every server"), "{out}");
    assert!(
        out.contains("s1 (127.0.0.1:"),
        "names each server and its address: {out}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "fails fast, not at the deadline"
    );

    let big = "v".repeat(100 * 1024);
    let (code, out) = client(&c, &["kv", "put", "k", &big]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("too large") && out.contains("256 bytes"),
        "{out}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["client", "--config"])
        .arg(&c.config)
        .args(["--id", "s1", "kv", "get", "k"])
        .output()
        .expect("faultline client runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("`s1` is a server"), "{text}");
}
