//! `faultline lan`: a scenario run by real processes on a private test LAN on this machine
//! (real flavor, needs root), or planned for real hosts with `--hosts`.
//!
//! One network namespace per node, all on a bridge in a switch namespace; each node is a
//! `faultline node` process in its namespace with its own address, and the bully group's
//! multicast crosses the bridge as it would cross a switch. The fault schedule runs in wall
//! clock time (scenario milliseconds become real ones). At the end the nodes' traces and the
//! world's are merged and judged by the protocol's checks, and the report is written exactly
//! like a simulated run's.

pub mod faults;
pub mod hosts;
pub mod merge;
pub mod netns;
pub mod processes;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_sim::scenario::{Fault, InputError, Scenario, Source};
use faultline_sim::Header;

use crate::cluster::{ClusterFile, ClusterNode};
use crate::outcome::{print_verdict, write_report, Outcome};
use crate::registry::{setup_of, Entry, Registry};
use crate::seedfile::VERSION;
use faults::{unix_us, Faults};
use merge::{report_from_traces, MergeOptions};
use netns::Lan;
use processes::{NodeSpec, Processes};

/// The group's address on the test LAN.
const GROUP: &str = "239.255.70.1:7400";
/// The port every node listens on (each has an address of its own).
const PORT: u16 = 7401;
/// How often the supervisor looks at its nodes and at Ctrl-C.
const TICK: Duration = Duration::from_millis(20);
/// How often a long run says how far it is.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Set by SIGINT / SIGTERM / SIGHUP: the run stops and cleans up.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Why a LAN run could not give a verdict (exit code 2).
#[derive(Debug)]
pub enum LanError {
    /// The scenario is wrong.
    Input(InputError),
    /// Not root: namespaces and links need CAP_NET_ADMIN.
    NotRoot,
    /// Something failed while building the LAN or running the nodes.
    Failed(String),
    /// Ctrl-C or SIGTERM.
    Interrupted,
}

impl std::fmt::Display for LanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LanError::Input(e) => write!(f, "{e}"),
            LanError::NotRoot => write!(
                f,
                "faultline lan needs root: it creates network namespaces, a bridge and veth links \
                 (run it with sudo, or use --hosts to run on machines of your own)"
            ),
            LanError::Failed(e) => write!(f, "{e}"),
            LanError::Interrupted => write!(
                f,
                "interrupted: nodes stopped, namespaces and links removed, no verdict"
            ),
        }
    }
}

/// A scenario file and its text, for errors that point into it.
pub struct ScenarioFile {
    /// The protocol it runs.
    pub protocol: Arc<dyn Entry>,
    /// The scenario, its random faults (if any) drawn from its seed.
    pub scenario: Scenario,
    /// The file's name.
    pub file: String,
    /// Its text.
    pub text: String,
    /// The namespace each node runs in: the nodes of one host (the protocol's
    /// [`faultline_sim::Protocol::host`]) share one; every other node has its own.
    pub namespace_of: Vec<usize>,
}

