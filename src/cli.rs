//! The `faultline` command line, as a library: [`main_with`] runs it over any
//! [`Registry`], so a user's crate gets the whole command for its own protocol.
//!
//! Exit codes: 0 every check held, 1 a check failed, 2 bad input or could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::registry::Registry;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "Deterministic simulation testbed for distributed protocols"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario (.toml) or replay a seed file (.seed) in the simulator, and write
    /// trace.jsonl, summary.json and timeline.svg (sim flavor: `cargo sim run ...`).
    Run {
        /// The scenario or seed file.
        path: PathBuf,
        /// The seed (default: the scenario's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Where to write the report (default: out/<protocol>/<scenario>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Switch on a planted bug (repeatable), to see the checks catch it.
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Run twice and compare the traces; a difference names the first line where they
        /// part (exit 1).
        #[arg(long)]
        check_determinism: bool,
    },
    /// Replay a seed file exactly and check it gives the digest it recorded (exit 2 if not).
    Replay {
        /// The seed file.
        path: PathBuf,
        /// Where to write the report (default: out/<protocol>/<scenario>/replay).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run many seeds of a scenario on every core, each with its own random fault mix;
    /// stop at failures, write their seed files and reports, and a table at the end.
    Explore {
        /// The scenario.
        path: PathBuf,
        /// Seeds to try, as A..B, or A.. for every seed from A on (stop it with --time-limit,
        /// --until-failures or Ctrl-C; the table and report are written either way).
        #[arg(long, default_value = "0..1000")]
        seeds: String,
        /// Worker threads (default: every core).
        #[arg(long, value_parser = at_least_one)]
        jobs: Option<usize>,
        /// Stop after this many failures.
        #[arg(long, default_value_t = 1)]
        until_failures: usize,
        /// Stop after this many seconds.
        #[arg(long)]
        time_limit: Option<f64>,
        /// Run only the I-th of N slices of the seeds (seed % N == I), for spreading one
        /// search over machines; combine the slices with `faultline merge`.
        #[arg(long)]
        shard: Option<String>,
        /// Run every seed twice and compare the traces (same as --determinism-every 1).
        #[arg(long, conflicts_with_all = ["determinism_every", "no_determinism_sample"])]
        check_determinism: bool,
        /// Run one seed in N twice and compare their digests; a difference is a failure of
        /// its own, `nondeterminism`.
        #[arg(long, value_name = "N", default_value_t = crate::exploration::DETERMINISM_EVERY_DEFAULT, value_parser = clap::value_parser!(u64).range(1..))]
        determinism_every: u64,
        /// Run no seed twice.
        #[arg(long, conflicts_with = "determinism_every")]
        no_determinism_sample: bool,
        /// Switch on a planted bug (repeatable).
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
        /// Where failing seeds' seed files and reports go (default: `failures/` in the
        /// report folder).
        #[arg(long)]
        failures: Option<PathBuf>,
        /// Where explore.json and distribution.svg go (default:
        /// out/<protocol>/<scenario>/explore).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Cut a failing seed file down to the fewest faults, the smallest workload and the
    /// shortest run that still fail the same check; writes <name>.min.seed.
    Shrink {
        /// The seed file.
        path: PathBuf,
    },
    /// Measure the simulator: one workload beside raw madsim, turmoil and a plain event loop,
    /// then the shipped protocols, group sizes, explore's memory and the report's cost.
    Bench {
        /// A shorter run (for a quick look, not for figures).
        #[arg(long)]
        quick: bool,
        /// Tiny runs that only show the table's lines (the test suite's).
        #[arg(long, hide = true)]
        smoke: bool,
        /// Only the lines whose name contains this ("heartbeats", "leader crash", "group
        /// size", "memory", "report", "explore"); the same-workload lines always run.
        #[arg(long, value_name = "TEXT")]
        only: Option<String>,
        /// Leave out the peers (turmoil, a plain event loop), whose binary is built on first
        /// use from bench/peers.
        #[arg(long)]
        no_peers: bool,
    },
    /// Run every Byzantine behaviour against a protocol over many seeds: a table of the checks
    /// that held and broke, with a seed file per broken cell.
    Byzantine {
        /// The protocol: bully or raft.
        protocol: String,
        /// Seeds per behaviour: a range `A..B`, or a count `N` for `0..N`.
        #[arg(long, default_value = "50", value_parser = seed_range)]
        seeds: std::ops::Range<u64>,
        /// Worker threads (default: every core).
        #[arg(long, value_parser = at_least_one)]
        jobs: Option<usize>,
        /// The base scenario (default: scenarios/<protocol>/byzantine.toml).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Where the report goes (default: out/<protocol>/byzantine/table).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Combine the explore.json files of several shards into one table and plot.
    Merge {
        /// explore.json files (or directories holding one).
        inputs: Vec<PathBuf>,
        /// Where the merged explore.json and distribution.svg go.
        #[arg(long, default_value = "out/merged")]
        out: PathBuf,
    },
    /// Check a recorded history (JSON lines, Jepsen/Knossos EDN or Jepsen log lines) for
    /// linearizability; exit 0 if it is, 1 if not (printing a small sub-history that shows
    /// why), 2 on bad or empty input or when the budget runs out undecided.
    CheckHistory(crate::check_history::CheckHistoryArgs),
    /// One operation against a real Raft cluster: `kv get K`, `kv put K V`,
    /// `kv cas K EXPECTED NEW`, `kv delete K`, `lock acquire R [--shared]`, `lock renew R`,
    /// `lock release R`, `queue enqueue Q BODY`, `queue dequeue Q`, `queue ack Q ID`.
    Client {
        /// The cluster file.
        #[arg(long)]
        config: PathBuf,
        /// The client name to send as (default: the first client in the file).
        #[arg(long)]
        id: Option<String>,
        /// Give up after this long.
        #[arg(long, default_value_t = 5000)]
        deadline_ms: u64,
        /// The operation, e.g. `kv put K V`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        op: Vec<String>,
    },
    /// Start every node of a cluster file on this machine as child processes (logs in
    /// `<dir>/logs/`), until Ctrl-C stops them together.
    Start {
        /// The cluster file.
        #[arg(long)]
        config: PathBuf,
        /// Where the nodes keep traces, durable state and logs (default:
        /// `faultline-data/<cluster file name>/`).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Start the client nodes too (they run the cluster file's workload).
        #[arg(long)]
        clients: bool,
        /// Start only these nodes (repeatable).
        #[arg(long = "only", value_name = "NAME")]
        only: Vec<String>,
        /// Start a node again when it ends by itself.
        #[arg(long)]
        restart: bool,
    },
    /// Measure a protocol's real processes on loopback: throughput and latency side by side
    /// with a baseline in one run (real flavor).
    BenchReal {
        /// The protocol.
        protocol: String,
        /// A shorter run (for a quick look, not for figures).
        #[arg(long)]
        quick: bool,
    },
    /// Run a scenario with real processes on a private test LAN of network namespaces on
    /// this machine, applying its faults for real (real flavor, needs root); with --hosts,
    /// print the plan for running it on machines of your own.
    Lan {
        /// The scenario.
        path: PathBuf,
        /// Where to write the report (default: out/<protocol>/<scenario>/lan, or .../hosts).
        #[arg(long)]
        out: Option<PathBuf>,
        /// A cluster file with the addresses of your hosts, one node each.
        #[arg(long, value_name = "CLUSTER_FILE")]
        hosts: Option<PathBuf>,
    },
    /// Gather the traces of a scenario run on real hosts (scp, or --from DIR), merge and
    /// judge them, and write the report.
    Collect {
        /// The scenario that ran.
        path: PathBuf,
        /// The hosts file it ran on.
        #[arg(long, value_name = "CLUSTER_FILE")]
        hosts: PathBuf,
        /// A directory already holding the nodes' <name>.trace.jsonl files.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Where to write the report (default: out/<protocol>/<scenario>/collected).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run a scenario over many simulated seeds and a few times on the private LAN, and draw
    /// their election and recovery times side by side (real flavor, needs root).
    Compare {
        /// The scenario.
        path: PathBuf,
        /// Simulated seeds: a range `A..B`, or a count `N` for `0..N`.
        #[arg(long, default_value = "200", value_parser = seed_range)]
        seeds: std::ops::Range<u64>,
        /// Runs on the LAN.
        #[arg(long, default_value_t = 3)]
        lan_runs: usize,
        /// Where to write everything (default: out/<protocol>/<scenario>/compare).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The sim-flavor faultline (default: target/sim/release/faultline beside this one).
        #[arg(long)]
        sim_bin: Option<PathBuf>,
        /// Worker threads for the simulated seeds (default: every core).
        #[arg(long, value_parser = at_least_one)]
        jobs: Option<usize>,
    },
    /// Run one node of a cluster file as a real process (real flavor), over the transport
    /// the file names (by default the protocol's own: TCP for Raft, UDP and IP multicast for
    /// the bully group). Its role comes from the file.
    Node {
        /// The protocol, if you want it checked against the cluster file's.
        protocol: Option<String>,
        /// The cluster file: addresses, multicast group, settings.
        #[arg(long)]
        config: PathBuf,
        /// This node's name in the cluster file.
        #[arg(long)]
        id: String,
        /// Where the node writes `<id>.trace.jsonl` and keeps `<id>.durable`; by default
        /// `faultline-data/<cluster file name>/`. A folder holding another cluster's or
        /// protocol's data is refused.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A drop-rules file (one-way cuts, loss) to follow as it changes; `faultline lan`
        /// writes one.
        #[arg(long, value_name = "FILE")]
        drop_rules: Option<PathBuf>,
    },
}

/// Where a command writes by default: `out/<protocol>/<scenario>/`, then `what` (the command's
/// own folder, empty for `run`), so that two protocols' scenarios of one name never share a
/// folder.
pub fn default_out(protocol: &str, scenario: &str, what: &str) -> PathBuf {
    let dir = PathBuf::from("out").join(protocol).join(scenario);
    if what.is_empty() {
        dir
    } else {
        dir.join(what)
    }
}

/// Runs the `faultline` command over the protocols of `registry`; call it from `main`.
pub fn main_with(registry: Registry) -> ExitCode {
    // `faultline ... | head` should end quietly when head has seen enough, as Unix tools do,
    // instead of panicking on the closed pipe.
    // SAFETY: resetting a signal disposition to its default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = parse_for_this_flavor();
    let registry = &registry;
    let code = if cli.command.flavor() == Flavor::HERE || cli.command.flavor() == Flavor::Both {
        dispatch(registry, cli.command)
    } else {
        wrong_flavor(&cli.command)
    };
    ExitCode::from(code)
}

/// Commands only the simulator flavor runs.
const SIM_COMMANDS: &[&str] = &[
    "run",
    "replay",
    "explore",
    "shrink",
    "bench",
    "byzantine",
    "merge",
];
/// Commands only the real flavor runs.
const REAL_COMMANDS: &[&str] = &[
    "client",
    "lan",
    "collect",
    "compare",
    "node",
    "start",
    "bench-real",
];

/// Parses the command line with the other flavor's commands hidden from `--help`, and a
/// closing line saying where they are. (They still parse, so that using one gets a message
/// naming the right build rather than "unrecognized subcommand".)
fn parse_for_this_flavor() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let (hidden, elsewhere) = if Flavor::HERE == Flavor::Sim {
        (
            REAL_COMMANDS,
            "This is the simulator flavor. Real nodes and LANs (client, lan, collect, compare, \
             node, start, bench-real) are in the real flavor: `cargo run --release -- <command>`.",
        )
    } else {
        (
            SIM_COMMANDS,
            "This is the real flavor. The simulator (run, replay, explore, shrink, bench, \
             byzantine, merge) is in the sim flavor: `cargo sim <command>` \
             (target/sim/release/faultline).",
        )
    };
    let mut command = Cli::command().after_help(elsewhere);
    for name in hidden {
        command = command.mut_subcommand(*name, |c| c.hide(true));
    }
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Which build of faultline can run a command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// The simulator (`--cfg madsim`, `cargo sim ...`).
    Sim,
    /// Real sockets and processes (the plain build, `cargo run --release -- ...`).
    Real,
    /// Either.
    Both,
}

impl Flavor {
    /// The flavor of this build.
    #[cfg(madsim)]
    const HERE: Flavor = Flavor::Sim;
    /// The flavor of this build.
    #[cfg(not(madsim))]
    const HERE: Flavor = Flavor::Real;
}

impl Command {
    /// Which build runs this command.
    fn flavor(&self) -> Flavor {
        match self {
            Command::Run { .. }
            | Command::Replay { .. }
            | Command::Explore { .. }
            | Command::Shrink { .. }
            | Command::Bench { .. }
            | Command::Byzantine { .. }
            | Command::Merge { .. } => Flavor::Sim,
            Command::Lan { .. }
            | Command::Collect { .. }
            | Command::Compare { .. }
            | Command::Client { .. }
            | Command::Start { .. }
            | Command::BenchReal { .. }
            | Command::Node { .. } => Flavor::Real,
            Command::CheckHistory { .. } => Flavor::Both,
        }
    }

    /// The command's name, as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Run { .. } => "run",
            Command::Replay { .. } => "replay",
            Command::Explore { .. } => "explore",
            Command::Shrink { .. } => "shrink",
            Command::Bench { .. } => "bench",
            Command::Byzantine { .. } => "byzantine",
            Command::Merge { .. } => "merge",
            Command::Lan { .. } => "lan",
            Command::Collect { .. } => "collect",
            Command::Compare { .. } => "compare",
            Command::Client { .. } => "client",
            Command::Node { .. } => "node",
            Command::Start { .. } => "start",
            Command::BenchReal { .. } => "bench-real",
            Command::CheckHistory { .. } => "check-history",
        }
    }
}

