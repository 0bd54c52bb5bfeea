//! Expectations over time (`[[expect]]` in a scenario), judged on the trace like any check:
//! who leads during a window, terms at an instant, commits in a window or by a time,
//! messages in a window. They read the `Leader` note and the protocol's [`Fact`]s, so one
//! language serves every protocol.
//!
//! The state between two records is constant, so a window is judged span by span: when a
//! record at a later time arrives, the state before it held over `[previous record, this
//! record)`. An instant is judged with the state of the span that holds it.

use std::collections::{BTreeMap, BTreeSet};

use super::fact::Fact;
use super::{Check, Cluster, Verdict};
use crate::node::NodeId;
use crate::scenario::{ExpectKind, Resolved};
use crate::trace::{Ev, Record, WORLD};

/// One expectation, watching the trace.
pub struct Expectation<E> {
    /// What it asks for, resolved against the scenario.
    spec: Resolved,
    /// The protocol's reading of its events.
    fact: fn(&E) -> Option<Fact>,
    /// Who is up.
    cluster: Cluster,
    /// Nodes whose last `Leader` note names themselves, in their current incarnation.
    leading: BTreeSet<NodeId>,
    /// Whether any node ever reported a leader (or the lack of one).
    leader_notes: bool,
    /// Each node's term: the highest it reported (terms survive a crash).
    term: BTreeMap<NodeId, u64>,
    /// Each node's commit index in its current incarnation.
    commit: BTreeMap<NodeId, u64>,
    /// Each node's applied index in its current incarnation.
    applied: BTreeMap<NodeId, u64>,
    /// Nodes that ever reported a commit or applied index: the replicas.
    replicas: BTreeSet<NodeId>,
    /// The highest commit index any node in scope ever had.
    commit_max: u64,
    /// Committed and caught-up: the highest commit index at `after_us`, once that
    /// instant is passed.
    base: Option<u64>,
    /// The time of the latest record seen (µs).
    now_us: u64,
    /// Window time judged so far (µs).
    covered_us: u64,
    /// An instant's verdict once judged: what it compared and its words.
    instant: Option<(u64, String)>,
    /// Messages counted in the window.
    sent: u64,
    /// Whether a datagram of the label (of any label without one) was ever sent.
    label_seen: bool,
}

/// The expectations of a scenario as checks, reading events through `fact`.
pub fn checks<E: 'static>(
    specs: &[Resolved],
    fact: fn(&E) -> Option<Fact>,
) -> Vec<Box<dyn Check<E> + Send>> {
    specs
        .iter()
        .map(|spec| Box::new(Expectation::new(spec.clone(), fact)) as Box<dyn Check<E> + Send>)
        .collect()
}

fn ms(us: u64) -> u64 {
    us / 1000
}

impl<E> Expectation<E> {
    /// An expectation reading events through `fact`.
    pub fn new(spec: Resolved, fact: fn(&E) -> Option<Fact>) -> Self {
        Expectation {
            spec,
            fact,
            cluster: Cluster::default(),
            leading: BTreeSet::new(),
            leader_notes: false,
            term: BTreeMap::new(),
            commit: BTreeMap::new(),
            applied: BTreeMap::new(),
            replicas: BTreeSet::new(),
            commit_max: 0,
            base: None,
            now_us: 0,
            covered_us: 0,
            instant: None,
            sent: 0,
            label_seen: false,
        }
    }

    fn in_scope(&self, node: NodeId) -> bool {
        node != WORLD && (self.spec.nodes.is_empty() || self.spec.nodes.contains(&node))
    }

