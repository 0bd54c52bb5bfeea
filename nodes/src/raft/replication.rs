//! Log replication: AppendEntries with log matching, fast back-off on conflicts (the
//! follower's conflict term and index), and commit by counting replicas, for entries of the
//! leader's own term only (earlier ones commit by implication).

use std::collections::BTreeMap;

use faultline_sim::NodeId;

use super::config::{ENTRIES_PER_APPEND_MAX, SESSIONS_MAX};
use super::msg::{Entry, Msg};
use super::replica::{Replica, ReplicaCx, Role};

/// What a leader knows about one follower.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Progress {
    /// Next index to send (optimistic: moved past what was sent, reset by a refusal).
    pub(crate) next: u64,
    /// Highest index known to match the leader's log there.
    pub(crate) matched: u64,
    /// When the follower last answered in this term (ms).
    pub(crate) heard_ms: u64,
    /// The snapshot point being sent to it, if any.
    pub(crate) snap_index: u64,
    /// Bytes of that snapshot it acknowledged.
    pub(crate) snap_acked_bytes: u64,
}

/// A leader's state for its term.
#[derive(Clone, Debug)]
pub(crate) struct Leadership {
    /// Replication progress of each other replica.
    pub(crate) progress: BTreeMap<NodeId, Progress>,
    /// The command each client has in the log, not yet applied: (seq, index); at most
    /// `SESSIONS_MAX`, so retries are not appended twice.
    pub(crate) proposed: BTreeMap<NodeId, (u64, u64)>,
    /// When it took office (ms).
    pub(crate) since_ms: u64,
    /// Room to sort the match indexes in when counting the commit quorum, kept to spare an
    /// allocation on every append reply.
    pub(crate) quorum_scratch: Vec<u64>,
}

impl Leadership {
    /// Fresh progress: every follower is assumed to hold everything before `next`.
    pub(crate) fn new(peers: &[NodeId], next: u64, now_ms: u64) -> Leadership {
        let progress = peers
            .iter()
            .map(|p| {
                let progress = Progress {
                    next,
                    matched: 0,
                    heard_ms: now_ms,
                    snap_index: 0,
                    snap_acked_bytes: 0,
                };
                (*p, progress)
            })
            .collect();
        Leadership {
            progress,
            proposed: BTreeMap::new(),
            since_ms: now_ms,
            quorum_scratch: Vec::with_capacity(peers.len() + 1),
        }
    }

    /// Remembers that `client`'s command `seq` sits at `index`.
    pub(crate) fn note_proposed(&mut self, client: NodeId, seq: u64, index: u64) {
        if self.proposed.contains_key(&client) || self.proposed.len() < SESSIONS_MAX {
            self.proposed.insert(client, (seq, index));
        }
    }

    /// Forgets proposals applied by now.
    pub(crate) fn forget_applied(&mut self, applied: u64) {
        self.proposed.retain(|_, (_, index)| *index > applied);
    }
}

/// Whether `entries` is a well-formed run from a leader of `term`: within the datagram
/// bound, contiguous from `prev_index + 1`, terms never decreasing from `prev_term` and never
/// above `term`. Anything else is dropped whole.
fn entries_well_formed(entries: &[Entry], prev_index: u64, prev_term: u64, term: u64) -> bool {
    if entries.len() > ENTRIES_PER_APPEND_MAX || prev_term > term {
        return false;
    }
    let mut last_term = prev_term;
    for (i, e) in entries.iter().enumerate() {
        if e.index != prev_index.saturating_add(1 + i as u64) || e.term < last_term || e.term > term
        {
            return false;
        }
        last_term = e.term;
    }
    true
}

impl Replica {
    /// Sends every follower what it lacks. `heartbeat`: also the empty appends and snapshot
    /// chunks (a new proposal only goes to followers being replicated to).
    pub(super) fn broadcast_append(&mut self, heartbeat: bool, cx: &mut ReplicaCx<'_>) {
        for peer in self.peers() {
            self.send_append(peer, heartbeat, cx);
        }
    }

    /// Sends `peer` the entries from its next index on (or an empty heartbeat), or a
    /// snapshot chunk when its next entry was compacted away.
    pub(super) fn send_append(&mut self, peer: NodeId, heartbeat: bool, cx: &mut ReplicaCx<'_>) {
        let last = self.log.last_index();
        let snap_index = self.log.snap_index();
        let batch = self.cfg.entries_per_append.clamp(1, ENTRIES_PER_APPEND_MAX);
        let Some(p) = self.lead.as_mut().and_then(|l| l.progress.get_mut(&peer)) else {
            return;
        };
        p.next = p.next.clamp(1, last + 1);
        if p.next <= snap_index {
            if heartbeat {
                self.send_snapshot_chunk(peer, cx);
            }
            return;
        }
        if p.next > last && !heartbeat {
            return;
        }
        let prev_index = p.next - 1;
        let entries = self.log.slice(p.next, batch);
        p.next += entries.len() as u64;
        let prev_term = self.log.term_at(prev_index).unwrap_or(0);
        cx.send(
            peer,
            Msg::Append {
                term: self.term,
                prev_index,
                prev_term,
                entries,
                commit: self.commit,
            },
        );
    }

