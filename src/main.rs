//! `faultline`: a deterministic simulation testbed for distributed protocols.
//!
//! Exit codes: 0 every check held, 1 a check failed, 2 bad input or could not run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
        /// Where to write the report (default: out/<scenario name>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Switch on a planted bug (repeatable), to see the checks catch it.
        #[arg(long = "bug", value_name = "NAME")]
        bugs: Vec<String>,
    },
    /// Run one real node over UDP (real flavor): a bully group server or a chat client.
    Node {
        /// What to run: `bully` (a group server) or `chat-client`.
        kind: String,
        /// The cluster file: addresses, multicast group, settings.
        #[arg(long)]
        config: PathBuf,
        /// This node's name in the cluster file.
        #[arg(long)]
        id: String,
        /// Where the node writes `<id>.trace.jsonl` and keeps `<id>.durable`.
        #[arg(long, default_value = "faultline-data")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run {
            path,
            seed,
            out,
            bugs,
        } => run(path, seed, out, bugs),
        Command::Node {
            kind,
            config,
            id,
            dir,
        } => node(&kind, &config, &id, &dir),
    };
    ExitCode::from(code)
}

#[cfg(madsim)]
fn run(path: PathBuf, seed: Option<u64>, out: Option<PathBuf>, bugs: Vec<String>) -> u8 {
    faultline::run::run_command(&path, seed, bugs, out) as u8
}

#[cfg(not(madsim))]
fn run(_: PathBuf, _: Option<u64>, _: Option<PathBuf>, _: Vec<String>) -> u8 {
    eprintln!("error: `run` needs the simulator; this is the real flavor. Use `cargo sim run <scenario>`.");
    2
}

#[cfg(madsim)]
fn node(_: &str, _: &std::path::Path, _: &str, _: &std::path::Path) -> u8 {
    eprintln!("error: `node` runs over real sockets; this is the sim flavor. Use `cargo run --release -- node ...`.");
    2
}

#[cfg(not(madsim))]
fn node(kind: &str, config: &std::path::Path, id: &str, dir: &std::path::Path) -> u8 {
    match faultline::node::run_node(kind, config, id, dir) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}
