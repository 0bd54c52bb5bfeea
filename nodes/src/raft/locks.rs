//! The lock table: shared and exclusive locks per resource with leases (by entry
//! timestamps), FIFO waiters, and deadlock detection on the wait-for graph.
//!
//! An expired lease frees its lock at the next command touching the resource (or at a
//! leader's tick no-op, which touches every resource with waiters). A client has one
//! operation outstanding at a time, so it waits on at most one resource; a newer command of
//! a client cancels its wait.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use faultline_sim::NodeId;

use super::codec::{read_mode, write_mode, Reader, Writer};
use super::config::{LOCK_RESOURCES_MAX, LOCK_WAITERS_MAX, NAME_BYTES_MAX, SESSIONS_MAX};
use super::op::{LockMode, Outcome, Refusal, Value};

/// The entry being applied, as the lock table sees it: its time and the lease rules.
#[derive(Copy, Clone, Debug)]
pub(crate) struct LockRules {
    /// The entry's timestamp.
    pub(crate) now_ms: u64,
    /// Lease of a grant or renewal.
    pub(crate) lease_ms: u64,
    /// Planted bug: an acquire takes the resource from holders whose lease still runs.
    pub(crate) lease_ignored: bool,
}

/// A holder's lock.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Hold {
    /// Shared or exclusive.
    mode: LockMode,
    /// When the lease runs out (entry timestamps).
    lease_until_ms: u64,
}

/// A queued acquire.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Waiter {
    /// The client.
    client: NodeId,
    /// Its command number, answered when granted.
    seq: u64,
    /// The mode asked for.
    mode: LockMode,
}

/// One resource's holders and waiters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Lock {
    /// Holders (several only if all shared); at most `SESSIONS_MAX`.
    holders: BTreeMap<NodeId, Hold>,
    /// Waiters, oldest first; at most `LOCK_WAITERS_MAX`.
    waiters: VecDeque<Waiter>,
}

impl Lock {
    /// Whether `client` could hold `mode` beside the other holders.
    fn compatible(&self, client: NodeId, mode: LockMode) -> bool {
        self.holders
            .iter()
            .filter(|(c, _)| **c != client)
            .all(|(_, h)| mode == LockMode::Shared && h.mode == LockMode::Shared)
    }

    /// The clients `client` waits for when queued at position `pos`: the other holders and
    /// every waiter ahead of it (FIFO).
    fn blockers(&self, client: NodeId, pos: usize) -> Vec<NodeId> {
        let holders = self.holders.keys().copied().filter(|c| *c != client);
        let ahead = self.waiters.iter().take(pos).map(|w| w.client);
        holders.chain(ahead).collect()
    }
}

/// A waiting acquire that was decided: its answer is owed to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    /// The client.
    pub(crate) client: NodeId,
    /// Its command number.
    pub(crate) seq: u64,
    /// The answer.
    pub(crate) result: Outcome,
}

/// Every resource with holders or waiters; at most `LOCK_RESOURCES_MAX`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Locks {
    /// Locks by resource.
    table: BTreeMap<String, Lock>,
    /// The resource each waiting client waits on (derived from the waiters).
    waiting: BTreeMap<NodeId, String>,
}

impl Locks {
    /// Takes (or renews, or upgrades) a lock. `None`: the client waits; its answer comes as
    /// a [`Grant`] later.
    pub(crate) fn acquire(
        &mut self,
        client: NodeId,
        seq: u64,
        resource: &str,
        mode: LockMode,
        rules: LockRules,
        out: &mut Vec<Grant>,
    ) -> Option<Outcome> {
        if !self.table.contains_key(resource) && self.table.len() >= LOCK_RESOURCES_MAX {
            return Some(Outcome::fail(Refusal::Busy));
        }
        self.pump(resource, rules, out);
        let lease_until_ms = rules.now_ms.saturating_add(rules.lease_ms);
        let lock = self.table.entry(resource.to_string()).or_default();
        if rules.lease_ignored {
            lock.holders.retain(|c, _| *c == client);
        }
        if let Some(hold) = lock.holders.get(&client).copied() {
            let mode = mode.max(hold.mode);
            if lock.compatible(client, mode) {
                lock.holders.insert(
                    client,
                    Hold {
                        mode,
                        lease_until_ms,
                    },
                );
                return Some(Outcome::ok(Value::Done));
            }
        } else if lock.waiters.is_empty() && lock.compatible(client, mode) {
            lock.holders.insert(
                client,
                Hold {
                    mode,
                    lease_until_ms,
                },
            );
            return Some(Outcome::ok(Value::Done));
        }
        if lock.waiters.len() >= LOCK_WAITERS_MAX {
            return Some(Outcome::fail(Refusal::Busy));
        }
        let blockers = lock.blockers(client, lock.waiters.len());
        if self.reaches(&blockers, client) {
            self.forget_if_idle(resource);
            return Some(Outcome::fail(Refusal::Deadlock));
        }
        if let Some(lock) = self.table.get_mut(resource) {
            lock.waiters.push_back(Waiter { client, seq, mode });
            self.waiting.insert(client, resource.to_string());
        }
        None
    }

    /// Extends a held lock's lease.
    pub(crate) fn renew(
        &mut self,
        client: NodeId,
        resource: &str,
        rules: LockRules,
        out: &mut Vec<Grant>,
    ) -> Outcome {
        self.pump(resource, rules, out);
        let hold = self
            .table
            .get_mut(resource)
            .and_then(|l| l.holders.get_mut(&client));
        match hold {
            Some(hold) => {
                hold.lease_until_ms = rules.now_ms.saturating_add(rules.lease_ms);
                Outcome::ok(Value::Done)
            }
            None => Outcome::fail(Refusal::NotHeld),
        }
    }

