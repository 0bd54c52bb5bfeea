//! The same counter as real processes over UDP on loopback (real flavor:
//! `RUSTFLAGS= cargo test --target-dir ../../target --test real`).
#![cfg(not(madsim))]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A node process, killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(id: &str, dir: &Path) -> Node {
    Node(
        Command::new(env!("CARGO_BIN_EXE_counter"))
            .args([
                "node",
                "counter",
                "--config",
                "cluster.toml",
                "--id",
                id,
                "--dir",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the counter binary starts"),
    )
}

#[test]
fn a_real_server_and_client_count_to_fifty() {
    let dir = std::env::temp_dir().join(format!("counter-real-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _server = start("s1", &dir);
    let _client = start("c1", &dir);
    let trace = dir.join("c1.trace.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = |text: &str| text.contains(r#"{"Acked":{"seq":50}}"#);
    loop {
        let text = std::fs::read_to_string(&trace).unwrap_or_default();
        if done(&text) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the client did not see 50 increments acknowledged in 30 s:\n{}",
            text.lines().rev().take(5).collect::<Vec<_>>().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
