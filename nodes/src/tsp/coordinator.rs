//! A coordinator replica. The replicas elect the active one with the shared bully election
//! (the highest live replica); the active one splits the client's problem into
//! subproblems, hands them to workers by the configured strategy, takes their results and
//! answers the client once every subproblem is counted.
//!
//! Writes to the shared ledger (results counted, the best tour) are guarded by
//! Ricart-Agrawala among the replicas: the writer enters the critical section, sends the
//! ledger to every live replica, and counts the results it wrote only once each has
//! acknowledged it; then it leaves. So a replica that takes over has every counted result
//! and does not count it again, and it continues from there instead of starting over. A
//! standby that hears of a shorter tour from a worker writes it the same way, so replicas
//! contend for the lock.
//!
//! Every replica also sends its whole ledger to the others every heartbeat; ledgers merge
//! (see [`super::ledger`]), and the ledger is kept in the durable store.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use faultline_sim::check::{LockFact, Stamp, StampKind, TaskFact};
use faultline_sim::{Cx, Node, NodeId};

use crate::parts::bully_election::{self, BullyElection, Out};
use crate::parts::failure_detector::FailureDetector;
use crate::parts::lamport_clock::LamportClock;
use crate::parts::ricart_agrawala::{RicartAgrawala, Step, Variant};

use super::bugs::Bugs;
use super::config::{Strategy, TspConfig};
use super::event::{Event, RESOURCE};
use super::instance::Tour;
use super::ledger::{Ledger, Problem};
use super::msg::{Body, Msg};
use super::search::start_tour;

faultline_sim::timers! {
    /// A coordinator's timers.
    pub enum CoordinatorTimer {
        /// Heartbeat: send the ledger, look for dead peers and workers, hand out work.
        Tick = 1,
        /// The bully election's timer.
        Election = 2,
    }
}

/// What a coordinator's callbacks answer through.
type CoCx<'a> = Cx<'a, Msg, Event, CoordinatorTimer>;

/// Durable key of the ledger.
const LEDGER_KEY: &str = "ledger";
/// Durable key of the incarnation (Ricart-Agrawala's request ids).
const INCARNATION_KEY: &str = "incarnation";
/// Durable key of the highest epoch seen.
const EPOCH_KEY: &str = "epoch";

/// A write to the ledger in progress, inside the critical section.
#[derive(Clone, Debug)]
struct Write {
    /// Which write.
    round: u64,
    /// Results it counts once every live replica acknowledged.
    batch: BTreeSet<u32>,
    /// Root subproblems it splits: their children are handed out once every live replica
    /// acknowledged, so none is out that a replica taking over does not know of.
    splits: BTreeSet<u32>,
    /// Replicas that have not acknowledged yet.
    awaiting: BTreeSet<NodeId>,
}

/// A worker holding a subproblem.
#[derive(Clone, Copy, Debug)]
struct Holder {
    /// The worker.
    worker: NodeId,
    /// When it was handed the subproblem (µs).
    since_us: u64,
    /// Its HELLOs in a row, after a grace period, that did not list the subproblem.
    missed: u8,
}

/// HELLOs in a row that must miss a subproblem before it counts as lost: one may cross the
/// RESULT that answered it.
const MISSED_MAX: u8 = 2;

/// One coordinator replica.
pub struct Coordinator {
    /// Settings.
    cfg: TspConfig,
    /// Planted bugs.
    bugs: Bugs,
    /// Every coordinator replica, this one included.
    coordinators: Vec<NodeId>,
    /// Every worker.
    workers: Vec<NodeId>,
    /// This node (known from the first callback).
    me: NodeId,
    /// The Lamport clock every message is stamped with.
    clock: LamportClock,
    /// Who is the active replica.
    election: BullyElection,
    /// The highest epoch seen.
    epoch: u64,
    /// Which other replicas are alive.
    peers_fd: FailureDetector,
    /// Which workers are alive.
    workers_fd: FailureDetector,
    /// The lock on the shared ledger.
    ra: RicartAgrawala,
    /// The shared ledger, as this replica knows it.
    ledger: Ledger,
    /// The prefixes of the problem's subproblems, by task id.
    tasks: Vec<Vec<u8>>,
    /// Results taken from workers, not yet written (active replica).
    pending: BTreeSet<u32>,
    /// Root subproblems to split, not yet written (active replica, adaptive).
    splitting: BTreeSet<u32>,
    /// A shorter tour than the ledger's, heard and not yet written.
    candidate: Option<Tour>,
    /// Subproblems handed out and not answered, by task (active replica).
    outstanding: BTreeMap<u32, Vec<Holder>>,
    /// Subproblems handed out at least once by this replica.
    issued: BTreeSet<u32>,
    /// Where round robin continues.
    rr_next: usize,
    /// The write in progress.
    write: Option<Write>,
    /// Writes made.
    round: u64,
}

