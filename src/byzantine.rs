//! `faultline byzantine <protocol>`: every Byzantine behaviour against a protocol over many
//! seeds, and a table of which checks held and which broke, with a seed file per broken cell.
//!
//! Each seed adds one Byzantine server to the protocol's base scenario
//! (`scenarios/<protocol>/byzantine.toml`), turning at a fifth of the run and lying in half
//! of what it sends; the server is chosen by the seed, in turn, so the leader is the liar in
//! some seeds and a follower in others. A run stops at its first violation, so a cell counts
//! the seeds whose *first* broken check it is.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use faultline_reports::{render_grid, Cell, Grid, GridRow};
use faultline_sim::faults::byzantine::Behaviour;
use faultline_sim::scenario::Fault;
use serde::Serialize;

use crate::explore::{progress, write_seed_file};
use crate::run::RunRequest;

/// The options of `faultline byzantine`.
pub struct ByzantineOptions {
    /// The base scenario.
    pub scenario: PathBuf,
    /// Seeds per behaviour.
    pub seeds: std::ops::Range<u64>,
    /// Worker threads.
    pub jobs: usize,
    /// Where the table, the SVG and the seed files go.
    pub out: PathBuf,
}

/// One behaviour's results.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BehaviourResult {
    /// The behaviour.
    pub behaviour: String,
    /// Seeds run.
    pub seeds: u64,
    /// Per check: how many seeds it was the first to break.
    pub broken: BTreeMap<String, u64>,
    /// Per check: the seed file of its first failing seed.
    pub examples: BTreeMap<String, String>,
}

/// The whole report (`byzantine.json`).
#[derive(Clone, Debug, Serialize)]
pub struct ByzantineReport {
    /// The protocol.
    pub protocol: String,
    /// Its checks, in the order the protocol lists them.
    pub checks: Vec<String>,
    /// One entry per behaviour.
    pub behaviours: Vec<BehaviourResult>,
}

/// The base request with one Byzantine server added for `seed`.
pub fn with_liar(base: &RunRequest, behaviour: Behaviour, seed: u64) -> RunRequest {
    let mut req = base.with_seed(seed);
    // The liar is one of the nodes random faults may pick (a server, not a client).
    let targets = req.scenario.fault_targets();
    let node = targets[(seed % targets.len().max(1) as u64) as usize].clone();
    req.scenario.name = format!(
        "{}-{}-{}-{node}",
        base.scenario.name,
        base.scenario.protocol,
        behaviour.name()
    );
    req.scenario.faults.push(Fault::Byzantine {
        node,
        behaviour,
        rate: 0.5,
        from_ms: req.scenario.duration_ms / 5,
        until_ms: None,
    });
    req
}

