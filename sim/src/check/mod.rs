//! The checkers framework: invariants judged as the trace grows, liveness at the end.

pub mod causality;
pub mod embedded;
pub mod exactly_once;
pub mod expect;
mod fact;
pub mod linearizability;
pub mod mutual_exclusion;
mod verdict;

use std::collections::BTreeSet;

use crate::node::NodeId;
use crate::trace::{Ev, Record};

pub use causality::{Causality, Stamp, StampKind};
pub use embedded::Embedded;
pub use exactly_once::{ExactlyOnce, TaskFact};
pub use expect::Expectation;
pub use fact::Fact;
pub use mutual_exclusion::{LockFact, MutualExclusion};
pub use verdict::Verdict;

/// One invariant or liveness property over a trace.
pub trait Check<E> {
    /// A short stable name ("leader-agreement"), unique among a run's checks.
    fn name(&self) -> &str;
    /// Sees each record as it is appended. An `Err` is a violation: the run stops there.
    /// Traffic records ([`Ev::is_traffic`]) come only to a check whose
    /// [`Check::sees_traffic`] says so.
    fn observe(&mut self, rec: &Record<E>) -> Result<(), String>;
    /// Whether the check wants traffic records too. Most judge protocol events and faults,
    /// and traffic is most of a trace: skipping it is most of what checking costs.
    fn sees_traffic(&self) -> bool {
        false
    }
    /// Judges the whole run once it has ended at `end_us`, saying how much it judged
    /// ([`Verdict::held`]): judging nothing is vacuous, not a pass.
    fn finish(&mut self, end_us: u64) -> Verdict;
}

/// Judges a finished trace (a run of real processes, judged after the fact): every check
/// sees every record until it is violated; its first violation is its verdict.
pub fn judge<E>(
    checks: &mut [Box<dyn Check<E> + Send>],
    records: &[Record<E>],
    end_us: u64,
) -> Vec<Verdict> {
    let mut violations: Vec<Option<Verdict>> = vec![None; checks.len()];
    for rec in records {
        let traffic = rec.ev.is_traffic();
        for (check, violation) in checks.iter_mut().zip(violations.iter_mut()) {
            if violation.is_some() || (traffic && !check.sees_traffic()) {
                continue;
            }
            if let Err(detail) = check.observe(rec) {
                *violation = Some(Verdict::violated(
                    check.name(),
                    format!("at {:.3} s: {detail}", rec.t as f64 / 1e6),
                ));
            }
        }
    }
    checks
        .iter_mut()
        .zip(violations)
        .map(|(check, violation)| violation.unwrap_or_else(|| check.finish(end_us)))
        .collect()
}

/// The state of the cluster as the trace tells it: who is up, which links are cut.
/// Checkers embed one and feed it every record.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    /// Nodes currently crashed or paused.
    pub down: BTreeSet<NodeId>,
    /// Directed links currently cut by partitions.
    pub cut: BTreeSet<(NodeId, NodeId)>,
    /// Time of the last crash, restart, pause, resume, partition, heal, loss change or
    /// network window.
    pub last_change_us: u64,
    /// Current random loss rate of a loss fault.
    pub loss_rate: f64,
}

impl Cluster {
    /// Updates the state from one record; returns true when the record changed it.
    pub fn observe<E>(&mut self, rec: &Record<E>) -> bool {
        match &rec.ev {
            // A paused node is down for the others (it neither hears nor answers) until it
            // resumes, as a crashed one until it restarts.
            Ev::Crash | Ev::Pause => {
                self.down.insert(rec.node);
            }
            Ev::Restart | Ev::Resume => {
                self.down.remove(&rec.node);
            }
            Ev::Network { .. } => {}
            Ev::Partition { links } => self.cut.extend(links.iter().copied()),
            Ev::Heal { links } => {
                for link in links {
                    self.cut.remove(link);
                }
            }
            Ev::Loss { rate } => self.loss_rate = *rate,
            _ => return false,
        }
        self.last_change_us = rec.t;
        true
    }

