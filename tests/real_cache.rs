//! Three real Raft replicas and three real cache nodes on loopback, driven by `faultline
//! client cache`: a put through one cache is read through another; a cache node is killed
//! (SIGKILL) while it holds a Modified entry, and the acknowledged write is still read,
//! through another cache and through the restarted node.
#![cfg(not(madsim))]

use std::process::{Child, Command, Output, Stdio};

use faultline_nodes::cache::{Event, St};
use faultline_sim::trace::read_jsonl;
use faultline_sim::Ev;

const NAMES: [&str; 7] = ["s1", "s2", "s3", "c1", "c2", "c3", "u1"];

struct Cluster {
    base: u16,
    dir: std::path::PathBuf,
    config: std::path::PathBuf,
    children: Vec<Option<Child>>,
}

impl Cluster {
    fn new() -> Cluster {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("faultline-real-cache-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Eight ports per pid, so the clusters of neighbouring pids never collide.
        let base = 30_000 + (pid % 3_000) as u16 * 8;
        let mut text = "protocol = \"cache\"\ninterface = \"127.0.0.1\"\n\n\
                        [config]\ncapacity = 8\n\n[workload]\nkeys = 16\n"
            .to_string();
        for (i, name) in NAMES.iter().enumerate() {
            let role = match &name[..1] {
                "s" => "server",
                "c" => "cache",
                _ => "client",
            };
            let port = base + i as u16;
            text += &format!(
                "\n[[nodes]]\nname = \"{name}\"\nrole = \"{role}\"\naddr = \"127.0.0.1:{port}\"\n"
            );
        }
        let config = dir.join("cluster.toml");
        std::fs::write(&config, text).unwrap();
        Cluster {
            base,
            dir,
            config,
            children: (0..NAMES.len()).map(|_| None).collect(),
        }
    }

    fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{}.stderr", NAMES[i])))
            .unwrap();
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
        // Wait until it listens: the client refuses at once a cache that does not.
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.base + i as u16));
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                std::time::Instant::now() < until,
                "{} never listened",
                NAMES[i]
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn kill(&mut self, i: usize) {
        let mut child = self.children[i].take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// `faultline client cache WORDS...`: its exit code and what it printed.
    fn client(&self, words: &[&str]) -> (i32, String) {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["client", "--config"])
            .arg(&self.config)
            .args(["--deadline-ms", "8000", "cache"])
            .args(words)
            .output()
            .expect("faultline client runs");
        let out = String::from_utf8_lossy(&stdout).trim().to_string();
        let err = String::from_utf8_lossy(&stderr).trim().to_string();
        (
            status.code().unwrap_or(-1),
            if out.is_empty() { err } else { out },
        )
    }

    /// The last state cache node `i` traced for `key`.
    fn line(&self, i: usize, key: u32) -> Option<St> {
        let path = self.dir.join(format!("{}.trace.jsonl", NAMES[i]));
        let text = std::fs::read_to_string(path).unwrap();
        let (_, records) = read_jsonl::<Event>(&text).unwrap();
        records.iter().rev().find_map(|r| match &r.ev {
            Ev::Proto {
                event: Event::Line { key: k, state, .. },
            } if *k == key => Some(*state),
            _ => None,
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[test]
fn an_acknowledged_put_survives_the_kill_of_the_cache_holding_it_modified() {
    let mut c = Cluster::new();
    for i in 0..6 {
        c.start(i);
    }
    // The first put waits out the store's first election within the client's deadline.
    assert_eq!(
        c.client(&["put", "k3", "7", "--via", "c1"]),
        (0, "ok written to the store (via c1)".into())
    );
    assert_eq!(
        c.client(&["get", "k3", "--via", "c2"]),
        (0, "ok 7 (via c2)".into())
    );
    assert_eq!(
        c.client(&["put", "k5", "11", "--via", "c1"]),
        (0, "ok written to the store (via c1)".into())
    );
    assert_eq!(c.line(3, 5), Some(St::M), "c1 holds k5 Modified");
    // Under MESI a read through another cache took k3 from c1, which dropped to Shared.
    assert_eq!(c.line(3, 3), Some(St::S), "c1 shares k3 after c2 read it");

    c.kill(3);
    c.start(3);
    assert_eq!(
        c.client(&["get", "k5", "--via", "c2"]),
        (0, "ok 11 (via c2)".into())
    );
    assert_eq!(
        c.client(&["get", "k5", "--via", "c1"]),
        (0, "ok 11 (via c1)".into())
    );
    assert_eq!(
        c.client(&["get", "k3", "--via", "c3"]),
        (0, "ok 7 (via c3)".into())
    );

    // Invalidate drops c2's copy; the next read through c2 misses and still reads 11.
    assert_eq!(
        c.client(&["invalidate", "k5", "--via", "c2"]),
        (0, "ok c2 dropped its copy".into())
    );
    assert_eq!(c.line(4, 5), Some(St::I));
    assert_eq!(
        c.client(&["get", "k5", "--via", "c2"]),
        (0, "ok 11 (via c2)".into())
    );
}
