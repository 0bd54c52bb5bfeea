//! The log under bully leadership (Raft-like): a new leader syncs with a majority and takes
//! the most up-to-date log, then replicates with log matching and commits by majority.

use std::collections::BTreeMap;

use faultline_sim::NodeId;

use super::config::{ENTRIES_PER_DATAGRAM_MAX, LOG_CHATS_MAX, LOG_ENTRIES_MAX, TEXT_BYTES_MAX};
use super::event::{Event, Refusal};
use super::msg::{entries_well_formed, Entry, Msg};
use super::server::{Role, Server, ServerCx};

/// Heartbeats a fetch may go unanswered before the sync starts over.
const FETCH_TRIES_MAX: u32 = 10;

/// A leader's state for its epoch.
#[derive(Clone, Debug)]
pub(crate) struct Leadership {
    /// The epoch led.
    epoch: u64,
    /// Whether chats are served yet.
    phase: Phase,
    /// Replication progress of each server (bounded by the view).
    progress: BTreeMap<NodeId, Progress>,
}

/// Where a leader is in taking office.
#[derive(Clone, Debug)]
enum Phase {
    /// Gathering followers' last entries, maybe fetching the best log.
    Syncing(Sync),
    /// Synced, its no-op appended: chats are ordered.
    Serving,
}

/// Answers gathered by a syncing leader.
#[derive(Clone, Debug, Default)]
struct Sync {
    /// Each answering server's (last_epoch, last_seq), the leader's own included.
    answers: BTreeMap<NodeId, (u64, u64)>,
    /// The copy of a more up-to-date log under way.
    fetch: Option<Fetching>,
}

/// Copying the most up-to-date follower's log.
#[derive(Clone, Debug)]
struct Fetching {
    /// The follower holding it.
    from: NodeId,
    /// Epoch of its last entry.
    target_epoch: u64,
    /// Seq of its last entry (at most `LOG_ENTRIES_MAX`).
    target_seq: u64,
    /// First seq copied (everything before is committed, hence identical).
    first_seq: u64,
    /// Entries copied so far, from `first_seq`; at most `LOG_ENTRIES_MAX`.
    staged: Vec<Entry>,
    /// Heartbeats since the last answer.
    tries: u32,
}

impl Fetching {
    fn next_seq(&self) -> u64 {
        self.first_seq + self.staged.len() as u64
    }
}

/// What a leader knows about one follower's log.
#[derive(Copy, Clone, Debug)]
struct Progress {
    /// Next seq to send it.
    next_seq: u64,
    /// Highest seq known stored there and matching the leader's log.
    match_seq: u64,
}

impl Server {
    /// Starts (or starts over) taking office: ask every server for its last entry.
    pub(super) fn start_sync(&mut self, cx: &mut ServerCx<'_>) {
        let mut sync = Sync::default();
        sync.answers
            .insert(self.me, (self.log.last_epoch(), self.log.last_seq()));
        self.lead = Some(Leadership {
            epoch: self.epoch,
            phase: Phase::Syncing(sync),
            progress: BTreeMap::new(),
        });
        self.sync_tick(cx);
    }

    /// A leader's periodic work: retransmit whatever is unanswered.
    pub(super) fn leader_tick(&mut self, cx: &mut ServerCx<'_>) {
        match self.lead.as_ref().map(|l| &l.phase) {
            Some(Phase::Syncing(_)) => self.sync_tick(cx),
            Some(Phase::Serving) => self.replicate(cx),
            None => {}
        }
    }

    fn sync_tick(&mut self, cx: &mut ServerCx<'_>) {
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        let epoch = lead.epoch;
        let Phase::Syncing(sync) = &mut lead.phase else {
            return;
        };
        if let Some(fetch) = sync.fetch.as_mut() {
            fetch.tries += 1;
            if fetch.tries > FETCH_TRIES_MAX || !self.view.contains(fetch.from) {
                self.start_sync(cx);
            } else {
                cx.send(
                    fetch.from,
                    Msg::Fetch {
                        epoch,
                        from_seq: fetch.next_seq(),
                    },
                );
            }
            return;
        }
        for server in self.view.servers() {
            if !sync.answers.contains_key(&server) {
                cx.send(server, Msg::Sync { epoch });
            }
        }
        self.check_sync(cx);
    }