/// The one answer to a command this build cannot run: where it runs instead (exit 2).
fn wrong_flavor(command: &Command) -> u8 {
    let name = command.name();
    match command.flavor() {
        Flavor::Sim => eprintln!(
            "error: `{name}` needs the simulator; this is the real flavor. Use `cargo sim {name} ...`."
        ),
        _ => eprintln!(
            "error: `{name}` runs real processes and sockets; this is the sim flavor. Use `cargo run --release -- {name} ...`."
        ),
    }
    2
}

/// Seeds, the same way for every command: `A..B`, or `N` meaning `0..N`; never empty.
pub fn seed_range(text: &str) -> Result<std::ops::Range<u64>, String> {
    if let Some((a, b)) = text.split_once("..") {
        let number = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{t}` is not a seed number"))
        };
        let (a, b) = (number(a)?, number(b)?);
        if b <= a {
            return Err(format!("the range {a}..{b} holds no seed"));
        }
        return Ok(a..b);
    }
    match text.trim().parse::<u64>() {
        Ok(0) => Err("0 seeds: nothing to run".into()),
        Ok(n) => Ok(0..n),
        Err(_) => Err(format!(
            "`{text}` is neither a count nor a range like 0..1000"
        )),
    }
}

/// A count that must be at least 1 (`--jobs 0` would run nothing and say it ran).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number")),
    }
}

/// Prints an input error and gives exit code 2.
fn bad_input(e: impl std::fmt::Display) -> u8 {
    eprintln!("error: {e}");
    2
}

/// Every core, or the count asked for.
#[cfg(madsim)]
fn jobs_or_all(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(madsim)]
fn dispatch(registry: &Registry, command: Command) -> u8 {
    use crate::explore::{explore_command, parse_range, parse_shard, ExploreOptions};
    use crate::run::RunRequest;
    let code = match command {
        Command::Run {
            path,
            seed,
            out,
            bugs,
            check_determinism,
        } => crate::run::run_command(registry, &path, seed, bugs, out, check_determinism),
        Command::Replay { path, out } => crate::run::replay_command(registry, &path, out),
        Command::Explore {
            path,
            seeds,
            jobs,
            until_failures,
            time_limit,
            shard,
            check_determinism,
            determinism_every,
            no_determinism_sample,
            bugs,
            failures,
            out,
        } => {
            let parsed = parse_range(&seeds)
                .map_err(|e| format!("--seeds: {e}"))
                .and_then(|seeds| {
                    Ok((
                        seeds,
                        shard
                            .as_deref()
                            .map(parse_shard)
                            .transpose()
                            .map_err(|e| format!("--shard: {e}"))?,
                    ))
                });
            let (seeds, shard) = match parsed {
                Ok(p) => p,
                Err(e) => return bad_input(e),
            };
            let req = match RunRequest::load(registry, &path, None, bugs) {
                Ok(r) => r,
                Err(e) => return bad_input(e),
            };
            let report_dir = out.unwrap_or_else(|| {
                default_out(&req.scenario.protocol, &req.scenario.name, "explore")
            });
            let failures = failures.unwrap_or_else(|| report_dir.join("failures"));
            let opts = ExploreOptions {
                seeds,
                jobs: jobs_or_all(jobs),
                until_failures: until_failures.max(1),
                time_limit: time_limit.map(std::time::Duration::from_secs_f64),
                shard,
                determinism_every: if check_determinism {
                    1
                } else if no_determinism_sample {
                    0
                } else {
                    determinism_every
                },
                failures_dir: failures,
                report_dir,
            };
            explore_command(&req, &opts)
        }
        Command::Merge { inputs, out } => crate::explore::merge_command(&inputs, &out),
        Command::Shrink { path } => crate::shrink::shrink_command(registry, &path),
        Command::Bench {
            quick,
            smoke,
            only,
            no_peers,
        } => {
            let opts = crate::bench::BenchOptions {
                quick,
                smoke,
                only,
                peers: !no_peers,
            };
            crate::bench::bench_command(registry, &opts)
        }
        Command::Byzantine {
            protocol,
            seeds,
            jobs,
            scenario,
            out,
        } => {
            use crate::byzantine::{base_scenario, byzantine_command, ByzantineOptions};
            let scenario = scenario.unwrap_or_else(|| base_scenario(&protocol));
            let base = match RunRequest::load(registry, &scenario, None, Vec::new()) {
                Ok(r) if r.scenario.protocol == protocol => r,
                Ok(r) => {
                    return bad_input(format!(
                        "{}: field `protocol`: the scenario runs `{}`, not `{protocol}`",
                        scenario.display(),
                        r.scenario.protocol
                    ))
                }
                Err(e) => return bad_input(e),
            };
            let opts = ByzantineOptions {
                jobs: jobs_or_all(jobs),
                out: out.unwrap_or_else(|| default_out(&protocol, "byzantine", "table")),
                scenario,
                seeds,
            };
            byzantine_command(&base, &opts)
        }
        Command::CheckHistory(args) => crate::check_history::check_history_command(&args),
        other => return wrong_flavor(&other),
    };
    code as u8
}

#[cfg(not(madsim))]
fn dispatch(registry: &Registry, command: Command) -> u8 {
    let code = match command {
        Command::Lan { path, out, hosts } => {
            crate::lan::lan_command(registry, &path, out, hosts.as_deref())
        }
        Command::Collect {
            path,
            hosts,
            from,
            out,
        } => crate::collect::collect_command(
            registry,
            &crate::collect::CollectOptions {
                scenario: path,
                hosts,
                from,
                out,
            },
        ),
        Command::Compare {
            path,
            seeds,
            lan_runs,
            out,
            sim_bin,
            jobs,
        } => crate::compare::compare_command(
            registry,
            &crate::compare::CompareOptions {
                scenario: path,
                seeds,
                lan_runs,
                out,
                sim_bin,
                jobs,
            },
        ),
        Command::Client {
            config,
            id,
            deadline_ms,
            op,
        } => {
            match crate::client::client_command(registry, &config, id.as_deref(), deadline_ms, &op)
            {
                Ok(code) => code,
                Err(e) => return bad_input(e),
            }
        }
        Command::Start {
            config,
            dir,
            clients,
            only,
            restart,
        } => {
            let req = crate::start::StartRequest {
                config,
                dir,
                clients,
                only,
                restart,
            };
            match crate::start::start_command(registry, &req) {
                Ok(code) => code,
                Err(e) => return bad_input(e),
            }
        }
        Command::BenchReal { protocol, quick } => {
            match crate::bench_real::bench_real_command(&protocol, quick) {
                Ok(code) => code,
                Err(e) => return bad_input(e),
            }
        }
        Command::Node {
            protocol,
            config,
            id,
            dir,
            drop_rules,
        } => {
            let request = crate::node::NodeRequest::load(
                registry,
                protocol.as_deref(),
                &config,
                &id,
                dir.as_deref(),
                drop_rules.as_deref(),
            );
            match request
                .map_err(|e| e.to_string())
                .and_then(|r| r.protocol.serve(&r).map_err(|e| e.to_string()))
            {
                Ok(()) => 0,
                Err(e) => return bad_input(e),
            }
        }
        Command::CheckHistory(args) => crate::check_history::check_history_command(&args),
        other => return wrong_flavor(&other),
    };
    code as u8
}

#[cfg(test)]
mod seed_range_tests {
    use super::seed_range;

    #[test]
    fn a_count_and_a_range_mean_the_same_seeds_and_empty_ones_are_refused() {
        assert_eq!(seed_range("50"), Ok(0..50));
        assert_eq!(seed_range("0..50"), Ok(0..50));
        assert_eq!(seed_range("7..9"), Ok(7..9));
        assert!(seed_range("0").is_err());
        assert!(seed_range("5..5").is_err());
        assert!(seed_range("x").is_err());
    }
}
