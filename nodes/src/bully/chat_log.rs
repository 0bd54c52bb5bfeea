//! A server's replicated log: durable entries, the volatile commit point and delivery.

use std::collections::BTreeMap;

use faultline_sim::NodeId;

use super::codec::{decode_entry, decode_u64, encode_entry, encode_u64};
use super::config::LOG_ENTRIES_MAX;
use super::event::Event;
use super::msg::Entry;
use super::server::ServerCx;

/// Durable key of the log's length; entries past it are leftovers of a truncation.
const KEY_LEN: &str = "log/len";

/// Durable key of the entry at `seq`.
fn entry_key(seq: u64) -> String {
    format!("log/{seq:08}")
}

/// The log with its commit and delivery cursors.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChatLog {
    /// The entries; `entries[i]` has seq `i + 1`. At most `LOG_ENTRIES_MAX`.
    entries: Vec<Entry>,
    /// Seq of every chat by (origin, client_seq), so a retried chat is recognised.
    index: BTreeMap<(NodeId, u64), u64>,
    /// Highest seq known committed; volatile, re-learned after a restart.
    commit: u64,
    /// Highest seq delivered in this incarnation.
    delivered: u64,
}

impl ChatLog {
    /// Reads the log back from the durable store; a damaged entry ends it there.
    pub(crate) fn load(cx: &ServerCx<'_>) -> ChatLog {
        let len = cx
            .durable_get(KEY_LEN)
            .and_then(decode_u64)
            .unwrap_or(0)
            .min(LOG_ENTRIES_MAX);
        let mut log = ChatLog::default();
        for seq in 1..=len {
            let entry = cx.durable_get(&entry_key(seq)).and_then(decode_entry);
            match entry {
                Some(entry) if entry.seq == seq => log.push(entry),
                _ => break,
            }
        }
        log
    }

    /// Adds `entry`, the next seq (callers check), to the entries and the chat index.
    fn push(&mut self, entry: Entry) {
        assert_eq!(
            entry.seq,
            self.last_seq() + 1,
            "chat log: entry {} pushed after last seq {} (two entries with one seq, or a gap)",
            entry.seq,
            self.last_seq()
        );
        if !entry.is_noop() {
            self.index
                .insert((entry.origin, entry.client_seq), entry.seq);
        }
        self.entries.push(entry);
    }

    /// Seq of the last entry (0 when empty).
    pub(crate) fn last_seq(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Epoch of the last entry (0 when empty).
    pub(crate) fn last_epoch(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.epoch)
    }

    /// The entry at `seq`.
    pub(crate) fn get(&self, seq: u64) -> Option<&Entry> {
        let i = usize::try_from(seq.checked_sub(1)?).ok()?;
        self.entries.get(i)
    }

    /// Epoch of the entry at `seq`; 0 for seq 0, `None` past the end.
    pub(crate) fn epoch_at(&self, seq: u64) -> Option<u64> {
        if seq == 0 {
            return Some(0);
        }
        self.get(seq).map(|e| e.epoch)
    }

    /// First seq of the run of entries sharing the epoch of the entry at `seq`.
    pub(crate) fn epoch_start(&self, seq: u64) -> u64 {
        let Some(epoch) = self.epoch_at(seq) else {
            return seq;
        };
        let mut first = seq;
        while first > 1 && self.epoch_at(first - 1) == Some(epoch) {
            first -= 1;
        }
        first
    }

    /// Where the chat (origin, client_seq) is, if the log holds it.
    pub(crate) fn find(&self, origin: NodeId, client_seq: u64) -> Option<u64> {
        self.index.get(&(origin, client_seq)).copied()
    }

    /// Up to `max` entries from `from_seq` on, at most to `to_seq`.
    pub(crate) fn slice(&self, from_seq: u64, to_seq: u64, max: usize) -> Vec<Entry> {
        let to_seq = to_seq.min(self.last_seq());
        let from_seq = from_seq.max(1);
        if from_seq > to_seq {
            return Vec::new();
        }
        let start = usize::try_from(from_seq - 1).unwrap_or(usize::MAX);
        self.entries
            .iter()
            .skip(start)
            .take(max)
            .take_while(|e| e.seq <= to_seq)
            .cloned()
            .collect()
    }

