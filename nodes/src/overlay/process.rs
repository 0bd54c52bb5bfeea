//! A process of the overlay: the leader, a team leader or a worker. One state machine for
//! the three, as in the seed, because they share everything but where a request goes next:
//! the leader queues clients' requests and hands them to their team's leader, a team leader
//! hands them to one of its workers (or, with none alive, to another team leader), a worker
//! processes them. Every request carries the path it took; answers go back along it.
//!
//! Each hop resends a request until it is answered and answers a resent request again from
//! what it remembers, so lost datagrams cost time, never an answer. A neighbour not heard
//! for `peer_timeout_ms` is routed around; a request no live process can take is answered
//! `NoRoute` at once, and one whose deadline passes is answered `Deadline`: nothing waits
//! forever.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId};

use super::config::{OverlayConfig, ANSWERS_KEPT_MAX, PATH_LEN_MAX};
use super::event::Event;
use super::metrics::Meter;
use super::msg::{Key, Msg, Outcome};
use super::topology::{Place, Topology};

faultline_sim::timers! {
    /// A process's timers.
    pub enum ProcessTimer {
        /// Housekeeping: resends, deadlines, finished work, pings.
        Tick = 1,
    }
}

/// What a process's callbacks answer through.
type PCx<'a> = Cx<'a, Msg, Event, ProcessTimer>;

/// A request and the process that handed it over: the same request may reach a process
/// twice by different ways (after a reroute), and each way is answered.
type Hand = (Key, NodeId);

/// A request a process has taken and not answered yet.
#[derive(Clone, Debug)]
struct Pending {
    /// Its team.
    team: u16,
    /// The path up to this process, this process last.
    path: Vec<NodeId>,
    /// Where it was handed on; `None` while this worker processes it.
    to: Option<NodeId>,
    /// When it must be answered by, in µs.
    deadline_us: u64,
    /// When this process took it, in µs.
    taken_us: u64,
    /// The last send of it (a forwarder), or when its processing ends (a worker), in µs.
    at_us: u64,
}

/// A request waiting in the leader's queue.
#[derive(Clone, Debug)]
struct Queued {
    /// The request.
    key: Key,
    /// Its team.
    team: u16,
    /// When it must be answered by, in µs.
    deadline_us: u64,
}

/// One process of the overlay.
pub struct Process {
    /// Bounds and timing, shared by every process.
    cfg: Arc<OverlayConfig>,
    /// Who is where.
    topo: Arc<Topology>,
    /// What this process does; set at start.
    place: Place,
    /// When each neighbour was last heard, in µs.
    heard_us: BTreeMap<NodeId, u64>,
    /// When the next pings go, in µs.
    ping_due_us: u64,
    /// The leader's queue, bounded by `queue_max`.
    queue: VecDeque<Queued>,
    /// The keys in `queue`, to recognise a resent request.
    queued: BTreeSet<Key>,
    /// Requests taken and not answered, at most `inflight_max`.
    pending: BTreeMap<Hand, Pending>,
    /// Answers given, to give again when a request is resent; bounded.
    answers: BTreeMap<Hand, (Outcome, Vec<NodeId>)>,
    /// The order `answers` were given in, to forget the oldest.
    answer_order: VecDeque<Hand>,
    /// Requests the planted `drop-beyond-capacity` bug swallowed; bounded.
    dropped: BTreeSet<Key>,
    /// Counts and latencies for `GetMetrics`.
    meter: Meter,
}

impl Process {
    /// A process of the overlay described by `topo`.
    pub fn new(cfg: Arc<OverlayConfig>, topo: Arc<Topology>) -> Process {
        Process {
            cfg,
            topo,
            place: Place::Client,
            heard_us: BTreeMap::new(),
            ping_due_us: 0,
            queue: VecDeque::new(),
            queued: BTreeSet::new(),
            pending: BTreeMap::new(),
            answers: BTreeMap::new(),
            answer_order: VecDeque::new(),
            dropped: BTreeSet::new(),
            meter: Meter::default(),
        }
    }

    /// Whether neighbour `n` was heard recently enough to be handed requests.
    fn alive(&self, n: NodeId, now_us: u64) -> bool {
        self.heard_us
            .get(&n)
            .is_some_and(|t| now_us.saturating_sub(*t) <= self.cfg.peer_timeout_ms * 1000)
    }

    /// Requests this process has handed to `n` and not had answered.
    fn load(&self, n: NodeId) -> usize {
        self.pending.values().filter(|p| p.to == Some(n)).count()
    }