    /// A follower's (or a stale leader's) side of AppendEntries.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_append(
        &mut self,
        from: NodeId,
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        leader_commit: u64,
        cx: &mut ReplicaCx<'_>,
    ) {
        if term < self.term {
            self.reply_append(from, false, 0, 0, 0, cx);
            return;
        }
        if !self.accept_leader(from, term, cx) {
            return;
        }
        if !entries_well_formed(&entries, prev_index, prev_term, term) {
            return;
        }
        // Entries the snapshot covers are committed, hence the leader's: skip them.
        let snap_index = self.log.snap_index();
        let (prev_index, prev_term, entries) = if prev_index < snap_index {
            let skip = usize::try_from(snap_index - prev_index).unwrap_or(usize::MAX);
            if skip > entries.len() {
                let matched = prev_index + entries.len() as u64;
                self.reply_append(from, true, matched, 0, 0, cx);
                return;
            }
            let rest = entries.get(skip..).unwrap_or_default().to_vec();
            (snap_index, self.log.term_at(snap_index).unwrap_or(0), rest)
        } else {
            (prev_index, prev_term, entries)
        };
        match self.log.term_at(prev_index) {
            None => {
                let next = self.log.last_index() + 1;
                self.reply_append(from, false, 0, 0, next, cx);
            }
            Some(t) if t != prev_term => {
                let first = self.log.first_index_of_run(prev_index);
                self.reply_append(from, false, 0, t, first, cx);
            }
            Some(_) => {
                let mut matched = prev_index;
                for entry in entries {
                    let index = entry.index;
                    match self.log.term_at(index) {
                        Some(t) if t == entry.term => {}
                        Some(_) => {
                            // Committed entries are final: a leader asking to cut one is
                            // wrong, and is not obeyed.
                            if index <= self.commit {
                                return;
                            }
                            self.log.truncate_from(index, self.commit, cx);
                            if !self.log.append(entry, cx) {
                                break;
                            }
                        }
                        None => {
                            if !self.log.append(entry, cx) {
                                break;
                            }
                        }
                    }
                    matched = index;
                }
                self.reply_append(from, true, matched, 0, 0, cx);
                self.commit_to(leader_commit.min(matched), cx);
            }
        }
    }

    /// Follows `from` as the leader of `term` (adopting the term); false if this replica
    /// leads that very term itself (only a planted bug gets there).
    pub(super) fn accept_leader(
        &mut self,
        from: NodeId,
        term: u64,
        cx: &mut ReplicaCx<'_>,
    ) -> bool {
        self.observe_term(term, cx);
        if self.role == Role::Leader {
            return false;
        }
        self.become_follower(cx);
        self.set_leader(Some(from), cx);
        self.pre_votes.clear();
        self.leader_heard_ms = Some(cx.now_ms());
        self.reset_election_timer(cx);
        true
    }

    fn reply_append(
        &mut self,
        to: NodeId,
        ok: bool,
        match_index: u64,
        conflict_term: u64,
        conflict_index: u64,
        cx: &mut ReplicaCx<'_>,
    ) {
        cx.send(
            to,
            Msg::AppendReply {
                term: self.term,
                ok,
                match_index,
                conflict_term,
                conflict_index,
            },
        );
    }

    /// A leader's side: progress, commit, and the next send. `reply` is (ok, match_index,
    /// conflict_term, conflict_index).
    pub(super) fn on_append_reply(
        &mut self,
        from: NodeId,
        term: u64,
        reply: (bool, u64, u64, u64),
        cx: &mut ReplicaCx<'_>,
    ) {
        self.observe_term(term, cx);
        if self.role != Role::Leader || term != self.term {
            return;
        }
        let (ok, match_index, conflict_term, conflict_index) = reply;
        let last = self.log.last_index();
        let back_to = if conflict_term > 0 {
            self.log
                .last_index_of_term(conflict_term)
                .map_or(conflict_index, |i| i + 1)
        } else {
            conflict_index
        };
        let now_ms = cx.now_ms();
        let Some(p) = self.lead.as_mut().and_then(|l| l.progress.get_mut(&from)) else {
            return;
        };
        p.heard_ms = now_ms;
        if ok {
            p.matched = p.matched.max(match_index.min(last));
            p.next = p.next.max(p.matched + 1);
            self.advance_commit(cx);
            self.send_append(from, false, cx);
        } else {
            p.next = back_to.clamp(p.matched + 1, last + 1);
            self.send_append(from, true, cx);
        }
    }

    /// Commits the highest index a majority holds, if it is of this leader's term.
    pub(super) fn advance_commit(&mut self, cx: &mut ReplicaCx<'_>) {
        let own = self.log.last_index();
        let majority = self.cfg.majority();
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        // The highest index a majority holds.
        let matched = &mut lead.quorum_scratch;
        matched.clear();
        matched.extend(lead.progress.values().map(|p| p.matched));
        matched.push(own);
        // A peer's match index is what it reported, capped at the log's end.
        if let Some((peer, p)) = lead.progress.iter().find(|(_, p)| p.matched > own) {
            panic!(
                "raft leader: match index {} of {peer:?} past its last index {own}",
                p.matched
            );
        }
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&index) = matched.get(majority - 1) else {
            return;
        };
        let own_term = self.log.term_at(index) == Some(self.term);
        if index > self.commit && (own_term || self.cfg.bugs.commit_old_term) {
            self.commit_to(index, cx);
        }
    }

    /// A leader that has not heard from a majority for a whole election timeout steps down
    /// (clients then look for the real leader). Returns whether it still leads.
    pub(super) fn check_quorum(&mut self, cx: &mut ReplicaCx<'_>) -> bool {
        let now_ms = cx.now_ms();
        let window_ms = self.cfg.election_timeout_ms_max;
        let Some(lead) = self.lead.as_ref() else {
            return false;
        };
        if now_ms.saturating_sub(lead.since_ms) < window_ms {
            return true;
        }
        let heard = lead
            .progress
            .values()
            .filter(|p| now_ms.saturating_sub(p.heard_ms) < window_ms)
            .count();
        if heard + 1 >= self.cfg.majority() {
            return true;
        }
        self.become_follower(cx);
        false
    }
}