impl ScenarioFile {
    /// Loads and validates a scenario, protocol sections included.
    pub fn load(registry: &Registry, path: &Path) -> Result<ScenarioFile, InputError> {
        let file = path.display().to_string();
        if path.extension().is_some_and(|e| e == "seed") {
            return Err(InputError {
                file,
                line: None,
                field: String::new(),
                message: "real processes run a scenario (.toml); a seed file replays only in the simulator".into(),
            });
        }
        let scenario = Scenario::load(path, registry)?;
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut loaded = ScenarioFile {
            protocol: registry.find(
                &scenario.protocol,
                &Source {
                    file: &file,
                    text: &text,
                },
                "protocol",
            )?,
            scenario: scenario.concretize(scenario.seed),
            file,
            text,
            namespace_of: Vec::new(),
        };
        // Building the protocol validates the scenario's protocol sections.
        let hosts = loaded
            .protocol
            .hosts(&setup_of(&loaded.scenario, &[]), &loaded.source())?;
        loaded.namespace_of = namespaces_of(&hosts);
        // What only the simulator can do is refused here, before any namespace exists.
        let byzantine = loaded
            .scenario
            .faults
            .iter()
            .position(|f| matches!(f, Fault::Byzantine { .. }));
        if let Some(i) = byzantine {
            return Err(loaded.source().error(
                &format!("faults[{i}].kind"),
                "Byzantine behaviours run in the simulator only (`cargo sim run`)",
            ));
        }
        let submit =
            (loaded.scenario.faults.iter()).position(|f| matches!(f, Fault::Submit { .. }));
        if let Some(i) = submit {
            return Err(loaded.source().error(
                &format!("faults[{i}].kind"),
                "submitted commands are a harness step of the simulator only (`cargo sim run`); on a LAN, clients give the commands",
            ));
        }
        if let Some(i) = loaded.scenario.faults.iter().position(Fault::at_run_time) {
            return Err(loaded.source().error(
                &format!("faults[{i}]"),
                "faults decided at run time (targets like `@leader`, every_ms, jitter_ms, when) run in the simulator only",
            ));
        }
        let network_window = loaded
            .scenario
            .faults
            .iter()
            .position(|f| matches!(f, Fault::Network { .. }));
        if let Some(i) = network_window {
            return Err(loaded.source().error(
                &format!("faults[{i}].kind"),
                "network windows (per-kind loss, delay, reordering) run in the simulator only",
            ));
        }
        if !loaded.scenario.network.rules.is_empty() {
            return Err(loaded.source().error(
                "network.rules",
                "network rules (per-kind loss, delay, reordering) run in the simulator only; a LAN applies loss alone",
            ));
        }
        let drifting = loaded
            .scenario
            .clocks
            .iter()
            .find(|(_, c)| c.drift_ppm != 0);
        if let Some((name, _)) = drifting {
            return Err(loaded.source().error(
                &format!("clocks.{name}.drift_ppm"),
                "clock drift is simulated only; a LAN applies skew alone (an offset in the node's clock)",
            ));
        }
        let network = &loaded.scenario.network;
        for (field, rate) in [
            ("corrupt", network.corrupt),
            ("duplicate", network.duplicate),
        ] {
            if rate > 0.0 {
                return Err(loaded.source().error(
                    &format!("network.{field}"),
                    "network noise is simulated only; a LAN applies loss alone",
                ));
            }
        }
        if loaded.scenario.node_names().len() > Lan::NODES_MAX {
            return Err(loaded.source().error(
                "nodes",
                format!("a LAN holds at most {} nodes", Lan::NODES_MAX),
            ));
        }
        Ok(loaded)
    }

    /// The `Source` for errors.
    pub fn source(&self) -> Source<'_> {
        Source {
            file: &self.file,
            text: &self.text,
        }
    }

    /// A cluster file for these nodes at `addrs`, carrying the scenario's settings.
    pub fn cluster_file(
        &self,
        addrs: &[SocketAddr],
        group: SocketAddr,
        interface: std::net::Ipv4Addr,
    ) -> ClusterFile {
        let s = &self.scenario;
        let roles = s.node_roles();
        ClusterFile {
            protocol: s.protocol.clone(),
            multicast: group,
            interface,
            config: s.config.clone(),
            workload: s.workload.clone(),
            secret: None,
            transport: None,
            nodes: s
                .node_names()
                .into_iter()
                .enumerate()
                .map(|(i, name)| ClusterNode {
                    skew_ms: s.clocks.get(&name).map_or(0, |c| c.skew_ms),
                    name,
                    role: roles[i].name.into(),
                    addr: addrs[i],
                })
                .collect(),
        }
    }
}

