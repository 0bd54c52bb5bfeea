//! A cache node: it serves clients' gets and puts from its entries, asks a key's home for a
//! copy on a miss or for the only copy before a write, writes through to the Raft store
//! before it acknowledges a put, answers its homes' invalidations and fetches, and is itself
//! the home (directory) of the keys the ring gives it.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};

use super::bugs::Bugs;
use super::config::{CacheConfig, PENDING_MAX};
use super::directory::Directory;
use super::event::{Event, Why};
use super::lines::{Line, Lines};
use super::membership::Membership;
use super::msg::{Answer, Msg, St, Stamp};
use super::store::{Done, Job, StorePipe};

/// A cache node's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CacheTimer {
    /// The resend period of unanswered requests.
    Tick,
    /// The next membership change.
    Ring,
}

impl Timer for CacheTimer {
    fn id(self) -> TimerId {
        match self {
            CacheTimer::Tick => TimerId(1),
            CacheTimer::Ring => TimerId(2),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id {
            TimerId(1) => Some(CacheTimer::Tick),
            TimerId(2) => Some(CacheTimer::Ring),
            _ => None,
        }
    }
}

/// What a cache node's callbacks answer through.
pub(crate) type CacheCx<'a> = Cx<'a, Msg, Event, CacheTimer>;
/// Durable key of the node's starts so far.
const KEY_INCARNATION: &str = "cache/incarnation";
/// Most clients whose last answer is kept for a resend.
const ANSWERS_KEPT_MAX: usize = 256;

/// What a client asked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A read.
    Get,
    /// A write of this value.
    Put(u64),
}

/// Where a client's operation stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for the home's grant of request `txn`.
    Want {
        /// The request's number.
        txn: u64,
        /// Whether it asked for the only copy.
        exclusive: bool,
    },
    /// Reading the value from the store.
    Fill,
    /// Writing through to the store.
    Write,
}

/// A client's operation in progress; one per key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The client.
    pub(crate) client: NodeId,
    /// Its number for the operation.
    pub(crate) op: u64,
    /// What it asked.
    pub(crate) kind: Kind,
    /// Where it stands.
    pub(crate) phase: Phase,
}

/// One cache node.
pub struct CacheNode {
    /// Coherence protocol, capacity, resend period.
    pub(crate) cfg: CacheConfig,
    /// The ring over time.
    pub(crate) membership: Membership,
    /// The Raft replicas.
    servers: Vec<NodeId>,
    /// Keys `0..keys` exist; messages about others are dropped.
    keys: u32,
    /// Planted bugs.
    pub(crate) bugs: Bugs,
    /// This node's starts so far (durable), part of its stamps as a home.
    pub(crate) incarnation: u32,
    /// The membership epoch it works in.
    pub(crate) epoch: u32,
    /// Its entries.
    pub(crate) lines: Lines,
    /// The newest stamp heard of for each key: older grants are refused.
    seen: BTreeMap<u32, Stamp>,
    /// The directory of the keys homed here.
    pub(crate) dir: Directory,
    /// Client operations in progress, by key; at most `PENDING_MAX`.
    pending: BTreeMap<u32, Pending>,
    /// Each client's last answer, resent if the client asks again.
    answers: BTreeMap<NodeId, (u64, Answer)>,
    /// The pipe to the store.
    store: StorePipe,
    /// Requests to homes so far.
    txns: u64,
    /// Whether a store command of this incarnation has been answered: from then on no
    /// command of an earlier incarnation can still apply (Raft's session ignores older
    /// numbers), so until then this node neither answers its homes nor serves clients.
    fenced: bool,
}

impl CacheNode {
    /// A cache node; its state is built at `on_start`.
    pub(crate) fn new(
        cfg: CacheConfig,
        membership: Membership,
        servers: Vec<NodeId>,
        keys: u32,
        bugs: Bugs,
    ) -> CacheNode {
        CacheNode {
            cfg,
            membership,
            servers,
            keys,
            bugs,
            incarnation: 0,
            epoch: 0,
            lines: Lines::default(),
            seen: BTreeMap::new(),
            dir: Directory::default(),
            pending: BTreeMap::new(),
            answers: BTreeMap::new(),
            store: StorePipe::default(),
            txns: 0,
            fenced: false,
        }
    }

    /// The home of `key` in the current epoch.
    pub(crate) fn home(&self, key: u32) -> Option<NodeId> {
        self.membership.epoch(self.epoch).ring.home(key)
    }

    fn member(&self, me: NodeId) -> bool {
        self.membership.epoch(self.epoch).members.contains(&me)
    }

