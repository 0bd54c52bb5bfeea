//! Log compaction: a replica snapshots its state machine once the log passes
//! `snapshot_entries` applied entries, and a leader brings a follower whose next entry was
//! compacted away up with InstallSnapshot, in chunks.

use faultline_sim::NodeId;

use super::config::{SNAPSHOT_BYTES_MAX, SNAPSHOT_CHUNK_BYTES};
use super::event::Event;
use super::msg::Msg;
use super::replica::{Replica, ReplicaCx, Role};
use super::state_machine::StateMachine;

/// Durable key of the encoded state machine at the snapshot point.
pub(crate) const KEY_SNAP_DATA: &str = "raft/snap/data";

/// A snapshot arriving in chunks.
#[derive(Clone, Debug)]
pub(crate) struct Incoming {
    /// Last index it covers.
    last_index: u64,
    /// Term of that entry.
    last_term: u64,
    /// Chain hash up to it.
    last_chain: u64,
    /// Its whole size (at most `SNAPSHOT_BYTES_MAX`).
    total_bytes: u64,
    /// The bytes received so far, in order.
    data: Vec<u8>,
}

impl Replica {
    /// Takes a snapshot at the applied index once enough entries piled up since the last.
    pub(super) fn maybe_snapshot(&mut self, cx: &mut ReplicaCx<'_>) {
        if self.applied.saturating_sub(self.log.snap_index()) < self.cfg.snapshot_entries.max(1) {
            return;
        }
        let index = self.applied;
        let (Some(term), Some(chain)) = (self.log.term_at(index), self.log.chain_at(index)) else {
            return;
        };
        let bytes = self.sm.encode();
        if bytes.len() > SNAPSHOT_BYTES_MAX || !self.log.compact(index, cx) {
            return;
        }
        cx.durable_put(KEY_SNAP_DATA, bytes.clone());
        self.snapshot = bytes;
        cx.emit(Event::SnapshotTaken { index, term, chain });
    }

    /// Sends `peer` the next chunk of the current snapshot.
    pub(super) fn send_snapshot_chunk(&mut self, peer: NodeId, cx: &mut ReplicaCx<'_>) {
        let snap_index = self.log.snap_index();
        let Some(p) = self.lead.as_mut().and_then(|l| l.progress.get_mut(&peer)) else {
            return;
        };
        if p.snap_index != snap_index {
            p.snap_index = snap_index;
            p.snap_acked_bytes = 0;
        }
        let total = self.snapshot.len();
        let offset = usize::try_from(p.snap_acked_bytes)
            .unwrap_or(total)
            .min(total);
        let end = offset.saturating_add(SNAPSHOT_CHUNK_BYTES).min(total);
        let data = self.snapshot.get(offset..end).unwrap_or_default().to_vec();
        cx.send(
            peer,
            Msg::Snapshot {
                term: self.term,
                last_index: snap_index,
                last_term: self.log.term_at(snap_index).unwrap_or(0),
                last_chain: self.log.chain_at(snap_index).unwrap_or(0),
                offset_bytes: offset as u64,
                total_bytes: total as u64,
                data,
            },
        );
    }