    /// Gives a held lock up, granting waiters it blocked.
    pub(crate) fn release(
        &mut self,
        client: NodeId,
        resource: &str,
        rules: LockRules,
        out: &mut Vec<Grant>,
    ) -> Outcome {
        self.pump(resource, rules, out);
        let held = self
            .table
            .get_mut(resource)
            .and_then(|l| l.holders.remove(&client))
            .is_some();
        self.pump(resource, rules, out);
        if held {
            Outcome::ok(Value::Done)
        } else {
            Outcome::fail(Refusal::NotHeld)
        }
    }

    /// Drops `client`'s wait (it moved on to a newer command), granting whom it blocked.
    pub(crate) fn cancel_wait(&mut self, client: NodeId, rules: LockRules, out: &mut Vec<Grant>) {
        let Some(resource) = self.waiting.remove(&client) else {
            return;
        };
        if let Some(lock) = self.table.get_mut(&resource) {
            lock.waiters.retain(|w| w.client != client);
        }
        self.pump(&resource, rules, out);
    }

    /// Frees expired leases on every resource with waiters, granting what it can.
    pub(crate) fn tick(&mut self, rules: LockRules, out: &mut Vec<Grant>) {
        let blocked: Vec<String> = self
            .table
            .iter()
            .filter(|(_, l)| !l.waiters.is_empty())
            .map(|(r, _)| r.clone())
            .collect();
        for resource in blocked {
            self.pump(&resource, rules, out);
        }
    }

    /// Whether a waiter is blocked by a holder whose lease ran out by `now_ms`: a tick
    /// would grant it.
    pub(crate) fn needs_tick(&self, now_ms: u64) -> bool {
        self.table.values().any(|l| {
            !l.waiters.is_empty() && l.holders.values().any(|h| h.lease_until_ms <= now_ms)
        })
    }

    /// Expires leases of `resource` and grants its waiters from the head while they fit.
    fn pump(&mut self, resource: &str, rules: LockRules, out: &mut Vec<Grant>) {
        let now_ms = rules.now_ms;
        let Some(lock) = self.table.get_mut(resource) else {
            return;
        };
        lock.holders.retain(|_, h| h.lease_until_ms > now_ms);
        while let Some(head) = lock.waiters.front() {
            let held = lock.holders.get(&head.client).map(|h| h.mode);
            let mode = held.map_or(head.mode, |m| m.max(head.mode));
            if !lock.compatible(head.client, mode) {
                break;
            }
            let Some(w) = lock.waiters.pop_front() else {
                break;
            };
            lock.holders.insert(
                w.client,
                Hold {
                    mode,
                    lease_until_ms: now_ms.saturating_add(rules.lease_ms),
                },
            );
            self.waiting.remove(&w.client);
            out.push(Grant {
                client: w.client,
                seq: w.seq,
                result: Outcome::ok(Value::Done),
            });
        }
        self.forget_if_idle(resource);
    }

    /// Removes a resource nobody holds or waits for.
    fn forget_if_idle(&mut self, resource: &str) {
        if self
            .table
            .get(resource)
            .is_some_and(|l| l.holders.is_empty() && l.waiters.is_empty())
        {
            self.table.remove(resource);
        }
    }

    /// Whether `target` is reachable from `start` in the wait-for graph (a waiter points at
    /// the holders and earlier waiters of its resource).
    fn reaches(&self, start: &[NodeId], target: NodeId) -> bool {
        let mut stack: Vec<NodeId> = start.to_vec();
        let mut seen = BTreeSet::new();
        while let Some(at) = stack.pop() {
            if at == target {
                return true;
            }
            if !seen.insert(at) {
                continue;
            }
            let Some(lock) = self.waiting.get(&at).and_then(|r| self.table.get(r)) else {
                continue;
            };
            let pos = lock
                .waiters
                .iter()
                .position(|w| w.client == at)
                .unwrap_or(0);
            stack.extend(lock.blockers(at, pos));
        }
        false
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.len(self.table.len());
        for (resource, lock) in &self.table {
            w.str(resource);
            w.len(lock.holders.len());
            for (client, h) in &lock.holders {
                w.node(*client);
                write_mode(w, h.mode);
                w.u64(h.lease_until_ms);
            }
            w.len(lock.waiters.len());
            for waiter in &lock.waiters {
                w.node(waiter.client);
                w.u64(waiter.seq);
                write_mode(w, waiter.mode);
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Locks> {
        let mut out = Locks::default();
        for _ in 0..r.len(LOCK_RESOURCES_MAX)? {
            let resource = r.str(NAME_BYTES_MAX)?;
            let mut lock = Lock::default();
            for _ in 0..r.len(SESSIONS_MAX)? {
                let client = r.node()?;
                let mode = read_mode(r)?;
                let lease_until_ms = r.u64()?;
                lock.holders.insert(
                    client,
                    Hold {
                        mode,
                        lease_until_ms,
                    },
                );
            }
            for _ in 0..r.len(LOCK_WAITERS_MAX)? {
                let client = r.node()?;
                let seq = r.u64()?;
                let mode = read_mode(r)?;
                out.waiting.insert(client, resource.clone());
                lock.waiters.push_back(Waiter { client, seq, mode });
            }
            out.table.insert(resource, lock);
        }
        Some(out)
    }
}
