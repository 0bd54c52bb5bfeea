//! `faultline lan`: a short bully scenario by real processes in network namespaces, its faults
//! applied for real (SIGKILL, restart from the durable file, a partition by bridges, a
//! one-way cut by drop rules), judged and reported like a simulated run, and nothing left
//! behind. Needs root; without it the LAN test says it skipped, and the tests of bad input
//! run anyway.
#![cfg(not(madsim))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// 3 servers, 9 s: s3 (the leader) crashes and restarts, s1 is cut off and rejoins, then
/// s1's datagrams to s2 are lost one way for a moment.
const SCENARIO: &str = r#"
name = "lan-short"
protocol = "bully"
duration_ms = 9000

[nodes]
servers = 3

[config]
heartbeat_ms = 100
peer_timeout_ms = 500

[checks]
leader_within_ms = 2500
view_within_ms = 2500
# No clients: there is no chat to judge, and the scenario says so.
allow_vacuous = ["chat-delivery"]

[[faults]]
kind = "crash"
node = "s3"
at_ms = 1500

[[faults]]
kind = "restart"
node = "s3"
at_ms = 3000

[[faults]]
kind = "partition"
groups = [["s1"], ["s2", "s3"]]
at_ms = 4000
heal_ms = 5000

[[faults]]
kind = "partition"
from = ["s1"]
to = ["s2"]
at_ms = 5500
heal_ms = 5800
"#;

fn hosts_file(names: &[&str]) -> String {
    let mut text = "protocol = \"bully\"\n".to_string();
    for (i, name) in names.iter().enumerate() {
        text += &format!(
            "\n[[nodes]]\nname = \"{name}\"\nrole = \"server\"\naddr = \"192.0.2.{}:7401\"\n",
            i + 1
        );
    }
    text
}

fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .output()
        .expect("faultline runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("faultline-lan-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("scenario.toml"), SCENARIO).unwrap();
    dir
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Processes whose command line mentions `path`.
fn processes_mentioning(path: &Path) -> Vec<String> {
    let needle = path.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&needle) && c.contains("node"))
        .collect()
}