impl Coordinator {
    /// A replica among `coordinators`, handing work to `workers`.
    pub fn new(
        cfg: TspConfig,
        bugs: Bugs,
        coordinators: Vec<NodeId>,
        workers: Vec<NodeId>,
    ) -> Self {
        let peers_max = coordinators.len();
        let workers_max = workers.len();
        Coordinator {
            election: BullyElection::new(NodeId(0), cfg.election_timeout_ms),
            peers_fd: FailureDetector::new(cfg.peer_timeout_ms, peers_max),
            workers_fd: FailureDetector::new(cfg.peer_timeout_ms, workers_max),
            ra: RicartAgrawala::new(NodeId(0), [], 0, Variant::Correct),
            cfg,
            bugs,
            coordinators,
            workers,
            me: NodeId(0),
            clock: LamportClock::new(),
            epoch: 0,
            ledger: Ledger::default(),
            tasks: Vec::new(),
            pending: BTreeSet::new(),
            splitting: BTreeSet::new(),
            candidate: None,
            outstanding: BTreeMap::new(),
            issued: BTreeSet::new(),
            rr_next: 0,
            write: None,
            round: 0,
        }
    }

    /// Whether this replica is the active one.
    fn active(&self) -> bool {
        self.election.role() == bully_election::Role::Leader
    }

    /// The other replicas.
    fn peers(&self) -> Vec<NodeId> {
        self.coordinators
            .iter()
            .copied()
            .filter(|c| *c != self.me)
            .collect()
    }

    /// The other replicas believed alive.
    fn live_peers(&self) -> Vec<NodeId> {
        self.peers()
            .into_iter()
            .filter(|p| self.peers_fd.watches(*p))
            .collect()
    }

    /// Sends `body` to `to`, stamped.
    fn send(&mut self, to: NodeId, body: Body, cx: &mut CoCx<'_>) {
        let ts = self.clock.tick();
        cx.emit(Event::Stamp(Stamp {
            ts,
            kind: StampKind::Send { to },
        }));
        cx.send(to, Msg { ts, body });
    }

    /// Keeps the ledger across a crash.
    fn save(&self, cx: &mut CoCx<'_>) {
        let bytes = serde_json::to_vec(&self.ledger).expect("plain data serializes");
        cx.durable_put(LEDGER_KEY, bytes);
    }

    /// The ledger changed: learn the problem's subproblems if new, and keep it.
    fn ledger_changed(&mut self, cx: &mut CoCx<'_>) {
        if self.tasks.is_empty() {
            if let Some(p) = &self.ledger.problem {
                self.tasks = p.tasks();
            }
        }
        if let Some(best) = &self.candidate {
            if self.ledger.best.as_ref().is_some_and(|b| b <= best) {
                self.candidate = None;
            }
        }
        self.save(cx);
    }