    /// Where a request of `team` that went along `path` goes next, if anywhere.
    fn next_hop(&self, team: u16, path: &[NodeId], now_us: u64) -> Option<NodeId> {
        let check_path = !self.cfg.bugs.no_hop_check;
        let usable = |n: &NodeId| self.alive(*n, now_us) && !(check_path && path.contains(n));
        let of = |place: Place| -> Vec<NodeId> {
            (self.topo.neighbours(self.me_of(path)).iter())
                .filter(|n| self.topo.place(**n) == place)
                .filter(|n| usable(n))
                .copied()
                .collect()
        };
        let least_loaded = |v: Vec<NodeId>| v.into_iter().min_by_key(|n| (self.load(*n), *n));
        match self.place {
            Place::Leader => {
                let leaders = of(Place::TeamLeader);
                // Its own team's leader first; another team's when it is down (reroute).
                match self.topo.team_leader(team).filter(|t| leaders.contains(t)) {
                    Some(t) => Some(t),
                    None => least_loaded(leaders),
                }
            }
            Place::TeamLeader => {
                least_loaded(of(Place::Worker)).or_else(|| least_loaded(of(Place::TeamLeader)))
            }
            Place::Worker | Place::Client => None,
        }
    }

    /// This process, as the last of a path it extended.
    fn me_of(&self, path: &[NodeId]) -> NodeId {
        *path.last().expect("a pending path ends with its process")
    }

    /// Remembers an answer given, forgetting the oldest past the bound.
    fn remember(&mut self, hand: Hand, outcome: Outcome, path: Vec<NodeId>) {
        if self.answers.insert(hand, (outcome, path)).is_none() {
            self.answer_order.push_back(hand);
        }
        while self.answer_order.len() > ANSWERS_KEPT_MAX {
            if let Some(old) = self.answer_order.pop_front() {
                self.answers.remove(&old);
            }
        }
    }

    /// Sends an answer to whoever handed the request over: the client (from the leader),
    /// or the process before `me` on `path`.
    fn send_answer(
        hand: Hand,
        me_index: usize,
        outcome: Outcome,
        path: &[NodeId],
        cx: &mut PCx<'_>,
    ) {
        let (key, from) = hand;
        let path = path.to_vec();
        let msg = match me_index {
            0 => Msg::Reply {
                seq: key.seq,
                outcome,
                path,
            },
            i => Msg::Answer {
                key,
                outcome,
                path,
                hop: (i - 1) as u32,
            },
        };
        cx.send(from, msg);
    }

    /// Answers a pending request: back to its sender, remembered, counted.
    fn finish(&mut self, hand: Hand, outcome: Outcome, path: Vec<NodeId>, cx: &mut PCx<'_>) {
        let Some(p) = self.pending.remove(&hand) else {
            return;
        };
        let me_index = p.path.len() - 1;
        Self::send_answer(hand, me_index, outcome, &path, cx);
        self.meter
            .record(outcome, cx.now_us().saturating_sub(p.taken_us));
        self.remember(hand, outcome, path);
        if self.place == Place::Leader {
            self.drain(cx);
        }
    }

    /// Refuses a request it does not take, at once.
    fn refuse(
        &mut self,
        hand: Hand,
        me_index: usize,
        outcome: Outcome,
        path: Vec<NodeId>,
        cx: &mut PCx<'_>,
    ) {
        Self::send_answer(hand, me_index, outcome, &path, cx);
        self.meter.record(outcome, 0);
        self.remember(hand, outcome, path);
    }

    /// Takes request `hand` along `path` (this process last): processes it (a worker) or
    /// hands it on.
    fn take(
        &mut self,
        hand: Hand,
        team: u16,
        path: Vec<NodeId>,
        deadline_us: u64,
        cx: &mut PCx<'_>,
    ) {
        let now = cx.now_us();
        assert!(
            self.pending.len() < self.cfg.inflight_max as usize,
            "taken past inflight_max"
        );
        cx.emit(Event::Hop {
            key: hand.0,
            path: path.clone(),
        });
        let mut p = Pending {
            team,
            path,
            to: None,
            deadline_us,
            taken_us: now,
            at_us: now + self.cfg.process_ms * 1000,
        };
        if self.place == Place::Worker {
            if p.at_us > deadline_us {
                let path = p.path.clone();
                self.pending.insert(hand, p);
                return self.finish(hand, Outcome::Deadline, path, cx);
            }
            self.pending.insert(hand, p);
            return;
        }
        match self.next_hop(team, &p.path, now) {
            Some(next) => {
                p.to = Some(next);
                p.at_us = now;
                self.send_forward(hand.0, &p, next, cx);
                self.pending.insert(hand, p);
            }
            None => {
                let path = p.path.clone();
                self.pending.insert(hand, p);
                self.finish(hand, Outcome::NoRoute, path, cx);
            }
        }
    }