    /// Whether `node` is up.
    pub fn is_up(&self, node: NodeId) -> bool {
        !self.down.contains(&node)
    }

    /// Whether both directions between `a` and `b` work.
    pub fn linked(&self, a: NodeId, b: NodeId) -> bool {
        !self.cut.contains(&(a, b)) && !self.cut.contains(&(b, a))
    }

    /// The up members of `nodes`, grouped into sets that all reach each other both ways
    /// (connected components of the two-way link graph), each sorted, in the order of their
    /// first member in `nodes`.
    ///
    /// A search over the complement of the cuts: a node still unplaced is either joined
    /// (once) or kept out by a cut link, so the cost is O((nodes + cuts) · log cuts), not a
    /// lookup per pair of nodes (which made this a fifth of a 33-server run). Checks call it
    /// when a fault changes the cluster, not per record.
    pub fn components(&self, nodes: &[NodeId]) -> Vec<Vec<NodeId>> {
        let mut placed = BTreeSet::new();
        let mut rest: Vec<NodeId> = nodes
            .iter()
            .copied()
            .filter(|n| self.is_up(*n) && placed.insert(*n))
            .collect();
        let mut out = Vec::new();
        let mut next = 0;
        while next < rest.len() {
            let start = rest[next];
            let mut comp = vec![start];
            let mut outside: Vec<NodeId> = rest[next + 1..].to_vec();
            let mut i = 0;
            while i < comp.len() && !outside.is_empty() {
                let at = comp[i];
                if self.cut.is_empty() {
                    comp.append(&mut outside);
                    break;
                }
                let (joined, kept): (Vec<NodeId>, Vec<NodeId>) =
                    outside.into_iter().partition(|o| self.linked(at, *o));
                comp.extend(joined);
                outside = kept;
                i += 1;
            }
            rest = outside;
            next = 0;
            comp.sort();
            out.push(comp);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the records it is shown.
    struct Counter {
        traffic: bool,
        seen: u64,
    }

    impl Check<u32> for Counter {
        fn name(&self) -> &'static str {
            "counter"
        }
        fn observe(&mut self, _rec: &Record<u32>) -> Result<(), String> {
            self.seen += 1;
            Ok(())
        }
        fn sees_traffic(&self) -> bool {
            self.traffic
        }
        fn finish(&mut self, _end_us: u64) -> Verdict {
            Verdict::held("counter", self.seen, "records", self.seen.to_string())
        }
    }

    #[test]
    fn traffic_reaches_only_the_checks_that_ask_for_it() {
        let rec = |ev| Record {
            t: 0,
            node: NodeId(0),
            ev,
        };
        let records = vec![
            rec(Ev::Timer { timer: 1 }),
            rec(Ev::Crash),
            rec(Ev::Deliver {
                from: NodeId(1),
                id: 7,
                label: "ping".into(),
            }),
            rec(Ev::Proto { event: 3 }),
        ];
        let mut checks: Vec<Box<dyn Check<u32> + Send>> = vec![
            Box::new(Counter {
                traffic: false,
                seen: 0,
            }),
            Box::new(Counter {
                traffic: true,
                seen: 0,
            }),
        ];
        let verdicts = judge(&mut checks, &records, 0);
        assert_eq!(verdicts[0].detail, "2");
        assert_eq!(verdicts[1].detail, "4");
    }

    fn ids(v: &[u16]) -> Vec<NodeId> {
        v.iter().copied().map(NodeId).collect()
    }

    /// The old search: every pair of up nodes looked up, per component member.
    fn components_pairwise(c: &Cluster, nodes: &[NodeId]) -> Vec<Vec<NodeId>> {
        let up: Vec<NodeId> = nodes.iter().copied().filter(|n| c.is_up(*n)).collect();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for &start in &up {
            if !seen.insert(start) {
                continue;
            }
            let mut comp = vec![start];
            let mut i = 0;
            while i < comp.len() {
                let at = comp[i];
                for &other in &up {
                    if !seen.contains(&other) && c.linked(at, other) {
                        seen.insert(other);
                        comp.push(other);
                    }
                }
                i += 1;
            }
            comp.sort();
            out.push(comp);
        }
        out
    }

    #[test]
    fn components_follow_two_way_links_and_skip_crashed_nodes() {
        let mut c = Cluster::default();
        let nodes = ids(&[4, 0, 1, 2, 3, 5]);
        assert_eq!(c.components(&nodes), vec![ids(&[0, 1, 2, 3, 4, 5])]);
        c.down.insert(NodeId(5));
        // {0,1} | {2,3,4}, by one-way cuts; the cut 3 -> 4 leaves 4 and 3 joined through 2.
        for a in [0, 1] {
            for b in [2, 3, 4] {
                c.cut.insert((NodeId(a), NodeId(b)));
            }
        }
        c.cut.insert((NodeId(3), NodeId(4)));
        assert_eq!(c.components(&nodes), vec![ids(&[2, 3, 4]), ids(&[0, 1])]);
        // Cutting 2 off both ways leaves three: 4 first, as it comes first in `nodes`.
        c.cut.insert((NodeId(2), NodeId(3)));
        c.cut.insert((NodeId(4), NodeId(2)));
        assert_eq!(
            c.components(&nodes),
            vec![ids(&[4]), ids(&[0, 1]), ids(&[2]), ids(&[3])]
        );
    }

    #[test]
    fn components_match_the_pairwise_search_on_random_cuts() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
        for _ in 0..300 {
            let n: u16 = rng.gen_range(1..24);
            let mut c = Cluster::default();
            for _ in 0..rng.gen_range(0..n * 3) {
                c.cut
                    .insert((NodeId(rng.gen_range(0..n)), NodeId(rng.gen_range(0..n))));
            }
            for _ in 0..rng.gen_range(0..3) {
                c.down.insert(NodeId(rng.gen_range(0..n)));
            }
            let mut nodes: Vec<NodeId> = (0..n).map(NodeId).collect();
            if rng.gen_bool(0.5) {
                nodes.reverse();
            }
            assert_eq!(c.components(&nodes), components_pairwise(&c, &nodes));
        }
    }
}