    /// Carries out what the election asked for.
    fn election_out(&mut self, outs: Vec<Out>, cx: &mut CoCx<'_>) {
        for out in outs {
            match out {
                Out::Role(role) => cx.role(match role {
                    bully_election::Role::Leader => "coordinator",
                    bully_election::Role::Follower => "standby",
                    bully_election::Role::Candidate => "candidate",
                }),
                Out::Leader(leader) => cx.leader(leader),
                Out::Send(to, m) => self.send(to, Body::Election(m), cx),
                Out::Multicast(m) => {
                    for p in self.peers() {
                        self.send(p, Body::Election(m.clone()), cx);
                    }
                }
                Out::SetTimer(after) => cx.set_timer(CoordinatorTimer::Election, after),
                Out::CancelTimer => cx.cancel_timer(CoordinatorTimer::Election),
                Out::StartElection => {
                    cx.election_started();
                    let live = self.live_peers();
                    let outs = self.election.start(&live);
                    self.election_out(outs, cx);
                }
                Out::Won => {
                    self.epoch += 1;
                    cx.durable_put(EPOCH_KEY, self.epoch.to_le_bytes().to_vec());
                    let outs = self.election.win(self.epoch);
                    self.election_out(outs, cx);
                    self.take_over(cx);
                }
            }
        }
    }

    /// This replica became the active one: it continues from its ledger.
    fn take_over(&mut self, cx: &mut CoCx<'_>) {
        self.outstanding.clear();
        self.issued.clear();
        self.pending.clear();
        self.splitting.clear();
        cx.emit(Event::Active {
            epoch: self.epoch,
            counted: self.ledger.counted.len() as u32,
            tasks: self.ledger.task_count(),
        });
        // A predecessor that crashed before writing its start tour leaves none.
        self.seed_start_tour();
        self.dispatch(cx);
        self.maybe_request(cx);
    }

    /// With `start_tour`, a problem with no tour yet gets the heuristic one as the
    /// candidate: it is the bound of the first subproblems handed out, and written to the
    /// ledger under the lock like any tour a worker finds.
    fn seed_start_tour(&mut self) {
        if !self.cfg.start_tour || self.ledger.best.is_some() || self.candidate.is_some() {
            return;
        }
        if let Some(problem) = &self.ledger.problem {
            let tour = start_tour(&problem.instance);
            debug_assert!(self.ledger.improves(&tour));
            self.candidate = Some(tour);
        }
    }

    /// Tells the live workers other than `except` of a shorter tour, so that the searches
    /// they are in prune with it from their next slice.
    fn share_bound(&mut self, tour: &Tour, except: NodeId, cx: &mut CoCx<'_>) {
        let workers: Vec<NodeId> = (self.workers.iter().copied())
            .filter(|w| *w != except && self.workers_fd.watches(*w))
            .collect();
        for w in workers {
            let body = Body::Bound { tour: tour.clone() };
            self.send(w, body, cx);
        }
    }

    /// This replica no longer leads.
    fn step_down(&mut self) {
        self.outstanding.clear();
        self.pending.clear();
        self.splitting.clear();
    }

    /// Carries out a Ricart-Agrawala step; enters the write when granted.
    fn ra_step(&mut self, step: Step, cx: &mut CoCx<'_>) {
        for (to, m) in step.send {
            self.send(to, Body::Ra(m), cx);
        }
        if step.entered.is_some() {
            cx.emit(Event::Lock(LockFact::Acquire {
                resource: RESOURCE.into(),
            }));
            self.start_write(cx);
        }
    }

    /// Whether this replica has something to write.
    fn wants_write(&self) -> bool {
        if self.ledger.problem.is_none() {
            return false;
        }
        let unwritten = self.active()
            && (!self.pending.is_empty()
                || !self.splitting.is_empty()
                || self
                    .ledger
                    .tentative
                    .iter()
                    .any(|t| !self.ledger.counted.contains(t)));
        unwritten || self.candidate.is_some()
    }

    /// Asks for the lock when there is something to write and no request is in progress.
    fn maybe_request(&mut self, cx: &mut CoCx<'_>) {
        if !self.wants_write() || self.write.is_some() {
            return;
        }
        if let Ok(step) = self.ra.request(&mut self.clock) {
            cx.emit(Event::Lock(LockFact::Request {
                resource: RESOURCE.into(),
            }));
            self.ra_step(step, cx);
        }
    }

