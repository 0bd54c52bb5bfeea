//! Raft in the shared test world ([`World`]): replicas and clients together, with crashes,
//! partitions and loss, and the checks over the trace.

use std::collections::BTreeSet;

use faultline_sim::testkit::World;
use faultline_sim::{ChaCha8Rng, NodeId};
use rand::{Rng, SeedableRng};

use super::*;

/// Servers get ids 0..servers, clients the next ones; all start at time 0. Latency 1 to
/// 10 ms.
fn world(
    servers: u16,
    clients: u16,
    mut cfg: RaftConfig,
    work: Workload,
    seed: u64,
) -> World<Raft> {
    cfg.servers = (0..servers).map(NodeId).collect();
    let client_ids: Vec<NodeId> = (servers..servers + clients).map(NodeId).collect();
    let raft = Raft::from_parts(cfg, work, ChecksConfig::default(), &client_ids);
    let mut w = World::new(raft, servers + clients, seed);
    w.set_latency_ms(1, 10);
    w
}

/// The protocol events `id` reported.
fn events(w: &World<Raft>, id: u16) -> Vec<Event> {
    w.events(id).cloned().collect()
}

/// The last (index, chain) `id` applied, or its snapshot's if it installed one later.
fn applied(w: &World<Raft>, id: u16) -> (u64, u64) {
    let mut last = (0, 0);
    for e in w.events(id) {
        match *e {
            Event::Applied { index, chain } | Event::SnapshotInstalled { index, chain, .. } => {
                last = (index, chain)
            }
            _ => {}
        }
    }
    last
}

/// The outcomes `id` (a client) returned, in order.
fn returns(w: &World<Raft>, id: u16) -> Vec<Outcome> {
    w.events(id)
        .filter_map(|e| match e {
            Event::Return { result, .. } => Some(result.as_ref().clone()),
            _ => None,
        })
        .collect()
}

fn work(ops: u32) -> Workload {
    Workload {
        ops,
        rate_ms: 20,
        ..Default::default()
    }
}

fn kv_only(ops: u32) -> Workload {
    Workload {
        mix: Mix {
            kv: 1,
            lock: 0,
            queue: 0,
        },
        ..work(ops)
    }
}

#[test]
fn five_replicas_elect_one_leader_and_fail_over() {
    let mut w = world(5, 0, RaftConfig::default(), work(0), 1);
    w.run_until(2000);
    let leader = w.leader_of(0).expect("a leader");
    for s in 0..5 {
        assert_eq!(w.leader_of(s), Some(leader), "server {s}");
    }
    w.assert_checks_ok();
    w.crash(leader.0);
    w.run_until(4000);
    let next = w.leader_of((leader.0 + 1) % 5).expect("a new leader");
    assert_ne!(next, leader);
    for s in (0..5).filter(|s| *s != leader.0) {
        assert_eq!(w.leader_of(s), Some(next), "server {s}");
    }
    // The old leader comes back as a follower of the new one.
    w.restart(leader.0);
    w.run_until(6000);
    assert_eq!(w.leader_of(leader.0), Some(next));
    w.assert_checks_ok();
}

#[test]
fn clients_ops_are_replicated_and_applied_identically_everywhere() {
    let mut w = world(5, 2, RaftConfig::default(), work(60), 2);
    w.run_until(20000);
    for c in [5, 6] {
        // The 60 operations, then the drain's.
        let returns = returns(&w, c);
        assert!(returns.len() > 60, "client {c}: {returns:?}");
        assert!(!returns.contains(&Outcome::Unknown), "client {c}");
    }
    let reference = applied(&w, 0);
    assert!(reference.0 > 100, "{reference:?}");
    for s in 1..5 {
        assert_eq!(applied(&w, s), reference, "server {s}");
    }
    w.assert_checks_ok();
}

#[test]
fn crashed_replicas_recover_their_log_and_catch_up() {
    let mut w = world(5, 2, RaftConfig::default(), kv_only(200), 3);
    w.run_until(2000);
    w.crash(1);
    w.crash(2);
    w.run_until(5000);
    w.restart(1);
    w.restart(2);
    w.run_until(6000);
    // Everyone down at once; all come back from their durable state.
    for s in 0..5 {
        w.crash(s);
    }
    w.run_until(6500);
    for s in 0..5 {
        w.restart(s);
    }
    w.run_until(25000);
    let reference = applied(&w, 0);
    for s in 1..5 {
        assert_eq!(applied(&w, s), reference, "server {s}");
    }
    // Committed state survived: every replica restored a non-empty log.
    for s in 0..5 {
        let restored = events(&w, s).into_iter().rev().find_map(|e| match e {
            Event::Restored { last_index, .. } => Some(last_index),
            _ => None,
        });
        assert!(restored.is_some_and(|i| i > 0), "server {s}: {restored:?}");
    }
    w.assert_checks_ok();
}

