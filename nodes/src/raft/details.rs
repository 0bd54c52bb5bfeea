//! What a Raft run comes to, for the summary: terms and their leaders, commit progress, and the
//! clients' operations (counts by outcome and latency quantiles).

use std::collections::BTreeMap;

use faultline_sim::{Ev, NodeId, Record};
use serde_json::{json, Value as Json};

use super::event::Event;
use super::op::Outcome;

/// The summary's `details` for a Raft run.
pub(crate) fn details(records: &[Record<Event>], names: &dyn Fn(NodeId) -> String) -> Json {
    let mut terms = Vec::new();
    let mut commit_max = 0u64;
    let mut commits: Vec<(u64, u64)> = Vec::new();
    let mut invoked: BTreeMap<(NodeId, u64), u64> = BTreeMap::new();
    let (mut ok, mut fail, mut unknown) = (0u64, 0u64, 0u64);
    let mut latencies_ms: Vec<f64> = Vec::new();
    for rec in records {
        match &rec.ev {
            Ev::Proto {
                event: Event::BecameLeader { term },
            } => {
                terms.push(
                    json!({ "term": term, "leader": names(rec.node), "at_ms": rec.t / 1000 }),
                );
            }
            Ev::Proto {
                event: Event::Committed { index },
            } if *index > commit_max => {
                commit_max = *index;
                // One point per second of simulated time is enough to see progress and stalls.
                match commits.last_mut() {
                    Some(last) if last.0 == rec.t / 1_000_000 => last.1 = *index,
                    _ => commits.push((rec.t / 1_000_000, *index)),
                }
            }
            Ev::Proto {
                event: Event::Invoke { seq, .. },
            } => {
                invoked.insert((rec.node, *seq), rec.t);
            }
            Ev::Proto {
                event: Event::Return { seq, result },
            } => {
                let started = invoked.remove(&(rec.node, *seq));
                match &**result {
                    Outcome::Ok { .. } => ok += 1,
                    Outcome::Fail { .. } => fail += 1,
                    Outcome::Unknown => unknown += 1,
                }
                if let (Some(t0), false) = (started, matches!(**result, Outcome::Unknown)) {
                    latencies_ms.push((rec.t - t0) as f64 / 1000.0);
                }
            }
            _ => {}
        }
    }
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