    /// Inside the critical section: writes the ledger to every live replica.
    fn start_write(&mut self, cx: &mut CoCx<'_>) {
        let mut batch = BTreeSet::new();
        let mut splits = BTreeSet::new();
        if self.active() {
            // A task whose result came in meanwhile is done: nothing left to split.
            splits = std::mem::take(&mut self.splitting);
            splits.retain(|t| !self.done(*t));
            self.ledger.split.extend(splits.iter().copied());
            batch.extend(self.pending.iter().copied());
            batch.extend(self.ledger.tentative.iter().copied());
            batch.retain(|t| !self.ledger.counted.contains(t));
            self.pending.clear();
        }
        if let Some(tour) = self.candidate.take() {
            if self.ledger.improves(&tour) {
                self.ledger.best = Some(tour);
            }
        }
        self.ledger.tentative.extend(batch.iter().copied());
        self.round += 1;
        let awaiting: BTreeSet<NodeId> = self.live_peers().into_iter().collect();
        self.write = Some(Write {
            round: self.round,
            batch,
            splits,
            awaiting: awaiting.clone(),
        });
        self.ledger_changed(cx);
        for p in awaiting {
            let body = Body::Update {
                round: self.round,
                ledger: self.ledger.clone(),
            };
            self.send(p, body, cx);
        }
        self.maybe_finish_write(cx);
    }

    /// Counts the write's results and leaves once every live replica acknowledged.
    fn maybe_finish_write(&mut self, cx: &mut CoCx<'_>) {
        let Some(write) = &self.write else { return };
        if !write.awaiting.is_empty() {
            return;
        }
        let write = self.write.take().expect("checked above");
        for task in write.batch {
            // A replica's acknowledgement may have said it was counted meanwhile.
            if self.ledger.counted.insert(task) {
                cx.emit(Event::Task(TaskFact::Counted { id: task as u64 }));
            }
            self.ledger.tentative.remove(&task);
            // A split task is counted with its last child, once.
            if let Some((parent, _)) = Problem::parent(task) {
                let children = self.children(parent);
                if children.iter().all(|c| self.ledger.counted.contains(c))
                    && self.ledger.counted.insert(parent)
                {
                    cx.emit(Event::Task(TaskFact::Counted { id: parent as u64 }));
                }
            }
        }
        for parent in &write.splits {
            // The parent's search is moot: its children cover it.
            for holder in self.outstanding.remove(parent).unwrap_or_default() {
                self.send(holder.worker, Body::Cancel { task: *parent }, cx);
            }
            cx.emit(Event::Split {
                task: *parent,
                children: self.children(*parent).len() as u32,
            });
        }
        self.ledger_changed(cx);
        // The counts reach every replica before the lock is passed on, as far as the network
        // keeps order; a reordered release is covered by the next writer's acknowledgements.
        self.broadcast_state(cx);
        if let Ok(step) = self.ra.release() {
            cx.emit(Event::Lock(LockFact::Release {
                resource: RESOURCE.into(),
            }));
            self.ra_step(step, cx);
        }
        self.answer_client(cx);
        self.dispatch(cx);
        self.maybe_request(cx);
    }

    /// Sends the ledger to every other replica.
    fn broadcast_state(&mut self, cx: &mut CoCx<'_>) {
        for p in self.peers() {
            let body = Body::State {
                ledger: self.ledger.clone(),
            };
            self.send(p, body, cx);
        }
    }

    /// Tells the client the tour once every result is counted.
    fn answer_client(&mut self, cx: &mut CoCx<'_>) {
        if let Some(client) = self.ledger.client {
            self.answer(client, cx);
        }
    }

    /// Tells `client` the tour, if every result is counted.
    fn answer(&mut self, client: NodeId, cx: &mut CoCx<'_>) {
        if !self.active() || !self.ledger.complete() {
            return;
        }
        let Some(tour) = self.ledger.best.clone() else {
            return;
        };
        self.send(client, Body::Solved { tour }, cx);
    }

    /// Subproblems held by `worker`.
    fn load(&self, worker: NodeId) -> usize {
        self.outstanding
            .values()
            .filter(|holders| holders.iter().any(|h| h.worker == worker))
            .count()
    }

