//! `faultline collect`: gathers the trace files of a scenario run on real hosts (with scp,
//! or from a directory the user filled), merges them, judges them with the protocol's checks
//! and writes the same report as a simulated run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::lan::hosts::{load_hosts, REMOTE_DIR};
use crate::lan::merge::{report_from_traces, MergeOptions};
use crate::lan::ScenarioFile;
use crate::outcome::{print_verdict, write_report};
use crate::registry::Registry;

/// The options of `faultline collect`.
pub struct CollectOptions {
    /// The scenario that ran.
    pub scenario: PathBuf,
    /// The hosts file it ran on.
    pub hosts: PathBuf,
    /// A directory already holding `<node>.trace.jsonl` files (no scp).
    pub from: Option<PathBuf>,
    /// Where the report goes.
    pub out: Option<PathBuf>,
}

/// Runs `faultline collect`; returns the exit code (0 pass, 1 a check failed, 2 could not).
pub fn collect_command(registry: &Registry, opts: &CollectOptions) -> i32 {
    match collect(registry, opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn collect(registry: &Registry, opts: &CollectOptions) -> Result<i32, String> {
    let loaded = ScenarioFile::load(registry, &opts.scenario).map_err(|e| e.to_string())?;
    let hosts = load_hosts(registry, &loaded, &opts.hosts).map_err(|e| e.to_string())?;
    let s = &loaded.scenario;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| crate::cli::default_out(&s.protocol, &s.name, "collected"));
    let names = loaded.scenario.node_names();
    let dir = match &opts.from {
        Some(dir) => dir.clone(),
        None => {
            let dir = out.join("nodes");
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for (node, name) in hosts.file.nodes.iter().zip(&names) {
                let remote = format!("{}:{REMOTE_DIR}/{name}.trace.jsonl", node.addr.ip());
                println!("collect: scp {remote}");
                fetch(&remote, &dir)?;
            }
            dir
        }
    };
    let mut files = Vec::new();
    for name in &names {
        let file = dir.join(format!("{name}.trace.jsonl"));
        if !file.exists() {
            return Err(format!("{}: no trace of node {name}", file.display()));
        }
        files.push(file);
    }
    // A LAN run's directory also holds the world's record of its faults.
    let world = dir.join("world.trace.jsonl");
    let infer_crashes = !world.exists();
    if !infer_crashes {
        files.push(world);
    }
    let merged = report_from_traces(
        &loaded,
        &MergeOptions {
            files,
            start_us: None,
            end_us: None,
            infer_crashes,
        },
    )?;
    write_report(&out, &merged.outcome)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let clock = format!("traces of {} nodes from {}", names.len(), dir.display());
    print_verdict(
        "faultline collect",
        &merged.outcome,
        &out,
        &clock,
        &merged.notes,
    );
    Ok(i32::from(!merged.outcome.passed()))
}

/// Copies one remote file into `dir` with scp (batch mode: no password prompt mid-run).
fn fetch(remote: &str, dir: &Path) -> Result<(), String> {
    let status = Command::new("scp")
        .args(["-q", "-o", "BatchMode=yes", remote])
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run scp: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "scp {remote} failed ({status}); copy the trace files yourself and pass --from DIR"
        ))
    }
}
