//! A tiny in-memory deterministic world (one event queue ordered by time) running replicas
//! and clients together, with crashes, partitions and loss, and the checks over its trace.

use std::collections::{BTreeMap, BTreeSet};

use faultline_sim::{
    Action, BoxNode, ChaCha8Rng, Cx, Durable, Effects, Ev, NodeId, Note, Protocol, Record, TimerId,
    Verdict,
};
use rand::{Rng, SeedableRng};

use super::*;

/// One node of the world.
struct Slot {
    /// The protocol.
    node: BoxNode<Msg, Event>,
    /// What survives its crashes.
    durable: Durable,
    /// Its random source.
    rng: ChaCha8Rng,
    /// Whether it runs.
    up: bool,
    /// The live generation of each pending timer; a fired timer of another one is stale.
    timers: BTreeMap<TimerId, u64>,
}

/// Something due at a time.
enum Item {
    /// A datagram arrives.
    Deliver { from: NodeId, to: NodeId, msg: Msg },
    /// A timer fires (if `generation` is still the live one).
    Timer {
        node: NodeId,
        timer: TimerId,
        generation: u64,
    },
}

/// The world: nodes, a time-ordered queue, the network's faults and the trace.
struct World {
    /// The protocol (node factory and checks).
    raft: Raft,
    /// Every node by id.
    slots: BTreeMap<NodeId, Slot>,
    /// Pending items by (time µs, insertion number).
    queue: BTreeMap<(u64, u64), Item>,
    /// Insertion counter (also timer generations).
    counter: u64,
    /// The clock (µs).
    now_us: u64,
    /// Probability that a datagram is lost.
    loss: f64,
    /// The network's randomness (latency, loss).
    net_rng: ChaCha8Rng,
    /// Directed links currently cut.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// Everything that happened.
    trace: Vec<Record<Event>>,
    /// The buffer callbacks write into.
    effects: Effects<Msg, Event>,
}

impl World {
    /// Servers get ids 0..servers, clients the next ones; all start at time 0.
    fn new(servers: u16, clients: u16, mut cfg: RaftConfig, work: Workload, seed: u64) -> World {
        cfg.servers = (0..servers).map(NodeId).collect();
        let client_ids: Vec<NodeId> = (servers..servers + clients).map(NodeId).collect();
        let raft = Raft::from_parts(cfg, work, ChecksConfig::default(), &client_ids);
        let mut w = World {
            raft,
            slots: BTreeMap::new(),
            queue: BTreeMap::new(),
            counter: 0,
            now_us: 0,
            loss: 0.0,
            net_rng: ChaCha8Rng::seed_from_u64(seed),
            cut: BTreeSet::new(),
            trace: Vec::new(),
            effects: Effects::default(),
        };
        for id in 0..servers + clients {
            let slot = Slot {
                node: w.raft.node(NodeId(id)),
                durable: Durable::default(),
                rng: ChaCha8Rng::seed_from_u64(seed ^ (u64::from(id) << 32)),
                up: true,
                timers: BTreeMap::new(),
            };
            w.slots.insert(NodeId(id), slot);
        }
        for id in 0..servers + clients {
            w.step(NodeId(id), |node, cx| node.on_start(cx));
        }
        w
    }

    fn push(&mut self, at_us: u64, item: Item) {
        self.counter += 1;
        self.queue.insert((at_us, self.counter), item);
    }

    fn record(&mut self, node: NodeId, ev: Ev<Event>) {
        self.trace.push(Record {
            t: self.now_us,
            node,
            ev,
        });
    }

