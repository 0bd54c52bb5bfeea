//! `faultline start --config cluster.toml`: a whole cluster on this machine with one command,
//! in place of a `start_system.sh`. Every node of the cluster file (clients only with
//! `--clients`) runs as a `faultline node` child process, with its output in
//! `<dir>/logs/<name>.log` and its pid in `<dir>/pids/<name>.pid`; Ctrl-C (or SIGTERM) stops
//! them together. A node that ends by itself is reported with its log's last lines and, with
//! `--restart`, started again from its durable state.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cluster::Cluster;
use crate::registry::Registry;

/// What to start.
pub struct StartRequest {
    /// The cluster file.
    pub config: PathBuf,
    /// Where the nodes keep traces and durable state (default: the node command's default).
    pub dir: Option<PathBuf>,
    /// Start the client nodes too (they run the cluster file's workload and stop).
    pub clients: bool,
    /// Only these nodes (names), when not empty.
    pub only: Vec<String>,
    /// Start a node again when it ends by itself.
    pub restart: bool,
}

/// Set by SIGINT / SIGTERM / SIGHUP.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// How long a node gets to stop after SIGINT before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// One started node.
struct Running {
    name: String,
    role: String,
    child: Option<Child>,
    /// Whether it ran to its own end (a client that finished), not to be restarted.
    done: bool,
}

/// Starts the nodes and waits until Ctrl-C; returns the exit code (0 when stopped by the
/// user with every server still up or done, 1 when a node failed on its own).
pub fn start_command(registry: &Registry, req: &StartRequest) -> Result<i32, crate::error::Error> {
    let cluster = Cluster::load(&req.config, registry)?;
    // The protocol's sections (settings, workload, a primes farm's dataset folder) are
    // checked once here: a mistake is one error naming its line, not every node failing.
    registry
        .find(&cluster.file.protocol, &cluster.source(), "protocol")?
        .validate(&cluster.setup(), &cluster.source())?;
    for name in &req.only {
        cluster.id(name)?;
    }
    let dir = req
        .dir
        .clone()
        .unwrap_or_else(|| crate::data_dir::default_for(&req.config));
    crate::data_dir::claim(&dir, &cluster.file.protocol, &req.config)?;
    let logs = dir.join("logs");
    let pids = dir.join("pids");
    std::fs::create_dir_all(&logs)?;
    std::fs::create_dir_all(&pids)?;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    let inside = crate::overlay_grpc::gateways(&cluster.file.config);
    let mut nodes: Vec<Running> = cluster
        .file
        .nodes
        .iter()
        .filter(|n| {
            if req.only.is_empty() {
                (req.clients || n.role != "client") && !inside.contains(&n.name)
            } else {
                req.only.contains(&n.name)
            }
        })
        .map(|n| Running {
            name: n.name.clone(),
            role: n.role.clone(),
            child: None,
            done: false,
        })
        .collect();
    if nodes.is_empty() {
        return Err(format!("{}: no node to start", cluster.path).into());
    }
    println!(
        "faultline start: {} node(s) of {} ({}), logs in {}",
        nodes.len(),
        cluster.path,
        cluster.file.protocol,
        logs.display()
    );
    for node in nodes.iter_mut() {
        let child = spawn(&req.config, &dir, &node.name)?;
        let addr = cluster.file.nodes[cluster.id(&node.name)?.0 as usize].addr;
        println!(
            "  {:<8} {:<12} pid {:<7} {}",
            node.name,
            node.role,
            child.id(),
            addr
        );
        std::fs::write(
            pids.join(format!("{}.pid", node.name)),
            format!("{}\n", child.id()),
        )?;
        node.child = Some(child);
    }
    println!("Ctrl-C stops them all.");
    let mut failed = false;
    while !STOP.load(Ordering::SeqCst) {
        for node in nodes.iter_mut() {
            let Some(child) = node.child.as_mut() else {
                continue;
            };
            let Ok(Some(status)) = child.try_wait() else {
                continue;
            };
            node.child = None;
            if status.success() && node.role == "client" {
                println!("{} ({}) finished", node.name, node.role);
                node.done = true;
                continue;
            }
            failed = true;
            eprintln!(
                "{} ({}) ended by itself ({status}); {}:\n    {}",
                node.name,
                node.role,
                logs.join(format!("{}.log", node.name)).display(),
                tail(&logs.join(format!("{}.log", node.name)), 5).join("\n    ")
            );
            if req.restart {
                let child = spawn(&req.config, &dir, &node.name)?;
                println!("{} started again, pid {}", node.name, child.id());
                std::fs::write(
                    pids.join(format!("{}.pid", node.name)),
                    format!("{}\n", child.id()),
                )?;
                node.child = Some(child);
            }
        }
        if nodes.iter().all(|n| n.child.is_none()) && !req.restart {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_all(&mut nodes);
    let up: Vec<&str> = nodes
        .iter()
        .filter(|n| !n.done)
        .map(|n| n.name.as_str())
        .collect();
    println!(
        "stopped {}; traces and logs in {}",
        up.join(", "),
        dir.display()
    );
    Ok(i32::from(failed))
}

/// `faultline node --config CONFIG --id NAME --dir DIR`, its output to `DIR/logs/NAME.log`.
fn spawn(config: &Path, dir: &Path, name: &str) -> Result<Child, crate::error::Error> {
    let log_path = dir.join("logs").join(format!("{name}.log"));
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
    let err = log.try_clone()?;
    let mut command = crate::node::child_command(config, name, dir)
        .map_err(|e| format!("cannot find faultline: {e}"))?;
    command.stdout(log).stderr(err);
    // SAFETY: between fork and exec the child only makes one system call: it leaves the
    // terminal's process group, so that Ctrl-C reaches only this command, which stops the
    // nodes itself. (It dies with this command, see `child_command`.)
    unsafe {
        command.pre_exec(|| {
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(command
        .spawn()
        .map_err(|e| format!("cannot start node {name}: {e}"))?)
}

/// SIGINT to every node (each finishes its trace line and exits), SIGKILL after a grace.
fn stop_all(nodes: &mut [Running]) {
    let mut live: Vec<&mut Child> = nodes.iter_mut().filter_map(|n| n.child.as_mut()).collect();
    crate::lan::processes::stop_children(&mut live, STOP_GRACE);
    nodes.iter_mut().for_each(|n| n.child = None);
}

/// The last `n` lines of a log.
fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().rev().take(n).map(str::to_string).collect();
    lines.reverse();
    lines
}
