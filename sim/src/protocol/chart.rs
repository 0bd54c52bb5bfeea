//! What a protocol adds to its run's timeline beyond what the runtime sees (roles, crashes,
//! messages): its terms and their leaders, a counter that shows progress, its clients'
//! operations, the work its nodes hold (a task on a worker, a critical section, a cache
//! line's state), frequent point events (invalidations, refusals) and rare ones worth a label
//! (a snapshot, a reassignment). Plain data in trace time, for the report to draw.

use crate::node::NodeId;

/// A protocol's extra facts about one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chart {
    /// Each leader's tenure, in the order they began.
    pub tenures: Vec<Tenure>,
    /// A counter that should rise while the system makes progress (Raft: the commit index).
    pub progress: Option<Progress>,
    /// Every client operation that returned, in the order they returned.
    pub ops: Vec<ClientOp>,
    /// What nodes held over time, drawn as bars on their lanes.
    pub bars: Vec<Bar>,
    /// Frequent point events, drawn as ticks on their lanes (one per pixel at most).
    pub ticks: Vec<Tick>,
    /// Rare point events, drawn as labelled marks on their lanes.
    pub pins: Vec<Pin>,
}

/// Something a node held over a period: a task, a subproblem, a lock, a cache line's state.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The node holding it.
    pub node: NodeId,
    /// Which of the lane's rows (0 to [`BAR_ROWS`] - 1) it is drawn in, so that things a node
    /// holds at once (lines of several keys) do not cover each other.
    pub row: u8,
    /// From when, in µs.
    pub from_us: u64,
    /// Until when, in µs; None: still held at the end of the run.
    pub to_us: Option<u64>,
    /// A short name written in the bar when it is wide enough: "t3", "k7".
    pub text: String,
    /// Its colour.
    pub hue: Hue,
}

/// Rows of bars a lane holds.
pub const BAR_ROWS: u8 = 3;

/// A frequent point event on a node's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// Where.
    pub node: NodeId,
    /// When, in µs.
    pub at_us: u64,
    /// Its colour, which the key names.
    pub hue: Hue,
}

/// A rare point event worth a label on a node's lane.
#[derive(Clone, Debug, PartialEq)]
pub struct Pin {
    /// Where.
    pub node: NodeId,
    /// When, in µs.
    pub at_us: u64,
    /// What happened, short: "snapshot 2", "t3 reassigned".
    pub text: String,
}

/// The colours of bars and ticks, each with a name the timeline's key shows.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Hue {
    /// Work held: a task, a subproblem.
    Work,
    /// Inside a critical section.
    Critical,
    /// A cache line Modified (dirty, sole copy).
    Modified,
    /// A cache line Owned (dirty, shared, this copy answers).
    Owned,
    /// A cache line Exclusive (clean, sole copy).
    Exclusive,
    /// A cache line Shared.
    Shared,
    /// A copy invalidated.
    Invalidated,
    /// A dirty line written back.
    WrittenBack,
    /// A request refused (busy, no route).
    Refused,
    /// Work handed to another node after its holder was lost.
    Reassigned,
}

impl Hue {
    /// What the key calls it.
    pub fn name(self) -> &'static str {
        match self {
            Hue::Work => "work held",
            Hue::Critical => "critical section",
            Hue::Modified => "Modified",
            Hue::Owned => "Owned",
            Hue::Exclusive => "Exclusive",
            Hue::Shared => "Shared",
            Hue::Invalidated => "invalidation",
            Hue::WrittenBack => "write-back",
            Hue::Refused => "refused",
            Hue::Reassigned => "reassigned",
        }
    }
}

/// One node leading one term (or epoch).
#[derive(Clone, Debug, PartialEq)]
pub struct Tenure {
    /// The term.
    pub term: u64,
    /// The leader.
    pub leader: NodeId,
    /// When it became leader, in µs.
    pub from_us: u64,
    /// When it stopped leading (stepped down or crashed); None: still leading at the end.
    pub to_us: Option<u64>,
}

/// A named counter over time.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// What it counts, e.g. "commit index".
    pub name: String,
    /// (µs, value) at each rise, in time order.
    pub points: Vec<(u64, u64)>,
}