    /// Whether a subproblem's result is in (counted, written or pending).
    fn done(&self, task: u32) -> bool {
        self.ledger.counted.contains(&task)
            || self.ledger.tentative.contains(&task)
            || self.pending.contains(&task)
    }

    /// The prefix of `task`: a root's, or a child's (its split root's and one city more);
    /// `None` if it is no subproblem of the problem.
    fn prefix_of(&self, task: u32) -> Option<Vec<u8>> {
        if !self.ledger.is_task(task) {
            return None;
        }
        match Problem::parent(task) {
            None => self.tasks.get(task as usize).cloned(),
            Some((parent, city)) => {
                let mut prefix = self.tasks.get(parent as usize)?.clone();
                let n = self.ledger.problem.as_ref()?.instance.n;
                if prefix.contains(&city) || prefix.len() + 2 > n {
                    return None;
                }
                prefix.push(city);
                Some(prefix)
            }
        }
    }

    /// The children of root task `parent`.
    fn children(&self, parent: u32) -> Vec<u32> {
        match (&self.ledger.problem, self.tasks.get(parent as usize)) {
            (Some(problem), Some(prefix)) => problem.children(parent, prefix),
            _ => Vec::new(),
        }
    }

    /// Subproblems to hand out: roots not split, and the children of split roots whose
    /// split is written (the one being written waits for its acknowledgements), neither
    /// done nor out.
    fn open_tasks(&self) -> Vec<u32> {
        let writing = self.write.as_ref().map(|w| &w.splits);
        let mut open: Vec<u32> = (0..self.tasks.len() as u32)
            .filter(|t| !self.ledger.split.contains(t))
            .collect();
        for &parent in &self.ledger.split {
            if !self.ledger.counted.contains(&parent)
                && writing.is_none_or(|w| !w.contains(&parent))
            {
                open.extend(self.children(parent));
            }
        }
        open.retain(|t| !self.done(*t) && !self.outstanding.contains_key(t));
        open
    }

    /// Hands out subproblems to workers with room, by the strategy.
    fn dispatch(&mut self, cx: &mut CoCx<'_>) {
        if !self.active() || self.ledger.problem.is_none() {
            return;
        }
        let live: Vec<NodeId> = self
            .workers
            .iter()
            .copied()
            .filter(|w| self.workers_fd.watches(*w))
            .collect();
        if live.is_empty() {
            return;
        }
        let open = self.open_tasks();
        let nothing_open = open.is_empty();
        for task in open {
            let Some(worker) = self.pick(&live) else {
                break;
            };
            self.assign(task, worker, cx);
        }
        if self.cfg.strategy == Strategy::Adaptive && nothing_open {
            self.split_for_idle(&live, cx);
        }
    }

    /// Adaptive, once nothing is left to hand out and a worker idles: split the oldest root
    /// subproblem still running (its children go out once the split is written), or, with
    /// none left to split, let the idle worker steal a copy of the oldest one.
    fn split_for_idle(&mut self, live: &[NodeId], cx: &mut CoCx<'_>) {
        if !live.iter().any(|w| self.load(*w) == 0) {
            return;
        }
        let writing = self.write.as_ref().is_some_and(|w| !w.splits.is_empty());
        if writing || !self.splitting.is_empty() {
            // One split at a time: its children will keep the idle busy.
            return;
        }
        let oldest = (self.outstanding.iter())
            .filter(|(t, _)| {
                Problem::parent(**t).is_none()
                    && !self.done(**t)
                    && !self.ledger.split.contains(t)
                    && !self.children(**t).is_empty()
            })
            .min_by_key(|(t, holders)| (holders.iter().map(|h| h.since_us).min(), **t))
            .map(|(t, _)| *t);
        match oldest {
            Some(task) => {
                self.splitting.insert(task);
                self.maybe_request(cx);
            }
            None => self.steal(live, cx),
        }
    }

