//! Six real overlay processes on loopback driven through their gRPC API by a client this
//! project did not write: Python's grpcio (`tests/python/overlay_client.py`), with stubs
//! generated from `proto/overlay.proto` by grpcio-tools at test time, in a venv the test sets
//! up under `target/` (kept across runs). A single request, every process's metrics, ten
//! concurrent requests (the seed's test_system.py), a burst past capacity answered "busy"
//! with none left hanging, and a malformed request refused with a gRPC error while the
//! processes go on. Without pip or the network the test fails saying so.
#![cfg(not(madsim))]

mod real;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use real::{free_ports, node_entry};

const PROCESSES: [(&str, &str, &str, &[&str]); 6] = [
    ("A", "leader", "green", &["B", "E"]),
    ("B", "team-leader", "green", &["A", "E", "C"]),
    ("C", "worker", "green", &["B"]),
    ("D", "worker", "pink", &["E"]),
    ("E", "team-leader", "pink", &["A", "B", "D", "F"]),
    ("F", "worker", "pink", &["E"]),
];
/// Requests in the burst: past the leader's queue (20) and what it hands on (10).
const BURST: usize = 150;

struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The cluster file: the seed's six processes with small bounds (so a burst of 150 passes
/// them), each serving gRPC, on free ports (a node, its gateway client, its gRPC address
/// each). Returns it and the gRPC addresses.
fn cluster_file(dir: &Path) -> (PathBuf, Vec<(String, String)>) {
    let base = free_ports(3 * PROCESSES.len() as u16);
    let mut text = String::from(
        "protocol = \"overlay\"\ninterface = \"127.0.0.1\"\n\n[config]\nqueue_max = 20\n\
         inflight_max = 10\nprocess_ms = 100\n",
    );
    let mut grpc = Vec::new();
    for (i, (name, role, team, neighbours)) in PROCESSES.iter().enumerate() {
        let addr = format!("127.0.0.1:{}", base + 12 + i as u16);
        let list: Vec<String> = neighbours.iter().map(|n| format!("\"{n}\"")).collect();
        text += &format!(
            "\n[[config.process]]\nname = \"{name}\"\nrole = \"{role}\"\nteam = \"{team}\"\n\
             neighbours = [{}]\ngrpc = \"{addr}\"\ngateway = \"g{name}\"\n",
            list.join(", ")
        );
        grpc.push((name.to_string(), addr));
    }
    for (i, (name, role, _, _)) in PROCESSES.iter().enumerate() {
        text += &node_entry(name, role, base + i as u16);
        text += &node_entry(&format!("g{name}"), "client", base + 6 + i as u16);
    }
    let path = dir.join("cluster.toml");
    std::fs::write(&path, text).unwrap();
    (path, grpc)
}

/// A venv with `tests/python/requirements.txt` installed, made once and kept in `target/`;
/// its python. Panics with pip's words when it cannot be made.
fn venv(root: &Path) -> PathBuf {
    let requirements = root.join("tests/python/requirements.txt");
    let wanted = std::fs::read_to_string(&requirements).unwrap();
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("overlay-grpc-venv");
    let stamp = venv.join("faultline-requirements.txt");
    let python = venv.join("bin/python");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.exists() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    let run = |cmd: &mut Command, what: &str| {
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
        assert!(
            out.status.success(),
            "{what} failed ({}); the gRPC test needs python3 with venv and pip reaching PyPI:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements),
        "pip install -r tests/python/requirements.txt",
    );
    std::fs::write(&stamp, wanted).unwrap();
    python
}

fn wait_listening(addr: &str, node: &mut Child, name: &str) {
    let until = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(addr).is_err() {
        if let Ok(Some(status)) = node.try_wait() {
            panic!("process {name} ended ({status}) before serving gRPC on {addr}");
        }
        assert!(
            Instant::now() < until,
            "{name} does not serve gRPC on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn python_grpcio_client_drives_six_real_processes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = venv(root);
    let dir = std::env::temp_dir().join(format!("faultline-overlay-grpc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (config, grpc) = cluster_file(&dir);
    let mut nodes = Nodes(Vec::new());
    for (name, ..) in PROCESSES {
        let log = std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap();
        nodes.0.push(
            Command::new(env!("CARGO_BIN_EXE_faultline"))
                .args(["node", "--config"])
                .arg(&config)
                .args(["--id", name, "--dir"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("faultline node starts"),
        );
    }
    for (i, (name, addr)) in grpc.iter().enumerate() {
        wait_listening(addr, &mut nodes.0[i], name);
    }
    let mut cmd = Command::new(&python);
    cmd.arg(root.join("tests/python/overlay_client.py"))
        .arg("--proto")
        .arg(root.join("proto/overlay.proto"))
        .arg("--stubs")
        .arg(dir.join("stubs"))
        .args(["--leader", "A", "--burst", &BURST.to_string()]);
    for (name, addr) in &grpc {
        cmd.args(["--process", &format!("{name}={addr}")]);
    }
    let mut client = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let until = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > until {
            let _ = client.kill();
            panic!("the Python client did not finish within 40 s: a request hangs");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    client
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    client
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    eprintln!("{out}");
    assert!(
        status.success(),
        "the Python client failed ({status}):\n{out}\n{err}"
    );
    let steps: Vec<serde_json::Value> = (out.lines())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let step = |name: &str| {
        (steps.iter().find(|s| s["step"] == name))
            .unwrap_or_else(|| panic!("no step {name} in:\n{out}"))
    };
    for name in ["single", "metrics", "concurrent", "burst", "malformed"] {
        assert_eq!(step(name)["ok"], true, "{name}");
    }
    let counts = &step("burst")["counts"];
    let answered: u64 = (counts.as_object().unwrap().values())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        answered, BURST as u64,
        "every request of the burst answered"
    );
    assert!(counts["busy"].as_u64().unwrap() > 0, "{counts}");
    for (i, node) in nodes.0.iter_mut().enumerate() {
        assert!(
            node.try_wait().unwrap().is_none(),
            "process {} ended during the test",
            PROCESSES[i].0
        );
    }
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}