    /// Sends `msg` to `to`, or handles it at once when `to` is this node.
    pub(crate) fn deliver(&mut self, to: NodeId, msg: Msg, cx: &mut CacheCx<'_>) {
        if to == cx.me() {
            self.handle(to, msg, cx);
        } else {
            cx.send(to, msg);
        }
    }

    fn set_line(&mut self, key: u32, st: St, why: Why, cx: &mut CacheCx<'_>) {
        cx.emit(Event::Line {
            key,
            state: st,
            why,
        });
    }

    fn answer(&mut self, client: NodeId, op: u64, answer: Answer, cx: &mut CacheCx<'_>) {
        cx.send(
            client,
            Msg::Answer {
                op,
                answer: answer.clone(),
            },
        );
        if self.answers.len() >= ANSWERS_KEPT_MAX && !self.answers.contains_key(&client) {
            self.answers.pop_first();
        }
        self.answers.insert(client, (op, answer));
    }

    /// Follows the membership schedule up to now: a new epoch changes the ring.
    fn sync_epoch(&mut self, cx: &mut CacheCx<'_>) {
        let now = self.membership.epoch_at(cx.now_ms());
        if now == self.epoch {
            return;
        }
        let me = cx.me();
        let was_member = self.member(me);
        let before = self.membership.epoch(self.epoch).members.len() as u16;
        self.epoch = now;
        let epoch = self.membership.epoch(now);
        cx.emit(Event::RingChanged {
            epoch: now,
            members: epoch.members.len() as u16,
            members_before: before,
            moved: epoch.moved,
            keys: self.keys,
        });
        self.dir_retain_homed(me);
        if was_member && !self.member(me) {
            self.leave(cx);
        }
        self.report_role(cx);
        self.arm_ring_timer(cx);
    }

    fn report_role(&mut self, cx: &mut CacheCx<'_>) {
        let role = if self.member(cx.me()) {
            "cache"
        } else {
            "standby"
        };
        cx.role(role);
    }

    fn arm_ring_timer(&mut self, cx: &mut CacheCx<'_>) {
        if let Some(at_ms) = self.membership.next_change_ms(self.epoch) {
            let after = at_ms.saturating_sub(cx.now_ms());
            cx.set_timer(CacheTimer::Ring, Duration::from_millis(after));
        }
    }

