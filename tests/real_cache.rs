//! Three real Raft replicas and three real cache nodes on loopback, driven by `faultline
//! client cache`: a put through one cache is read through another; a cache node is killed
//! (SIGKILL) while it holds a Modified entry, and the acknowledged write is still read,
//! through another cache and through the restarted node.
#![cfg(not(madsim))]

mod real;

use std::process::{Command, Output};
use std::time::Duration;

use faultline_nodes::cache::{Event, St};

use real::{free_ports, node_entry, Nodes};

const NAMES: [&str; 7] = ["s1", "s2", "s3", "c1", "c2", "c3", "u1"];

struct Cluster {
    /// The first node's port; node `i` listens on `base + i`.
    base: u16,
    nodes: Nodes,
}

impl Cluster {
    fn new() -> Cluster {
        let base = free_ports(NAMES.len() as u16);
        let mut text = "protocol = \"cache\"\ninterface = \"127.0.0.1\"\n\n\
                        [config]\ncapacity = 8\n\n[workload]\nkeys = 16\n"
            .to_string();
        for (i, name) in NAMES.iter().enumerate() {
            let role = match &name[..1] {
                "s" => "server",
                "c" => "cache",
                _ => "client",
            };
            text += &node_entry(name, role, base + i as u16);
        }
        Cluster {
            base,
            nodes: Nodes::new("real-cache", &text, &NAMES, ""),
        }
    }

    /// Starts node `i` and waits until it listens: the client refuses at once a cache that
    /// does not.
    fn start(&mut self, i: usize) {
        self.nodes.start(i);
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.base + i as u16));
        self.nodes.wait_until(
            &format!("{} to listen", NAMES[i]),
            Duration::from_secs(10),
            |_| std::net::TcpStream::connect(addr).is_ok(),
        );
    }

    /// `faultline client cache WORDS...`: its exit code and what it printed.
    fn client(&self, words: &[&str]) -> (i32, String) {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(["client", "--config"])
            .arg(&self.nodes.config)
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
        (self.nodes.events(i).into_iter().rev()).find_map(|(_, e)| match e {
            Event::Line { key: k, state, .. } if k == key => Some(state),
            _ => None,
        })
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

    c.nodes.kill(3);
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
