//! One cache's entries: state, value and the stamp of the grant, with least-recently-used
//! order for eviction. The capacity is a target: entries with work in progress are never
//! victims, so the map may exceed it by at most the work in progress (`PENDING_MAX`).

use std::collections::BTreeMap;

use super::msg::{St, Stamp};

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// Its state (never `I`: an invalid entry is absent).
    pub(crate) st: St,
    /// Its value (`Some(None)`: absent in the store); `None` while it is read from the store.
    pub(crate) value: Option<Option<u64>>,
    /// The grant it came with.
    pub(crate) stamp: Stamp,
    /// Written here and not yet committed in the store: it is not shared, invalidated or
    /// evicted until it is.
    pub(crate) dirty: bool,
    /// When it was last used, on the cache's own counter.
    pub(crate) used: u64,
}

/// A cache's entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lines {
    /// Entries by key.
    map: BTreeMap<u32, Line>,
    /// Uses so far: the LRU clock.
    clock: u64,
}

impl Lines {
    /// The entry of `key`.
    pub(crate) fn get(&self, key: u32) -> Option<&Line> {
        self.map.get(&key)
    }

    /// The entry of `key`, to change.
    pub(crate) fn get_mut(&mut self, key: u32) -> Option<&mut Line> {
        self.map.get_mut(&key)
    }

    /// Marks `key` as just used.
    pub(crate) fn touch(&mut self, key: u32) {
        self.clock += 1;
        if let Some(l) = self.map.get_mut(&key) {
            l.used = self.clock;
        }
    }

    /// Installs `line` for `key` as just used.
    pub(crate) fn insert(&mut self, key: u32, mut line: Line) {
        assert!(line.st != St::I, "an invalid entry is stored as absent");
        self.clock += 1;
        line.used = self.clock;
        self.map.insert(key, line);
    }

    /// Drops `key`'s entry.
    pub(crate) fn remove(&mut self, key: u32) -> Option<Line> {
        self.map.remove(&key)
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Keys held, in key order.
    pub(crate) fn keys(&self) -> Vec<u32> {
        self.map.keys().copied().collect()
    }

    /// The least recently used key that `may_go` allows.
    pub(crate) fn victim(&self, may_go: impl Fn(u32, &Line) -> bool) -> Option<u32> {
        self.map
            .iter()
            .filter(|(k, l)| may_go(**k, l))
            .min_by_key(|(_, l)| l.used)
            .map(|(k, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(st: St) -> Line {
        Line {
            st,
            value: Some(None),
            stamp: Stamp::default(),
            dirty: false,
            used: 0,
        }
    }

    #[test]
    fn the_victim_is_the_least_recently_used_allowed_entry() {
        let mut lines = Lines::default();
        lines.insert(1, line(St::S));
        lines.insert(2, line(St::M));
        lines.insert(3, line(St::S));
        lines.touch(1);
        assert_eq!(lines.victim(|_, _| true), Some(2));
        assert_eq!(lines.victim(|k, _| k != 2), Some(3));
        assert_eq!(lines.victim(|_, _| false), None);
        assert_eq!(lines.len(), 3);
    }
}