    /// The worker for the next subproblem, if any has room.
    fn pick(&mut self, live: &[NodeId]) -> Option<NodeId> {
        let window = self.cfg.window;
        match self.cfg.strategy {
            Strategy::RoundRobin => {
                for k in 0..live.len() {
                    let w = live[(self.rr_next + k) % live.len()];
                    if self.load(w) < window {
                        self.rr_next = (self.rr_next + k + 1) % live.len();
                        return Some(w);
                    }
                }
                None
            }
            Strategy::LeastLoaded | Strategy::Adaptive => live
                .iter()
                .map(|w| (self.load(*w), *w))
                .filter(|(load, _)| *load < window)
                .min()
                .map(|(_, w)| w),
        }
    }

    /// Adaptive: once nothing is left to hand out, an idle worker takes a copy of the oldest
    /// subproblem held by one other worker only.
    fn steal(&mut self, live: &[NodeId], cx: &mut CoCx<'_>) {
        for &idle in live {
            if self.load(idle) > 0 {
                continue;
            }
            let oldest = self
                .outstanding
                .iter()
                .filter(|(t, holders)| holders.len() == 1 && !self.done(**t))
                .min_by_key(|(t, holders)| (holders[0].since_us, **t))
                .map(|(t, _)| *t);
            match oldest {
                Some(task) => self.assign(task, idle, cx),
                None => return,
            }
        }
    }

    /// Hands subproblem `task` to `worker`.
    fn assign(&mut self, task: u32, worker: NodeId, cx: &mut CoCx<'_>) {
        let Some(problem) = &self.ledger.problem else {
            return;
        };
        let instance = problem.instance.clone();
        let bound = self
            .ledger
            .best
            .iter()
            .chain(self.candidate.iter())
            .map(|t| t.len)
            .min()
            .unwrap_or(u64::MAX);
        let Some(prefix) = self.prefix_of(task) else {
            return;
        };
        let again = !self.issued.insert(task);
        self.outstanding.entry(task).or_default().push(Holder {
            worker,
            since_us: cx.now_us(),
            missed: 0,
        });
        cx.emit(Event::Task(TaskFact::Issued { id: task as u64 }));
        cx.emit(Event::Assigned {
            task,
            worker,
            again,
        });
        self.send(
            worker,
            Body::Assign {
                task,
                prefix,
                bound,
                instance,
            },
            cx,
        );
    }

    /// A worker said which subproblems it holds: what it does not hold after a grace period
    /// was lost (an ASSIGN or its RESULT dropped, or the worker restarted).
    fn on_hello(&mut self, worker: NodeId, held: &[u32], cx: &mut CoCx<'_>) {
        let now = cx.now_us();
        let grace = self.cfg.heartbeat_ms.saturating_mul(3000);
        let held: BTreeSet<u32> = held.iter().copied().collect();
        for (task, holders) in self.outstanding.iter_mut() {
            for h in holders.iter_mut().filter(|h| h.worker == worker) {
                if held.contains(task) {
                    h.missed = 0;
                } else if now.saturating_sub(h.since_us) > grace {
                    h.missed = h.missed.saturating_add(1);
                }
            }
            holders.retain(|h| h.missed < MISSED_MAX);
        }
        self.outstanding.retain(|_, holders| !holders.is_empty());
        for task in held {
            if self.ledger.split.contains(&task) && !self.done(task) {
                // Its CANCEL was lost: the search is moot, its children cover it.
                self.send(worker, Body::Cancel { task }, cx);
                continue;
            }
            if self.prefix_of(task).is_some() && !self.done(task) {
                let holders = self.outstanding.entry(task).or_default();
                if !holders.iter().any(|h| h.worker == worker) {
                    holders.push(Holder {
                        worker,
                        since_us: now,
                        missed: 0,
                    });
                }
            }
        }
        self.dispatch(cx);
    }

    /// Another replica's heartbeat: take in its ledger.
    fn on_state(&mut self, ledger: &Ledger, cx: &mut CoCx<'_>) {
        if self.ledger.merge(ledger) {
            self.ledger_changed(cx);
            self.answer_client(cx);
        }
    }