    /// Appends `entry` durably if it is the next seq and the log has room; says whether.
    pub(crate) fn append(&mut self, entry: Entry, cx: &mut ServerCx<'_>) -> bool {
        if entry.seq != self.last_seq() + 1 || entry.seq > LOG_ENTRIES_MAX {
            return false;
        }
        cx.durable_put(&entry_key(entry.seq), encode_entry(&entry));
        cx.durable_put(KEY_LEN, encode_u64(entry.seq));
        self.push(entry);
        true
    }

    /// Drops every entry from `seq` on, durably. Committed entries are final, so a request
    /// reaching below the commit point is refused (returns false).
    pub(crate) fn truncate_from(&mut self, seq: u64, cx: &mut ServerCx<'_>) -> bool {
        if seq <= self.commit {
            return false;
        }
        while self.last_seq() >= seq {
            if let Some(gone) = self.entries.pop() {
                let key = (gone.origin, gone.client_seq);
                if self.index.get(&key) == Some(&gone.seq) {
                    self.index.remove(&key);
                }
            }
        }
        cx.durable_put(KEY_LEN, encode_u64(self.last_seq()));
        assert!(
            self.commit <= self.last_seq(),
            "chat log truncated to {} entries, below its commit point {}",
            self.last_seq(),
            self.commit
        );
        true
    }

    /// Highest committed seq.
    pub(crate) fn commit(&self) -> u64 {
        self.commit
    }

    /// Raises the commit point to `seq` (never past the log's end); returns the old one.
    pub(crate) fn commit_to(&mut self, seq: u64) -> u64 {
        let old = self.commit;
        self.commit = self.commit.max(seq.min(self.last_seq()));
        assert!(
            self.commit <= self.last_seq(),
            "chat log committed {} past the {} entries it holds",
            self.commit,
            self.last_seq()
        );
        old
    }

    /// Delivers, in seq order, every committed chat not yet delivered in this incarnation.
    pub(crate) fn deliver(&mut self, cx: &mut ServerCx<'_>) {
        while self.delivered < self.commit {
            self.delivered += 1;
            let Some(e) = self.get(self.delivered) else {
                panic!(
                    "chat log delivers seq {} under commit point {} but holds only {} entries",
                    self.delivered,
                    self.commit,
                    self.last_seq()
                );
            };
            if !e.is_noop() {
                cx.emit(Event::Delivered {
                    seq: e.seq,
                    origin: e.origin,
                    client_seq: e.client_seq,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use faultline_sim::testkit::Bench;

    use super::super::msg::Msg;
    use super::super::server::ServerTimer;
    use super::*;

    /// A log of `n` chats from node #1, appended through `bench`.
    fn log_of(n: u64, bench: &mut Bench<Msg, Event, ServerTimer>) -> ChatLog {
        let mut log = ChatLog::default();
        bench.run(|cx| {
            for seq in 1..=n {
                let entry = Entry {
                    epoch: 1,
                    seq,
                    origin: NodeId(1),
                    client_seq: seq,
                    text: format!("chat {seq}"),
                };
                assert!(log.append(entry, cx));
            }
        });
        log
    }

    #[test]
    fn the_commit_point_stays_within_the_log_and_never_moves_back() {
        let mut bench = Bench::new(0);
        let mut log = log_of(2, &mut bench);
        assert_eq!(log.commit_to(5), 0);
        assert_eq!(log.commit(), 2);
        log.commit_to(1);
        assert_eq!(log.commit(), 2);
        // Committed entries are final: a cut into them is refused, the log untouched.
        bench.run(|cx| assert!(!log.truncate_from(2, cx)));
        assert_eq!(log.last_seq(), 2);
    }

    #[test]
    #[should_panic(expected = "two entries with one seq")]
    fn a_second_entry_at_one_seq_fails_loudly() {
        let mut bench = Bench::new(0);
        let mut log = log_of(2, &mut bench);
        let entry = log.get(2).cloned().unwrap();
        log.push(entry);
    }

    #[test]
    #[should_panic(expected = "chat log delivers seq 3 under commit point 3 but holds only 2")]
    fn a_commit_point_past_the_entries_held_fails_loudly_at_delivery() {
        let mut bench = Bench::new(0);
        let mut log = log_of(2, &mut bench);
        log.commit = 3;
        bench.run(|cx| log.deliver(cx));
    }
}
