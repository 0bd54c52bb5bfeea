//! What a Raft run comes to, for the summary: terms and their leaders, commit progress, and the
//! clients' operations (counts by outcome and latency quantiles).

use std::collections::BTreeMap;

use faultline_sim::{Ev, NodeId, Record};
use serde_json::{json, Value as Json};

use super::event::Event;
use super::op::Outcome;

/// The summary's `details` for a Raft run, gathered record by record.
#[derive(Default)]
pub(crate) struct Details {
    /// Each term with a leader: (term, leader, when it took office in ms).
    terms: Vec<(u64, NodeId, u64)>,
    /// The highest commit index seen.
    commit_max: u64,
    /// (second, highest commit index in it): one point per second that advanced it.
    commits: Vec<(u64, u64)>,
    /// Client operations invoked and not yet returned, by (client, seq): when invoked.
    invoked: BTreeMap<(NodeId, u64), u64>,
    /// Operations that returned ok.
    ok: u64,
    /// Operations that returned a failure.
    fail: u64,
    /// Operations whose outcome is unknown.
    unknown: u64,
    /// Latency of every operation with a known outcome.
    latencies_ms: Vec<f64>,
}

impl Details {
    /// One record of the run.
    pub(crate) fn observe(&mut self, rec: &Record<Event>) {
        let Ev::Proto { event } = &rec.ev else {
            return;
        };
        match event {
            Event::BecameLeader { term } => {
                self.terms.push((*term, rec.node, rec.t / 1000));
            }
            Event::Committed { index } if *index > self.commit_max => {
                self.commit_max = *index;
                // One point per second of simulated time is enough to see progress and stalls.
                match self.commits.last_mut() {
                    Some(last) if last.0 == rec.t / 1_000_000 => last.1 = *index,
                    _ => self.commits.push((rec.t / 1_000_000, *index)),
                }
            }
            Event::Invoke { seq, .. } => {
                self.invoked.insert((rec.node, *seq), rec.t);
            }
            Event::Return { seq, result } => {
                let started = self.invoked.remove(&(rec.node, *seq));
                match &**result {
                    Outcome::Ok { .. } => self.ok += 1,
                    Outcome::Fail { .. } => self.fail += 1,
                    Outcome::Unknown => self.unknown += 1,
                }
                if let (Some(t0), false) = (started, matches!(**result, Outcome::Unknown)) {
                    self.latencies_ms.push((rec.t - t0) as f64 / 1000.0);
                }
            }
            _ => {}
        }
    }

    /// The details of the run so far; `names` names nodes by id.
    pub(crate) fn finish(&self, names: &dyn Fn(NodeId) -> String) -> Json {
        let Details {
            terms,
            commit_max,
            commits,
            ok,
            fail,
            unknown,
            ..
        } = self;
        let mut latencies_ms = self.latencies_ms.clone();
        let terms: Vec<Json> = (terms.iter())
            .map(|(term, leader, at_ms)| json!({ "term": term, "leader": names(*leader), "at_ms": at_ms }))
            .collect();
        latencies_ms.sort_by(f64::total_cmp);
        let q = |p: f64| {
            if latencies_ms.is_empty() {
                return Json::Null;
            }
            let v = latencies_ms[((latencies_ms.len() - 1) as f64 * p).round() as usize];
            json!((v * 1000.0).round() / 1000.0)
        };
        let latency = if latencies_ms.is_empty() {
            "no latency (no operation returned)".to_string()
        } else {
            format!("latency p50 {} ms, p99 {} ms", q(0.5), q(0.99))
        };
        let terms_text = match terms.len() {
            1 => "1 term".to_string(),
            n => format!("{n} terms"),
        };
        let headline = format!(
            "client ops: {ok} ok, {fail} failed, {unknown} unknown; {latency}; {terms_text} with a leader; commit index {commit_max}"
    );
        json!({
            "headline": headline,
            "terms": terms,
            "commit": { "highest": commit_max, "by_second": commits },
            "client_ops": { "ok": ok, "fail": fail, "unknown": unknown },
            "latency_ms": { "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": q(1.0) },
        })
    }
}
