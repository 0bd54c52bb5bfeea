//! What a cache run draws on its timeline: for its three hottest keys (the most state
//! changes), each cache's line state over time as bars in rows of the cache's lane, one row
//! per key, coloured Modified, Owned, Exclusive or Shared; invalidations and write-backs as
//! ticks on the lane of the cache that gave up its copy.

use std::collections::BTreeMap;

use faultline_sim::protocol::chart::{Bar, Chart, Hue, Tick, BAR_ROWS};
use faultline_sim::{Ev, NodeId, Record};

use super::event::{Event, Why};
use super::msg::St;

/// State spans kept for the timeline; past it, later changes are not drawn (the summary
/// still counts them).
const SPANS_MAX: usize = 200_000;
/// Ticks kept.
const TICKS_MAX: usize = 50_000;

/// One cache's line of one key in one state over a period.
#[derive(Clone, Copy)]
struct Span {
    node: NodeId,
    key: u32,
    state: St,
    from_us: u64,
    to_us: Option<u64>,
}

/// The timeline's facts of a cache run, gathered record by record.
#[derive(Default)]
pub(crate) struct CacheChart {
    /// Every line state held, in the order it began.
    spans: Vec<Span>,
    /// The span each (cache, key) is in now, by index into `spans`.
    current: BTreeMap<(NodeId, u32), usize>,
    /// State changes per key.
    changes: BTreeMap<u32, u64>,
    /// Invalidations and write-backs.
    ticks: Vec<Tick>,
}

impl CacheChart {
    /// One record of the run.
    pub(crate) fn observe(&mut self, rec: &Record<Event>) {
        let (key, state, why) = match &rec.ev {
            Ev::Proto {
                event: Event::Line { key, state, why },
            } => (*key, *state, *why),
            Ev::Crash => {
                let node = rec.node;
                let lost: Vec<(NodeId, u32)> = (self.current.keys())
                    .filter(|(n, _)| *n == node)
                    .copied()
                    .collect();
                for at in lost {
                    self.end(at, rec.t);
                }
                return;
            }
            _ => return,
        };
        *self.changes.entry(key).or_default() += 1;
        let old = self.end((rec.node, key), rec.t);
        let gave_up = matches!(old, Some(St::M | St::O)) && !matches!(state, St::M | St::O);
        let handed = old == Some(St::M) && state == St::O;
        if gave_up || handed {
            self.tick(rec, Hue::WrittenBack);
        }
        if why == Why::Inv {
            self.tick(rec, Hue::Invalidated);
        }
        if state != St::I && self.spans.len() < SPANS_MAX {
            self.current.insert((rec.node, key), self.spans.len());
            self.spans.push(Span {
                node: rec.node,
                key,
                state,
                from_us: rec.t,
                to_us: None,
            });
        }
    }

    /// Ends the span (cache, key) is in, if any; returns its state.
    fn end(&mut self, at: (NodeId, u32), t: u64) -> Option<St> {
        let i = self.current.remove(&at)?;
        self.spans[i].to_us = Some(t);
        Some(self.spans[i].state)
    }

    fn tick(&mut self, rec: &Record<Event>, hue: Hue) {
        if self.ticks.len() < TICKS_MAX {
            self.ticks.push(Tick {
                node: rec.node,
                at_us: rec.t,
                hue,
            });
        }
    }

    /// The chart so far: the hottest keys' lines, one row each.
    pub(crate) fn chart(&self) -> Chart {
        let mut hottest: Vec<(u32, u64)> = self.changes.iter().map(|(k, n)| (*k, *n)).collect();
        hottest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let rows: BTreeMap<u32, u8> = (hottest.iter())
            .take(usize::from(BAR_ROWS))
            .enumerate()
            .map(|(row, (key, _))| (*key, row as u8))
            .collect();
        let bars = (self.spans.iter())
            .filter_map(|s| {
                let row = *rows.get(&s.key)?;
                let hue = match s.state {
                    St::M => Hue::Modified,
                    St::O => Hue::Owned,
                    St::E => Hue::Exclusive,
                    St::S => Hue::Shared,
                    St::I => return None,
                };
                Some(Bar {
                    node: s.node,
                    row,
                    from_us: s.from_us,
                    to_us: s.to_us,
                    text: format!("k{}", s.key),
                    hue,
                })
            })
            .collect();
        Chart {
            bars,
            ticks: self.ticks.clone(),
            ..Chart::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: u64, node: u16, key: u32, state: St, why: Why) -> Record<Event> {
        Record {
            t,
            node: NodeId(node),
            ev: Ev::Proto {
                event: Event::Line { key, state, why },
            },
        }
    }

    #[test]
    fn the_hottest_keys_get_a_row_each_and_give_ups_are_ticked() {
        let mut c = CacheChart::default();
        // Key 5 changes four times, key 6 twice, key 1 once, key 2 once.
        for rec in [
            line(10, 1, 5, St::M, Why::Write),
            line(20, 1, 5, St::O, Why::Fetch),
            line(20, 2, 5, St::S, Why::Grant),
            line(30, 2, 5, St::I, Why::Inv),
            line(11, 1, 6, St::E, Why::Grant),
            line(40, 1, 6, St::S, Why::Grant),
            line(12, 3, 1, St::S, Why::Grant),
            line(13, 3, 2, St::S, Why::Grant),
        ] {
            c.observe(&rec);
        }
        c.observe(&Record {
            t: 50,
            node: NodeId(1),
            ev: Ev::Crash,
        });
        let chart = c.chart();
        let bars: Vec<(u16, u8, u64, Option<u64>, Hue)> = (chart.bars.iter())
            .map(|b| (b.node.0, b.row, b.from_us, b.to_us, b.hue))
            .collect();
        assert_eq!(
            bars,
            vec![
                (1, 0, 10, Some(20), Hue::Modified),
                (1, 0, 20, Some(50), Hue::Owned),
                (2, 0, 20, Some(30), Hue::Shared),
                (1, 1, 11, Some(40), Hue::Exclusive),
                (1, 1, 40, Some(50), Hue::Shared),
                (3, 2, 12, None, Hue::Shared),
            ],
            "keys 5, 6 and 1 (before 2 on a tie) in rows 0, 1, 2; the crash ends c1's lines"
        );
        let ticks: Vec<(u16, u64, Hue)> = (chart.ticks.iter())
            .map(|k| (k.node.0, k.at_us, k.hue))
            .collect();
        assert_eq!(
            ticks,
            vec![(1, 20, Hue::WrittenBack), (2, 30, Hue::Invalidated)],
            "M to O supplies the dirty data (counted as a write-back, as the summary does); S to I is an invalidation only"
        );
    }
}
