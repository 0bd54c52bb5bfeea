//! The real node processes of a LAN run: `faultline node ...` started inside each node's
//! namespace, killed with SIGKILL for a crash, started again (from its durable file) for a
//! restart, and stopped at the end.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How one node is started.
pub struct NodeSpec {
    /// Its name ("s1").
    pub name: String,
    /// The protocol it runs (`faultline node <protocol>`).
    pub protocol: String,
    /// The namespace it runs in.
    pub namespace: String,
}

/// The node processes of a run.
pub struct Processes {
    /// How to start each node.
    specs: Vec<NodeSpec>,
    /// The running process of each node (None while crashed).
    children: Vec<Option<Child>>,
    /// The cluster file every node reads.
    cluster: PathBuf,
    /// Where nodes keep traces, durable files and logs.
    dir: PathBuf,
    /// The drop-rules file every node follows.
    drop_rules: PathBuf,
}

/// How long a node gets to stop after SIGINT before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(2);

impl Processes {
    /// No process runs yet.
    pub fn new(specs: Vec<NodeSpec>, cluster: &Path, dir: &Path, drop_rules: &Path) -> Self {
        Processes {
            children: specs.iter().map(|_| None).collect(),
            specs,
            cluster: cluster.to_path_buf(),
            dir: dir.to_path_buf(),
            drop_rules: drop_rules.to_path_buf(),
        }
    }

    /// Whether node `i` runs.
    pub fn is_up(&self, i: usize) -> bool {
        self.children[i].is_some()
    }

    /// Starts node `i` in its namespace; returns its pid.
    pub fn start(&mut self, i: usize) -> Result<u32, String> {
        let spec = &self.specs[i];
        let netns = File::open(format!("/run/netns/{}", spec.namespace))
            .map_err(|e| format!("cannot open namespace {}: {e}", spec.namespace))?;
        let log_path = self.dir.join(format!("{}.log", spec.name));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find faultline: {e}"))?;
        let mut command = Command::new(exe);
        command
            .args(["node", &spec.protocol, "--config"])
            .arg(&self.cluster)
            .args(["--id", &spec.name, "--dir"])
            .arg(&self.dir)
            .arg("--drop-rules")
            .arg(&self.drop_rules)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        let fd = netns.as_raw_fd();
        // SAFETY: between fork and exec the child only makes system calls: it enters the
        // node's namespace, asks to die with its supervisor (so an interrupted run leaves no
        // process), and leaves the terminal's process group (so Ctrl-C reaches only the
        // supervisor, which stops the nodes itself).
        unsafe {
            command.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0
                    || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                    || libc::setpgid(0, 0) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start node {}: {e}", spec.name))?;
        let pid = child.id();
        self.children[i] = Some(child);
        Ok(pid)
    }

    /// Kills node `i` at once (SIGKILL) and waits for it; returns its pid.
    pub fn kill(&mut self, i: usize) -> Option<u32> {
        let mut child = self.children[i].take()?;
        let _ = child.kill();
        let _ = child.wait();
        Some(child.id())
    }

    /// Stops (`pause`) or continues node `i`'s process: SIGSTOP / SIGCONT. The process
    /// stays alive; what reaches its sockets waits in the kernel. Returns its pid, `None`
    /// when it is down.
    pub fn pause(&mut self, i: usize, pause: bool) -> Option<u32> {
        let child = self.children[i].as_ref()?;
        let signal = if pause { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: signalling a child we started and have not yet waited for.
        unsafe {
            libc::kill(child.id() as libc::pid_t, signal);
        }
        Some(child.id())
    }

    /// A node that ended by itself, with its log's last lines: the run cannot go on.
    pub fn exited(&mut self) -> Option<String> {
        for (i, slot) in self.children.iter_mut().enumerate() {
            let Some(child) = slot else { continue };
            if let Ok(Some(status)) = child.try_wait() {
                *slot = None;
                let name = &self.specs[i].name;
                let log = self.dir.join(format!("{name}.log"));
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Some(format!(
                    "node {name} ended by itself ({status}); {}:\n    {}",
                    log.display(),
                    tail.join("\n    ")
                ));
            }
        }
        None
    }

    /// Stops every node: SIGINT (a node finishes its trace line and exits), then SIGKILL
    /// for any still running after a grace period.
    pub fn stop_all(&mut self) {
        let mut live: Vec<&mut Child> = self.children.iter_mut().flatten().collect();
        stop_children(&mut live, STOP_GRACE);
        self.children.iter_mut().for_each(|slot| *slot = None);
    }
}

/// Stops child processes together: SIGCONT (a paused one could not act otherwise) and SIGINT
/// to each, so that each finishes its trace line and exits, then SIGKILL for any still
/// running after `grace`; waits for them all.
pub fn stop_children(children: &mut [&mut Child], grace: Duration) {
    for child in children.iter() {
        // SAFETY: signalling a child we started and have not yet waited for.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGCONT);
            libc::kill(child.id() as libc::pid_t, libc::SIGINT);
        }
    }
    let deadline = Instant::now() + grace;
    for child in children.iter_mut() {
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
