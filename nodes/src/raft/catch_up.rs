//! Catch-up: once the faults have been still for `catch_up_within_ms`, every live replica
//! connected to the leader holds the commit index the leader had `lag` before that instant.
//! Judged after every fault that lasts that long, not only the last: a leader that cannot
//! bring a rejoined follower up to date (it re-sends what the follower refuses, for ever)
//! fails here even when clients keep getting answers from the majority.

use std::collections::BTreeMap;

use faultline_sim::{Check, Cluster, Ev, NodeId, Record, Verdict};

use super::checks::ms;
use super::event::Event;

/// How long before the deadline the leader's commit index is taken: a follower learns of a
/// commit with the next append or heartbeat, so it is judged on what the leader had then.
const LAG_US: u64 = 1_000_000;

/// Every connected live replica reaches the leader's commit index.
pub(crate) struct CatchUp {
    /// The replicas.
    servers: Vec<NodeId>,
    /// Allowed time from a fault to every connected replica caught up (µs).
    within_us: u64,
    /// Who is up (paused replicas are not), which links are cut.
    cluster: Cluster,
    /// The term each live replica leads, while it plays leader.
    leading: BTreeMap<NodeId, u64>,
    /// The highest term anyone was elected in.
    term_max: u64,
    /// Each live replica's commit index.
    commit: BTreeMap<NodeId, u64>,
    /// The leader and its commit index `LAG_US` before the current deadline, once taken;
    /// `Some(None)`: there was no leader then, and this window is not judged.
    target: Option<Option<(NodeId, u64)>>,
    /// The current window was judged.
    judged_window: bool,
    /// Windows judged so far.
    judged: u64,
    /// The last window's outcome, for the verdict.
    last: String,
}

impl CatchUp {
    pub(crate) fn new(servers: &[NodeId], within_ms: u64) -> CatchUp {
        CatchUp {
            servers: servers.to_vec(),
            within_us: within_ms.saturating_mul(1000).max(LAG_US),
            cluster: Cluster::default(),
            leading: BTreeMap::new(),
            term_max: 0,
            commit: BTreeMap::new(),
            target: None,
            judged_window: false,
            judged: 0,
            last: String::new(),
        }
    }

    /// The replica leading the highest term, if it is up.
    fn leader(&self) -> Option<NodeId> {
        self.leading
            .iter()
            .find(|(n, term)| **term == self.term_max && self.cluster.is_up(**n))
            .map(|(n, _)| *n)
    }

    /// Takes what is due by `t_us`: the target, then the judgement.
    fn due(&mut self, t_us: u64) -> Result<(), String> {
        if self.judged_window {
            return Ok(());
        }
        let deadline = self.cluster.last_change_us.saturating_add(self.within_us);
        if self.target.is_none() && t_us >= deadline - LAG_US {
            self.target = Some(
                self.leader()
                    .map(|l| (l, self.commit.get(&l).copied().unwrap_or(0))),
            );
        }
        if t_us < deadline {
            return Ok(());
        }
        self.judged_window = true;
        let Some(Some((leader, index))) = self.target else {
            return Ok(());
        };
        if !self.cluster.is_up(leader) || index == 0 {
            return Ok(());
        }
        let group = self
            .cluster
            .components(&self.servers)
            .into_iter()
            .find(|c| c.contains(&leader))
            .unwrap_or_default();
        let behind: Vec<String> = group
            .iter()
            .filter(|s| self.commit.get(s).copied().unwrap_or(0) < index)
            .map(|s| format!("{s} at {}", self.commit.get(s).copied().unwrap_or(0)))
            .collect();
        if !behind.is_empty() {
            return Err(format!(
                "by {}ms ({}ms after the fault at {}ms) {} not caught up to {leader}'s commit index {index}",
                ms(deadline),
                ms(self.within_us),
                ms(self.cluster.last_change_us),
                behind.join(", ")
            ));
        }
        self.judged += 1;
        self.last = format!(
            "{} replicas at {leader}'s commit index {index} by {}ms",
            group.len(),
            ms(deadline)
        );
        Ok(())
    }
}

impl Check<Event> for CatchUp {
    fn name(&self) -> &'static str {
        "catch-up"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.due(rec.t)?;
        let node = rec.node;
        if self.cluster.observe(rec) {
            if matches!(rec.ev, Ev::Crash) {
                self.leading.remove(&node);
                self.commit.remove(&node);
            }
            self.target = None;
            self.judged_window = false;
        }
        match &rec.ev {
            Ev::Proto {
                event: Event::BecameLeader { term },
            } => {
                self.leading.insert(node, *term);
                self.term_max = self.term_max.max(*term);
            }
            Ev::Role { role } if role != "leader" => {
                self.leading.remove(&node);
            }
            Ev::Proto {
                event: Event::Committed { index },
            } => {
                self.commit.insert(node, *index);
            }
            Ev::Proto {
                event: Event::Restored { snapshot_index, .. },
            } => {
                self.commit.insert(node, *snapshot_index);
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let result = self.due(end_us).map(|()| {
            if self.judged == 0 {
                format!(
                    "not judged: no leader with commits was still for {}ms after a fault",
                    ms(self.within_us)
                )
            } else {
                format!("{} windows after faults; last: {}", self.judged, self.last)
            }
        });
        Verdict::from_result(self.name(), self.judged, "windows", result)
    }
}