    /// A worker is declared dead: its subproblems go back to be handed out again.
    fn worker_dead(&mut self, worker: NodeId) {
        if self.bugs.forget_dead_worker_subproblem {
            return;
        }
        for holders in self.outstanding.values_mut() {
            holders.retain(|h| h.worker != worker);
        }
        self.outstanding.retain(|_, holders| !holders.is_empty());
    }

    /// Something from another replica arrived: it is alive.
    fn heard_peer(&mut self, peer: NodeId, cx: &mut CoCx<'_>) {
        let now = cx.now_us();
        if !self.peers_fd.refresh(peer, now) && self.peers_fd.watch(peer, now) {
            let step = self.ra.peer_up(peer);
            self.ra_step(step, cx);
        }
    }

    fn on_tick(&mut self, cx: &mut CoCx<'_>) {
        let now = cx.now_us();
        for dead in self.peers_fd.expire(now) {
            let step = self.ra.peer_down(dead);
            self.ra_step(step, cx);
            if let Some(write) = &mut self.write {
                write.awaiting.remove(&dead);
            }
            if self.election.leader() == Some(dead) {
                let live = self.live_peers();
                let outs = self.election.want(&live);
                self.election_out(outs, cx);
            }
        }
        self.maybe_finish_write(cx);
        for dead in self.workers_fd.expire(now) {
            if self.active() {
                self.worker_dead(dead);
            }
        }
        if self.election.leader().is_none()
            && self.election.role() == bully_election::Role::Follower
            && !self.election.is_waiting()
        {
            let live = self.live_peers();
            let outs = self.election.want(&live);
            self.election_out(outs, cx);
        }
        self.broadcast_state(cx);
        for (to, m) in self.ra.retry() {
            self.send(to, Body::Ra(m), cx);
        }
        if let Some(write) = &self.write {
            let (round, awaiting) = (write.round, write.awaiting.clone());
            for p in awaiting {
                let body = Body::Update {
                    round,
                    ledger: self.ledger.clone(),
                };
                self.send(p, body, cx);
            }
        }
        self.dispatch(cx);
        self.maybe_request(cx);
        cx.set_timer(
            CoordinatorTimer::Tick,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
    }
}

impl Node for Coordinator {
    type Msg = Msg;
    type Event = Event;
    type Timer = CoordinatorTimer;

