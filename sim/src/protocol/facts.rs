//! What a protocol makes of a run for its summary and timeline, gathered as records pass.
//!
//! A run's records are not kept (see [`crate::trace::sink`]), so the protocol's facts
//! (client operations, latencies, terms) are built record by record, and read once the run
//! is over.

use crate::protocol::chart::Chart;
use crate::trace::Record;

/// Gathers a protocol's facts about one run from its records, in order.
pub trait Facts<E>: Send {
    /// One record of the run.
    fn observe(&mut self, rec: &Record<E>);
    /// Protocol facts for the summary (`details` in summary.json): client operation counts,
    /// latencies, terms... and a one-line `headline` for the verdict. `names` are the node
    /// names, indexed by id.
    fn details(&self, names: &[String]) -> Option<serde_json::Value>;
    /// What the protocol adds to the run's timeline: terms, progress, client operations.
    fn chart(&self) -> Chart;
}

/// Gathers a run's client history from its records, in order, for `history.jsonl`.
pub trait History<E>: Send {
    /// One record of the run.
    fn observe(&mut self, rec: &Record<E>);
    /// The history so far, one operation per line, as `faultline check-history` reads it
    /// (see [`crate::check::linearizability::write_history`]).
    fn jsonl(&self) -> String;
}

/// The facts of a protocol that gives none.
pub struct NoFacts;

impl<E> Facts<E> for NoFacts {
    fn observe(&mut self, _rec: &Record<E>) {}
    fn details(&self, _names: &[String]) -> Option<serde_json::Value> {
        None
    }
    fn chart(&self) -> Chart {
        Chart::default()
    }
}

/// Feeds every record of `records` to `facts`: for traces that are in memory anyway (a
/// merged run of real nodes, tests).
pub fn gather<E>(mut facts: Box<dyn Facts<E>>, records: &[Record<E>]) -> Box<dyn Facts<E>> {
    for rec in records {
        facts.observe(rec);
    }
    facts
}
