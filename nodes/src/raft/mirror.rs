//! Each replica's log as the trace tells it (for the checks): its snapshot point and the
//! (term, chain) of every entry after it, from Appended, Truncated and snapshot events.
//! The mirror outlives crashes, as the durable log does.

use std::collections::{BTreeMap, VecDeque};

use faultline_sim::{Ev, NodeId, Record};

use super::event::Event;

/// One replica's mirrored log.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeLog {
    /// The snapshot point: (index, term, chain); all zero before any snapshot.
    pub(crate) snap: (u64, u64, u64),
    /// (term, chain) of each entry after the snapshot point: `entries[i]` is index
    /// `snap.0 + 1 + i` (a log has no holes, and the checks look up an index per event).
    pub(crate) entries: VecDeque<(u64, u64)>,
}

impl NodeLog {
    /// Index of the last entry.
    pub(crate) fn last_index(&self) -> u64 {
        self.snap.0 + self.entries.len() as u64
    }

    /// (term, chain) at `index`, if mirrored (the snapshot point counts).
    pub(crate) fn at(&self, index: u64) -> Option<(u64, u64)> {
        if index == self.snap.0 {
            return Some((self.snap.1, self.snap.2));
        }
        let offset = index.checked_sub(self.snap.0 + 1)?;
        self.entries.get(usize::try_from(offset).ok()?).copied()
    }

    /// Drops the entries up to and including `index` (the snapshot point moves there).
    fn drop_through(&mut self, index: u64) {
        let n = index
            .saturating_sub(self.snap.0)
            .min(self.entries.len() as u64);
        self.entries.drain(..n as usize);
    }
}

/// Every replica's mirrored log.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mirror {
    /// Logs by replica.
    pub(crate) logs: BTreeMap<NodeId, NodeLog>,
}

impl Mirror {
    /// Updates the mirror from one record; an error is a log that cannot be what the events
    /// say (a hole, a cut below the snapshot, a restart that lost durable entries).
    pub(crate) fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        let node = rec.node;
        let log = self.logs.entry(node).or_default();
        match event {
            Event::Appended { index, term, chain } => {
                let last = log.last_index();
                if *index != last + 1 {
                    return Err(format!("{node} appended index {index} after index {last}"));
                }
                log.entries.push_back((*term, *chain));
            }
            Event::Truncated { from_index } => {
                if *from_index <= log.snap.0 {
                    return Err(format!(
                        "{node} truncated from {from_index}, inside its snapshot (up to {})",
                        log.snap.0
                    ));
                }
                let keep = from_index - log.snap.0 - 1;
                log.entries
                    .truncate(usize::try_from(keep).unwrap_or(usize::MAX));
            }
            Event::SnapshotTaken { index, term, chain } => {
                if log.at(*index) != Some((*term, *chain)) {
                    return Err(format!(
                        "{node} took a snapshot at {index} that its log does not end there"
                    ));
                }
                log.drop_through(*index);
                log.snap = (*index, *term, *chain);
            }
            Event::SnapshotInstalled { index, term, chain } => {
                let keeps = log.at(*index).is_some_and(|(t, _)| t == *term);
                if keeps {
                    log.drop_through(*index);
                } else {
                    log.entries.clear();
                }
                log.snap = (*index, *term, *chain);
            }
            Event::Restored {
                snapshot_index,
                last_index,
                chain,
            } => {
                let last = log.last_index();
                let last_chain = log.at(last).map_or(0, |(_, c)| c);
                if (log.snap.0, last, last_chain) != (*snapshot_index, *last_index, *chain) {
                    return Err(format!(
                        "{node} restarted with snapshot {snapshot_index}, last index {last_index} \
                         (chain {chain:016x}), but had durably written snapshot {}, last index \
                         {last} (chain {last_chain:016x})",
                        log.snap.0
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