    /// With a majority of answers, takes the most up-to-date log (fetching it if it is not
    /// this leader's own) and starts serving.
    fn check_sync(&mut self, cx: &mut ServerCx<'_>) {
        let majority = self.cfg.majority();
        let me = self.me;
        let mine = (self.log.last_epoch(), self.log.last_seq());
        let from_seq = self.log.commit() + 1;
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        let epoch = lead.epoch;
        let Phase::Syncing(sync) = &mut lead.phase else {
            return;
        };
        if sync.fetch.is_some() || sync.answers.len() < majority {
            return;
        }
        let best = sync
            .answers
            .iter()
            .max_by_key(|(id, last)| (**last, **id == me));
        let Some((&best_id, &(target_epoch, target_seq))) = best else {
            return;
        };
        // A log no longer than the committed prefix has nothing this leader lacks.
        if best_id == me || (target_epoch, target_seq) == mine || target_seq < from_seq {
            self.finish_sync(cx);
            return;
        }
        sync.fetch = Some(Fetching {
            from: best_id,
            target_epoch,
            target_seq,
            first_seq: from_seq,
            staged: Vec::new(),
            tries: 0,
        });
        cx.send(best_id, Msg::Fetch { epoch, from_seq });
    }

    /// Appends this epoch's no-op and starts replicating and serving chats.
    fn finish_sync(&mut self, cx: &mut ServerCx<'_>) {
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        let epoch = lead.epoch;
        let noop_seq = self.log.last_seq() + 1;
        let noop = Entry {
            epoch,
            seq: noop_seq,
            origin: self.me,
            client_seq: 0,
            text: String::new(),
        };
        // A log at its bound cannot take the no-op: the leader serves but can commit nothing
        // new, and refuses chats.
        self.log.append(noop, cx);
        lead.phase = Phase::Serving;
        lead.progress.clear();
        for server in self.view.servers() {
            lead.progress.insert(
                server,
                Progress {
                    next_seq: noop_seq,
                    match_seq: 0,
                },
            );
        }
        cx.emit(Event::Synced { epoch, noop_seq });
        if !self.advance_commit(cx) {
            self.replicate(cx);
        }
    }

    pub(super) fn on_sync(&mut self, from: NodeId, epoch: u64, cx: &mut ServerCx<'_>) {
        if !self.accept_epoch(from, epoch, cx) {
            cx.send(from, Msg::Stale { epoch: self.epoch });
            return;
        }
        cx.send(
            from,
            Msg::SyncOk {
                epoch,
                last_epoch: self.log.last_epoch(),
                last_seq: self.log.last_seq(),
            },
        );
    }

    pub(super) fn on_sync_ok(
        &mut self,
        from: NodeId,
        epoch: u64,
        last_epoch: u64,
        last_seq: u64,
        cx: &mut ServerCx<'_>,
    ) {
        if self.election.role() != Role::Leader
            || last_seq > LOG_ENTRIES_MAX
            || !self.view.is_server(from)
        {
            return;
        }
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        let Phase::Syncing(sync) = &mut lead.phase else {
            return;
        };
        if lead.epoch != epoch || sync.fetch.is_some() {
            return;
        }
        sync.answers.insert(from, (last_epoch, last_seq));
        self.check_sync(cx);
    }

    pub(super) fn on_fetch(
        &mut self,
        from: NodeId,
        epoch: u64,
        from_seq: u64,
        cx: &mut ServerCx<'_>,
    ) {
        if !self.accept_epoch(from, epoch, cx) {
            cx.send(from, Msg::Stale { epoch: self.epoch });
            return;
        }
        let entries = self
            .log
            .slice(from_seq, self.log.last_seq(), ENTRIES_PER_DATAGRAM_MAX);
        cx.send(from, Msg::Entries { epoch, entries });
    }

    pub(super) fn on_entries(
        &mut self,
        from: NodeId,
        epoch: u64,
        entries: Vec<Entry>,
        cx: &mut ServerCx<'_>,
    ) {
        if self.election.role() != Role::Leader {
            return;
        }
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        let Phase::Syncing(sync) = &mut lead.phase else {
            return;
        };
        let Some(fetch) = sync.fetch.as_mut() else {
            return;
        };
        if lead.epoch != epoch || fetch.from != from {
            return;
        }
        let next = fetch.next_seq();
        let prev_epoch = fetch.staged.last().map_or(0, |e| e.epoch);
        if entries.first().is_some_and(|e| e.seq != next) {
            return; // A late answer to an earlier fetch.
        }
        if !entries_well_formed(&entries, next, prev_epoch, fetch.target_epoch) {
            return;
        }
        if entries.is_empty() {
            // Its log is shorter than it said: ask everyone again.
            self.start_sync(cx);
            return;
        }
        let wanted = fetch.target_seq.saturating_add(1).saturating_sub(next);
        fetch.staged.extend(
            entries
                .into_iter()
                .take(usize::try_from(wanted).unwrap_or(0)),
        );
        fetch.tries = 0;
        if fetch.next_seq() <= fetch.target_seq {
            cx.send(
                from,
                Msg::Fetch {
                    epoch,
                    from_seq: fetch.next_seq(),
                },
            );
            return;
        }
        if fetch.staged.last().map(|e| e.epoch) != Some(fetch.target_epoch) {
            self.start_sync(cx);
            return;
        }
        let first_seq = fetch.first_seq;
        let staged = std::mem::take(&mut fetch.staged);
        if first_seq <= self.log.last_seq() && !self.log.truncate_from(first_seq, cx) {
            self.start_sync(cx);
            return;
        }
        for entry in staged {
            self.log.append(entry, cx);
        }
        self.finish_sync(cx);
    }

