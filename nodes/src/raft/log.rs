//! A replica's log: the snapshot point, the entries after it with their chain hashes, and
//! their durable form (a ring of `LOG_ENTRIES_MAX` slots plus small metadata keys).

use super::replica::ReplicaCx;

use super::codec::{decode_entry, decode_u64, encode_entry, encode_u64, Reader, Writer};
use super::config::LOG_ENTRIES_MAX;
use super::event::Event;
use super::hash::chain;
use super::msg::Entry;

/// Durable key of the last index; slots past it are leftovers of a truncation.
const KEY_LAST: &str = "raft/log/last";
/// Durable key of the snapshot point: (index, term, chain).
const KEY_SNAP_META: &str = "raft/snap/meta";

/// Durable key of the ring slot that holds `index`: `raft/log/NNNN`.
struct SlotKey([u8; 13]);

impl SlotKey {
    /// Built on the stack: every append writes a slot, and `format!` cost an allocation
    /// and a formatter pass each time.
    fn new(index: u64) -> SlotKey {
        const _: () = assert!(LOG_ENTRIES_MAX <= 10_000, "slot numbers have four digits");
        let mut key = *b"raft/log/0000";
        let mut slot = index % LOG_ENTRIES_MAX;
        for digit in key[9..].iter_mut().rev() {
            *digit = b'0' + (slot % 10) as u8;
            slot /= 10;
        }
        SlotKey(key)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The log after the snapshot point.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log {
    /// Last index the snapshot covers (0: no snapshot).
    snap_index: u64,
    /// Term of the entry at `snap_index` (0 for index 0).
    snap_term: u64,
    /// Chain hash up to `snap_index` (0 for index 0).
    snap_chain: u64,
    /// The entries after the snapshot: `entries[i]` has index `snap_index + 1 + i`; at most
    /// `LOG_ENTRIES_MAX`.
    entries: Vec<Entry>,
    /// The chain hash up to each entry of `entries`.
    chains: Vec<u64>,
}

impl Log {
    /// Reads the log back from the durable store; a damaged entry ends it there.
    pub(crate) fn load(cx: &ReplicaCx<'_>) -> Log {
        let mut log = Log::default();
        if let Some((index, term, chain)) = cx.durable_get(KEY_SNAP_META).and_then(decode_meta) {
            log.snap_index = index;
            log.snap_term = term;
            log.snap_chain = chain;
        }
        let last = cx
            .durable_get(KEY_LAST)
            .and_then(decode_u64)
            .unwrap_or(0)
            .min(log.snap_index.saturating_add(LOG_ENTRIES_MAX));
        for index in log.snap_index + 1..=last {
            let Some(bytes) = cx.durable_get(SlotKey::new(index).as_str()) else {
                break;
            };
            match decode_entry(bytes) {
                Some(entry) if entry.index == index && entry.term >= log.last_term() => {
                    log.push(entry, bytes)
                }
                _ => break,
            }
        }
        log
    }

    /// Appends `entry`, whose encoding is `encoded` (the chain hashes it).
    fn push(&mut self, entry: Entry, encoded: &[u8]) {
        // Callers take only the next index: two entries with one index would fork the log.
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "raft log: entry {} appended after last index {} (two entries with one index, or a gap)",
            entry.index,
            self.last_index()
        );
        let next = chain(self.last_chain(), encoded);
        self.entries.push(entry);
        self.chains.push(next);
    }

    /// Last index the snapshot covers.
    pub(crate) fn snap_index(&self) -> u64 {
        self.snap_index
    }

    /// Index of the last entry (the snapshot's when no entry follows it).
    pub(crate) fn last_index(&self) -> u64 {
        self.snap_index + self.entries.len() as u64
    }

    /// Term of the last entry.
    pub(crate) fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.snap_term, |e| e.term)
    }

    /// Chain hash up to the last entry.
    pub(crate) fn last_chain(&self) -> u64 {
        self.chains.last().copied().unwrap_or(self.snap_chain)
    }

    /// Timestamp of the last entry (0 when every entry is compacted).
    pub(crate) fn last_at_ms(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.at_ms)
    }

    /// Entries held past the snapshot.
    pub(crate) fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Position of `index` in `entries`, if it is there.
    fn pos(&self, index: u64) -> Option<usize> {
        let i = index.checked_sub(self.snap_index + 1)?;
        let i = usize::try_from(i).ok()?;
        (i < self.entries.len()).then_some(i)
    }

    /// The entry at `index`, if held (not compacted, not past the end).
    pub(crate) fn get(&self, index: u64) -> Option<&Entry> {
        self.pos(index).and_then(|i| self.entries.get(i))
    }

    /// Term at `index`: the snapshot's at its point, `None` below it or past the end.
    pub(crate) fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.snap_index {
            return Some(self.snap_term);
        }
        self.get(index).map(|e| e.term)
    }

    /// Chain hash up to `index`, with the same reach as [`Log::term_at`].
    pub(crate) fn chain_at(&self, index: u64) -> Option<u64> {
        if index == self.snap_index {
            return Some(self.snap_chain);
        }
        self.pos(index).and_then(|i| self.chains.get(i).copied())
    }

    /// First index of the run of entries that shares the term of the entry at `index`
    /// (never below the first entry after the snapshot).
    pub(crate) fn first_index_of_run(&self, index: u64) -> u64 {
        let Some(term) = self.term_at(index) else {
            return index;
        };
        let mut first = index;
        while first > self.snap_index + 1 && self.term_at(first - 1) == Some(term) {
            first -= 1;
        }
        first.max(self.snap_index + 1)
    }

    /// Index of the last entry of `term`, if the log holds one (the snapshot point counts).
    pub(crate) fn last_index_of_term(&self, term: u64) -> Option<u64> {
        let found = self.entries.iter().rev().find(|e| e.term == term);
        match found {
            Some(e) => Some(e.index),
            None if self.snap_term == term && self.snap_index > 0 => Some(self.snap_index),
            None => None,
        }
    }

    /// Up to `max` entries from `from` on.
    pub(crate) fn slice(&self, from: u64, max: usize) -> Vec<Entry> {
        match self.pos(from) {
            Some(i) => self.entries.iter().skip(i).take(max).cloned().collect(),
            None => Vec::new(),
        }
    }

    /// Appends `entry` durably if it is the next index and the log has room; reports it and
    /// says whether it was appended.
    pub(crate) fn append(&mut self, entry: Entry, cx: &mut ReplicaCx<'_>) -> bool {
        if entry.index != self.last_index() + 1 || self.len() >= LOG_ENTRIES_MAX {
            return false;
        }
        let encoded = encode_entry(&entry);
        let (index, term) = (entry.index, entry.term);
        self.push(entry, &encoded);
        cx.durable_put(SlotKey::new(index).as_str(), encoded);
        cx.durable_put(KEY_LAST, encode_u64(index));
        cx.emit(Event::Appended {
            index,
            term,
            chain: self.last_chain(),
        });
        true
    }

    /// Drops every entry from `from` on, durably. Entries up to `commit` are final: the
    /// caller refuses a leader that asks to cut one, so a cut reaching them is a bug here.
    pub(crate) fn truncate_from(&mut self, from: u64, commit: u64, cx: &mut ReplicaCx<'_>) {
        assert!(
            from > commit && from > self.snap_index,
            "raft log truncated from {from}, at or below commit index {commit} or snapshot index {}",
            self.snap_index
        );
        let Some(i) = self.pos(from) else {
            return;
        };
        self.entries.truncate(i);
        self.chains.truncate(i);
        cx.durable_put(KEY_LAST, encode_u64(self.last_index()));
        cx.emit(Event::Truncated { from_index: from });
    }

    /// Moves the snapshot point up to `index` (held, past the current point), dropping the
    /// entries up to it. The caller stores the snapshot data in the same callback.
    pub(crate) fn compact(&mut self, index: u64, cx: &mut ReplicaCx<'_>) -> bool {
        let (Some(i), Some(term), Some(chain)) =
            (self.pos(index), self.term_at(index), self.chain_at(index))
        else {
            return false;
        };
        self.entries.drain(..=i);
        self.chains.drain(..=i);
        self.set_snapshot_point(index, term, chain, cx);
        true
    }

    /// Makes (index, term, chain) the snapshot point: the entries after it stay if the log
    /// holds that very entry, otherwise the whole log goes.
    pub(crate) fn install(&mut self, index: u64, term: u64, chain: u64, cx: &mut ReplicaCx<'_>) {
        match self.pos(index) {
            Some(i) if self.term_at(index) == Some(term) => {
                self.entries.drain(..=i);
                self.chains.drain(..=i);
            }
            _ => {
                self.entries.clear();
                self.chains.clear();
            }
        }
        self.set_snapshot_point(index, term, chain, cx);
        cx.durable_put(KEY_LAST, encode_u64(self.last_index()));
    }

    fn set_snapshot_point(&mut self, index: u64, term: u64, chain: u64, cx: &mut ReplicaCx<'_>) {
        self.snap_index = index;
        self.snap_term = term;
        self.snap_chain = chain;
        cx.durable_put(KEY_SNAP_META, encode_meta(index, term, chain));
    }
}

