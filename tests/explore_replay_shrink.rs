//! Explore, replay, shrink, merge and the regression corpus, through the command line a user
//! types (sim flavor: `cargo sim-test`).
#![cfg(madsim)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::Scratch;
use faultline::explore::{explore_command, Exploration, ExploreOptions, NONDETERMINISM};
use faultline::run::RunRequest;
use faultline::seedfile::SeedFile;
use faultline::Registry;
use faultline_sim::check::Check;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{
    BoxNode, Bug, Cx, Message, Node, NodeId, Protocol, Role, Setup, SERVERS_AND_CLIENTS,
};
use serde::{Deserialize, Serialize};

fn faultline(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("faultline runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn repo(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .to_string_lossy()
        .to_string()
}

fn corpus() -> Vec<PathBuf> {
    let mut seeds: Vec<PathBuf> = std::fs::read_dir(repo("scenarios/regressions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seed"))
        .collect();
    seeds.sort();
    seeds
}

#[test]
fn regression_corpus_replays_its_recorded_verdicts() {
    for path in corpus() {
        let recorded = SeedFile::load(&path, &Registry::builtin()).unwrap();
        let outcome = RunRequest::load(&Registry::builtin(), &path, None, vec![])
            .unwrap()
            .execute(None)
            .unwrap();
        let failed = outcome
            .summary
            .checks
            .iter()
            .find(|c| !c.ok && !c.vacuous)
            .or_else(|| outcome.summary.checks.iter().find(|c| !c.ok))
            .map(|c| c.name.clone());
        assert_eq!(failed, recorded.failed_check, "{}", path.display());
        // A change that alters traces must re-record the corpus (`faultline run <seed>` writes
        // run.seed with the new digest): a stale digest would make `replay` refuse the file.
        assert_eq!(
            outcome.summary.digest,
            recorded.digest,
            "{}: digest drifted",
            path.display()
        );
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::assert_json_snapshot!(format!("regression-{name}"), outcome.summary);
    }
}

#[test]
fn explore_finds_each_planted_bug_and_shrink_cuts_it_to_a_replayable_minimum() {
    let scratch = Scratch::new("explore-bugs");
    for bug in ["accept-lower-coordinator", "ack-before-quorum", "no-dedup"] {
        let failures = scratch.0.join(bug);
        let failures = failures.to_string_lossy();
        let out = faultline(
            &scratch.0,
            &[
                "explore",
                &repo("scenarios/bully/swarm.toml"),
                "--seeds",
                "0..60",
                "--bug",
                bug,
                "--failures",
                &failures,
                "--jobs",
                "2",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{bug}: {}", text(&out));
        let seed = std::fs::read_dir(&*failures)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "seed"))
            .unwrap_or_else(|| panic!("{bug}: no seed file"));
        let original = SeedFile::load(&seed, &Registry::builtin()).unwrap();

        let shrunk = faultline(&scratch.0, &["shrink", &seed.to_string_lossy()]);
        assert_eq!(shrunk.status.code(), Some(0), "{bug}: {}", text(&shrunk));
        let min_path = seed.with_file_name(format!(
            "{}.min.seed",
            seed.file_stem().unwrap().to_string_lossy()
        ));
        let min = SeedFile::load(&min_path, &Registry::builtin()).unwrap();
        assert_eq!(
            min.failed_check, original.failed_check,
            "{bug}: shrink keeps the same check"
        );
        assert!(min.scenario.faults.len() <= original.scenario.faults.len());
        assert!(
            min.scenario.faults.len() <= 5,
            "{bug}: {} faults left",
            min.scenario.faults.len()
        );

        let replay = faultline(
            &scratch.0,
            &[
                "replay",
                &min_path.to_string_lossy(),
                "--out",
                &scratch.0.join("r").to_string_lossy(),
            ],
        );
        assert_eq!(replay.status.code(), Some(1), "{bug}: {}", text(&replay));
        assert!(
            text(&replay).contains("digest matches the seed file"),
            "{bug}: {}",
            text(&replay)
        );
    }
}

#[test]
fn shards_merge_into_the_unsharded_exploration() {
    let scratch = Scratch::new("shards");
    let scenario = repo("scenarios/bully/swarm.toml");
    let run = |args: &[&str]| {
        let out = faultline(&scratch.0, args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    };
    run(&["explore", &scenario, "--seeds", "0..12", "--out", "whole"]);
    run(&[
        "explore", &scenario, "--seeds", "0..12", "--shard", "0/2", "--out", "a",
    ]);
    run(&[
        "explore", &scenario, "--seeds", "0..12", "--shard", "1/2", "--out", "b",
    ]);
    run(&["merge", "a", "b", "--out", "merged"]);
    let read = |dir: &str| -> Exploration {
        let mut x = exploration(&scratch.0.join(dir));
        x.wall_s = 0.0;
        x
    };
    let (whole, merged) = (read("whole"), read("merged"));
    assert_eq!(merged.seeds_run, 12);
    assert_eq!(
        whole, merged,
        "the same seeds give the same counts, histograms and digests wherever they run"
    );
    assert!(scratch.0.join("merged/distribution.svg").exists());
    // One shard twice would count its seeds twice.
    let twice = faultline(&scratch.0, &["merge", "a", "a", "--out", "twice"]);
    assert_eq!(twice.status.code(), Some(2), "{}", text(&twice));
}

/// The explore.json in `dir`.
fn exploration(dir: &Path) -> Exploration {
    serde_json::from_str(&std::fs::read_to_string(dir.join("explore.json")).unwrap()).unwrap()
}

#[test]
fn an_open_ended_exploration_runs_until_its_time_limit() {
    let scratch = Scratch::new("open-ended");
    let started = Instant::now();
    let out = faultline(
        &scratch.0,
        &[
            "explore",
            &repo("scenarios/bully/leader-crash.toml"),
            "--seeds",
            "0..",
            "--time-limit",
            "2",
            "--jobs",
            "2",
            "--out",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let x = exploration(&scratch.0.join("x"));
    assert!(x.seeds_run > 0 && x.passed == x.seeds_run, "{x:?}");
    assert_eq!(x.seed_range, "0..");
    assert!(!x.interrupted);
    assert!(text(&out).contains("time limit reached"), "{}", text(&out));
}

#[test]
fn sigint_stops_explore_with_its_table_and_report() {
    let scratch = Scratch::new("sigint");
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(&scratch.0)
        .args([
            "explore",
            &repo("scenarios/bully/leader-crash.toml"),
            "--seeds",
            "0..",
            "--jobs",
            "2",
            "--out",
            "x",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("faultline runs");
    // The header comes once the handler is in place; a signal before it would kill outright.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut header = String::new();
    stderr.read_line(&mut header).unwrap();
    assert!(header.starts_with("explore:"), "{header}");
    std::thread::sleep(Duration::from_secs(2));
    // SAFETY: a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{table}{rest}");
    assert!(table.contains("interrupted   after"), "{table}");
    assert!(table.contains("election time"), "{table}");
    let x = exploration(&scratch.0.join("x"));
    assert!(x.interrupted);
    assert!(
        table.contains(&format!("seeds run     {} in", x.seeds_run)),
        "{table}"
    );
    assert!(scratch.0.join("x/distribution.svg").exists());
}

#[test]
fn check_determinism_runs_each_seed_twice() {
    let scratch = Scratch::new("determinism");
    let out = faultline(
        &scratch.0,
        &[
            "explore",
            &repo("scenarios/bully/clients-chat.toml"),
            "--seeds",
            "0..4",
            "--check-determinism",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = faultline(
        &scratch.0,
        &[
            "run",
            &repo("scenarios/raft/leader-crash.toml"),
            "--check-determinism",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("determinism: a second run gave the same trace"),
        "{}",
        text(&out)
    );
}

/// Runs made in one process count up here: a protocol that reads it is nondeterministic.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// The one message of [`Drifting`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Ping(u64);

impl Message for Ping {
    fn label(&self) -> &'static str {
        "PING"
    }
}

/// A protocol with a planted determinism bug: node #0 pings node #1 after a delay taken from
/// global state, so no two runs in one process give the same trace.
struct Drifting;

impl Protocol for Drifting {
    type Msg = Ping;
    type Event = u64;
    const NAME: &'static str = "drifting";
    const ABOUT: &'static str = "reads global state: two runs differ";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    const BUGS: &'static [Bug] = &[];
    fn new(_: &Setup, _: &Source) -> Result<Drifting, InputError> {
        Ok(Drifting)
    }
    fn node(&self, id: NodeId) -> BoxNode<Ping, u64> {
        Box::new(DriftingNode { me: id })
    }
    fn checks(&self) -> Vec<Box<dyn Check<u64> + Send>> {
        Vec::new()
    }
}

/// One node of [`Drifting`].
struct DriftingNode {
    /// Its id.
    me: NodeId,
}

faultline_sim::timers! {
    /// Node #0's one timer.
    enum Wake {
        /// Send the ping.
        Ping = 0,
    }
}

impl Node for DriftingNode {
    type Msg = Ping;
    type Event = u64;
    type Timer = Wake;
    fn on_start(&mut self, cx: &mut Cx<'_, Ping, u64, Wake>) {
        if self.me == NodeId(0) {
            let drift = RUNS.fetch_add(1, Ordering::Relaxed) % 50;
            cx.set_timer(Wake::Ping, Duration::from_millis(10 + drift));
        }
    }
    fn on_message(&mut self, _from: NodeId, msg: Ping, cx: &mut Cx<'_, Ping, u64, Wake>) {
        cx.emit(msg.0);
    }
    fn on_timer(&mut self, _timer: Wake, cx: &mut Cx<'_, Ping, u64, Wake>) {
        cx.send(NodeId(1), Ping(7));
    }
}

#[test]
fn a_nondeterministic_seed_is_a_failure_of_its_own_and_shrink_keeps_it() {
    let scratch = Scratch::new("nondeterminism");
    let path = scratch.0.join("drifting.toml");
    std::fs::write(
        &path,
        "name = \"drifting\"\nprotocol = \"drifting\"\nduration_ms = 500\nseed = 1\n\
         [nodes]\nservers = 2\n[network]\nlatency_ms = [1, 5]\n\
         [[faults]]\nkind = \"crash\"\nnode = \"s2\"\nat_ms = 400\n",
    )
    .unwrap();
    let registry = Registry::default().with::<Drifting>();
    let req = RunRequest::load(&registry, &path, None, vec![]).unwrap();
    let failures_dir = scratch.0.join("failures");
    let opts = ExploreOptions {
        seeds: 0..3,
        jobs: 1,
        until_failures: usize::MAX,
        time_limit: None,
        shard: None,
        determinism_every: 1,
        failures_dir: failures_dir.clone(),
        report_dir: scratch.0.join("report"),
    };
    assert_eq!(explore_command(&req, &opts), 1);
    let x = exploration(&scratch.0.join("report"));
    assert_eq!(x.failed_by_check.get(NONDETERMINISM), Some(&3), "{x:?}");
    let seed = failures_dir.join("drifting-0.seed");
    let file = SeedFile::load(&seed, &registry).unwrap();
    assert_eq!(file.failed_check.as_deref(), Some(NONDETERMINISM));
    assert!(std::fs::read_to_string(&seed)
        .unwrap()
        .starts_with("# nondeterminism: digests"));
    // Shrink keeps what still differs: the crash has nothing to do with it.
    assert_eq!(faultline::shrink::shrink_command(&registry, &seed), 0);
    let min = SeedFile::load(&seed.with_file_name("drifting-0.min.seed"), &registry).unwrap();
    assert_eq!(min.failed_check.as_deref(), Some(NONDETERMINISM));
    assert!(min.scenario.faults.is_empty(), "{:?}", min.scenario.faults);
    // Without sampling, the same seeds pass.
    let opts = ExploreOptions {
        determinism_every: 0,
        report_dir: scratch.0.join("unsampled"),
        ..opts
    };
    assert_eq!(explore_command(&req, &opts), 0);
}

#[test]
fn a_seed_file_from_another_version_is_refused() {
    let scratch = Scratch::new("version");
    let text_in = std::fs::read_to_string(corpus()[0].clone()).unwrap();
    let old = scratch.0.join("old.seed");
    std::fs::write(
        &old,
        text_in.replace(
            &format!("faultline_version = \"{}\"", env!("CARGO_PKG_VERSION")),
            "faultline_version = \"0.0.1\"",
        ),
    )
    .unwrap();
    let out = faultline(&scratch.0, &["replay", &old.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("written by faultline 0.0.1"),
        "{}",
        text(&out)
    );
}