    /// The live nodes in scope among `nodes`.
    fn live<'a>(&'a self, nodes: impl Iterator<Item = &'a NodeId> + 'a) -> Vec<NodeId> {
        nodes
            .copied()
            .filter(|n| self.in_scope(*n) && self.cluster.is_up(*n))
            .collect()
    }

    fn window(&self) -> String {
        format!(
            "[{}ms, {}ms)",
            ms(self.spec.from_us),
            ms(self.spec.until_us)
        )
    }

    /// Judges the state that held over `[start_us, end_us)`.
    fn span(&mut self, start_us: u64, end_us: u64) -> Result<(), String> {
        let spec = &self.spec;
        if matches!(spec.kind, ExpectKind::Committed | ExpectKind::CaughtUp)
            && self.base.is_none()
            && start_us <= spec.after_us
            && spec.after_us < end_us
        {
            self.base = Some(self.commit_max);
        }
        let instant = spec.from_us == spec.until_us;
        if instant {
            if self.instant.is_none() && start_us <= spec.from_us && spec.from_us < end_us {
                let judged = self.judge_instant()?;
                self.instant = Some(judged);
            }
            return Ok(());
        }
        let from = start_us.max(spec.from_us);
        let until = end_us.min(spec.until_us);
        if from >= until {
            return Ok(());
        }
        self.judge_window(from)?;
        self.covered_us += until - from;
        Ok(())
    }

    /// Judges the current state inside the window, from `at_us` on.
    fn judge_window(&self, at_us: u64) -> Result<(), String> {
        let leaders = self.live(self.leading.iter());
        match self.spec.kind {
            ExpectKind::Leader if leaders.is_empty() => Err(format!(
                "no leader from {}ms, inside the window {} that expects one",
                ms(at_us),
                self.window()
            )),
            ExpectKind::NoLeader if !leaders.is_empty() => Err(format!(
                "{leaders:?} lead from {}ms, inside the window {} that expects no leader",
                ms(at_us),
                self.window()
            )),
            _ => Ok(()),
        }
    }

    /// Judges the instant: how many nodes it compared, and its words.
    fn judge_instant(&self) -> Result<(u64, String), String> {
        let at = ms(self.spec.from_us);
        match self.spec.kind {
            ExpectKind::SameTerm => {
                let terms: Vec<(NodeId, u64)> = self
                    .live(self.term.keys())
                    .into_iter()
                    .map(|n| (n, self.term[&n]))
                    .collect();
                if let Some(&(other, t)) = terms.iter().find(|(_, t)| *t != terms[0].1) {
                    return Err(format!(
                        "at {at}ms {} is in term {}, {other} in term {t}",
                        terms[0].0, terms[0].1
                    ));
                }
                let term = terms.first().map_or(0, |t| t.1);
                // One node agrees with itself: nothing compared.
                let judged = if terms.len() < 2 { 0 } else { terms.len() };
                Ok((
                    judged as u64,
                    format!("at {at}ms {} live nodes in term {term}", terms.len()),
                ))
            }
            ExpectKind::Committed => {
                let target = match self.spec.index {
                    Some(index) => index,
                    None => self.base.unwrap_or(0) + 1,
                };
                let live = self.live(self.replicas.iter());
                let lacking: Vec<(NodeId, u64)> = live
                    .iter()
                    .map(|n| (*n, self.commit.get(n).copied().unwrap_or(0)))
                    .filter(|(_, have)| *have < target)
                    .collect();
                let have_it = (live.len() - lacking.len()) as u64;
                match self.spec.replicas {
                    // `one(cmd, n)`: at least n of the live replicas.
                    Some(n) if have_it < n => {
                        let behind: Vec<String> =
                            lacking.iter().map(|(n, have)| format!("{n} at {have}")).collect();
                        Err(format!(
                            "by {at}ms {have_it} live replicas committed index {target}, not {n} \
                             (behind: {})",
                            behind.join(", ")
                        ))
                    }
                    Some(n) => Ok((
                        have_it,
                        format!(
                            "by {at}ms {have_it} live replicas (at least {n} wanted) committed index {target}"
                        ),
                    )),
                    None => match lacking.first() {
                        Some((n, have)) => Err(format!(
                            "by {at}ms {n} has committed up to {have}, not {target}"
                        )),
                        None => Ok((
                            live.len() as u64,
                            format!(
                                "by {at}ms {} live replicas committed index {target}",
                                live.len()
                            ),
                        )),
                    },
                }
            }
            ExpectKind::CaughtUp => {
                let live = self.live(self.replicas.iter());
                let target = self.base.unwrap_or(0);
                let since = ms(self.spec.after_us);
                for n in &live {
                    let have = self.applied.get(n).copied().unwrap_or(0);
                    if have < target {
                        return Err(format!(
                            "by {at}ms {n} has applied up to {have}, behind the index {target} \
                             committed by {since}ms"
                        ));
                    }
                }
                Ok((
                    live.len() as u64,
                    format!(
                        "by {at}ms {} live replicas applied up to {target}",
                        live.len()
                    ),
                ))
            }
            _ => Ok((0, String::new())),
        }
    }

    /// Takes in what a record changes.
    fn apply(&mut self, rec: &Record<E>) -> Result<(), String> {
        self.cluster.observe(rec);
        let node = rec.node;
        match &rec.ev {
            Ev::Crash => {
                self.leading.remove(&node);
                self.commit.remove(&node);
                self.applied.remove(&node);
            }
            Ev::Leader { leader } => {
                self.leader_notes = true;
                if *leader == Some(node) {
                    self.leading.insert(node);
                } else {
                    self.leading.remove(&node);
                }
            }
            Ev::Send { label, .. } if self.spec.kind == ExpectKind::Messages => {
                let counted = self.spec.label.as_deref().is_none_or(|l| l == label);
                self.label_seen |= counted;
                let inside = self.spec.from_us <= rec.t && rec.t < self.spec.until_us;
                if counted && inside && self.in_scope(node) {
                    self.sent += 1;
                    if self.sent > self.spec.max {
                        return Err(format!(
                            "{} {}messages sent in {}, more than {}",
                            self.sent,
                            self.spec
                                .label
                                .as_deref()
                                .map_or(String::new(), |l| l.to_string() + " "),
                            self.window(),
                            self.spec.max
                        ));
                    }
                }
            }
            Ev::Proto { event } => match (self.fact)(event) {
                Some(Fact::Term(t)) => {
                    let term = self.term.entry(node).or_insert(0);
                    *term = (*term).max(t);
                }
                Some(Fact::Commit(i)) => self.committed(node, rec.t, i)?,
                Some(Fact::Applied(i)) => {
                    self.applied.insert(node, i);
                    self.committed(node, rec.t, i)?;
                }
                None => {}
            },
            _ => {}
        }
        Ok(())
    }

    /// `node`'s commit index is at least `index` at `t_us`.
    fn committed(&mut self, node: NodeId, t_us: u64, index: u64) -> Result<(), String> {
        self.replicas.insert(node);
        let commit = self.commit.entry(node).or_insert(0);
        *commit = (*commit).max(index);
        if !self.in_scope(node) || index <= self.commit_max {
            return Ok(());
        }
        let before = self.commit_max;
        self.commit_max = index;
        let spec = &self.spec;
        if spec.kind == ExpectKind::NoCommit && spec.from_us <= t_us && t_us < spec.until_us {
            return Err(format!(
                "{node} committed index {index} (beyond {before}) at {}ms, inside the window {} \
                 that expects no commit",
                ms(t_us),
                self.window()
            ));
        }
        Ok(())
    }

    /// Why the run says nothing about this expectation, when it does not.
    fn unjudged(&self, end_us: u64) -> Option<String> {
        let spec = &self.spec;
        if end_us < spec.until_us {
            return Some(format!(
                "the run ended at {}ms, before {}ms",
                ms(end_us),
                ms(spec.until_us)
            ));
        }
        match spec.kind {
            ExpectKind::Leader | ExpectKind::NoLeader if !self.leader_notes => {
                Some("no node ever reported a leader".into())
            }
            ExpectKind::NoCommit | ExpectKind::Committed | ExpectKind::CaughtUp
                if self.replicas.is_empty() =>
            {
                Some("no node ever reported a commit or applied index".into())
            }
            ExpectKind::SameTerm if self.term.is_empty() => {
                Some("no node ever reported a term".into())
            }
            ExpectKind::Messages if !self.label_seen => Some(match &spec.label {
                Some(label) => format!("no `{label}` message was sent all run"),
                None => "no message was sent all run".into(),
            }),
            _ => None,
        }
    }
}