    /// Runs one callback of `id` and carries out what it asked for.
    fn step(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut BoxNode<Msg, Event>, &mut Cx<'_, Msg, Event>),
    ) {
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        if !slot.up {
            return;
        }
        self.effects.clear();
        let mut cx = Cx::new(
            id,
            self.now_us,
            &mut slot.rng,
            &mut slot.durable,
            &mut self.effects,
        );
        f(&mut slot.node, &mut cx);
        let actions = std::mem::take(&mut self.effects.actions);
        let notes = std::mem::take(&mut self.effects.notes);
        for note in notes {
            let ev = match note {
                Note::Role(role) => Ev::Role { role },
                Note::ElectionStarted => Ev::ElectionStarted,
                Note::Leader(leader) => Ev::Leader { leader },
                Note::Proto(event) => Ev::Proto { event },
            };
            self.record(id, ev);
        }
        for action in actions {
            match action {
                Action::Send(to, msg) => self.transmit(id, to, msg),
                Action::Multicast(_) => {}
                Action::SetTimer(timer, after) => {
                    let generation = self.counter + 1;
                    if let Some(slot) = self.slots.get_mut(&id) {
                        slot.timers.insert(timer, generation);
                    }
                    let at = self.now_us + after.as_micros() as u64;
                    self.push(
                        at,
                        Item::Timer {
                            node: id,
                            timer,
                            generation,
                        },
                    );
                }
                Action::CancelTimer(timer) => {
                    if let Some(slot) = self.slots.get_mut(&id) {
                        slot.timers.remove(&timer);
                    }
                }
            }
        }
    }

    fn transmit(&mut self, from: NodeId, to: NodeId, msg: Msg) {
        if self.cut.contains(&(from, to)) || self.net_rng.gen_bool(self.loss) {
            return;
        }
        let latency_us = 1000 + self.net_rng.gen_range(0..9000);
        self.push(self.now_us + latency_us, Item::Deliver { from, to, msg });
    }

    /// Runs everything due up to `ms`.
    fn run_until(&mut self, ms: u64) {
        let end_us = ms * 1000;
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > end_us {
                break;
            }
            let ((at_us, _), item) = entry.remove_entry();
            self.now_us = at_us;
            match item {
                Item::Deliver { from, to, msg } => {
                    if !self.cut.contains(&(from, to)) {
                        self.step(to, |node, cx| node.on_message(from, msg, cx))
                    }
                }
                Item::Timer {
                    node,
                    timer,
                    generation,
                } => {
                    let live = self.slots.get(&node).and_then(|s| s.timers.get(&timer))
                        == Some(&generation);
                    if live {
                        if let Some(slot) = self.slots.get_mut(&node) {
                            slot.timers.remove(&timer);
                        }
                        self.step(node, |n, cx| n.on_timer(timer, cx));
                    }
                }
            }
        }
        self.now_us = end_us;
    }

    fn crash(&mut self, id: u16) {
        if let Some(slot) = self.slots.get_mut(&NodeId(id)) {
            slot.up = false;
            slot.timers.clear();
        }
        self.record(NodeId(id), Ev::Crash);
    }

    fn restart(&mut self, id: u16) {
        let fresh = self.raft.node(NodeId(id));
        if let Some(slot) = self.slots.get_mut(&NodeId(id)) {
            slot.up = true;
            slot.node = fresh;
        }
        self.record(NodeId(id), Ev::Restart);
        self.step(NodeId(id), |node, cx| node.on_start(cx));
    }

    /// Cuts every link between different groups, both ways.
    fn partition(&mut self, groups: &[&[u16]]) {
        let mut links = Vec::new();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    for &x in *a {
                        for &y in *b {
                            links.push((NodeId(x), NodeId(y)));
                        }
                    }
                }
            }
        }
        self.cut.extend(links.iter().copied());
        self.record(faultline_sim::WORLD, Ev::Partition { links });
    }

    fn heal(&mut self) {
        let links: Vec<(NodeId, NodeId)> = std::mem::take(&mut self.cut).into_iter().collect();
        self.record(faultline_sim::WORLD, Ev::Heal { links });
    }

    fn set_loss(&mut self, rate: f64) {
        self.loss = rate;
        self.record(faultline_sim::WORLD, Ev::Loss { rate });
    }

    /// The protocol events `id` reported.
    fn events(&self, id: u16) -> Vec<Event> {
        self.trace
            .iter()
            .filter(|r| r.node == NodeId(id))
            .filter_map(|r| match &r.ev {
                Ev::Proto { event } => Some(event.clone()),
                _ => None,
            })
            .collect()
    }

    /// The last leader `id` reported.
    fn leader_of(&self, id: u16) -> Option<NodeId> {
        self.trace
            .iter()
            .rev()
            .find_map(|r| match &r.ev {
                Ev::Leader { leader } if r.node == NodeId(id) => Some(*leader),
                _ => None,
            })
            .flatten()
    }

    /// The last (index, chain) `id` applied, or its snapshot's if it installed one later.
    fn applied(&self, id: u16) -> (u64, u64) {
        let mut last = (0, 0);
        for e in self.events(id) {
            match e {
                Event::Applied { index, chain } | Event::SnapshotInstalled { index, chain, .. } => {
                    last = (index, chain)
                }
                _ => {}
            }
        }
        last
    }

    /// The outcomes `id` (a client) returned, in order.
    fn returns(&self, id: u16) -> Vec<Outcome> {
        self.events(id)
            .into_iter()
            .filter_map(|e| match e {
                Event::Return { result, .. } => Some(*result),
                _ => None,
            })
            .collect()
    }

    /// Runs every check over the trace.
    fn verdicts(&self) -> Vec<Verdict> {
        let mut out = Vec::new();
        for mut check in self.raft.checks() {
            let mut failed = None;
            for rec in &self.trace {
                if let Err(why) = check.observe(rec) {
                    failed = Some(why);
                    break;
                }
            }
            out.push(match failed {
                Some(why) => Verdict {
                    name: check.name().into(),
                    ok: false,
                    detail: why,
                },
                None => check.finish(self.now_us),
            });
        }
        out
    }

    fn assert_checks_ok(&self) {
        for v in self.verdicts() {
            assert!(v.ok, "{}: {}", v.name, v.detail);
        }
    }

    fn failed_checks(&self) -> Vec<String> {
        self.verdicts()
            .into_iter()
            .filter(|v| !v.ok)
            .map(|v| v.name)
            .collect()
    }
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
    let mut w = World::new(5, 0, RaftConfig::default(), work(0), 1);
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
    let mut w = World::new(5, 2, RaftConfig::default(), work(60), 2);
    w.run_until(20000);
    for c in [5, 6] {
        // The 60 operations, then the drain's.
        let returns = w.returns(c);
        assert!(returns.len() > 60, "client {c}: {returns:?}");
        assert!(!returns.contains(&Outcome::Unknown), "client {c}");
    }
    let reference = w.applied(0);
    assert!(reference.0 > 100, "{reference:?}");
    for s in 1..5 {
        assert_eq!(w.applied(s), reference, "server {s}");
    }
    w.assert_checks_ok();
}

