//! Where a run's records go as they happen: the trace file, the summary, the timeline.
//!
//! The simulated world shows every record to the checks, folds it into the digest and hands
//! it to one sink; nothing keeps the records themselves, so a run's memory does not grow
//! with its length. Whatever needs records after the run builds its result as they pass.

use super::Record;

/// Takes every record of a run, in order, as it is appended.
pub trait RecordSink<E>: Send {
    /// One record; it is gone once this returns.
    fn record(&mut self, rec: &Record<E>);
}

/// Keeps nothing: a run that only wants its verdicts and digest (explore's seeds, bench).
impl<E> RecordSink<E> for () {
    fn record(&mut self, _rec: &Record<E>) {}
}

/// Both sinks, in order.
impl<E, A: RecordSink<E>, B: RecordSink<E>> RecordSink<E> for (A, B) {
    fn record(&mut self, rec: &Record<E>) {
        self.0.record(rec);
        self.1.record(rec);
    }
}

/// Every record, in memory: for tests and short runs only (it grows with the run).
impl<E: Clone + Send> RecordSink<E> for Vec<Record<E>> {
    fn record(&mut self, rec: &Record<E>) {
        self.push(rec.clone());
    }
}