    /// Sends every server in the view its next batch (empty ones carry the commit point).
    fn replicate(&mut self, cx: &mut ServerCx<'_>) {
        let servers = self.view.servers();
        if let Some(lead) = self.lead.as_mut() {
            // Progress is kept for view members only, which bounds it; a returning server
            // starts over from the end of the log and backs off.
            lead.progress.retain(|id, _| servers.contains(id));
        }
        for server in servers {
            self.send_append(server, cx);
        }
    }

    fn send_append(&mut self, to: NodeId, cx: &mut ServerCx<'_>) {
        let last_seq = self.log.last_seq();
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        if !matches!(lead.phase, Phase::Serving) {
            return;
        }
        let p = lead.progress.entry(to).or_insert(Progress {
            next_seq: last_seq + 1,
            match_seq: 0,
        });
        p.next_seq = p.next_seq.clamp(1, last_seq + 1);
        let prev_seq = p.next_seq - 1;
        let prev_epoch = self.log.epoch_at(prev_seq).unwrap_or(0);
        let entries = self
            .log
            .slice(p.next_seq, last_seq, ENTRIES_PER_DATAGRAM_MAX);
        cx.send(
            to,
            Msg::Append {
                epoch: lead.epoch,
                prev_seq,
                prev_epoch,
                entries,
                commit: self.log.commit(),
            },
        );
    }

    pub(super) fn on_append_ok(
        &mut self,
        from: NodeId,
        epoch: u64,
        ok: bool,
        last_seq: u64,
        cx: &mut ServerCx<'_>,
    ) {
        self.seen(epoch);
        if self.election.role() != Role::Leader || !self.view.is_server(from) {
            return;
        }
        if epoch > self.epoch {
            self.start_election(cx);
            return;
        }
        let log_last = self.log.last_seq();
        let Some(lead) = self.lead.as_mut() else {
            return;
        };
        if epoch != lead.epoch || !matches!(lead.phase, Phase::Serving) {
            return;
        }
        let p = lead.progress.entry(from).or_insert(Progress {
            next_seq: log_last + 1,
            match_seq: 0,
        });
        if ok {
            p.match_seq = p.match_seq.max(last_seq.min(log_last));
            p.next_seq = p.next_seq.max(p.match_seq + 1);
            let more = p.next_seq <= log_last;
            if !self.advance_commit(cx) && more {
                self.send_append(from, cx);
            }
        } else {
            // Back off towards the follower's hint, never below what it is known to hold.
            let hint = last_seq.saturating_add(1);
            p.next_seq = p
                .next_seq
                .saturating_sub(1)
                .min(hint)
                .max(p.match_seq + 1)
                .max(1);
            self.send_append(from, cx);
        }
    }

    /// Commits the highest entry of this epoch stored on a majority (and all before it);
    /// says whether the commit point moved (every follower was then sent an append).
    fn advance_commit(&mut self, cx: &mut ServerCx<'_>) -> bool {
        let majority = self.cfg.majority();
        let Some(lead) = self.lead.as_ref() else {
            return false;
        };
        let mut seq = self.log.last_seq();
        // A follower's match is what it acknowledged, capped at this log's end.
        if let Some((peer, p)) = lead.progress.iter().find(|(_, p)| p.match_seq > seq) {
            panic!(
                "bully leader: match seq {} of {peer:?} past its last seq {seq}",
                p.match_seq
            );
        }
        let mut target = None;
        while seq > self.log.commit() && self.log.epoch_at(seq) == Some(lead.epoch) {
            let holders = 1 + lead
                .progress
                .values()
                .filter(|p| p.match_seq >= seq)
                .count();
            if holders >= majority {
                target = Some(seq);
                break;
            }
            seq -= 1;
        }
        let Some(seq) = target else { return false };
        let old = self.log.commit_to(seq);
        self.on_committed(old, cx);
        // Followers learn the new commit point now rather than at the next heartbeat.
        self.replicate(cx);
        true
    }