impl<E> Check<E> for Expectation<E> {
    fn name(&self) -> &str {
        &self.spec.name
    }

    fn sees_traffic(&self) -> bool {
        self.spec.kind == ExpectKind::Messages
    }

    fn observe(&mut self, rec: &Record<E>) -> Result<(), String> {
        if rec.t > self.now_us {
            self.span(self.now_us, rec.t)?;
            self.now_us = rec.t;
        }
        self.apply(rec)
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        // The last span reaches the end itself, so an instant at the very end is judged.
        if let Err(detail) = self.span(self.now_us, end_us.saturating_add(1)) {
            return Verdict::violated(self.name(), detail);
        }
        let kind = self.spec.kind.name();
        if let Some(why) = self.unjudged(end_us) {
            return Verdict::held(self.name(), 0, "", format!("{kind}: not judged: {why}"));
        }
        let (judged, what, detail) = match self.spec.kind {
            ExpectKind::Leader => (
                self.covered_us / 1000,
                "ms",
                format!("a leader throughout {}", self.window()),
            ),
            ExpectKind::NoLeader => (
                self.covered_us / 1000,
                "ms",
                format!("no leader throughout {}", self.window()),
            ),
            ExpectKind::NoCommit => (
                self.covered_us / 1000,
                "ms",
                format!(
                    "nothing committed in {} (highest index {})",
                    self.window(),
                    self.commit_max
                ),
            ),
            ExpectKind::Messages => (
                self.covered_us / 1000,
                "ms",
                format!(
                    "{} {}messages sent in {}, at most {}",
                    self.sent,
                    self.spec
                        .label
                        .as_deref()
                        .map_or(String::new(), |l| l.to_string() + " "),
                    self.window(),
                    self.spec.max
                ),
            ),
            ExpectKind::SameTerm | ExpectKind::Committed | ExpectKind::CaughtUp => {
                let (n, detail) = self.instant.clone().unwrap_or_default();
                (n, "live nodes", detail)
            }
        };
        Verdict::held(self.name(), judged, what, format!("{kind}: {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::judge;

    /// A toy protocol's events: each is one fact.
    type Event = Fact;

    fn fact(e: &Event) -> Option<Fact> {
        Some(*e)
    }

    fn spec(kind: ExpectKind, from_ms: u64, until_ms: u64) -> Resolved {
        Resolved {
            name: format!("expect-{}", kind.name()),
            kind,
            nodes: Vec::new(),
            from_us: from_ms * 1000,
            until_us: until_ms * 1000,
            after_us: 0,
            index: None,
            replicas: None,
            max: 0,
            label: None,
        }
    }

    fn at(ms: u64, node: u16, ev: Ev<Event>) -> Record<Event> {
        Record {
            t: ms * 1000,
            node: NodeId(node),
            ev,
        }
    }

    fn leads(ms: u64, node: u16) -> Record<Event> {
        at(
            ms,
            node,
            Ev::Leader {
                leader: Some(NodeId(node)),
            },
        )
    }

    fn follows(ms: u64, node: u16, leader: Option<u16>) -> Record<Event> {
        at(
            ms,
            node,
            Ev::Leader {
                leader: leader.map(NodeId),
            },
        )
    }

    fn proto(ms: u64, node: u16, f: Fact) -> Record<Event> {
        at(ms, node, Ev::Proto { event: f })
    }

    fn send(ms: u64, node: u16, label: &'static str) -> Record<Event> {
        at(
            ms,
            node,
            Ev::Send {
                to: None,
                id: ms,
                label: label.into(),
            },
        )
    }

    fn run(spec: Resolved, records: &[Record<Event>], end_ms: u64) -> Verdict {
        let mut checks = checks(&[spec], fact);
        judge(&mut checks, records, end_ms * 1000).remove(0)
    }

    /// s1 leads from 0 until it crashes at 5 s; s2 leads from 6 s.
    fn handover() -> Vec<Record<Event>> {
        vec![
            leads(0, 0),
            follows(0, 1, Some(0)),
            at(5000, 0, Ev::Crash),
            follows(5000, 1, None),
            leads(6000, 1),
        ]
    }

    #[test]
    fn leader_holds_in_a_window_with_a_leader_and_fails_across_a_gap() {
        let v = run(spec(ExpectKind::Leader, 1000, 4000), &handover(), 10_000);
        assert!(v.ok && v.judged == 3000, "{v:?}");
        let v = run(spec(ExpectKind::Leader, 1000, 8000), &handover(), 10_000);
        assert!(!v.ok && !v.vacuous, "{v:?}");
        assert!(v.detail.contains("no leader from 5000ms"), "{}", v.detail);
    }

    #[test]
    fn no_leader_holds_in_the_gap_only() {
        let v = run(spec(ExpectKind::NoLeader, 5000, 6000), &handover(), 10_000);
        assert!(v.ok && v.judged == 1000, "{v:?}");
        let v = run(spec(ExpectKind::NoLeader, 5500, 7000), &handover(), 10_000);
        assert!(!v.ok, "{v:?}");
        assert!(v.detail.contains("#1"), "{}", v.detail);
        // Only the nodes in scope count: s2's leadership is none of its business.
        let mut only_s1 = spec(ExpectKind::NoLeader, 5500, 7000);
        only_s1.nodes = vec![NodeId(0)];
        assert!(run(only_s1, &handover(), 10_000).ok);
    }

    #[test]
    fn a_window_past_the_end_or_without_leader_notes_is_vacuous() {
        let v = run(spec(ExpectKind::Leader, 1000, 4000), &handover(), 3000);
        assert!(!v.ok && v.vacuous, "{v:?}");
        assert!(v.detail.contains("ended at 3000ms"), "{}", v.detail);
        let v = run(spec(ExpectKind::NoLeader, 1000, 4000), &[], 10_000);
        assert!(!v.ok && v.vacuous, "{v:?}");
    }

    #[test]
    fn same_term_compares_live_nodes_at_the_instant() {
        let records = vec![
            proto(0, 0, Fact::Term(1)),
            proto(0, 1, Fact::Term(1)),
            proto(0, 2, Fact::Term(1)),
            proto(3000, 2, Fact::Term(2)),
            // A lower term never lowers a node's term.
            proto(3500, 2, Fact::Term(1)),
            proto(4000, 0, Fact::Term(2)),
            proto(4000, 1, Fact::Term(2)),
        ];
        let v = run(spec(ExpectKind::SameTerm, 2000, 2000), &records, 10_000);
        assert!(v.ok && v.judged == 3, "{v:?}");
        let v = run(spec(ExpectKind::SameTerm, 5000, 5000), &records, 10_000);
        assert!(v.ok, "{v:?}");
        let v = run(spec(ExpectKind::SameTerm, 3200, 3200), &records, 10_000);
        assert!(!v.ok && !v.vacuous, "{v:?}");
        assert!(v.detail.contains("term 2"), "{}", v.detail);
        // A crashed node is not compared: one node left compares nothing.
        let mut crashed = records.clone();
        crashed.insert(3, at(2500, 0, Ev::Crash));
        crashed.insert(4, at(2500, 1, Ev::Crash));
        let v = run(spec(ExpectKind::SameTerm, 3200, 3200), &crashed, 10_000);
        assert!(!v.ok && v.vacuous, "{v:?}");
    }

    fn commits() -> Vec<Record<Event>> {
        vec![
            proto(1000, 0, Fact::Commit(3)),
            proto(1000, 0, Fact::Applied(3)),
            proto(1100, 1, Fact::Applied(3)),
            proto(6000, 0, Fact::Commit(5)),
            proto(6000, 0, Fact::Applied(5)),
            proto(6200, 1, Fact::Applied(5)),
        ]
    }

    #[test]
    fn no_commit_fails_when_the_highest_index_rises_in_the_window() {
        let v = run(spec(ExpectKind::NoCommit, 2000, 5000), &commits(), 10_000);
        assert!(v.ok && v.judged == 3000, "{v:?}");
        let v = run(spec(ExpectKind::NoCommit, 2000, 7000), &commits(), 10_000);
        assert!(!v.ok && !v.vacuous, "{v:?}");
        assert!(v.detail.contains("index 5"), "{}", v.detail);
        // A replica catching up to what was committed commits nothing new.
        let mut late = commits();
        late.push(at(7000, 1, Ev::Crash));
        late.push(proto(8000, 1, Fact::Applied(5)));
        assert!(run(spec(ExpectKind::NoCommit, 7000, 9000), &late, 10_000).ok);
        // Without commit facts there is nothing to judge.
        let v = run(spec(ExpectKind::NoCommit, 2000, 5000), &handover(), 10_000);
        assert!(!v.ok && v.vacuous, "{v:?}");
    }

    #[test]
    fn committed_wants_an_entry_newer_than_after_on_every_live_replica() {
        let mut newer = spec(ExpectKind::Committed, 7000, 7000);
        newer.after_us = 2_000_000;
        let v = run(newer.clone(), &commits(), 10_000);
        assert!(v.ok && v.judged == 2, "{v:?}");
        // By 6.1 s s2 has not heard of index 4 or 5 yet.
        let mut early = newer.clone();
        (early.from_us, early.until_us) = (6_100_000, 6_100_000);
        let v = run(early, &commits(), 10_000);
        assert!(
            !v.ok && v.detail.contains("#1 has committed up to 3"),
            "{v:?}"
        );
        // A fixed index.
        let mut index = spec(ExpectKind::Committed, 3000, 3000);
        index.index = Some(3);
        assert!(run(index.clone(), &commits(), 10_000).ok);
        index.index = Some(4);
        assert!(!run(index, &commits(), 10_000).ok);
        // At least n replicas: by 6.1 s s1 has index 5, s2 has not.
        let mut one = spec(ExpectKind::Committed, 6100, 6100);
        one.index = Some(5);
        assert!(!run(one.clone(), &commits(), 10_000).ok);
        one.replicas = Some(1);
        let v = run(one.clone(), &commits(), 10_000);
        assert!(v.ok && v.judged == 1, "{v:?}");
        one.replicas = Some(2);
        let v = run(one, &commits(), 10_000);
        assert!(!v.ok && v.detail.contains("not 2"), "{v:?}");
        // A replica that crashed is not live; one that restarted and has not caught up is.
        let mut restarted = commits();
        restarted.push(at(6500, 1, Ev::Crash));
        assert!(run(newer.clone(), &restarted, 10_000).ok);
        restarted.push(at(6600, 1, Ev::Restart));
        restarted.push(proto(6600, 1, Fact::Applied(2)));
        assert!(!run(newer, &restarted, 10_000).ok);
    }

    /// Caught-up by `by_ms`, allowing entries committed in the last `lag_ms`.
    fn caught_up(by_ms: u64, lag_ms: u64) -> Resolved {
        let mut spec = spec(ExpectKind::CaughtUp, by_ms, by_ms);
        spec.after_us = (by_ms - lag_ms) * 1000;
        spec
    }

    #[test]
    fn caught_up_wants_every_live_replica_to_apply_what_was_committed_lag_before() {
        let v = run(caught_up(7000, 0), &commits(), 10_000);
        assert!(v.ok && v.judged == 2, "{v:?}");
        // At 6.1 s s2 has applied 3 of the 5 committed at 6 s.
        let v = run(caught_up(6100, 0), &commits(), 10_000);
        assert!(
            !v.ok && v.detail.contains("#1 has applied up to 3"),
            "{v:?}"
        );
        // Entries committed within the lag may still be on their way.
        assert!(run(caught_up(6100, 500), &commits(), 10_000).ok);
        // Judged at the very end of the run too.
        let v = run(caught_up(10_000, 1000), &commits(), 10_000);
        assert!(v.ok && v.judged == 2, "{v:?}");
        let v = run(caught_up(7000, 1000), &handover(), 10_000);
        assert!(!v.ok && v.vacuous, "{v:?}");
    }

    #[test]
    fn messages_counts_a_label_in_the_window_and_fails_past_the_most() {
        let records = vec![
            send(500, 0, "VOTE"),
            send(1500, 0, "VOTE"),
            send(1600, 1, "HB"),
            send(2500, 1, "VOTE"),
            send(4500, 1, "VOTE"),
        ];
        let mut votes = spec(ExpectKind::Messages, 1000, 4000);
        votes.label = Some("VOTE".into());
        votes.max = 2;
        let v = run(votes.clone(), &records, 10_000);
        assert!(v.ok && v.detail.contains("2 VOTE messages"), "{v:?}");
        votes.max = 1;
        let v = run(votes.clone(), &records, 10_000);
        assert!(!v.ok && v.detail.contains("2 VOTE messages"), "{v:?}");
        let mut all = spec(ExpectKind::Messages, 1000, 4000);
        all.max = 2;
        assert!(!run(all, &records, 10_000).ok, "3 messages of any label");
        // A label never sent (a typo?) judges nothing.
        votes.label = Some("VOTES".into());
        let v = run(votes, &records, 10_000);
        assert!(!v.ok && v.vacuous && v.detail.contains("`VOTES`"), "{v:?}");
    }
}