    /// Sends (or resends) pending request `key` to `next`.
    fn send_forward(&self, key: Key, p: &Pending, next: NodeId, cx: &mut PCx<'_>) {
        // What is left of the deadline, less a tick, so that the next hop answers before
        // this one gives up on it.
        let left_us = p
            .deadline_us
            .saturating_sub(cx.now_us() + self.cfg.tick_ms * 1000);
        cx.send(
            next,
            Msg::Forward {
                key,
                team: p.team,
                remaining_ms: u32::try_from(left_us / 1000).unwrap_or(u32::MAX),
                path: p.path.clone(),
            },
        );
    }

    /// The leader hands queued requests on while it has room.
    fn drain(&mut self, cx: &mut PCx<'_>) {
        while self.pending.len() < self.cfg.inflight_max as usize {
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            self.queued.remove(&q.key);
            cx.emit(Event::Dequeued {
                key: q.key,
                len: self.queue.len() as u32,
            });
            let hand = (q.key, q.key.client);
            let me = cx.me();
            if cx.now_us() >= q.deadline_us {
                self.refuse(hand, 0, Outcome::Deadline, vec![me], cx);
                continue;
            }
            self.take(hand, q.team, vec![me], q.deadline_us, cx);
        }
    }

    /// A client's request at the leader.
    fn on_request(
        &mut self,
        client: NodeId,
        seq: u64,
        team: u16,
        deadline_ms: u32,
        cx: &mut PCx<'_>,
    ) {
        let key = Key { client, seq };
        let hand = (key, client);
        let me = cx.me();
        if let Some((outcome, path)) = self.answers.get(&hand) {
            let (outcome, path) = (*outcome, path.clone());
            return Self::send_answer(hand, 0, outcome, &path, cx);
        }
        if self.pending.contains_key(&hand)
            || self.queued.contains(&key)
            || self.dropped.contains(&key)
        {
            return;
        }
        if team as usize >= self.topo.teams.len() {
            return self.refuse(hand, 0, Outcome::NoRoute, vec![me], cx);
        }
        let margin_ms = self.cfg.reply_margin_ms;
        if u64::from(deadline_ms) <= margin_ms {
            return self.refuse(hand, 0, Outcome::Deadline, vec![me], cx);
        }
        let now = cx.now_us();
        if self.queue.len() >= self.cfg.queue_max as usize {
            if self.cfg.bugs.drop_beyond_capacity {
                if self.dropped.len() >= ANSWERS_KEPT_MAX {
                    self.dropped.pop_first();
                }
                self.dropped.insert(key);
                return;
            }
            cx.emit(Event::Busy {
                key,
                len: self.queue.len() as u32,
            });
            return self.refuse(hand, 0, Outcome::Busy, vec![me], cx);
        }
        self.queue.push_back(Queued {
            key,
            team,
            deadline_us: now + (u64::from(deadline_ms) - margin_ms) * 1000,
        });
        self.queued.insert(key);
        cx.emit(Event::Queued {
            key,
            len: self.queue.len() as u32,
        });
        self.drain(cx);
    }

    /// A request handed over by `from`.
    fn on_forward(
        &mut self,
        from: NodeId,
        key: Key,
        team: u16,
        remaining_ms: u32,
        path: Vec<NodeId>,
        cx: &mut PCx<'_>,
    ) {
        let me = cx.me();
        // A path that does not end with its sender, or is longer than any message may
        // carry, is hostile: dropped without an answer.
        if self.place == Place::Leader || path.len() > PATH_LEN_MAX || path.last() != Some(&from) {
            return;
        }
        let hand = (key, from);
        let mut full = path.clone();
        full.push(me);
        let me_index = full.len() - 1;
        if let Some((outcome, answered)) = self.answers.get(&hand) {
            let (outcome, answered) = (*outcome, answered.clone());
            return Self::send_answer(hand, me_index, outcome, &answered, cx);
        }
        if self.pending.contains_key(&hand) {
            return;
        }
        if !self.cfg.bugs.no_hop_check
            && (path.contains(&me) || full.len() > self.cfg.hop_max as usize)
        {
            cx.emit(Event::HopRefused { key, path });
            return self.refuse(hand, me_index, Outcome::HopRefused, full, cx);
        }
        if team as usize >= self.topo.teams.len() {
            return self.refuse(hand, me_index, Outcome::NoRoute, full, cx);
        }
        if self.pending.len() >= self.cfg.inflight_max as usize {
            return self.refuse(hand, me_index, Outcome::Overloaded, full, cx);
        }
        let deadline_us = cx.now_us() + u64::from(remaining_ms) * 1000;
        self.take(hand, team, full, deadline_us, cx);
    }

