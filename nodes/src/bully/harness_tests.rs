//! A tiny in-memory deterministic world (one event queue ordered by time) running servers
//! and clients together, with crashes, partitions and loss, and the checks over its trace.

use std::collections::{BTreeMap, BTreeSet};

use faultline_sim::{
    Action, BoxNode, ChaCha8Rng, Cx, Durable, Effects, Ev, NodeId, Note, Record, TimerId, Verdict,
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
    /// Server ids.
    servers: Vec<NodeId>,
    /// Client ids.
    clients: Vec<NodeId>,
}

impl World {
    /// Servers get ids 0..servers, clients the next ones; all start at time 0.
    fn new(servers: u16, clients: u16, bugs: &[&str], work: ChatWorkload, seed: u64) -> World {
        let names: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
        let cfg = BullyConfig {
            servers_total: usize::from(servers),
            bugs: Bugs::from_names(&names).unwrap(),
            ..Default::default()
        };
        let mut w = World {
            slots: BTreeMap::new(),
            queue: BTreeMap::new(),
            counter: 0,
            now_us: 0,
            loss: 0.0,
            net_rng: ChaCha8Rng::seed_from_u64(seed),
            cut: BTreeSet::new(),
            trace: Vec::new(),
            effects: Effects::default(),
            servers: (0..servers).map(NodeId).collect(),
            clients: (servers..servers + clients).map(NodeId).collect(),
        };
        for id in 0..servers + clients {
            let node = if id < servers {
                server(cfg.clone())
            } else {
                client(cfg.clone(), work.clone())
            };
            let rng = ChaCha8Rng::seed_from_u64(seed ^ (u64::from(id) << 32));
            let slot = Slot {
                node,
                durable: Durable::default(),
                rng,
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
                Action::Multicast(msg) => {
                    let others: Vec<NodeId> =
                        self.slots.keys().copied().filter(|n| *n != id).collect();
                    for to in others {
                        self.transmit(id, to, msg.clone());
                    }
                }
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
        let latency_us = 1000 + self.net_rng.gen_range(0..19000);
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
                    self.step(to, |node, cx| node.on_message(from, msg, cx))
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
        if let Some(slot) = self.slots.get_mut(&NodeId(id)) {
            slot.up = true;
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

    /// The last role `id` reported.
    fn role_of(&self, id: u16) -> Option<String> {
        self.trace.iter().rev().find_map(|r| match &r.ev {
            Ev::Role { role } if r.node == NodeId(id) => Some(role.clone()),
            _ => None,
        })
    }

    /// The chats `id` delivered since it last started, as (seq, origin, client_seq).
    fn delivered(&self, id: u16) -> Vec<(u64, NodeId, u64)> {
        let mut out = Vec::new();
        for r in self.trace.iter().filter(|r| r.node == NodeId(id)) {
            match &r.ev {
                Ev::Crash | Ev::Restart => out.clear(),
                Ev::Proto {
                    event:
                        Event::Delivered {
                            seq,
                            origin,
                            client_seq,
                        },
                } => out.push((*seq, *origin, *client_seq)),
                _ => {}
            }
        }
        out
    }

    /// The acknowledgements `id` received, as client_seqs.
    fn acked(&self, id: u16) -> Vec<u64> {
        self.trace
            .iter()
            .filter(|r| r.node == NodeId(id))
            .filter_map(|r| match &r.ev {
                Ev::Proto {
                    event: Event::ChatAcked { client_seq, .. },
                } => Some(*client_seq),
                _ => None,
            })
            .collect()
    }

    /// Runs the three checks over the trace.
    fn verdicts(&self) -> Vec<Verdict> {
        let mut all = checks(&self.servers, &self.clients, &ChecksConfig::default());
        let mut out = Vec::new();
        for check in &mut all {
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

fn chats(messages: u32) -> ChatWorkload {
    ChatWorkload {
        messages,
        ..Default::default()
    }
}

#[test]
fn five_servers_elect_the_highest_and_fail_over() {
    let mut w = World::new(5, 0, &[], chats(0), 1);
    w.run_until(3000);
    for s in 0..5 {
        assert_eq!(w.leader_of(s), Some(NodeId(4)), "server {s}");
    }
    assert_eq!(w.role_of(4).as_deref(), Some("leader"));
    w.assert_checks_ok();
    w.crash(4);
    w.run_until(7000);
    for s in 0..4 {
        assert_eq!(w.leader_of(s), Some(NodeId(3)), "server {s}");
    }
    assert_eq!(w.role_of(3).as_deref(), Some("leader"));
    w.assert_checks_ok();
    // The highest comes back and takes over again.
    w.restart(4);
    w.run_until(11000);
    for s in 0..5 {
        assert_eq!(w.leader_of(s), Some(NodeId(4)), "server {s}");
    }
    w.assert_checks_ok();
}

#[test]
fn chats_are_totally_ordered_acknowledged_and_delivered_everywhere() {
    let mut w = World::new(5, 1, &[], chats(5), 2);
    w.run_until(8000);
    assert_eq!(w.acked(5), vec![1, 2, 3, 4, 5]);
    let reference = w.delivered(4);
    assert_eq!(
        reference.iter().map(|d| d.2).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    for node in 0..6 {
        assert_eq!(w.delivered(node), reference, "node {node}");
    }
    w.assert_checks_ok();
}

#[test]
fn chats_survive_crashes_partitions_and_loss() {
    for seed in 0..4 {
        let mut w = World::new(5, 2, &[], chats(12), 100 + seed);
        w.run_until(2500);
        w.set_loss(0.1);
        w.crash(4);
        w.run_until(5000);
        w.partition(&[&[0, 1], &[2, 3, 5, 6]]);
        w.run_until(8000);
        w.restart(4);
        w.heal();
        w.run_until(10000);
        w.set_loss(0.0);
        w.run_until(30000);
        w.assert_checks_ok();
        assert_eq!(w.acked(5).len(), 12, "seed {seed}");
        assert_eq!(w.acked(6).len(), 12, "seed {seed}");
        assert_eq!(w.delivered(0).len(), 24, "seed {seed}");
    }
}

#[test]
fn accept_lower_coordinator_is_caught_by_leader_agreement() {
    let run = |bugs: &[&str]| {
        let mut w = World::new(5, 0, bugs, chats(0), 3);
        w.run_until(2000);
        w.crash(4);
        w.run_until(4000);
        w.restart(4);
        w.run_until(9000);
        w.failed_checks()
    };
    assert!(run(&[]).is_empty());
    assert_eq!(run(&["accept-lower-coordinator"]), vec!["leader-agreement"]);
}

#[test]
fn ack_before_quorum_is_caught_by_chat_delivery() {
    let run = |bugs: &[&str]| {
        let mut w = World::new(5, 1, bugs, chats(3), 4);
        w.run_until(1000);
        // The leader keeps its client but loses every other server, then dies.
        w.partition(&[&[4, 5], &[0, 1, 2, 3]]);
        w.run_until(2500);
        w.crash(4);
        w.heal();
        w.run_until(12000);
        w.failed_checks()
    };
    assert!(run(&[]).is_empty());
    assert_eq!(run(&["ack-before-quorum"]), vec!["chat-delivery"]);
}

#[test]
fn no_dedup_is_caught_by_chat_delivery() {
    let run = |bugs: &[&str], seed| {
        let mut w = World::new(3, 2, bugs, chats(20), seed);
        w.run_until(1000);
        w.set_loss(0.3);
        w.run_until(20000);
        w.set_loss(0.0);
        w.run_until(30000);
        w.failed_checks()
    };
    let caught = (0..5)
        .filter(|seed| !run(&["no-dedup"], *seed).is_empty())
        .count();
    assert!(caught > 0, "no-dedup never caught");
    for seed in 0..5 {
        assert!(run(&[], seed).is_empty(), "seed {seed}");
    }
}

/// Random crashes (up to three nodes at once), partitions and loss for 15s, then 5.2s of
/// calm: every check must hold within its bounds.
#[test]
fn random_faults_keep_every_check_green() {
    for seed in 0..60u64 {
        let mut w = World::new(5, 2, &[], chats(15), seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1_000_000);
        let mut t = 500;
        let mut down: BTreeSet<u16> = BTreeSet::new();
        while t < 15000 {
            t += rng.gen_range(200..1500);
            w.run_until(t);
            match rng.gen_range(0..5) {
                0 | 4 if down.len() < 3 => {
                    // Often the highest live server, so leadership moves.
                    let id = if rng.gen_bool(0.5) {
                        4 - down.len() as u16
                    } else {
                        rng.gen_range(0..7)
                    };
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
                    let rate = rng.gen_range(0.0..0.3);
                    w.set_loss(rate)
                }
            }
        }
        w.heal();
        w.set_loss(0.0);
        for id in std::mem::take(&mut down) {
            w.restart(id);
        }
        w.run_until(t + 5200);
        for v in w.verdicts() {
            assert!(v.ok, "seed {seed}: {}: {}", v.name, v.detail);
        }
    }
}