/// Which namespace each node runs in, numbered in node order: nodes on one named host share
/// one, every other node has its own.
fn namespaces_of(hosts: &[Option<String>]) -> Vec<usize> {
    let mut named: Vec<(&str, usize)> = Vec::new();
    let mut next = 0;
    let mut fresh = || {
        next += 1;
        next - 1
    };
    hosts
        .iter()
        .map(|host| match host {
            Some(h) => match named.iter().find(|(n, _)| n == h) {
                Some(&(_, k)) => k,
                None => {
                    let k = fresh();
                    named.push((h, k));
                    k
                }
            },
            None => fresh(),
        })
        .collect()
}

/// A finished LAN run.
pub struct LanRun {
    /// Its summary and report files.
    pub outcome: Outcome,
    /// What the merge repaired.
    pub notes: Vec<String>,
    /// Wall seconds from the first node's start to the last one's stop.
    pub wall_s: f64,
}

/// `faultline lan`: returns the exit code (0 pass, 1 a check failed, 2 could not run).
pub fn lan_command(
    registry: &Registry,
    path: &Path,
    out: Option<PathBuf>,
    hosts_file: Option<&Path>,
) -> i32 {
    let loaded = match ScenarioFile::load(registry, path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(hosts_file) = hosts_file {
        let s = &loaded.scenario;
        let out = out.unwrap_or_else(|| crate::cli::default_out(&s.protocol, &s.name, "hosts"));
        return hosts::plan_command(registry, &loaded, path, hosts_file, &out);
    }
    let s = &loaded.scenario;
    let out = out.unwrap_or_else(|| crate::cli::default_out(&s.protocol, &s.name, "lan"));
    match run_lan(&loaded, &out, true) {
        Ok(run) => {
            if let Err(e) = write_report(&out, &run.outcome) {
                eprintln!("error: cannot write {}: {e}", out.display());
                return 2;
            }
            let nodes = run.outcome.summary.nodes.len();
            let namespaces = loaded.namespace_of.iter().max().map_or(0, |m| m + 1);
            let clock = format!(
                "{:.1} wall s, {nodes} processes in {namespaces} namespaces",
                run.wall_s
            );
            print_verdict("faultline lan", &run.outcome, &out, &clock, &run.notes);
            i32::from(!run.outcome.passed())
        }
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

/// Runs a loaded scenario on a fresh private LAN; node files go to `out/nodes`. Everything
/// it made is removed before it returns, whatever happened. `verbose` prints each fault.
pub fn run_lan(loaded: &ScenarioFile, out: &Path, verbose: bool) -> Result<LanRun, LanError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LanError::NotRoot);
    }
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
    INTERRUPTED.store(false, Ordering::SeqCst);
    let failed = |e: String| LanError::Failed(e);
    let s = &loaded.scenario;
    let names = s.node_names();
    let dir = out.join("nodes");
    // Old durable files would make every node "restart".
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    let dir = dir.canonicalize().map_err(|e| failed(e.to_string()))?;

    let mut lan = Lan::build(&loaded.namespace_of).map_err(failed)?;
    let addrs: Vec<SocketAddr> = (0..names.len())
        .map(|i| SocketAddr::new(IpAddr::V4(lan.address(i)), PORT + lan.slot(i) as u16))
        .collect();
    let group: SocketAddr = GROUP.parse().expect("a valid address");
    let cluster = loaded.cluster_file(&addrs, group, std::net::Ipv4Addr::UNSPECIFIED);
    let cluster_path = dir.join("cluster.toml");
    let text = toml::to_string(&cluster).map_err(|e| failed(e.to_string()))?;
    std::fs::write(&cluster_path, text)
        .map_err(|e| failed(format!("cannot write {}: {e}", cluster_path.display())))?;
    let header = Header {
        faultline: VERSION.to_string(),
        protocol: s.protocol.clone(),
        scenario: s.name.clone(),
        // The scenario's seed drew its random faults and its workload.
        seed: s.seed,
        nodes: names.clone(),
    };
    let rules_path = dir.join("drop-rules.toml");
    let world_path = dir.join("world.trace.jsonl");
    let mut faults =
        Faults::new(&header, s.network.loss, &rules_path, &world_path).map_err(failed)?;
    let specs = names
        .iter()
        .enumerate()
        .map(|(i, name)| NodeSpec {
            name: name.clone(),
            protocol: s.protocol.clone(),
            namespace: lan.namespace(i),
        })
        .collect();
    let mut procs = Processes::new(specs, &cluster_path, &dir, &rules_path);

    if verbose {
        println!(
            "faultline lan: {} / {} on {} namespaces ({}), {:.1} s of wall time; nodes write to {}",
            s.protocol,
            s.name,
            lan.namespaces(),
            (0..names.len())
                .map(|i| format!("{}={}", names[i], addrs[i]))
                .collect::<Vec<_>>()
                .join(" "),
            s.duration_ms as f64 / 1000.0,
            dir.display()
        );
        if s.network.latency_ms != [0, 0] {
            println!(
                "  note: the scenario's latency {:?} ms is the simulator's model; here the bridge's own latency applies",
                s.network.latency_ms
            );
        }
    }
    let start_us = unix_us();
    let started = Instant::now();
    for i in 0..names.len() {
        procs.start(i).map_err(failed)?;
    }
    let mut progress = Progress {
        started,
        duration_ms: s.duration_ms,
        next: PROGRESS_EVERY,
        verbose,
    };
    for (at_ms, action) in s.schedule() {
        wait_until(
            started + Duration::from_millis(at_ms),
            &mut procs,
            &mut progress,
        )?;
        let what = faults.apply(action, &mut lan, &mut procs).map_err(failed)?;
        if verbose {
            println!("  {:>6.1} s  {what}", started.elapsed().as_secs_f64());
        }
    }
    wait_until(
        started + Duration::from_millis(s.duration_ms),
        &mut procs,
        &mut progress,
    )?;
    procs.stop_all();
    let wall_s = started.elapsed().as_secs_f64();
    drop(procs);
    lan.remove();

    let mut files = vec![world_path];
    files.extend(names.iter().map(|n| dir.join(format!("{n}.trace.jsonl"))));
    let merged = report_from_traces(
        loaded,
        &MergeOptions {
            files,
            start_us: Some(start_us),
            end_us: Some(s.duration_ms * 1000),
            infer_crashes: false,
        },
    )
    .map_err(failed)?;
    Ok(LanRun {
        outcome: merged.outcome,
        notes: merged.notes,
        wall_s,
    })
}