    /// An answer coming back from `from`.
    fn on_answer(
        &mut self,
        key: Key,
        outcome: Outcome,
        path: Vec<NodeId>,
        hop: u32,
        cx: &mut PCx<'_>,
    ) {
        let hop = hop as usize;
        if path.len() > PATH_LEN_MAX || path.get(hop) != Some(&cx.me()) {
            return;
        }
        let from = if hop == 0 { key.client } else { path[hop - 1] };
        let hand = (key, from);
        // Only the way it took counts: a stale answer for a request since handed on
        // another way is still an answer, so it is taken.
        if self
            .pending
            .get(&hand)
            .is_some_and(|p| p.path.len() == hop + 1)
        {
            self.finish(hand, outcome, path, cx);
        }
    }

    /// Housekeeping: finished work, deadlines, resends, reroutes, pings.
    fn tick(&mut self, cx: &mut PCx<'_>) {
        let now = cx.now_us();
        let hands: Vec<Hand> = self.pending.keys().copied().collect();
        for hand in hands {
            let Some(p) = self.pending.get(&hand).cloned() else {
                continue;
            };
            if now >= p.deadline_us {
                self.finish(hand, Outcome::Deadline, p.path.clone(), cx);
                continue;
            }
            match p.to {
                None if now >= p.at_us => {
                    let mut path = p.path.clone();
                    let me = cx.me();
                    if path.last() != Some(&me) {
                        path.push(me);
                    }
                    self.finish(hand, Outcome::Done { worker: me }, path, cx);
                }
                None => {}
                Some(next) if !self.alive(next, now) => match self.next_hop(p.team, &p.path, now) {
                    Some(other) => {
                        self.send_forward(hand.0, &p, other, cx);
                        let q = self.pending.get_mut(&hand).expect("present");
                        q.to = Some(other);
                        q.at_us = now;
                    }
                    None => self.finish(hand, Outcome::NoRoute, p.path.clone(), cx),
                },
                Some(next) if now.saturating_sub(p.at_us) >= self.cfg.retry_ms * 1000 => {
                    self.send_forward(hand.0, &p, next, cx);
                    self.pending.get_mut(&hand).expect("present").at_us = now;
                }
                Some(_) => {}
            }
        }
        if now >= self.ping_due_us {
            for n in self.topo.neighbours(cx.me()).to_vec() {
                cx.send(n, Msg::Ping);
            }
            self.ping_due_us = now + self.cfg.heartbeat_ms * 1000;
        }
        if self.place == Place::Leader {
            self.drain(cx);
        }
        cx.set_timer(ProcessTimer::Tick, Duration::from_millis(self.cfg.tick_ms));
    }
}

impl Node for Process {
    type Msg = Msg;
    type Event = Event;
    type Timer = ProcessTimer;

    fn on_start(&mut self, cx: &mut PCx<'_>) {
        self.place = self.topo.place(cx.me());
        cx.role(match self.place {
            Place::Leader => "leader",
            Place::TeamLeader => "team-leader",
            _ => "worker",
        });
        // Neighbours get the benefit of the doubt until a peer timeout passes unheard.
        let now = cx.now_us();
        for n in self.topo.neighbours(cx.me()).to_vec() {
            self.heard_us.insert(n, now);
        }
        self.ping_due_us = now;
        cx.set_timer(ProcessTimer::Tick, Duration::from_millis(self.cfg.tick_ms));
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut PCx<'_>) {
        // Only what answers this process's own messages proves the way there works: a
        // neighbour heard across a one-way cut must not be handed requests it never gets.
        if matches!(msg, Msg::Pong | Msg::Answer { .. }) && self.heard_us.contains_key(&from) {
            self.heard_us.insert(from, cx.now_us());
        }
        match msg {
            Msg::Request {
                seq,
                team,
                deadline_ms,
            } => {
                if self.place == Place::Leader && self.topo.place(from) == Place::Client {
                    self.on_request(from, seq, team, deadline_ms, cx);
                }
            }
            Msg::Forward {
                key,
                team,
                remaining_ms,
                path,
            } => self.on_forward(from, key, team, remaining_ms, path, cx),
            Msg::Answer {
                key,
                outcome,
                path,
                hop,
            } => self.on_answer(key, outcome, path, hop, cx),
            Msg::Ping => cx.send(from, Msg::Pong),
            Msg::GetMetrics { seq } => {
                let metrics = self.meter.view(self.queue.len(), self.pending.len());
                cx.send(from, Msg::MetricsReply { seq, metrics });
            }
            Msg::Pong | Msg::Reply { .. } | Msg::MetricsReply { .. } => {}
        }
    }

    fn on_timer(&mut self, timer: ProcessTimer, cx: &mut PCx<'_>) {
        match timer {
            ProcessTimer::Tick => self.tick(cx),
        }
    }
}
