//! The home side of coherence: the directory entry of each key homed at this cache node (who
//! holds it, in which state) and the one transaction at a time that changes it. A request
//! for a shared copy fetches the value from the owner, if any; a request for the only copy
//! invalidates every other one first. An entry the home does not know (after its restart, or
//! when the ring gave it the key) is rebuilt by recalling the key from every cache that may
//! hold it: nothing acknowledged is lost, because every acknowledged write is in the store.

use std::collections::{BTreeMap, BTreeSet};

use faultline_sim::NodeId;

use super::cache_node::{CacheCx, CacheNode};
use super::msg::{Msg, St, Stamp};

/// What a transaction waits for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Invalidation acks from every cache that may hold the key (the entry was unknown).
    Recall,
    /// Invalidation acks from the other holders.
    Inv,
    /// The owner's value.
    Fetch(NodeId),
    /// Nothing: decide the next phase or grant.
    Decide,
}

/// The one change in progress on a key.
#[derive(Clone, Debug)]
pub(crate) struct Txn {
    /// The cache that asked.
    pub(crate) requester: NodeId,
    /// Its number for the request.
    pub(crate) req: u64,
    /// Whether it wants the only copy.
    pub(crate) exclusive: bool,
    /// What it waits for.
    pub(crate) phase: Phase,
    /// Caches still to answer.
    pub(crate) waiting: BTreeSet<NodeId>,
    /// The value the owner supplied, if it did.
    pub(crate) data: Option<Option<u64>>,
    /// Whether the invalidation or fetch round is over.
    pub(crate) asked: bool,
}

/// A key's directory entry.
#[derive(Clone, Debug, Default)]
pub(crate) struct Entry {
    /// Holders, with their state, the stamp of their grant and the request it answered.
    pub(crate) holders: BTreeMap<NodeId, (St, Stamp, u64)>,
    /// Version of the entry; every grant raises it.
    pub(crate) version: u64,
    /// Whether `holders` is known (false after a restart or a ring change: recall first).
    pub(crate) known: bool,
    /// The change in progress.
    pub(crate) txn: Option<Txn>,
}

/// The directory of the keys homed here; at most `keys` entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Directory {
    /// Entries by key.
    pub(crate) entries: BTreeMap<u32, Entry>,
}

impl CacheNode {
    /// This home's current stamp for `key`.
    fn stamp_of(&self, key: u32) -> Stamp {
        Stamp {
            epoch: self.epoch,
            incarnation: self.incarnation,
            version: self.dir.entries.get(&key).map_or(0, |e| e.version),
        }
    }

    /// A cache asks for a copy of `key`.
    pub(crate) fn on_want(
        &mut self,
        from: NodeId,
        key: u32,
        req: u64,
        exclusive: bool,
        epoch: u32,
        cx: &mut CacheCx<'_>,
    ) {
        if epoch != self.epoch || self.home(key) != Some(cx.me()) {
            // The requester resends to the home of its epoch; by then both agree.
            return;
        }
        let stamp = self.stamp_of(key);
        let e = self.dir.entries.entry(key).or_default();
        if e.txn.is_some() {
            return;
        }
        // A resent request whose grant was lost: grant the same again.
        if let Some((st, at, granted)) = e.holders.get(&from).copied() {
            if granted == req && e.known && at.epoch == stamp.epoch {
                let msg = Msg::Grant {
                    key,
                    txn: req,
                    stamp: at,
                    state: st,
                    data: None,
                };
                self.deliver(from, msg, cx);
                return;
            }
        }
        let phase = if e.known {
            Phase::Decide
        } else {
            Phase::Recall
        };
        let waiting: BTreeSet<NodeId> = if e.known {
            BTreeSet::new()
        } else {
            let ever = &self.membership.epoch(self.epoch).ever;
            ever.iter().copied().filter(|n| *n != from).collect()
        };
        e.txn = Some(Txn {
            requester: from,
            req,
            exclusive,
            phase,
            waiting,
            data: None,
            asked: false,
        });
        self.ask(key, cx);
        self.step(key, cx);
    }

    /// Sends the current phase's question to every cache still to answer; this node answers
    /// its own at once.
    pub(crate) fn ask(&mut self, key: u32, cx: &mut CacheCx<'_>) {
        let stamp = self.stamp_of(key);
        let Some(txn) = self.dir.entries.get(&key).and_then(|e| e.txn.clone()) else {
            return;
        };
        let me = cx.me();
        for to in txn.waiting {
            match txn.phase {
                Phase::Recall | Phase::Inv => {
                    if to == me {
                        if self.inv_here(key, stamp, cx) {
                            self.answered(key, me, None);
                        }
                    } else {
                        cx.send(to, Msg::Inv { key, stamp });
                    }
                }
                Phase::Fetch(_) => {
                    if to == me {
                        if let Some(held) = self.fetch_here(key, stamp, cx) {
                            self.answered(key, me, Some(held));
                        }
                    } else {
                        cx.send(to, Msg::Fetch { key, stamp });
                    }
                }
                Phase::Decide => {}
            }
        }
    }

    /// `from` answered the current phase (`held`: a fetch's answer).
    fn answered(&mut self, key: u32, from: NodeId, held: Option<Option<(St, Option<u64>)>>) {
        let Some(e) = self.dir.entries.get_mut(&key) else {
            return;
        };
        let Some(txn) = e.txn.as_mut() else {
            return;
        };
        if !txn.waiting.remove(&from) {
            return;
        }
        if let (Phase::Fetch(owner), Some(held)) = (txn.phase, held) {
            match held {
                Some((st, value)) => {
                    if let Some(h) = e.holders.get_mut(&owner) {
                        h.0 = st;
                    }
                    txn.data = Some(value);
                }
                None => {
                    e.holders.remove(&owner);
                }
            }
        }
    }

