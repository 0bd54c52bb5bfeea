//! `faultline compare`: one scenario in the simulator over many seeds and on the private LAN
//! a few times, with the distributions of election and recovery time side by side in one
//! SVG, so a user sees whether the simulator's latency model matches a real network.
//!
//! It runs in the real flavor, which owns the LAN. The simulator lives only in the sim
//! flavor, so the simulated seeds are an `explore` run of the sim-flavor binary
//! (`target/sim/release/faultline`, built by `cargo sim-build --release`, or `--sim-bin`),
//! whose `explore.json` holds the histograms of every seed's election and recovery times.

use std::path::{Path, PathBuf};
use std::process::Command;

use faultline_reports::{render_distributions, Panel, Series};
use serde::Serialize;

use crate::exploration::{election_times_ms, quantiles, recovery_times_ms, Exploration};
use crate::lan::{run_lan, LanError, ScenarioFile};
use crate::outcome::write_report;
use crate::registry::Registry;

/// Simulated durations drawn from explore's histograms (its quantiles, evenly spaced).
const SIM_POINTS_MAX: usize = 2000;

/// The options of `faultline compare`.
pub struct CompareOptions {
    /// The scenario.
    pub scenario: PathBuf,
    /// Simulated seeds.
    pub seeds: std::ops::Range<u64>,
    /// LAN runs.
    pub lan_runs: usize,
    /// Where everything goes.
    pub out: Option<PathBuf>,
    /// The sim-flavor binary (default: beside this one, under target/sim).
    pub sim_bin: Option<PathBuf>,
    /// Worker threads for the simulated seeds (default: explore's, every core).
    pub jobs: Option<usize>,
}

/// Both worlds' durations, as `compare.json` keeps them.
#[derive(Serialize)]
struct Comparison {
    /// The scenario's name.
    scenario: String,
    /// The protocol.
    protocol: String,
    /// Simulated seeds run.
    sim_seeds: usize,
    /// Simulated election times.
    sim_elections_ms: Vec<f64>,
    /// Simulated recovery times.
    sim_recoveries_ms: Vec<f64>,
    /// LAN runs.
    lan_runs: usize,
    /// Election times on the LAN.
    lan_elections_ms: Vec<f64>,
    /// Recovery times on the LAN.
    lan_recoveries_ms: Vec<f64>,
}

/// Runs `faultline compare`; returns the exit code (0 every run passed, 1 some check failed,
/// 2 could not run).
pub fn compare_command(registry: &Registry, opts: &CompareOptions) -> i32 {
    match compare(registry, opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn compare(registry: &Registry, opts: &CompareOptions) -> Result<i32, String> {
    let loaded = ScenarioFile::load(registry, &opts.scenario).map_err(|e| e.to_string())?;
    // Before minutes of simulation: the LAN half needs root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LanError::NotRoot.to_string());
    }
    if opts.seeds.is_empty() || opts.lan_runs == 0 {
        return Err("--seeds and --lan-runs must hold at least 1".into());
    }
    let s = &loaded.scenario;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| crate::cli::default_out(&s.protocol, &s.name, "compare"));
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    let sim_bin = match &opts.sim_bin {
        Some(bin) => bin.clone(),
        None => find_sim_bin()?,
    };
    println!(
        "compare: {} / {}: {} ({}), then {} of {:.0} s",
        s.protocol,
        s.name,
        count(opts.seeds.end - opts.seeds.start, "simulated seed"),
        sim_bin.display(),
        count(opts.lan_runs as u64, "LAN run"),
        s.duration_ms as f64 / 1000.0
    );
    let sim = simulate(&sim_bin, opts, &out.join("sim"))?;
    let sim_failed = sim.failed as usize;

    let mut lan_elections = Vec::new();
    let mut lan_recoveries = Vec::new();
    let mut lan_failed = 0;
    let bar = crate::progress_bar::bar(Some(opts.lan_runs as u64), "LAN runs");
    for k in 0..opts.lan_runs {
        let dir = out.join(format!("lan-{}", k + 1));
        let run = run_lan(&loaded, &dir, false).map_err(|e| e.to_string())?;
        write_report(&dir, &run.outcome)
            .map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
        let summary = &run.outcome.summary;
        let elections = election_times_ms(summary);
        let recoveries = recovery_times_ms(summary);
        bar.suspend(|| {
            println!(
                "  LAN run {}/{}: {} in {:.1} s, {} elections, {} recoveries  -> {}",
                k + 1,
                opts.lan_runs,
                summary.verdict.to_uppercase(),
                run.wall_s,
                elections.len(),
                recoveries.len(),
                dir.display()
            )
        });
        bar.inc(1);
        lan_failed += usize::from(!run.outcome.passed());
        lan_elections.extend(elections);
        lan_recoveries.extend(recoveries);
    }
    bar.finish_and_clear();

    let comparison = Comparison {
        scenario: s.name.clone(),
        protocol: s.protocol.clone(),
        sim_seeds: sim.seeds_run as usize,
        // explore.json keeps histograms, not every value: their quantiles stand in.
        sim_elections_ms: sim.elections_ms.sample_evenly_ms(SIM_POINTS_MAX),
        sim_recoveries_ms: sim.recoveries_ms.sample_evenly_ms(SIM_POINTS_MAX),
        lan_runs: opts.lan_runs,
        lan_elections_ms: lan_elections,
        lan_recoveries_ms: lan_recoveries,
    };
    let svg_path = out.join("compare.svg");
    let json_path = out.join("compare.json");
    serde_json::to_string_pretty(&comparison)
        .map_err(std::io::Error::other)
        .and_then(|json| std::fs::write(&json_path, json + "\n"))
        .and_then(|()| std::fs::write(&svg_path, draw(&comparison)))
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;

    let c = &comparison;
    println!("compare: {} / {}", c.protocol, c.scenario);
    println!(
        "  election time  simulated {}",
        quantiles(&c.sim_elections_ms)
    );
    println!(
        "                 LAN       {}",
        quantiles(&c.lan_elections_ms)
    );
    println!(
        "  recovery time  simulated {}",
        quantiles(&c.sim_recoveries_ms)
    );
    println!(
        "                 LAN       {}",
        quantiles(&c.lan_recoveries_ms)
    );
    println!(
        "  report         {} and {}",
        svg_path.display(),
        json_path.display()
    );
    if sim_failed + lan_failed == 0 {
        println!(
            "PASS  {} and {} held every check",
            count(c.sim_seeds as u64, "seed"),
            count(c.lan_runs as u64, "LAN run")
        );
        Ok(0)
    } else {
        println!(
            "FAIL  {sim_failed} of {} and {lan_failed} of {} failed a check (see {})",
            count(c.sim_seeds as u64, "seed"),
            count(c.lan_runs as u64, "LAN run"),
            out.display()
        );
        Ok(1)
    }
}