    fn on_start(&mut self, cx: &mut CoCx<'_>) {
        self.me = cx.me();
        let read_u64 = |bytes: Option<&[u8]>| {
            bytes
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_le_bytes)
        };
        let incarnation = read_u64(cx.durable_get(INCARNATION_KEY)).saturating_add(1);
        cx.durable_put(INCARNATION_KEY, incarnation.to_le_bytes().to_vec());
        self.epoch = read_u64(cx.durable_get(EPOCH_KEY));
        // A damaged store is an empty one; what it held comes back from the other replicas.
        let stored: Ledger = cx
            .durable_get(LEDGER_KEY)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        self.ledger = Ledger::default();
        self.ledger.merge(&stored);
        self.tasks = self
            .ledger
            .problem
            .as_ref()
            .map(Problem::tasks)
            .unwrap_or_default();
        let variant = if self.bugs.ra_no_tiebreak {
            Variant::NoTieBreak
        } else {
            Variant::Correct
        };
        self.ra = RicartAgrawala::new(self.me, self.peers(), incarnation, variant);
        self.election = BullyElection::new(self.me, self.cfg.election_timeout_ms);
        let now = cx.now_us();
        for p in self.peers() {
            self.peers_fd.watch(p, now);
        }
        for w in self.workers.clone() {
            self.workers_fd.watch(w, now);
        }
        cx.role("standby");
        let live = self.live_peers();
        let outs = self.election.want(&live);
        self.election_out(outs, cx);
        cx.set_timer(
            CoordinatorTimer::Tick,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut CoCx<'_>) {
        let ts = self.clock.merge(msg.ts);
        cx.emit(Event::Stamp(Stamp {
            ts,
            kind: StampKind::Receive {
                from,
                sent_ts: msg.ts,
            },
        }));
        let from_peer = self.coordinators.contains(&from) && from != self.me;
        let from_worker = self.workers.contains(&from);
        if from_peer {
            self.heard_peer(from, cx);
        }
        if from_worker {
            let now = cx.now_us();
            if !self.workers_fd.refresh(from, now) {
                self.workers_fd.watch(from, now);
            }
        }
        match msg.body {
            Body::Election(m) if from_peer => {
                let outs = match m {
                    bully_election::ElectionMsg::Election => {
                        let live = self.live_peers();
                        self.election.on_election(from, self.epoch, &live)
                    }
                    bully_election::ElectionMsg::Ok => self.election.on_ok(from),
                    bully_election::ElectionMsg::Coordinator { epoch } => {
                        self.epoch = self.epoch.max(epoch);
                        if from > self.me {
                            if self.active() {
                                self.step_down();
                            }
                            self.election.follow(from)
                        } else {
                            // A lower replica claims to lead while this one lives: bully it.
                            let live = self.live_peers();
                            self.election.want(&live)
                        }
                    }
                };
                self.election_out(outs, cx);
            }
            Body::Ra(m) if from_peer => {
                let step = self.ra.on_message(from, m, &mut self.clock);
                self.ra_step(step, cx);
            }
            Body::State { ledger } if from_peer => self.on_state(&ledger, cx),
            Body::Update { round, ledger } if from_peer => {
                if self.ledger.merge(&ledger) {
                    self.ledger_changed(cx);
                }
                let body = Body::UpdateAck {
                    round,
                    ledger: self.ledger.clone(),
                };
                self.send(from, body, cx);
            }
            Body::UpdateAck { round, ledger } if from_peer => {
                if self.ledger.merge(&ledger) {
                    self.ledger_changed(cx);
                }
                if let Some(write) = &mut self.write {
                    if write.round == round {
                        write.awaiting.remove(&from);
                    }
                }
                self.maybe_finish_write(cx);
            }
            Body::Hello { tasks } if from_worker && self.active() => {
                self.on_hello(from, &tasks, cx);
            }
            Body::Result { task, best, .. } if from_worker => {
                if let Some(tour) = best {
                    let better_than_candidate = self.candidate.as_ref().is_none_or(|c| &tour < c);
                    if self.ledger.improves(&tour) && better_than_candidate {
                        if self.active() {
                            self.share_bound(&tour, from, cx);
                        }
                        self.candidate = Some(tour);
                    }
                }
                if self.active() && self.prefix_of(task).is_some() {
                    self.outstanding.remove(&task);
                    // A split task is counted through its children, not its own result.
                    if !self.done(task) && !self.ledger.split.contains(&task) {
                        self.pending.insert(task);
                    }
                    self.dispatch(cx);
                }
                self.maybe_request(cx);
            }
            Body::Solve { instance } if !from_peer && !from_worker => {
                if !self.active() || !instance.is_valid() {
                    return;
                }
                if self.ledger.problem.is_none() {
                    let depth = match self.cfg.strategy {
                        Strategy::Adaptive => self.cfg.depth + 1,
                        _ => self.cfg.depth,
                    };
                    let problem = Problem::new(instance, depth);
                    self.tasks = problem.tasks();
                    self.ledger.problem = Some(problem);
                    self.ledger.client = Some(from);
                    self.seed_start_tour();
                    self.ledger_changed(cx);
                    self.broadcast_state(cx);
                    self.dispatch(cx);
                    self.maybe_request(cx);
                } else if self
                    .ledger
                    .problem
                    .as_ref()
                    .is_some_and(|p| p.instance == instance)
                {
                    // The same problem again, maybe from another client (`faultline client
                    // tsp solve` run twice): answered once it is solved. Another problem is
                    // not: a solver solves one problem per start.
                    self.answer(from, cx);
                }
            }
            // From a node of the wrong role: ignored, never trusted.
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: CoordinatorTimer, cx: &mut CoCx<'_>) {
        match timer {
            CoordinatorTimer::Tick => self.on_tick(cx),
            CoordinatorTimer::Election => {
                let outs = self.election.on_timeout();
                self.election_out(outs, cx);
            }
        }
    }
}
