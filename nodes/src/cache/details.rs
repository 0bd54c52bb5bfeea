//! What a run's summary says about the caches: hit rate, invalidations, write-backs, keys
//! moved by ring changes, and the states of the hottest keys (gathered record by record).

use std::collections::BTreeMap;

use faultline_sim::protocol::facts::Facts;
use faultline_sim::{Chart, Ev, NodeId, Record};
use serde_json::json;

use super::event::{Event, Why};
use super::msg::St;

/// The summary's figures.
#[derive(Default)]
pub(crate) struct Details {
    /// Client operations served from a cache.
    hits: u64,
    /// Client operations that went to the home.
    misses: u64,
    /// Entries dropped by an invalidation.
    invalidations: u64,
    /// Modified or Owned entries given up (evicted, fetched or left): write-backs.
    write_backs: u64,
    /// Evictions.
    evictions: u64,
    /// Puts committed in the store.
    stored: u64,
    /// Keys moved by each ring change, by epoch.
    moved: BTreeMap<u32, u32>,
    /// Each entry's current state, to tell a write-back.
    state: BTreeMap<(NodeId, u32), St>,
    /// State changes per key, to name the hottest.
    changes: BTreeMap<u32, u64>,
    /// The coherence protocol's name.
    coherence: &'static str,
    /// What the timeline draws.
    chart: super::chart::CacheChart,
}

impl Details {
    pub(crate) fn new(coherence: &'static str) -> Details {
        Details {
            coherence,
            ..Details::default()
        }
    }
}

impl Facts<Event> for Details {
    fn observe(&mut self, rec: &Record<Event>) {
        self.chart.observe(rec);
        let Ev::Proto { event } = &rec.ev else {
            if matches!(rec.ev, Ev::Crash) {
                self.state.retain(|(n, _), _| *n != rec.node);
            }
            return;
        };
        match event {
            Event::Served { hit, .. } => {
                if *hit {
                    self.hits += 1;
                } else {
                    self.misses += 1;
                }
            }
            Event::Line { key, state, why } => {
                *self.changes.entry(*key).or_default() += 1;
                let old = if *state == St::I {
                    self.state.remove(&(rec.node, *key))
                } else {
                    self.state.insert((rec.node, *key), *state)
                };
                let gave_up = matches!(old, Some(St::M | St::O)) && !matches!(state, St::M | St::O);
                let handed = matches!(old, Some(St::M)) && *state == St::O;
                if gave_up || handed {
                    self.write_backs += 1;
                }
                match why {
                    Why::Inv => self.invalidations += 1,
                    Why::Evict => self.evictions += 1,
                    _ => {}
                }
            }
            Event::Stored { .. } => self.stored += 1,
            Event::RingChanged { epoch, moved, .. } => {
                self.moved.insert(*epoch, *moved);
            }
            _ => {}
        }
    }

    fn details(&self, _names: &[String]) -> Option<serde_json::Value> {
        let served = self.hits + self.misses;
        let hit_rate = if served == 0 {
            0.0
        } else {
            (self.hits as f64 / served as f64 * 1000.0).round() / 1000.0
        };
        let mut hottest: Vec<(u32, u64)> = self.changes.iter().map(|(k, n)| (*k, *n)).collect();
        hottest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let hottest: Vec<String> = hottest
            .iter()
            .take(3)
            .map(|(k, _)| format!("k{k}"))
            .collect();
        Some(json!({
            "coherence": self.coherence,
            "hits": self.hits,
            "misses": self.misses,
            "hit_rate": hit_rate,
            "invalidations": self.invalidations,
            "write_backs": self.write_backs,
            "evictions": self.evictions,
            "puts_stored": self.stored,
            "keys_moved": self.moved.values().sum::<u32>(),
            "keys_moved_per_change": self.moved.values().collect::<Vec<_>>(),
            "hottest_keys": hottest,
        }))
    }

    fn chart(&self) -> Chart {
        self.chart.chart()
    }
}