#[test]
fn a_follower_back_from_a_long_crash_is_brought_up_by_snapshot() {
    let cfg = RaftConfig {
        snapshot_entries: 30,
        ..Default::default()
    };
    let mut w = world(5, 3, cfg, kv_only(150), 4);
    w.run_until(1500);
    let victim = (0..5)
        .find(|s| w.leader_of(*s) != Some(NodeId(*s)))
        .unwrap();
    w.crash(victim);
    w.run_until(8000);
    w.restart(victim);
    w.run_until(25000);
    let evs = events(&w, victim);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::SnapshotInstalled { .. })),
        "no snapshot installed at {victim}"
    );
    assert!(evs.iter().any(|e| matches!(e, Event::SnapshotTaken { .. })));
    let reference = applied(&w, (victim + 1) % 5);
    assert_eq!(applied(&w, victim), reference);
    w.assert_checks_ok();
}

#[test]
fn vote_twice_is_caught_by_election_safety() {
    let run = |bugs: &[&str], seed| {
        let names: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
        let cfg = RaftConfig {
            bugs: Bugs::from_names(&names).unwrap(),
            // Narrow timeouts: candidates often run in the same term.
            election_timeout_ms_min: 150,
            election_timeout_ms_max: 170,
            ..Default::default()
        };
        let mut w = world(5, 0, cfg, work(0), seed);
        w.run_until(3000);
        w.failed_checks()
    };
    let caught: Vec<u64> = (0..20)
        .filter(|s| run(&["vote-twice"], *s).contains(&"election-safety".to_string()))
        .collect();
    assert!(!caught.is_empty(), "vote-twice never caught");
    for seed in 0..5 {
        assert!(run(&[], seed).is_empty(), "seed {seed}");
    }
}

#[test]
fn lease_ignored_is_caught_by_lock_safety() {
    let run = |bugs: &[&str]| {
        let names: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
        let cfg = RaftConfig {
            bugs: Bugs::from_names(&names).unwrap(),
            ..Default::default()
        };
        let locks = Workload {
            mix: Mix {
                kv: 0,
                lock: 1,
                queue: 0,
            },
            resources: 1,
            ..work(40)
        };
        let mut w = world(3, 3, cfg, locks, 5);
        w.run_until(15000);
        w.failed_checks()
    };
    assert!(run(&[]).is_empty());
    assert_eq!(run(&["lease-ignored"]), vec!["lock-safety"]);
}

/// Random crashes (up to two replicas at once), partitions and loss for 15 s, then 6 s of
/// calm: every check must hold within its bounds.
#[test]
fn random_faults_keep_every_check_green() {
    for seed in 0..30u64 {
        let cfg = RaftConfig {
            snapshot_entries: 40,
            ..Default::default()
        };
        let mut w = world(5, 2, cfg, work(150), seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1_000_000);
        let mut t = 500;
        let mut down: BTreeSet<u16> = BTreeSet::new();
        while t < 15000 {
            t += rng.gen_range(200..1500);
            w.run_until(t);
            match rng.gen_range(0..5) {
                0 | 4 if down.len() < 2 => {
                    let id = rng.gen_range(0..5);
                    if down.insert(id) {
                        w.crash(id);
                    }
                }
                1 => {
                    if let Some(id) = down.pop_first() {
                        w.restart(id);
                    }
                }
                2 => {
                    let (a, b): (Vec<u16>, Vec<u16>) = (0..7).partition(|_| rng.gen_bool(0.5));
                    w.heal();
                    w.partition(&[&a, &b]);
                }
                3 => w.heal(),
                _ => {
                    let rate = rng.gen_range(0.0..0.2);
                    w.set_loss(rate)
                }
            }
        }
        w.heal();
        w.set_loss(0.0);
        for id in std::mem::take(&mut down) {
            w.restart(id);
        }
        w.run_until(t + 15000);
        // No check is violated; the workload may be over before the last fault, leaving
        // progress unjudged (vacuous), which is not what this test is about.
        for v in w.verdicts() {
            assert!(v.ok || v.vacuous, "seed {seed}: {}: {}", v.name, v.detail);
        }
    }
}
