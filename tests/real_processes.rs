//! Three real `faultline node bully` processes on loopback, over UDP multicast: they elect
//! the highest, the leader is killed (SIGKILL), the others re-elect, the old leader restarts
//! and takes over again. Judged from the processes' own trace files.
#![cfg(not(madsim))]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faultline::summary::analyse;
use faultline_nodes::bully::Event;
use faultline_sim::trace::read_jsonl;
use faultline_sim::{Ev, NodeId, Record};

struct Cluster {
    dir: PathBuf,
    config: PathBuf,
    children: Vec<Option<Child>>,
}

impl Cluster {
    fn new() -> Cluster {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("faultline-real-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Ports and group from the pid, so concurrent test runs do not hear each other.
        let base = 10_000 + (pid % 20_000) as u16;
        let group = format!("239.255.{}.{}", 100 + pid % 100, 1 + pid % 200);
        let config = dir.join("cluster.toml");
        let mut text = format!(
            "protocol = \"bully\"\nmulticast = \"{group}:{base}\"\ninterface = \"127.0.0.1\"\n\n\
             [config]\nheartbeat_ms = 100\npeer_timeout_ms = 600\nelection_timeout_ms = 300\ndiscovery_ms = 400\n"
        );
        for i in 1..=3 {
            text += &format!(
                "\n[[nodes]]\nname = \"s{i}\"\nrole = \"server\"\naddr = \"127.0.0.1:{}\"\n",
                base + i
            );
        }
        std::fs::write(&config, text).unwrap();
        Cluster {
            dir,
            config,
            children: vec![None, None, None],
        }
    }

    fn start(&mut self, i: usize) {
        let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["node", "bully", "--config"])
            .arg(&self.config)
            .args(["--id", &format!("s{}", i + 1), "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("faultline node starts");
        self.children[i] = Some(child);
    }

    fn kill(&mut self, i: usize) -> u64 {
        let mut child = self.children[i].take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64
    }

    fn trace(&self, i: usize) -> Vec<Record<Event>> {
        let path = self.dir.join(format!("s{}.trace.jsonl", i + 1));
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // The last line may be half-written while the node runs.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        read_jsonl(complete).map(|(_, r)| r).unwrap_or_default()
    }

    /// The leader each node follows now, per its trace.
    fn leaders(&self, nodes: &[usize]) -> Vec<Option<NodeId>> {
        nodes
            .iter()
            .map(|&i| {
                self.trace(i).iter().rev().find_map(|r| match r.ev {
                    Ev::Leader { leader } => Some(leader),
                    _ => None,
                })?
            })
            .collect()
    }

    fn wait_for_leader(&self, nodes: &[usize], leader: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self
                .leaders(nodes)
                .iter()
                .all(|l| *l == Some(NodeId(leader as u16)))
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
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

fn names() -> Vec<String> {
    vec!["s1".into(), "s2".into(), "s3".into()]
}

#[test]
fn three_real_servers_reelect_after_the_leader_is_killed() {
    let mut c = Cluster::new();
    for i in 0..3 {
        c.start(i);
    }
    assert!(
        c.wait_for_leader(&[0, 1, 2], 2, Duration::from_secs(15)),
        "no agreement on s3: {:?}",
        c.leaders(&[0, 1, 2])
    );

    let killed_at = c.kill(2);
    assert!(
        c.wait_for_leader(&[0, 1], 1, Duration::from_secs(15)),
        "no re-election of s2: {:?}",
        c.leaders(&[0, 1])
    );

    c.start(2);
    assert!(
        c.wait_for_leader(&[0, 1, 2], 2, Duration::from_secs(15)),
        "s3 did not take over: {:?}",
        c.leaders(&[0, 1, 2])
    );

    // Merge the three traces (one host, one clock), add the kill the dead process could not
    // record, and summarise them as a simulated run would be.
    let mut records: Vec<Record<Event>> = (0..3).flat_map(|i| c.trace(i)).collect();
    records.push(Record {
        t: killed_at,
        node: NodeId(2),
        ev: Ev::Crash,
    });
    records.sort_by_key(|r| r.t);
    let t0 = records[0].t;
    for r in &mut records {
        r.t -= t0;
    }
    let analysis = analyse(&records, &names());
    let leaders: Vec<&str> = analysis
        .elections
        .iter()
        .map(|e| e.leader.as_str())
        .collect();
    assert!(
        leaders.windows(3).any(|w| w == ["s3", "s2", "s3"]),
        "elections {leaders:?}"
    );
    let crash = analysis
        .recoveries
        .iter()
        .find(|r| r.fault == "crash s3")
        .expect("the kill is a fault");
    assert!(
        crash.recovered_ms.is_some_and(|ms| ms < 5000.0),
        "{crash:?}"
    );
    let delivered = records
        .iter()
        .filter(|r| matches!(r.ev, Ev::Deliver { .. }))
        .count();
    assert!(delivered > 50, "real datagrams flowed: {delivered}");
    assert!(Path::new(&c.dir).join("s3.durable").exists());
}
