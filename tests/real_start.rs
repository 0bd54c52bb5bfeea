//! `faultline start`: a whole Raft cluster from one command. Every server runs as a child
//! with its pid and log in the data folder; the cluster serves a client; a node killed with
//! SIGKILL is reported and, with `--restart`, started again; Ctrl-C stops every node and
//! leaves no process behind. A node name the file does not have is refused with exit 2.
#![cfg(not(madsim))]

mod real;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use real::{free_ports, node_entry, wait_until};

const SERVERS: [&str; 3] = ["s1", "s2", "s3"];

/// A Raft cluster file of three servers and a client on free loopback ports.
fn cluster(dir: &Path) -> PathBuf {
    let base = free_ports(SERVERS.len() as u16 + 1);
    let mut text = String::from(
        "protocol = \"raft\"\n\n[config]\nelection_timeout_ms_min = 300\n\
         election_timeout_ms_max = 600\nheartbeat_ms = 50\n",
    );
    for (i, name) in SERVERS.iter().chain(["c1"].iter()).enumerate() {
        let role = if name.starts_with('s') {
            "server"
        } else {
            "client"
        };
        text += &node_entry(name, role, base + i as u16);
    }
    let config = dir.join("cluster.toml");
    std::fs::write(&config, text).unwrap();
    config
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .output()
        .expect("faultline runs")
}

fn pid_of(dir: &Path, name: &str) -> Option<i32> {
    std::fs::read_to_string(dir.join("pids").join(format!("{name}.pid")))
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn client(config: &Path, op: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["client", "--config", config.to_str().unwrap()];
    args.extend_from_slice(op);
    let out = faultline(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn interrupt(start: &mut Child) -> std::process::ExitStatus {
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(start.id() as i32, libc::SIGINT);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = start.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "start did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_command_starts_the_cluster_restarts_a_killed_node_and_stops_them_all() {
    let dir = std::env::temp_dir().join(format!("faultline-start-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = cluster(&dir);
    let data = dir.join("data");
    let mut start = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["start", "--restart", "--config"])
        .arg(&config)
        .arg("--dir")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline start runs");
    wait_until("every server's pid file", Duration::from_secs(10), || {
        SERVERS.iter().all(|s| pid_of(&data, s).is_some_and(alive))
    });
    assert!(
        pid_of(&data, "c1").is_none(),
        "clients start only with --clients"
    );

    let (code, out) = client(&config, &["kv", "put", "k", "v1"]);
    assert_eq!(code, Some(0), "a put against the started cluster: {out}");

    let first = pid_of(&data, "s1").unwrap();
    // SAFETY: killing a node process this test's `start` started.
    unsafe {
        libc::kill(first, libc::SIGKILL);
    }
    wait_until("s1 started again", Duration::from_secs(10), || {
        pid_of(&data, "s1").is_some_and(|p| p != first && alive(p))
    });
    let (code, out) = client(&config, &["kv", "get", "k"]);
    assert_eq!(code, Some(0), "a get after the restart: {out}");
    assert!(out.contains("v1"), "the value written before: {out}");

    let pids: Vec<i32> = SERVERS.iter().map(|s| pid_of(&data, s).unwrap()).collect();
    let status = interrupt(&mut start);
    let output = start.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        status.code(),
        Some(1),
        "a node ended on its own, so the exit code says so: {stdout}{stderr}"
    );
    assert!(
        stderr.contains("s1 (server) ended by itself"),
        "the killed node is named: {stderr}"
    );
    assert!(stdout.contains("s1 started again"), "{stdout}");
    assert!(stdout.contains("stopped s1, s2, s3"), "{stdout}");
    for pid in pids {
        wait_until("every node gone", Duration::from_secs(5), || !alive(pid));
    }
    for name in SERVERS {
        assert!(data.join("logs").join(format!("{name}.log")).exists());
        assert!(data.join(format!("{name}.trace.jsonl")).exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_node_the_file_does_not_have_is_refused() {
    let dir = std::env::temp_dir().join(format!("faultline-start-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = cluster(&dir);
    let out = faultline(&[
        "start",
        "--config",
        config.to_str().unwrap(),
        "--only",
        "s9",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cluster.toml") && stderr.contains("s9"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