/// Says every so often how far a run is.
struct Progress {
    /// The run's start.
    started: Instant,
    /// Its length.
    duration_ms: u64,
    /// When to speak next, from the start.
    next: Duration,
    /// Whether to speak at all.
    verbose: bool,
}

/// Waits for `deadline`, watching for Ctrl-C and for nodes that died by themselves.
fn wait_until(
    deadline: Instant,
    procs: &mut Processes,
    progress: &mut Progress,
) -> Result<(), LanError> {
    loop {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(LanError::Interrupted);
        }
        if let Some(why) = procs.exited() {
            return Err(LanError::Failed(why));
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        let elapsed = now - progress.started;
        if progress.verbose && elapsed >= progress.next {
            println!(
                "  {:>6.1} s  ... running ({:.0} s to go)",
                elapsed.as_secs_f64(),
                (progress.duration_ms as f64 / 1000.0 - elapsed.as_secs_f64()).max(0.0)
            );
            progress.next += PROGRESS_EVERY;
        }
        std::thread::sleep(TICK.min(deadline - now));
    }
}

#[cfg(test)]
mod tests {
    use super::namespaces_of;

    #[test]
    fn the_nodes_of_one_host_share_a_namespace_and_the_others_have_their_own() {
        let h = |s: &str| Some(s.to_string());
        let hosts = [
            h("windows"),
            h("windows"),
            h("macos"),
            None,
            h("macos"),
            None,
        ];
        assert_eq!(namespaces_of(&hosts), vec![0, 0, 1, 2, 1, 3]);
        assert_eq!(namespaces_of(&[None, None]), vec![0, 1]);
    }
}
