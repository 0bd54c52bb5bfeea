//! `faultline bench` is a command that prints figures, not a timed test: this only checks
//! that a tiny run prints every line of its table (sim flavor:
//! `cargo sim-test -p faultline --test sim_bench`). The peers (turmoil) are left out: their
//! binary takes minutes to build.
#![cfg(madsim)]

use std::process::Command;

#[test]
fn a_tiny_bench_prints_every_line_of_its_table() {
    let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["bench", "--smoke", "--no-peers"])
        .output()
        .expect("the faultline binary runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench failed:\n{text}");
    let lines = [
        "peers: skipped (--no-peers)",
        "faultline (flood protocol, whole pipeline)",
        "raw madsim (its own UDP, no faultline layer)",
        "bully 5 servers, 10 ms heartbeats",
        "bully 5 servers + 2 clients, leader crash",
        "raft 5 replicas + 3 clients, 5% loss, 60 s",
        "cost per delivered datagram by group size",
        "   5 nodes:",
        "  64 nodes:",
        " 256 nodes:",
        "explore memory: peak RSS",
        "report's share of a run:",
        "report's share of a raft 60 s run:",
        "explore throughput, raft",
        "faultline per delivered datagram vs raw madsim:",
        "target at least 2.00x",
        "faultline per delivered datagram vs turmoil-10ms: not measured, target at least 1.00x",
    ];
    let missing: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !text.contains(l))
        .collect();
    assert!(missing.is_empty(), "missing {missing:?} in:\n{text}");
}