    /// Off the ring: operations not started are handed back, clean entries dropped.
    fn leave(&mut self, cx: &mut CacheCx<'_>) {
        let waiting: Vec<(u32, Pending)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.phase != Phase::Write)
            .map(|(k, p)| (*k, *p))
            .collect();
        for (key, p) in waiting {
            self.pending.remove(&key);
            cx.send(
                p.client,
                Msg::Busy {
                    op: p.op,
                    member: false,
                },
            );
        }
        for key in self.lines.keys() {
            if self.lines.get(key).is_some_and(|l| !l.dirty) {
                self.drop_line(key, Why::Leave, cx);
            }
        }
    }

    /// Drops `key`'s entry and tells its home.
    fn drop_line(&mut self, key: u32, why: Why, cx: &mut CacheCx<'_>) {
        let Some(line) = self.lines.remove(key) else {
            return;
        };
        self.set_line(key, St::I, why, cx);
        if let Some(home) = self.home(key) {
            let msg = Msg::Evicted {
                key,
                stamp: line.stamp,
            };
            self.deliver(home, msg, cx);
        }
    }

    /// Evicts least recently used entries until there is room for one more (none with work
    /// in progress, none dirty, unless the planted bug says otherwise).
    fn make_room(&mut self, keep: u32, cx: &mut CacheCx<'_>) {
        let bug = self.bugs.evict_modified_without_writeback;
        while self.lines.len() >= self.cfg.capacity {
            let pending = &self.pending;
            let victim = self.lines.victim(|k, l| {
                k != keep
                    && match pending.get(&k) {
                        None => !l.dirty,
                        Some(p) => bug && l.dirty && p.phase == Phase::Write,
                    }
            });
            let Some(victim) = victim else {
                return;
            };
            if self.lines.get(victim).is_some_and(|l| l.dirty) {
                // The planted bug: the pending write-back is dropped and the put is
                // acknowledged as if eviction had written it.
                self.store.forget(victim);
                if let Some(p) = self.pending.remove(&victim) {
                    self.answer(p.client, p.op, Answer::Written, cx);
                }
            }
            self.drop_line(victim, Why::Evict, cx);
        }
    }

    /// A client asks this cache to drop its copy of `key`. A copy with work in progress (a
    /// fill, a write not yet committed) is not dropped: the client hears `Busy` and retries.
    /// A clean copy holds nothing the store lacks, so dropping it loses nothing.
    fn on_invalidate(&mut self, from: NodeId, op: u64, key: u32, cx: &mut CacheCx<'_>) {
        if let Some((last, answer)) = self.answers.get(&from) {
            if *last == op {
                let answer = answer.clone();
                cx.send(from, Msg::Answer { op, answer });
                return;
            }
        }
        if !self.fenced {
            cx.send(from, Msg::Busy { op, member: true });
            return;
        }
        if self.pending.contains_key(&key) || self.lines.get(key).is_some_and(|l| l.dirty) {
            cx.send(from, Msg::Busy { op, member: true });
            return;
        }
        let held = self.lines.get(key).is_some();
        self.drop_line(key, Why::Dropped, cx);
        self.answer(from, op, Answer::Invalidated { held }, cx);
    }

    /// A client's get or put.
    fn on_client(&mut self, from: NodeId, op: u64, key: u32, kind: Kind, cx: &mut CacheCx<'_>) {
        if let Some((last, answer)) = self.answers.get(&from) {
            if *last == op {
                let answer = answer.clone();
                cx.send(from, Msg::Answer { op, answer });
                return;
            }
        }
        if !self.member(cx.me()) {
            cx.send(from, Msg::Busy { op, member: false });
            return;
        }
        if !self.fenced {
            cx.send(from, Msg::Busy { op, member: true });
            return;
        }
        if let Some(p) = self.pending.get(&key) {
            if p.client != from || p.op != op {
                cx.send(from, Msg::Busy { op, member: true });
            }
            return;
        }
        if self.pending.len() >= PENDING_MAX {
            cx.send(from, Msg::Busy { op, member: true });
            return;
        }
        let line = self.lines.get(key).cloned();
        match (kind, line) {
            (Kind::Get, Some(l)) if !l.dirty => {
                if let Some(value) = l.value {
                    self.lines.touch(key);
                    cx.emit(Event::Served { key, hit: true });
                    self.answer(from, op, Answer::Read(value), cx);
                    return;
                }
                // Granted but still being read from the store: the fill has a pending op.
                cx.send(from, Msg::Busy { op, member: true });
            }
            (Kind::Put(value), Some(l)) if matches!(l.st, St::M | St::E) && !l.dirty => {
                cx.emit(Event::Served { key, hit: true });
                self.pending.insert(
                    key,
                    Pending {
                        client: from,
                        op,
                        kind,
                        phase: Phase::Write,
                    },
                );
                self.write(key, value, cx);
            }
            _ => {
                cx.emit(Event::Served { key, hit: false });
                self.txns += 1;
                let txn = (u64::from(self.incarnation) << 32) | (self.txns & 0xffff_ffff);
                let exclusive = matches!(kind, Kind::Put(_));
                self.pending.insert(
                    key,
                    Pending {
                        client: from,
                        op,
                        kind,
                        phase: Phase::Want { txn, exclusive },
                    },
                );
                self.want(key, txn, exclusive, cx);
            }
        }
    }

    fn want(&mut self, key: u32, txn: u64, exclusive: bool, cx: &mut CacheCx<'_>) {
        let Some(home) = self.home(key) else {
            return;
        };
        let msg = Msg::Want {
            key,
            txn,
            exclusive,
            epoch: self.epoch,
        };
        self.deliver(home, msg, cx);
    }

    /// Writes `value` into the entry (Modified, dirty) and through to the store.
    fn write(&mut self, key: u32, value: u64, cx: &mut CacheCx<'_>) {
        let Some(line) = self.lines.get_mut(key) else {
            return;
        };
        let was = line.st;
        line.st = St::M;
        line.value = Some(Some(value));
        line.dirty = true;
        self.lines.touch(key);
        if was != St::M {
            self.set_line(key, St::M, Why::Write, cx);
        }
        if let Some(p) = self.pending.get_mut(&key) {
            p.phase = Phase::Write;
        }
        if !self.store.push(Job::Put(key, value), cx) {
            // Nothing was written: the entry still holds the store's value? It does not know
            // it any more, so it goes, and the client hears Busy.
            if let Some(line) = self.lines.get_mut(key) {
                line.dirty = false;
            }
            self.drop_line(key, Why::Evict, cx);
            if let Some(p) = self.pending.remove(&key) {
                cx.send(
                    p.client,
                    Msg::Busy {
                        op: p.op,
                        member: true,
                    },
                );
            }
        }
    }

    /// The home's grant.
    fn on_grant(
        &mut self,
        key: u32,
        txn: u64,
        stamp: Stamp,
        state: St,
        data: Option<Option<u64>>,
        cx: &mut CacheCx<'_>,
    ) {
        let Some(p) = self.pending.get(&key).copied() else {
            return;
        };
        let asked = matches!(p.phase, Phase::Want { txn: t, .. } if t == txn);
        let fresh = self.seen.get(&key).is_none_or(|s| stamp > *s);
        if !asked || !fresh || stamp.epoch != self.epoch || state == St::I {
            return;
        }
        self.seen.insert(key, stamp);
        let old = self.lines.get(key).cloned();
        if old.is_none() {
            self.make_room(key, cx);
        }
        // An upgrade keeps the value it had; a fresh copy takes the owner's, or the store's.
        let value = data.or(old.and_then(|l| l.value));
        self.lines.insert(
            key,
            Line {
                st: state,
                value,
                stamp,
                dirty: false,
                used: 0,
            },
        );
        self.set_line(key, state, Why::Grant, cx);
        match p.kind {
            Kind::Put(v) => self.write(key, v, cx),
            Kind::Get => match value {
                Some(v) => {
                    self.pending.remove(&key);
                    self.answer(p.client, p.op, Answer::Read(v), cx);
                }
                None => {
                    if let Some(p) = self.pending.get_mut(&key) {
                        p.phase = Phase::Fill;
                    }
                    if !self.store.push(Job::Get(key), cx) {
                        self.pending.remove(&key);
                        cx.send(
                            p.client,
                            Msg::Busy {
                                op: p.op,
                                member: true,
                            },
                        );
                    }
                }
            },
        }
    }

    /// The home invalidates `key`; true once this node holds no copy (a dirty copy waits
    /// for its write to commit, and the home asks again).
    pub(crate) fn inv_here(&mut self, key: u32, stamp: Stamp, cx: &mut CacheCx<'_>) -> bool {
        if !self.fenced {
            return false;
        }
        let seen = self.seen.entry(key).or_default();
        *seen = (*seen).max(stamp);
        match self.lines.get(key) {
            None => true,
            // Granted after the home sent this: not about the copy held now.
            Some(l) if l.stamp > stamp => true,
            Some(l) if l.dirty => false,
            Some(_) => {
                self.lines.remove(key);
                self.set_line(key, St::I, Why::Inv, cx);
                true
            }
        }
    }

    /// The home fetches `key` for a reader: the new state and value, `Some(None)` if not
    /// held, `None` to wait (the copy is dirty, or its value is still being read).
    pub(crate) fn fetch_here(
        &mut self,
        key: u32,
        stamp: Stamp,
        cx: &mut CacheCx<'_>,
    ) -> Option<Option<(St, Option<u64>)>> {
        if !self.fenced {
            return None;
        }
        let seen = self.seen.entry(key).or_default();
        *seen = (*seen).max(stamp);
        let owned = self.cfg.coherence.has_owned();
        // Not held (evicted, or lost in a crash the home has not heard of): say so, or the
        // home would ask again for ever and the reader never be served.
        let Some(line) = self.lines.get_mut(key) else {
            return Some(None);
        };
        if line.stamp > stamp {
            return Some(None);
        }
        if line.dirty {
            return None;
        }
        let value = line.value?;
        let new = match line.st {
            St::M if owned => St::O,
            St::O => St::O,
            _ => St::S,
        };
        if new != line.st {
            line.st = new;
            self.set_line(key, new, Why::Fetch, cx);
        }
        Some(Some((new, value)))
    }

    /// A store job finished.
    fn on_store_done(&mut self, job: Job, done: Done, cx: &mut CacheCx<'_>) {
        self.fenced = true;
        let key = job.key();
        let p = self.pending.get(&key).copied();
        match (job, done) {
            (Job::Put(_, value), Done::Written) => {
                cx.emit(Event::Stored { key, value });
                if let Some(line) = self.lines.get_mut(key) {
                    if line.value == Some(Some(value)) {
                        line.dirty = false;
                    }
                }
                if let Some(p) = p.filter(|p| p.phase == Phase::Write && p.kind == Kind::Put(value))
                {
                    self.pending.remove(&key);
                    self.answer(p.client, p.op, Answer::Written, cx);
                }
                if !self.member(cx.me()) {
                    self.drop_line(key, Why::Leave, cx);
                }
            }
            (Job::Get(_), Done::Read(value)) => {
                if let Some(line) = self.lines.get_mut(key) {
                    if line.value.is_none() {
                        line.value = Some(value);
                    }
                }
                if let Some(p) = p.filter(|p| p.phase == Phase::Fill) {
                    self.pending.remove(&key);
                    self.answer(p.client, p.op, Answer::Read(value), cx);
                }
            }
            (_, _) => {
                // Refused: nothing happened in the store. The entry no longer knows its
                // value, so it goes; the client hears nothing and gives up.
                if let Some(line) = self.lines.get_mut(key) {
                    line.dirty = false;
                }
                self.drop_line(key, Why::Evict, cx);
                if p.is_some_and(|p| matches!(p.phase, Phase::Fill | Phase::Write)) {
                    self.pending.remove(&key);
                }
            }
        }
    }

    fn on_tick(&mut self, cx: &mut CacheCx<'_>) {
        let wants: Vec<(u32, u64, bool)> = self
            .pending
            .iter()
            .filter_map(|(k, p)| match p.phase {
                Phase::Want { txn, exclusive } => Some((*k, txn, exclusive)),
                _ => None,
            })
            .collect();
        for (key, txn, exclusive) in wants {
            self.want(key, txn, exclusive, cx);
        }
        self.store.resend(cx);
        self.dir_resend(cx);
        cx.set_timer(
            CacheTimer::Tick,
            Duration::from_millis(self.cfg.retry_ms.max(1)),
        );
    }

    /// Every message, from another node or from this one.
    fn handle(&mut self, from: NodeId, msg: Msg, cx: &mut CacheCx<'_>) {
        if msg.key().is_some_and(|k| k >= self.keys) {
            return;
        }
        match msg {
            Msg::Raft(m) => {
                if let Some((job, done)) = self.store.on_raft(from, m, cx) {
                    self.on_store_done(job, done, cx);
                }
            }
            Msg::Get { op, key } => self.on_client(from, op, key, Kind::Get, cx),
            Msg::Put { op, key, value } => self.on_client(from, op, key, Kind::Put(value), cx),
            Msg::Invalidate { op, key } => self.on_invalidate(from, op, key, cx),
            Msg::Want {
                key,
                txn,
                exclusive,
                epoch,
            } => self.on_want(from, key, txn, exclusive, epoch, cx),
            Msg::Grant {
                key,
                txn,
                stamp,
                state,
                data,
            } => self.on_grant(key, txn, stamp, state, data, cx),
            Msg::Inv { key, stamp } => {
                if self.inv_here(key, stamp, cx) {
                    self.deliver(from, Msg::InvAck { key, stamp }, cx);
                }
            }
            Msg::InvAck { key, stamp } => self.on_inv_ack(from, key, stamp, cx),
            Msg::Fetch { key, stamp } => {
                if let Some(held) = self.fetch_here(key, stamp, cx) {
                    self.deliver(from, Msg::FetchAck { key, stamp, held }, cx);
                }
            }
            Msg::FetchAck { key, stamp, held } => self.on_fetch_ack(from, key, stamp, held, cx),
            Msg::Evicted { key, stamp } => self.on_evicted(from, key, stamp),
            Msg::Answer { .. } | Msg::Busy { .. } => {}
        }
    }
}