#[test]
fn a_scenario_runs_on_a_private_lan_and_leaves_nothing_behind() {
    if !is_root() {
        println!("skipped: `faultline lan` needs root (network namespaces); run the suite as root");
        return;
    }
    let dir = scratch("run");
    let scenario = dir.join("scenario.toml");
    let report = dir.join("report");
    let child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args([
            "lan",
            scenario.to_str().unwrap(),
            "--out",
            report.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let supervisor = child.id();
    let out = child.wait_with_output().unwrap();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("crash s3: SIGKILL"), "{log}");
    assert!(log.contains("started again as pid"), "{log}");
    assert!(log.contains("bridges, one per group (kernel)"), "{log}");
    assert!(log.contains("drop rules in the nodes' transport"), "{log}");
    assert!(log.contains("\nPASS  digest "), "{log}");

    // The same three files as a simulated run, and what they say.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["verdict"], "pass", "{summary}");
    let faults: Vec<&str> = summary["recoveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fault"].as_str().unwrap())
        .collect();
    assert_eq!(
        faults,
        [
            "crash s3",
            "restart s3",
            "partition s1 | s2,s3",
            "heal s1 | s2,s3",
            "cut s1 -> s2",
            "heal s1 -> s2"
        ],
        "{summary}"
    );
    assert!(summary["recoveries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["recovered_ms"].is_number()));
    let svg = std::fs::read_to_string(report.join("timeline.svg")).unwrap();
    assert!(svg.starts_with("<svg"));
    let trace = std::fs::read_to_string(report.join("trace.jsonl")).unwrap();
    assert!(
        trace.contains(r#""from":0,"to":1"#) && trace.contains(r#""reason":"partition""#),
        "the one-way cut dropped s1's datagrams to s2 at s2, by drop rules"
    );
    let mut last_t = 0;
    for line in trace.lines().skip(1) {
        let rec: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = rec["t"].as_u64().unwrap();
        assert!(t >= last_t, "merged trace out of order at {line}");
        last_t = t;
    }

    // Nothing left: no namespace of the run, no node process.
    let netns = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let netns = String::from_utf8_lossy(&netns.stdout).to_string();
    let prefix = format!("fl{supervisor}");
    assert!(
        !netns.lines().any(|l| l.starts_with(&prefix)),
        "namespaces left behind: {netns}"
    );
    assert!(processes_mentioning(&report).is_empty());

    // `collect` judges the same node traces into the same verdict.
    std::fs::write(dir.join("hosts.toml"), hosts_file(&["s1", "s2", "s3"])).unwrap();
    let collected = dir.join("collected");
    let out = faultline(&[
        "collect",
        scenario.to_str().unwrap(),
        "--hosts",
        dir.join("hosts.toml").to_str().unwrap(),
        "--from",
        report.join("nodes").to_str().unwrap(),
        "--out",
        collected.to_str().unwrap(),
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("\nPASS  digest "), "{log}");
    assert!(collected.join("timeline.svg").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The seed's overlay: six processes on two hosts. On a LAN each host is one namespace with
/// its three processes on ports of their own, and the partition of the two hosts moves the
/// hosts' ports onto two bridges.
#[test]
fn the_overlays_two_hosts_are_two_namespaces_of_three_processes() {
    if !is_root() {
        println!("skipped: `faultline lan` needs root (network namespaces); run the suite as root");
        return;
    }
    let dir = scratch("hosts");
    // The shipped scenario, shortened: 5 s, the hosts cut apart from 1.5 s to 3 s.
    let mut toml = include_str!("../scenarios/overlay/partition.toml").to_string();
    for (from, to) in [
        ("duration_ms = 14000", "duration_ms = 5000"),
        ("requests = 200", "requests = 40"),
        ("interval_ms = 30", "interval_ms = 60"),
        ("at_ms = 3000", "at_ms = 1500"),
        ("heal_ms = 8000", "heal_ms = 3000"),
    ] {
        assert!(toml.contains(from), "partition.toml no longer has `{from}`");
        toml = toml.replace(from, to);
    }
    let scenario = dir.join("overlay.toml");
    std::fs::write(&scenario, toml).unwrap();
    let report = dir.join("report");
    let out = faultline(&[
        "lan",
        scenario.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("on 4 namespaces"),
        "two hosts and two clients: {log}"
    );
    for placed in [
        "l1=10.77.0.1:7401",
        "t1=10.77.0.1:7402",
        "w2=10.77.0.1:7403",
        "t2=10.77.0.2:7401",
        "w1=10.77.0.2:7402",
        "w3=10.77.0.2:7403",
    ] {
        assert!(log.contains(placed), "{placed}: {log}");
    }
    assert!(
        log.contains("ports moved onto 2 bridges, one per group (kernel)"),
        "{log}"
    );
    assert!(log.contains("8 processes in 4 namespaces"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_hosts_files_and_scenarios_are_refused_with_file_line_and_field() {
    let dir = scratch("bad");
    let scenario = dir.join("scenario.toml");
    let hosts = dir.join("hosts.toml");
    std::fs::write(&hosts, hosts_file(&["s1", "s9", "s3"])).unwrap();
    let out = faultline(&[
        "lan",
        scenario.to_str().unwrap(),
        "--hosts",
        hosts.to_str().unwrap(),
        "--out",
        dir.join("plan").to_str().unwrap(),
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("hosts.toml:9: field `nodes[1].name`: expected `s2`"),
        "{log}"
    );

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, SCENARIO.replace("duration_ms", "duration_msec")).unwrap();
    let out = faultline(&["lan", bad.to_str().unwrap()]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(log.contains("bad.toml:4: field `duration_msec`"), "{log}");

    // A Byzantine node is the simulator's alone: refused before any namespace exists.
    let byzantine = dir.join("byzantine.toml");
    let lying = "\n[[faults]]\nkind = \"byzantine\"\nnode = \"s1\"\nbehaviour = \"forge\"\nfrom_ms = 1000\n";
    std::fs::write(&byzantine, format!("{SCENARIO}{lying}")).unwrap();
    let out = faultline(&["lan", byzantine.to_str().unwrap()]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("byzantine.toml:") && log.contains("simulator only"),
        "{log}"
    );

    // Network rules and windows, and clock drift, are the simulator's alone too; each is
    // named by its line and field.
    for (name, extra, says) in [
        (
            "rules.toml",
            "\n[[network.rules]]\nkinds = [\"*REPLY\"]\nloss = 0.1\n",
            "field `network.rules`",
        ),
        (
            "window.toml",
            "\n[[faults]]\nkind = \"network\"\nfrom_ms = 100\nuntil_ms = 900\nrules = [{ loss = 0.5 }]\n",
            "network windows",
        ),
        (
            "drift.toml",
            "\n[clocks]\ns1 = { skew_ms = 50, drift_ppm = 1000 }\n",
            "field `clocks.s1.drift_ppm`",
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, format!("{SCENARIO}{extra}")).unwrap();
        let out = faultline(&["lan", path.to_str().unwrap()]);
        let log = text(&out);
        assert_eq!(out.status.code(), Some(2), "{log}");
        assert!(log.contains(name) && log.contains(says), "{log}");
    }

    // A submit is a harness step of the simulator: refused for Raft (bully takes none).
    let submit = dir.join("submit.toml");
    let raft =
        "name = \"lan-submit\"\nprotocol = \"raft\"\nduration_ms = 5000\n[nodes]\nservers = 3\n\
                [[faults]]\nkind = \"submit\"\nnode = \"s1\"\nat_ms = 1000\n";
    std::fs::write(&submit, raft).unwrap();
    let out = faultline(&["lan", submit.to_str().unwrap()]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("submit.toml:7: field `faults[0].kind`") && log.contains("simulator only"),
        "{log}"
    );

    // With good hosts, the plan: one command per host and the faults in time order.
    std::fs::write(&hosts, hosts_file(&["s1", "s2", "s3"])).unwrap();
    let out = faultline(&[
        "lan",
        scenario.to_str().unwrap(),
        "--hosts",
        hosts.to_str().unwrap(),
        "--out",
        dir.join("plan").to_str().unwrap(),
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("on 192.0.2.3       faultline node bully --config cluster.toml --id s3"),
        "{log}"
    );
    assert!(
        log.contains("1.5 s  on 192.0.2.3: kill -9 the node s3"),
        "{log}"
    );
    assert!(dir.join("plan/cluster.toml").exists());
    assert!(dir.join("plan/drop-rules-1.toml").exists());

    // Without root, a LAN run says what it needs (exit 2).
    if is_root() {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_faultline"))
            .args(["lan", scenario.to_str().unwrap(), "--out", "/tmp"])
            .output()
            .expect("setpriv runs");
        let log = text(&out);
        assert_eq!(out.status.code(), Some(2), "{log}");
        assert!(log.contains("faultline lan needs root"), "{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The primes farm on the private LAN, 4 s: a worker is killed mid-task and the primary file
/// server right after; the farm still writes every prime of its datasets once.
const PRIMES_SCENARIO: &str = r#"
name = "lan-primes"
protocol = "primes"
duration_ms = 4000

[nodes]
file_servers = 3
coordinators = 1
workers = 3

[config]
# 0.2 s a task: the farm is still at work when the faults come.
test_us_per_number = 4000

[workload]
task_numbers = 50
[[workload.datasets]]
name = "small"
count = 400
max = 1000000
seed = 3
[[workload.datasets]]
name = "near-2-64"
count = 200
min = "18446744073709000000"
max = "18446744073709551615"
seed = 4

[[faults]]
kind = "crash"
node = "w1"
at_ms = 600

[[faults]]
kind = "crash"
node = "f3"
at_ms = 700
"#;

#[test]
fn the_primes_farm_runs_on_a_private_lan_through_a_worker_and_a_primary_crash() {
    use faultline_nodes::primes::primality::is_prime;
    use faultline_nodes::primes::{generate, parse_output, OUTPUT_FILE};

    if !is_root() {
        println!("skipped: `faultline lan` needs root (network namespaces); run the suite as root");
        return;
    }
    let dir = scratch("primes");
    let scenario = dir.join("primes.toml");
    std::fs::write(&scenario, PRIMES_SCENARIO).unwrap();
    let report = dir.join("report");
    let out = faultline(&[
        "lan",
        scenario.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("crash w1: SIGKILL"), "{log}");
    assert!(log.contains("crash f3: SIGKILL"), "{log}");
    assert!(log.contains("\nPASS  digest "), "{log}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("summary.json")).unwrap())
            .unwrap();
    let details = &summary["details"];
    assert!(
        details["tasks_reassigned"].as_u64() >= Some(1),
        "w1's task was put back: {details}"
    );
    assert!(
        details["file_server_primaries"].as_u64() >= Some(2),
        "a backup took over from f3: {details}"
    );

    // The coordinator's primes.txt, beside its trace, is the sequential answer.
    let mut expected: Vec<u64> = generate(400, 1, 1_000_000, 3)
        .into_iter()
        .chain(generate(200, 18446744073709000000, u64::MAX, 4))
        .filter(|n| is_prime(*n))
        .collect();
    expected.sort_unstable();
    expected.dedup();
    assert!(expected.iter().any(|p| *p > 18446744073709000000));
    let written =
        std::fs::read_to_string(report.join("nodes").join(OUTPUT_FILE)).expect("primes.txt");
    assert_eq!(parse_output(&written).unwrap(), expected);
    let _ = std::fs::remove_dir_all(&dir);
}