/// Runs the report; returns the exit code (0 when it ran, whatever broke: a broken cell is a
/// finding, not an error).
pub fn byzantine_command(base: &RunRequest, opts: &ByzantineOptions) -> i32 {
    let checks = match base.execute(None) {
        Ok(o) if o.passed() => o
            .summary
            .checks
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>(),
        Ok(o) => {
            eprintln!(
                "error: {}: the base scenario fails on its own (seed {}, {}); a Byzantine \
                 report needs an honest baseline that passes",
                opts.scenario.display(),
                base.seed,
                o.summary
                    .checks
                    .iter()
                    .find(|c| !c.ok)
                    .map_or("?", |c| c.name.as_str())
            );
            return 2;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let seeds_dir = opts.out.join("seeds");
    if let Err(e) = std::fs::create_dir_all(&seeds_dir) {
        eprintln!("error: cannot create {}: {e}", seeds_dir.display());
        return 2;
    }
    let work: Vec<(Behaviour, u64)> = Behaviour::ALL
        .iter()
        .flat_map(|&b| opts.seeds.clone().map(move |s| (b, s)))
        .collect();
    eprintln!(
        "byzantine: {} over {} seeds per behaviour ({} runs) on {} jobs",
        base.scenario.protocol,
        opts.seeds.end - opts.seeds.start,
        work.len(),
        opts.jobs
    );
    let started = Instant::now();
    let (next, done, failures) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(opts.jobs.max(1));
    let results: Mutex<Vec<(Behaviour, u64, Option<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..opts.jobs.max(1) {
            scope.spawn(|| {
                while let Some(&(behaviour, seed)) = work.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let req = with_liar(base, behaviour, seed);
                    let failed = match req.execute(None) {
                        Ok(o) => o
                            .summary
                            .checks
                            .iter()
                            // A lie is caught by a violation; a check that judged
                            // nothing caught nothing.
                            .find(|c| !c.ok && !c.vacuous)
                            .map(|c| c.name.clone()),
                        Err(e) => panic!("validated scenario refused: {e}"),
                    };
                    if failed.is_some() {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    results
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((behaviour, seed, failed));
                    done.fetch_add(1, Ordering::Relaxed);
                }
                running.fetch_sub(1, Ordering::Relaxed);
            });
        }
        progress(
            &done,
            &failures,
            &stop,
            &running,
            Some(work.len() as u128),
            started,
            None,
        );
    });
    let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
    results.sort_by_key(|r| (r.0, r.1));
    let mut behaviours: Vec<BehaviourResult> = Behaviour::ALL
        .iter()
        .map(|b| BehaviourResult {
            behaviour: b.name().to_string(),
            seeds: opts.seeds.end - opts.seeds.start,
            ..Default::default()
        })
        .collect();
    for (behaviour, seed, failed) in &results {
        let Some(check) = failed else { continue };
        let row = &mut behaviours[Behaviour::ALL
            .iter()
            .position(|b| b == behaviour)
            .unwrap_or(0)];
        *row.broken.entry(check.clone()).or_default() += 1;
        if !row.examples.contains_key(check) {
            // The seed file only: `faultline replay` draws its report.
            let req = with_liar(base, *behaviour, *seed);
            match req.execute(None) {
                Ok(outcome) => {
                    let path = write_seed_file(&req, &outcome, &seeds_dir, None);
                    row.examples.insert(check.clone(), path);
                }
                Err(e) => eprintln!("warning: seed {seed}: {e}"),
            }
        }
    }
    let report = ByzantineReport {
        protocol: base.scenario.protocol.clone(),
        checks,
        behaviours,
    };
    print!("{}", markdown(&report));
    let json = opts.out.join("byzantine.json");
    let svg = opts.out.join("byzantine.svg");
    let written = serde_json::to_string_pretty(&report)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&json, text))
        .and_then(|()| std::fs::write(&svg, render_grid(&grid(&report))))
        .and_then(|()| std::fs::write(opts.out.join("byzantine.md"), markdown(&report)));
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", opts.out.display());
        return 2;
    }
    let broken: usize = report.behaviours.iter().map(|b| b.broken.len()).sum();
    println!(
        "byzantine: {} runs in {:.1} s; {broken} broken {}; report {} and {}",
        results.len(),
        started.elapsed().as_secs_f64(),
        if broken == 1 { "cell" } else { "cells" },
        json.display(),
        svg.display()
    );
    // As everywhere: 1 when some check failed. A broken cell is a finding, not an error.
    i32::from(broken > 0)
}

fn cell(b: &BehaviourResult, check: &str) -> (String, bool) {
    match b.broken.get(check) {
        Some(n) => (format!("broken {n}/{}", b.seeds), true),
        None => ("held".to_string(), false),
    }
}

/// The table as Markdown, with the seed file of every broken cell under it.
pub fn markdown(r: &ByzantineReport) -> String {
    let mut out = format!("| {} | {} |\n", r.protocol, r.checks.join(" | "));
    out += &format!("|---|{}\n", "---|".repeat(r.checks.len()));
    for b in &r.behaviours {
        let cells: Vec<String> = r
            .checks
            .iter()
            .map(|c| match cell(b, c) {
                (text, true) => format!("**{text}**"),
                (text, false) => text,
            })
            .collect();
        out += &format!("| {} | {} |\n", b.behaviour, cells.join(" | "));
    }
    let examples: Vec<String> = r
        .behaviours
        .iter()
        .flat_map(|b| {
            b.examples
                .iter()
                .map(move |(check, path)| format!("- {} breaks {check}: `{path}`", b.behaviour))
        })
        .collect();
    if !examples.is_empty() {
        out += "\n";
        out += &examples.join("\n");
        out += "\n";
    }
    out
}

fn grid(r: &ByzantineReport) -> Grid {
    let seeds = r.behaviours.first().map_or(0, |b| b.seeds);
    Grid {
        title: format!("{}: one Byzantine server per seed", r.protocol),
        columns: r.checks.clone(),
        rows: r
            .behaviours
            .iter()
            .map(|b| GridRow {
                name: b.behaviour.clone(),
                cells: r
                    .checks
                    .iter()
                    .map(|c| {
                        let (text, broken) = cell(b, c);
                        Cell { text, broken }
                    })
                    .collect(),
            })
            .collect(),
        footnote: format!(
            "{seeds} seeds per behaviour; a cell counts the seeds whose first broken check it is; \
             seed files in seeds/"
        ),
    }
}

/// The base scenario of a protocol's report: `scenarios/<protocol>/byzantine.toml` here, or
/// else in the source tree faultline was built from, so that the command works from any
/// folder.
pub fn base_scenario(protocol: &str) -> PathBuf {
    let here = Path::new("scenarios").join(protocol).join("byzantine.toml");
    if here.exists() {
        return here;
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join(&here);
    if built.exists() {
        built
    } else {
        here
    }
}