/// A check's words with its nodes named: a [`NodeId`] shows as `#3` where it is formatted
/// (checks know ids, not names), and a person reads `s4`. `Some(#3)` becomes `s4` too; a
/// number past the names stays as it is.
pub fn name_nodes(text: &str, names: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('#') {
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - at - 1);
        let name = rest[at + 1..at + 1 + digits]
            .parse::<usize>()
            .ok()
            .and_then(|i| names.get(i));
        let Some(name) = name else {
            out.push_str(&rest[..=at]);
            rest = &rest[at + 1..];
            continue;
        };
        let before = &rest[..at];
        let after = &rest[at + 1 + digits..];
        match (before.strip_suffix("Some("), after.strip_prefix(')')) {
            (Some(before), Some(after)) => {
                out.push_str(before);
                out.push_str(name);
                rest = after;
            }
            _ => {
                out.push_str(before);
                out.push_str(name);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod naming_tests {
    use super::*;

    #[test]
    fn ids_become_names_and_options_lose_their_wrapper() {
        let names: Vec<String> = ["s1", "s2", "s3", "c1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            name_nodes("#0 follows Some(#3), not #2 (component {#0, #2})", &names),
            "s1 follows c1, not s3 (component {s1, s3})"
        );
        assert_eq!(
            name_nodes("chain #fa, #9 and #", &names),
            "chain #fa, #9 and #"
        );
        assert_eq!(name_nodes("no node", &names), "no node");
    }
}