    /// Moves `key`'s transaction on as far as the answers allow.
    pub(crate) fn step(&mut self, key: u32, cx: &mut CacheCx<'_>) {
        let coherence = self.cfg.coherence;
        let skip_inv = self.bugs.skip_invalidation;
        loop {
            let Some(e) = self.dir.entries.get_mut(&key) else {
                return;
            };
            let Some(txn) = e.txn.as_mut() else {
                return;
            };
            if !txn.waiting.is_empty() {
                return;
            }
            match txn.phase {
                Phase::Recall => {
                    e.known = true;
                    e.holders.clear();
                    txn.phase = Phase::Decide;
                }
                Phase::Inv | Phase::Fetch(_) => {
                    txn.asked = true;
                    txn.phase = Phase::Decide;
                }
                Phase::Decide if !txn.asked => {
                    txn.asked = true;
                    let from = txn.requester;
                    if txn.exclusive {
                        let mut others: Vec<NodeId> =
                            e.holders.keys().copied().filter(|n| *n != from).collect();
                        if skip_inv {
                            // The planted bug: one sharer is forgotten, not invalidated.
                            if let Some(i) = others.iter().position(|n| e.holders[n].0 == St::S) {
                                let n = others.remove(i);
                                e.holders.remove(&n);
                            }
                        }
                        if others.is_empty() {
                            continue;
                        }
                        for n in &others {
                            e.holders.remove(n);
                        }
                        txn.phase = Phase::Inv;
                        txn.waiting = others.into_iter().collect();
                    } else {
                        let owner = e
                            .holders
                            .iter()
                            .find(|(n, (st, _, _))| **n != from && st.owns())
                            .map(|(n, _)| *n);
                        let Some(owner) = owner else {
                            continue;
                        };
                        txn.phase = Phase::Fetch(owner);
                        txn.waiting = [owner].into_iter().collect();
                    }
                    self.ask(key, cx);
                }
                Phase::Decide => {
                    let txn = e.txn.take().expect("checked above");
                    let state = if txn.exclusive {
                        St::M
                    } else {
                        let alone = e.holders.keys().all(|n| *n == txn.requester);
                        if alone && coherence.has_exclusive() {
                            St::E
                        } else {
                            St::S
                        }
                    };
                    // Single writer: granting M or E leaves no other holder.
                    assert!(
                        !matches!(state, St::M | St::E)
                            || skip_inv
                            || e.holders.keys().all(|n| *n == txn.requester),
                        "exclusive grant of key {key} beside other holders"
                    );
                    e.version += 1;
                    let stamp = Stamp {
                        epoch: self.epoch,
                        incarnation: self.incarnation,
                        version: e.version,
                    };
                    e.holders.insert(txn.requester, (state, stamp, txn.req));
                    let msg = Msg::Grant {
                        key,
                        txn: txn.req,
                        stamp,
                        state,
                        data: txn.data,
                    };
                    self.deliver(txn.requester, msg, cx);
                    return;
                }
            }
        }
    }

    /// A cache acknowledged an invalidation of `key` at `stamp`.
    pub(crate) fn on_inv_ack(
        &mut self,
        from: NodeId,
        key: u32,
        stamp: Stamp,
        cx: &mut CacheCx<'_>,
    ) {
        if stamp != self.stamp_of(key) || self.home(key) != Some(cx.me()) {
            return;
        }
        let asking = self
            .dir
            .entries
            .get(&key)
            .and_then(|e| e.txn.as_ref())
            .is_some_and(|t| matches!(t.phase, Phase::Recall | Phase::Inv));
        if asking {
            self.answered(key, from, None);
            self.step(key, cx);
        }
    }

    /// An owner answered a fetch of `key` at `stamp`.
    pub(crate) fn on_fetch_ack(
        &mut self,
        from: NodeId,
        key: u32,
        stamp: Stamp,
        held: Option<(St, Option<u64>)>,
        cx: &mut CacheCx<'_>,
    ) {
        if stamp != self.stamp_of(key) || self.home(key) != Some(cx.me()) {
            return;
        }
        let asking = self
            .dir
            .entries
            .get(&key)
            .and_then(|e| e.txn.as_ref())
            .is_some_and(|t| t.phase == Phase::Fetch(from));
        if asking {
            self.answered(key, from, Some(held));
            self.step(key, cx);
        }
    }

    /// A cache evicted the copy it was granted at `stamp`.
    pub(crate) fn on_evicted(&mut self, from: NodeId, key: u32, stamp: Stamp) {
        let Some(e) = self.dir.entries.get_mut(&key) else {
            return;
        };
        if e.holders.get(&from).is_some_and(|(_, at, _)| *at == stamp) {
            e.holders.remove(&from);
        }
    }

    /// The resend period passed: ask again whoever has not answered.
    pub(crate) fn dir_resend(&mut self, cx: &mut CacheCx<'_>) {
        let open: Vec<u32> = self
            .dir
            .entries
            .iter()
            .filter(|(_, e)| e.txn.as_ref().is_some_and(|t| !t.waiting.is_empty()))
            .map(|(k, _)| *k)
            .collect();
        for key in open {
            self.ask(key, cx);
            self.step(key, cx);
        }
    }

    /// The ring changed: forget the keys homed elsewhere now. Their new home recalls them.
    pub(crate) fn dir_retain_homed(&mut self, me: NodeId) {
        let ring = &self.membership.epoch(self.epoch).ring;
        self.dir.entries.retain(|k, _| ring.home(*k) == Some(me));
    }
}