/// The sim-flavor binary of this build tree: `target/sim/<profile>/faultline` beside
/// `target/<profile>/faultline`.
fn find_sim_bin() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find faultline: {e}"))?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot find the build tree")?;
    ["release", "debug"]
        .iter()
        .map(|profile| target.join("sim").join(profile).join("faultline"))
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!(
                "no sim-flavor faultline under {}: build it with `cargo sim-build --release`, or pass --sim-bin",
                target.join("sim").display()
            )
        })
}

/// Runs the seeds with the sim-flavor binary's `explore` and reads its `explore.json`.
fn simulate(sim_bin: &Path, opts: &CompareOptions, out: &Path) -> Result<Exploration, String> {
    let mut command = Command::new(sim_bin);
    command
        .arg("explore")
        .arg(&opts.scenario)
        .arg("--seeds")
        .arg(format!("{}..{}", opts.seeds.start, opts.seeds.end))
        // Every seed's durations are wanted, failing or not.
        .arg("--until-failures")
        .arg((opts.seeds.end - opts.seeds.start).to_string())
        .arg("--out")
        .arg(out)
        .arg("--failures")
        .arg(out.join("failures"));
    if let Some(jobs) = opts.jobs {
        command.arg("--jobs").arg(jobs.to_string());
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot run {}: {e}", sim_bin.display()))?;
    if status.code() == Some(2) || status.code().is_none() {
        return Err(format!(
            "{} explore could not run ({status})",
            sim_bin.display()
        ));
    }
    let json = out.join("explore.json");
    let text = std::fs::read_to_string(&json)
        .map_err(|e| format!("{}: cannot read: {e}", json.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))
}

/// Election and recovery time, simulated beside real, in one picture.
fn draw(c: &Comparison) -> String {
    let series = |name: String, values: &[f64]| Series {
        name,
        values_ms: values.to_vec(),
    };
    let sim = format!("simulated, {} seeds", c.sim_seeds);
    let lan = format!("LAN, {} runs", c.lan_runs);
    let title = format!(
        "{} / {} — simulator against real processes on a private LAN",
        c.protocol, c.scenario
    );
    render_distributions(
        &title,
        &[
            Panel {
                title: "election time".into(),
                series: vec![
                    series(sim.clone(), &c.sim_elections_ms),
                    series(lan.clone(), &c.lan_elections_ms),
                ],
            },
            Panel {
                title: "recovery time".into(),
                series: vec![
                    series(sim, &c.sim_recoveries_ms),
                    series(lan, &c.lan_recoveries_ms),
                ],
            },
        ],
    )
}

/// "1 seed", "3 seeds".
fn count(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}