impl Node for CacheNode {
    type Msg = Msg;
    type Event = Event;
    type Timer = CacheTimer;

    fn on_start(&mut self, cx: &mut CacheCx<'_>) {
        *self = CacheNode::new(
            self.cfg.clone(),
            self.membership.clone(),
            self.servers.clone(),
            self.keys,
            self.bugs,
        );
        let inc = cx
            .durable_get(KEY_INCARNATION)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(0, u32::from_le_bytes)
            .saturating_add(1);
        cx.durable_put(KEY_INCARNATION, inc.to_le_bytes().to_vec());
        self.incarnation = inc;
        self.store = StorePipe::new(self.servers.clone(), cx);
        self.epoch = self.membership.epoch_at(cx.now_ms());
        // The fence: any answer from the store will do.
        self.store.push(Job::Get(0), cx);
        self.report_role(cx);
        self.arm_ring_timer(cx);
        cx.set_timer(
            CacheTimer::Tick,
            Duration::from_millis(self.cfg.retry_ms.max(1)),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut CacheCx<'_>) {
        self.sync_epoch(cx);
        self.handle(from, msg, cx);
    }

    fn on_timer(&mut self, timer: CacheTimer, cx: &mut CacheCx<'_>) {
        self.sync_epoch(cx);
        match timer {
            CacheTimer::Tick => self.on_tick(cx),
            CacheTimer::Ring => {}
        }
    }
}
