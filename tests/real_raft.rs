//! Three real Raft replicas and a workload client on loopback: writes succeed, the leader is
//! killed (SIGKILL), writes go on under a new leader, the old leader restarts from its durable
//! state and catches up. Judged from the processes' own traces by Raft's own checks. Also:
//! bad frames over TCP are refused and traced while the replicas keep serving.
#![cfg(not(madsim))]

mod real;

use std::process::Command;
use std::time::{Duration, Instant};

use faultline::cluster::Cluster as ClusterFile;
use faultline::registry::Registry;
use faultline_nodes::raft::{Event, Outcome, Raft};
use faultline_sim::{Ev, NodeId, Protocol, Record};

use real::{free_ports, node_entry, now_us, Nodes};

const NAMES: [&str; 4] = ["s1", "s2", "s3", "c1"];
/// The client, an index into [`NAMES`].
const CLIENT: usize = 3;

/// Three replicas and a client; `test` names the folder of each test that runs at once in
/// one process.
fn cluster(test: &str) -> Nodes {
    let pid = std::process::id();
    // The multicast port, then one per node.
    let base = free_ports(NAMES.len() as u16 + 1);
    let mut text = format!(
        "protocol = \"raft\"\nmulticast = \"239.255.{}.{}:{base}\"\ninterface = \"127.0.0.1\"\n\n\
         [config]\nelection_timeout_ms_min = 300\nelection_timeout_ms_max = 600\nheartbeat_ms = 50\n\n\
         [workload]\nops = 100000\nrate_ms = 20\nstart_ms = 500\nretry_ms = 200\ntimeout_ms = 3000\n\n\
         [workload.mix]\nkv = 1\nlock = 0\nqueue = 0\n",
        100 + pid % 100,
        1 + base % 200
    );
    for (i, name) in NAMES.iter().enumerate() {
        let role = if name.starts_with('s') {
            "server"
        } else {
            "client"
        };
        text += &node_entry(name, role, base + 1 + i as u16);
    }
    Nodes::new(&format!("real-raft-{test}"), &text, &NAMES, "")
}

/// Node `i`'s address, as the cluster file gives it.
fn addr(c: &Nodes, i: usize) -> std::net::SocketAddr {
    ClusterFile::load(&c.config, &Registry::builtin())
        .unwrap()
        .file
        .nodes[i]
        .addr
}

/// The node that most recently became leader, and when.
fn leader(c: &Nodes) -> Option<(usize, u64)> {
    (0..3)
        .flat_map(|i| {
            c.events(i).into_iter().filter_map(move |(t, e)| match e {
                Event::BecameLeader { term } => Some((term, t, i)),
                _ => None,
            })
        })
        .max()
        .map(|(_, t, i)| (i, t))
}

/// Successful client operations that returned after `since_us`.
fn ok_ops_since(c: &Nodes, since_us: u64) -> usize {
    (c.events(CLIENT).into_iter())
        .filter(|(t, e)| {
            *t > since_us
                && matches!(e, Event::Return { result, .. } if matches!(**result, Outcome::Ok { .. }))
        })
        .count()
}

/// The highest index a replica applied.
fn applied(c: &Nodes, i: usize) -> u64 {
    (c.events(i).into_iter())
        .filter_map(|(_, e)| match e {
            Event::Applied { index, .. } => Some(index),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn three_real_replicas_survive_a_leader_kill_and_the_old_leader_catches_up() {
    let mut c = cluster("kill");
    for i in 0..4 {
        c.start(i);
    }
    c.wait_until(
        "a leader and 20 successful writes",
        Duration::from_secs(20),
        |c| leader(c).is_some() && ok_ops_since(c, 0) >= 20,
    );
    let (old, _) = leader(&c).unwrap();
    let killed_at = c.kill(old);
    c.wait_until("a new leader", Duration::from_secs(20), |c| {
        leader(c).is_some_and(|(i, t)| i != old && t > killed_at)
    });
    c.wait_until(
        "20 writes under the new leader",
        Duration::from_secs(20),
        |c| ok_ops_since(c, killed_at) >= 20,
    );

    let restarted_at = now_us();
    let target = (0..3)
        .filter(|i| *i != old)
        .map(|i| applied(&c, i))
        .max()
        .unwrap();
    c.start(old);
    c.wait_until("the old leader to catch up", Duration::from_secs(20), |c| {
        applied(c, old) >= target
    });
    std::thread::sleep(Duration::from_millis(500));
    for i in 0..4 {
        if c.is_up(i) {
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
        applied(&c, old) >= target,
        "the restarted replica applied up to {} of {target}",
        applied(&c, old)
    );
}

fn client(c: &Nodes, op: &[&str]) -> (Option<i32>, String) {
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
    let mut c = cluster("client");
    for i in 0..3 {
        c.start(i);
    }
    c.wait_until("a leader", Duration::from_secs(20), |c| leader(c).is_some());
    let (code, out) = client(&c, &["kv", "put", "k", "v1"]);
    assert_eq!(code, Some(0), "{out}");
    let (old, _) = leader(&c).unwrap();
    let killed_at = c.kill(old);
    c.wait_until("a new leader", Duration::from_secs(20), |c| {
        leader(c).is_some_and(|(i, t)| i != old && t > killed_at)
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

    let mut c = cluster("bad-frames");
    for i in 0..3 {
        c.start(i);
    }
    c.wait_until("a leader", Duration::from_secs(20), |c| leader(c).is_some());
    let mut good = Vec::new();
    faultline_sim::runtime::wire::encode(NodeId(3), 1, &Junk("hello".repeat(20)), &mut good)
        .unwrap();
    let mut garbled = good.clone();
    garbled[30] ^= 0x08;
    // An idle connection that never sends a byte holds its slot but harms no one.
    let _idle: Vec<TcpStream> = (0..3)
        .map(|i| TcpStream::connect(addr(&c, i)).unwrap())
        .collect();
    for i in 0..3 {
        // Oversized: a length prefix far past the bound, then bytes that must not be read.
        let mut conn = TcpStream::connect(addr(&c, i)).unwrap();
        conn.write_all(&u32::MAX.to_le_bytes()).unwrap();
        let _ = conn.write_all(&[0xAB; 1000]);
        assert!(closed_by_peer(&mut conn), "s{}: oversized frame", i + 1);

        // Truncated: the prefix promises the whole datagram, half arrives, the peer hangs up.
        let mut conn = TcpStream::connect(addr(&c, i)).unwrap();
        conn.write_all(&(good.len() as u32).to_le_bytes()).unwrap();
        conn.write_all(&good[..good.len() / 2]).unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        assert!(closed_by_peer(&mut conn), "s{}: truncated frame", i + 1);

        // Garbled: a whole frame with one bit flipped, so its checksum fails.
        let mut conn = TcpStream::connect(addr(&c, i)).unwrap();
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
            .trace::<Event>(i)
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
    let c = cluster("refused");
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
