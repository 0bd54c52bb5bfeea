//! One trace from many: the files real nodes wrote (and the world's, when a LAN run recorded
//! its faults) merged in wall-clock order with causality restored — a delivery always comes
//! after its send, whatever the hosts' clocks say — then judged by the protocol's own checks
//! and reported exactly like a simulated run.

use std::collections::HashSet;
use std::path::PathBuf;

use faultline_sim::check;
use faultline_sim::scenario::Scenario;
use faultline_sim::trace::RecordSink;
use faultline_sim::{Ev, Header, NodeId, ProtoEvent, Protocol, Record, Trace, WORLD};

use super::ScenarioFile;
use crate::outcome::{Outcome, RunInfo};
use crate::recorder::{Recorder, TraceTo};

/// What to merge and how.
pub struct MergeOptions {
    /// The trace files, one per node (and the world's).
    pub files: Vec<PathBuf>,
    /// Time zero in µs since the Unix epoch (a LAN run's start); default: the first record.
    pub start_us: Option<u64>,
    /// The run's length in µs from time zero; default: up to the last record.
    pub end_us: Option<u64>,
    /// Add the crash a killed node could not record before each restart that lacks one (no
    /// world trace saw the kill, as on real hosts).
    pub infer_crashes: bool,
}

/// The merged, judged run.
pub struct Merged {
    /// Its summary and report files.
    pub outcome: Outcome,
    /// What the merge had to repair, for people.
    pub notes: Vec<String>,
}

/// Merges the trace files of a run of `loaded` and judges them by its protocol's checks.
pub fn report_from_traces(loaded: &ScenarioFile, opts: &MergeOptions) -> Result<Merged, String> {
    (loaded.protocol).judge_traces(&loaded.scenario, &loaded.source(), opts)
}

/// Merges the trace files of a run of `scenario` and judges them with `proto`'s checks.
pub fn judge<P: Protocol>(
    proto: P,
    scenario: &Scenario,
    opts: &MergeOptions,
) -> Result<Merged, String> {
    {
        let names = scenario.node_names();
        let mut streams = Vec::new();
        for path in &opts.files {
            streams.push(read_trace::<P::Event>(path, &names)?);
        }
        let mut notes = Vec::new();
        if opts.infer_crashes {
            let added: usize = streams.iter_mut().map(infer_crashes).sum();
            if added > 0 {
                notes.push(format!(
                    "{added} crashes inferred from restarts (a killed process cannot record its own crash)"
                ));
            }
        }
        let (mut records, moved) = merge_causal(streams);
        if moved > 0 {
            notes.push(format!(
                "{moved} deliveries were stamped before their send and placed after it (a sender stamps a send once the datagram has left; hosts' clocks differ)"
            ));
        }
        let start_us = opts
            .start_us
            .or_else(|| records.first().map(|r| r.t))
            .unwrap_or(0);
        for rec in &mut records {
            rec.t = rec.t.saturating_sub(start_us);
        }
        let end_us = opts
            .end_us
            .unwrap_or_else(|| records.last().map_or(0, |r| r.t));
        // The merge needs every record in memory anyway (to restore causality), so the
        // trace is written to memory too.
        let mut trace = Trace::new();
        let mut recorder = Recorder::new(&proto, scenario, scenario.seed, TraceTo::Memory)
            .map_err(|e| format!("cannot write the merged trace: {e}"))?;
        for rec in &records {
            trace.push(rec);
            recorder.record(rec);
        }
        let mut checks = proto.checks();
        checks.extend(check::expect::checks(&scenario.expected(), P::fact));
        let verdicts = check::judge(&mut checks, &records, end_us);
        let run = RunInfo {
            scenario,
            // The scenario's seed drew its random faults and its workload.
            seed: scenario.seed,
            bugs: &[],
        };
        let outcome = (recorder.finish(&run, &trace, verdicts, end_us))
            .map_err(|e| format!("cannot write the merged trace: {e}"))?;
        Ok(Merged { outcome, notes })
    }
}

/// Reads one node's trace, renumbering its node ids from its header's names to the
/// scenario's. A last line cut short (the node was killed mid-write) is left out.
fn read_trace<E: ProtoEvent>(
    path: &std::path::Path,
    names: &[String],
) -> Result<Vec<Record<E>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .peekable();
    let (_, first) = lines
        .next()
        .ok_or_else(|| format!("{}: empty trace: no header line", path.display()))?;
    let header: Header = serde_json::from_str(first)
        .map_err(|e| format!("{}:1: bad header: {e}", path.display()))?;
    let mut map = Vec::new();
    for name in &header.nodes {
        let id = names.iter().position(|n| n == name).ok_or_else(|| {
            format!(
                "{}:1: field `nodes`: node `{name}` is not in the scenario (its nodes are {})",
                path.display(),
                names.join(", ")
            )
        })?;
        map.push(NodeId(id as u16));
    }
    let renumber = |n: NodeId| {
        if n == WORLD {
            WORLD
        } else {
            map.get(n.0 as usize).copied().unwrap_or(n)
        }
    };
    let mut records = Vec::new();
    while let Some((i, line)) = lines.next() {
        let mut rec: Record<E> = match serde_json::from_str(line) {
            Ok(rec) => rec,
            Err(_) if lines.peek().is_none() && !text.ends_with('\n') => break,
            Err(e) => return Err(format!("{}:{}: {e}", path.display(), i + 1)),
        };
        rec.node = renumber(rec.node);
        match &mut rec.ev {
            Ev::Send { to: Some(to), .. } => *to = renumber(*to),
            Ev::Deliver { from, .. } => *from = renumber(*from),
            Ev::Drop { from, to, .. } => {
                *from = renumber(*from);
                *to = renumber(*to);
            }
            Ev::Leader { leader: Some(l) } => *l = renumber(*l),
            Ev::StreamOpen { peer, .. } | Ev::StreamClose { peer, .. } => *peer = renumber(*peer),
            Ev::Partition { links } | Ev::Heal { links } => {
                for (a, b) in links {
                    *a = renumber(*a);
                    *b = renumber(*b);
                }
            }
            _ => {}
        }
        records.push(rec);
    }
    Ok(records)
}