    /// A follower's side of InstallSnapshot: gather the chunks in order, then install.
    pub(super) fn on_snapshot(&mut self, from: NodeId, msg: Msg, cx: &mut ReplicaCx<'_>) {
        let Msg::Snapshot {
            term,
            last_index,
            last_term,
            last_chain,
            offset_bytes: offset,
            total_bytes,
            data,
        } = msg
        else {
            return;
        };
        if term < self.term {
            self.reply_snapshot(from, last_index, 0, false, cx);
            return;
        }
        if !self.accept_leader(from, term, cx) {
            return;
        }
        if last_index <= self.applied {
            // Everything it covers is applied here already (hence committed and matching).
            self.reply_snapshot(from, last_index, total_bytes, true, cx);
            return;
        }
        let sane = total_bytes <= SNAPSHOT_BYTES_MAX as u64
            && data.len() <= SNAPSHOT_CHUNK_BYTES
            && offset.saturating_add(data.len() as u64) <= total_bytes;
        if !sane {
            return;
        }
        let same = |inc: &Incoming| {
            (inc.last_index, inc.last_term, inc.total_bytes) == (last_index, last_term, total_bytes)
        };
        match self.incoming.as_mut() {
            _ if offset == 0 => {
                self.incoming = Some(Incoming {
                    last_index,
                    last_term,
                    last_chain,
                    total_bytes,
                    data,
                });
            }
            Some(inc) if same(inc) && inc.data.len() as u64 == offset => {
                inc.data.extend_from_slice(&data);
            }
            Some(inc) if same(inc) => {
                let received = inc.data.len() as u64;
                self.reply_snapshot(from, last_index, received, false, cx);
                return;
            }
            _ => {
                self.reply_snapshot(from, last_index, 0, false, cx);
                return;
            }
        }
        let Some(inc) = self.incoming.take() else {
            return;
        };
        if (inc.data.len() as u64) < inc.total_bytes {
            let received = inc.data.len() as u64;
            self.incoming = Some(inc);
            self.reply_snapshot(from, last_index, received, false, cx);
            return;
        }
        if self.install(inc, cx) {
            self.reply_snapshot(from, last_index, total_bytes, true, cx);
        } else {
            self.reply_snapshot(from, last_index, 0, false, cx);
        }
    }

    /// Replaces the state machine and the log prefix with a complete snapshot.
    fn install(&mut self, inc: Incoming, cx: &mut ReplicaCx<'_>) -> bool {
        let Some(sm) = StateMachine::decode(&inc.data) else {
            return false;
        };
        let (index, term, chain) = (inc.last_index, inc.last_term, inc.last_chain);
        // `on_snapshot` installs only past `applied`: neither cursor moves back.
        assert!(
            index > self.applied && self.applied <= self.commit,
            "raft snapshot installed at {index}, at or below applied index {} (commit {})",
            self.applied,
            self.commit
        );
        self.log.install(index, term, chain, cx);
        cx.durable_put(KEY_SNAP_DATA, inc.data.clone());
        self.sm = sm;
        self.snapshot = inc.data;
        self.applied = index;
        cx.emit(Event::SnapshotInstalled { index, term, chain });
        if index > self.commit {
            self.commit = index;
            cx.emit(Event::Committed { index });
        }
        self.apply_committed(cx);
        true
    }

    fn reply_snapshot(
        &mut self,
        to: NodeId,
        last_index: u64,
        received_bytes: u64,
        done: bool,
        cx: &mut ReplicaCx<'_>,
    ) {
        cx.send(
            to,
            Msg::SnapshotReply {
                term: self.term,
                last_index,
                received_bytes,
                done,
            },
        );
    }

    /// A leader's side: the next chunk, or on to appends once installed.
    pub(super) fn on_snapshot_reply(
        &mut self,
        from: NodeId,
        term: u64,
        last_index: u64,
        received_bytes: u64,
        done: bool,
        cx: &mut ReplicaCx<'_>,
    ) {
        self.observe_term(term, cx);
        if self.role != Role::Leader || term != self.term {
            return;
        }
        let snap_index = self.log.snap_index();
        let last = self.log.last_index();
        let now_ms = cx.now_ms();
        let Some(p) = self.lead.as_mut().and_then(|l| l.progress.get_mut(&from)) else {
            return;
        };
        p.heard_ms = now_ms;
        if done {
            p.matched = p.matched.max(last_index.min(last));
            p.next = p.next.max(p.matched + 1);
            p.snap_acked_bytes = 0;
            self.advance_commit(cx);
            self.send_append(from, true, cx);
        } else if last_index == snap_index && p.snap_index == snap_index {
            p.snap_acked_bytes = received_bytes;
            self.send_snapshot_chunk(from, cx);
        }
    }
}