/// A client operation that returned.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOp {
    /// The client.
    pub node: NodeId,
    /// When it was invoked, in µs, if the trace still holds the invocation.
    pub invoked_us: Option<u64>,
    /// When its outcome was known (or the client gave up), in µs.
    pub returned_us: u64,
    /// How it ended.
    pub outcome: OpOutcome,
}

/// How a client operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpOutcome {
    /// It took effect.
    Ok,
    /// The service refused it.
    Fail,
    /// No answer in time: it may or may not have taken effect.
    Unknown,
}

/// Bars being drawn: each opened under a key when a node takes something and closed when it
/// lets it go, so a protocol's facts turn "took" and "gave up" events into [`Bar`]s.
#[derive(Debug)]
pub struct BarBook<K: Ord> {
    /// The bars still open, by key.
    open: std::collections::BTreeMap<K, Bar>,
    /// The bars closed, in the order they closed.
    closed: Vec<Bar>,
}

impl<K: Ord> Default for BarBook<K> {
    fn default() -> Self {
        BarBook {
            open: std::collections::BTreeMap::new(),
            closed: Vec::new(),
        }
    }
}

impl<K: Ord> BarBook<K> {
    /// `node` holds `key` from `at_us` on, drawn in `row` as `text` in `hue`; a bar already
    /// open under `key` closes at `at_us`.
    pub fn open(&mut self, key: K, node: NodeId, row: u8, at_us: u64, text: String, hue: Hue) {
        let bar = Bar {
            node,
            row,
            from_us: at_us,
            to_us: None,
            text,
            hue,
        };
        if let Some(mut old) = self.open.insert(key, bar) {
            old.to_us = Some(at_us);
            self.closed.push(old);
        }
    }

    /// The bar under `key`, if open, ends at `at_us`.
    pub fn close(&mut self, key: &K, at_us: u64) {
        if let Some(mut bar) = self.open.remove(key) {
            bar.to_us = Some(at_us);
            self.closed.push(bar);
        }
    }

    /// Every open bar of `node` ends at `at_us` (it crashed).
    pub fn close_node(&mut self, node: NodeId, at_us: u64) {
        if !self.open.values().any(|b| b.node == node) {
            return;
        }
        let mut kept = std::collections::BTreeMap::new();
        for (k, mut bar) in std::mem::take(&mut self.open) {
            if bar.node == node {
                bar.to_us = Some(at_us);
                self.closed.push(bar);
            } else {
                kept.insert(k, bar);
            }
        }
        self.open = kept;
    }

    /// Bars opened so far, open or closed.
    pub fn len(&self) -> usize {
        self.open.len() + self.closed.len()
    }

    /// Whether no bar was opened yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a bar is open under `key`.
    pub fn is_open(&self, key: &K) -> bool {
        self.open.contains_key(key)
    }

    /// Every bar: the closed ones, then those still open (to the end of the run).
    pub fn bars(&self) -> Vec<Bar> {
        let mut all = self.closed.clone();
        all.extend(self.open.values().cloned());
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_book_closes_by_key_by_node_and_by_reopening() {
        let mut book: BarBook<u32> = BarBook::default();
        let (a, b) = (NodeId(1), NodeId(2));
        book.open(7, a, 0, 10, "t7".into(), Hue::Work);
        book.open(8, a, 1, 12, "t8".into(), Hue::Work);
        book.open(9, b, 0, 15, "t9".into(), Hue::Work);
        book.close(&7, 20);
        book.close(&7, 99); // already closed: nothing
        book.open(9, a, 0, 30, "t9".into(), Hue::Work); // handed to a: b's bar ends
        book.close_node(a, 40);
        assert_eq!(book.len(), 4);
        let spans: Vec<(u16, u64, Option<u64>, &str)> = book
            .bars()
            .iter()
            .map(|b| (b.node.0, b.from_us, b.to_us, "x"))
            .collect();
        assert_eq!(
            spans,
            vec![
                (1, 10, Some(20), "x"),
                (2, 15, Some(30), "x"),
                (1, 12, Some(40), "x"),
                (1, 30, Some(40), "x"),
            ]
        );
        book.open(1, b, 0, 50, String::new(), Hue::Critical);
        assert!(book.is_open(&1));
        assert_eq!(book.bars().last().unwrap().to_us, None, "open to the end");
    }
}