    /// Delivers what just committed, acknowledges it to its clients and publishes it.
    /// Only the newest batch is acknowledged and published (a new leader may commit a long
    /// history at once): clients pull the rest and retried chats are re-acknowledged.
    fn on_committed(&mut self, old_commit: u64, cx: &mut ServerCx<'_>) {
        self.log.deliver(cx);
        let commit = self.log.commit();
        let from = (old_commit + 1).max(commit.saturating_sub(ENTRIES_PER_DATAGRAM_MAX as u64 - 1));
        let entries = self.log.slice(from, commit, ENTRIES_PER_DATAGRAM_MAX);
        if entries.is_empty() {
            return;
        }
        for e in entries
            .iter()
            .filter(|e| !e.is_noop() && self.view.contains(e.origin))
        {
            cx.send(
                e.origin,
                Msg::ChatAck {
                    client_seq: e.client_seq,
                    seq: e.seq,
                },
            );
        }
        cx.multicast(Msg::Publish { entries });
    }

    /// A follower stores a leader's batch if it extends a matching prefix.
    pub(super) fn on_append(&mut self, from: NodeId, append: Msg, cx: &mut ServerCx<'_>) {
        let Msg::Append {
            epoch,
            prev_seq,
            prev_epoch,
            entries,
            commit,
        } = append
        else {
            return;
        };
        if !self.accept_epoch(from, epoch, cx) {
            cx.send(from, Msg::Stale { epoch: self.epoch });
            return;
        }
        if !entries_well_formed(&entries, prev_seq.saturating_add(1), prev_epoch, epoch) {
            return;
        }
        let reject = |last_seq| Msg::AppendOk {
            epoch,
            ok: false,
            last_seq,
        };
        if prev_seq > self.log.last_seq() {
            cx.send(from, reject(self.log.last_seq()));
            return;
        }
        if self.log.epoch_at(prev_seq) != Some(prev_epoch) {
            // Skip the whole run of the conflicting epoch, but not into the committed prefix.
            let hint = self
                .log
                .epoch_start(prev_seq)
                .saturating_sub(1)
                .max(self.log.commit());
            cx.send(from, reject(hint));
            return;
        }
        let mut matched = prev_seq;
        for entry in entries {
            match self.log.epoch_at(entry.seq) {
                Some(have) if have == entry.epoch => {}
                Some(_) => {
                    if !self.log.truncate_from(entry.seq, cx) {
                        break;
                    }
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
            matched += 1;
        }
        self.matched_seq = self.matched_seq.max(matched);
        self.log.commit_to(commit.min(self.matched_seq));
        self.log.deliver(cx);
        cx.send(
            from,
            Msg::AppendOk {
                epoch,
                ok: true,
                last_seq: matched,
            },
        );
    }

    pub(super) fn on_chat(
        &mut self,
        from: NodeId,
        client_seq: u64,
        text: String,
        cx: &mut ServerCx<'_>,
    ) {
        if client_seq == 0 {
            return; // Reserved for no-ops.
        }
        if text.len() > TEXT_BYTES_MAX {
            cx.emit(Event::ChatRefused {
                origin: from,
                client_seq,
                reason: Refusal::TooLong,
            });
            return;
        }
        if self.election.role() != Role::Leader {
            cx.send(
                from,
                Msg::NotLeader {
                    leader: self.election.leader(),
                },
            );
            return;
        }
        let Some(lead) = self.lead.as_ref() else {
            return;
        };
        if !matches!(lead.phase, Phase::Serving) {
            return; // Not synced yet: the client retries.
        }
        let epoch = lead.epoch;
        if !self.cfg.bugs.no_dedup {
            if let Some(seq) = self.log.find(from, client_seq) {
                if seq <= self.log.commit() {
                    cx.send(from, Msg::ChatAck { client_seq, seq });
                }
                // Otherwise it is acknowledged when it commits.
                return;
            }
        }
        if self.log.last_seq() >= LOG_CHATS_MAX {
            cx.emit(Event::ChatRefused {
                origin: from,
                client_seq,
                reason: Refusal::LogFull,
            });
            return;
        }
        let seq = self.log.last_seq() + 1;
        self.log.append(
            Entry {
                epoch,
                seq,
                origin: from,
                client_seq,
                text,
            },
            cx,
        );
        if self.cfg.bugs.ack_before_quorum {
            cx.send(from, Msg::ChatAck { client_seq, seq });
        }
        if !self.advance_commit(cx) {
            self.replicate(cx);
        }
    }

    pub(super) fn on_pull(&mut self, from: NodeId, from_seq: u64, cx: &mut ServerCx<'_>) {
        // Committed entries are final, so any server may answer.
        let entries = self
            .log
            .slice(from_seq, self.log.commit(), ENTRIES_PER_DATAGRAM_MAX);
        if !entries.is_empty() {
            cx.send(from, Msg::Publish { entries });
        }
    }
}