/// Encodes a snapshot point.
fn encode_meta(index: u64, term: u64, chain: u64) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(index);
    w.u64(term);
    w.u64(chain);
    w.buf
}

/// Decodes what [`encode_meta`] wrote.
fn decode_meta(bytes: &[u8]) -> Option<(u64, u64, u64)> {
    let mut r = Reader::new(bytes);
    let meta = (r.u64()?, r.u64()?, r.u64()?);
    r.done().then_some(meta)
}

#[cfg(test)]
mod tests {
    use faultline_sim::testkit::Bench;

    use super::super::msg::{Msg, Payload};
    use super::super::replica::ReplicaTimer;
    use super::*;

    /// A log of `n` no-op entries of term 1, appended through `bench`.
    fn log_of(n: u64, bench: &mut Bench<Msg, Event, ReplicaTimer>) -> Log {
        let mut log = Log::default();
        bench.run(|cx| {
            for index in 1..=n {
                let entry = Entry {
                    term: 1,
                    index,
                    at_ms: 0,
                    payload: Payload::Noop,
                };
                assert!(log.append(entry, cx));
            }
        });
        log
    }

    #[test]
    fn a_truncation_above_the_commit_index_cuts_the_tail() {
        let mut bench = Bench::new(0);
        let mut log = log_of(5, &mut bench);
        bench.run(|cx| log.truncate_from(4, 3, cx));
        assert_eq!(log.last_index(), 3);
    }

    #[test]
    #[should_panic(expected = "raft log truncated from 3, at or below commit index 3")]
    fn a_truncation_of_a_committed_entry_fails_loudly() {
        let mut bench = Bench::new(0);
        let mut log = log_of(5, &mut bench);
        bench.run(|cx| log.truncate_from(3, 3, cx));
    }

    #[test]
    #[should_panic(expected = "two entries with one index")]
    fn a_second_entry_at_one_index_fails_loudly() {
        let mut bench = Bench::new(0);
        let mut log = log_of(2, &mut bench);
        let entry = log.get(2).cloned().unwrap();
        log.push(entry, &[]);
    }

    #[test]
    fn slot_keys_name_the_ring_slot_in_four_digits() {
        for index in [0, 1, 9, 10, 999, 4095, 4096, 4096 + 42, 3 * 4096 + 1234] {
            assert_eq!(
                SlotKey::new(index).as_str(),
                format!("raft/log/{:04}", index % LOG_ENTRIES_MAX)
            );
        }
    }
}