/// Puts a crash before every restart of a node that was not down, at the node's last
/// record before it; returns how many it added.
fn infer_crashes<E>(records: &mut Vec<Record<E>>) -> usize {
    let mut out = Vec::with_capacity(records.len());
    let mut down = std::collections::BTreeSet::new();
    let mut last_t = std::collections::BTreeMap::new();
    let mut added = 0;
    for rec in records.drain(..) {
        match rec.ev {
            Ev::Crash => {
                down.insert(rec.node);
            }
            Ev::Restart if !down.remove(&rec.node) => {
                let t = last_t.get(&rec.node).copied().unwrap_or(rec.t);
                out.push(Record {
                    t,
                    node: rec.node,
                    ev: Ev::Crash,
                });
                added += 1;
            }
            _ => {}
        }
        last_t.insert(rec.node, rec.t);
        out.push(rec);
    }
    *records = out;
    added
}

/// The id of the send a record depends on: a delivery, or a drop decided at the receiver.
fn depends_on<E>(rec: &Record<E>) -> Option<u64> {
    match &rec.ev {
        Ev::Deliver { id, .. } => Some(*id),
        Ev::Drop { from, id, .. } if *from != rec.node => Some(*id),
        _ => None,
    }
}

/// Merges per-node streams (each in its own order) by time, holding back a record that
/// depends on a send not yet merged, and keeping times non-decreasing. Returns the merged
/// records and how many were held back past their own time.
fn merge_causal<E>(streams: Vec<Vec<Record<E>>>) -> (Vec<Record<E>>, usize) {
    let all_sends: HashSet<u64> = streams
        .iter()
        .flatten()
        .filter_map(|r| match &r.ev {
            Ev::Send { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    let total = streams.iter().map(Vec::len).sum();
    let mut iters: Vec<std::iter::Peekable<std::vec::IntoIter<Record<E>>>> = streams
        .into_iter()
        .map(|s| s.into_iter().peekable())
        .collect();
    let mut sent: HashSet<u64> = HashSet::new();
    let mut out: Vec<Record<E>> = Vec::with_capacity(total);
    let mut moved = 0;
    let mut last_t = 0;
    loop {
        let mut best: Option<(bool, u64, usize)> = None;
        for (k, it) in iters.iter_mut().enumerate() {
            let Some(rec) = it.peek() else { continue };
            let ready =
                depends_on(rec).is_none_or(|id| !all_sends.contains(&id) || sent.contains(&id));
            // Ready records first, then by time: a cycle of waits (which real causality
            // cannot make) falls back to time order rather than stalling.
            let key = (!ready, rec.t, k);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        let Some((_, t, k)) = best else { break };
        let mut rec = iters[k].next().expect("peeked");
        if let Ev::Send { id, .. } = &rec.ev {
            sent.insert(*id);
        }
        if t < last_t && depends_on(&rec).is_some() {
            moved += 1;
        }
        rec.t = t.max(last_t);
        last_t = rec.t;
        out.push(rec);
    }
    (out, moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: u64, node: u16, ev: Ev<()>) -> Record<()> {
        Record {
            t,
            node: NodeId(node),
            ev,
        }
    }

    #[test]
    fn a_delivery_stamped_before_its_send_comes_after_it() {
        let send = Ev::Send {
            to: Some(NodeId(1)),
            id: 7,
            label: "ping".into(),
        };
        let deliver = Ev::Deliver {
            from: NodeId(0),
            id: 7,
            label: "ping".into(),
        };
        // Node 1's clock runs 5 ms behind node 0's.
        let a = vec![rec(10_000, 0, send), rec(11_000, 0, Ev::Timer { timer: 1 })];
        let b = vec![
            rec(6_000, 1, deliver),
            rec(7_000, 1, Ev::Timer { timer: 2 }),
        ];
        let (merged, moved) = merge_causal(vec![b, a]);
        let order: Vec<(u16, u64)> = merged.iter().map(|r| (r.node.0, r.t)).collect();
        assert_eq!(
            order,
            vec![(0, 10_000), (1, 10_000), (1, 10_000), (0, 11_000)]
        );
        assert_eq!(moved, 1);
    }

    #[test]
    fn a_restart_without_a_crash_gets_one_at_the_last_record_before_it() {
        let mut records = vec![
            rec(1, 0, Ev::Timer { timer: 1 }),
            rec(9, 0, Ev::Restart),
            rec(12, 0, Ev::Crash),
            rec(15, 0, Ev::Restart),
        ];
        assert_eq!(infer_crashes(&mut records), 1);
        assert_eq!(records[1], rec(1, 0, Ev::Crash));
        assert_eq!(records.len(), 5);
    }
}