#[test]
fn crashed_replicas_recover_their_log_and_catch_up() {
    let mut w = World::new(5, 2, RaftConfig::default(), kv_only(200), 3);
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
    let reference = w.applied(0);
    for s in 1..5 {
        assert_eq!(w.applied(s), reference, "server {s}");
    }
    // Committed state survived: every replica restored a non-empty log.
    for s in 0..5 {
        let restored = w.events(s).into_iter().rev().find_map(|e| match e {
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
    let mut w = World::new(5, 3, cfg, kv_only(150), 4);
    w.run_until(1500);
    let victim = (0..5)
        .find(|s| w.leader_of(*s) != Some(NodeId(*s)))
        .unwrap();
    w.crash(victim);
    w.run_until(8000);
    w.restart(victim);
    w.run_until(25000);
    let evs = w.events(victim);
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::SnapshotInstalled { .. })),
        "no snapshot installed at {victim}"
    );
    assert!(evs.iter().any(|e| matches!(e, Event::SnapshotTaken { .. })));
    let reference = w.applied((victim + 1) % 5);
    assert_eq!(w.applied(victim), reference);
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
        let mut w = World::new(5, 0, cfg, work(0), seed);
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
        let mut w = World::new(3, 3, cfg, locks, 5);
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
        let mut w = World::new(5, 2, cfg, work(150), seed);
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
        for v in w.verdicts() {
            assert!(v.ok, "seed {seed}: {}: {}", v.name, v.detail);
        }
    }
}
