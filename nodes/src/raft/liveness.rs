//! Liveness: with a majority of servers connected, a leader within `leader_within_ms` of the
//! last fault, and, with a client there that has work, an operation that completes (ok or a
//! definite refusal) within `progress_within_ms` of the last fault or of the first operation
//! after it.

use std::collections::BTreeMap;

use faultline_sim::{Check, Cluster, Ev, NodeId, Record, Verdict};

use super::checks::{ms, ChecksConfig};
use super::event::Event;
use super::op::Outcome;

/// A leader and progress after the last fault.
pub(crate) struct Liveness {
    /// The servers.
    servers: Vec<NodeId>,
    /// The clients.
    clients: Vec<NodeId>,
    /// Allowed time to a leader (µs).
    leader_within_us: u64,
    /// Allowed time to a completed operation (µs).
    progress_within_us: u64,
    /// Who is up, which links are cut.
    cluster: Cluster,
    /// The term each live server leads, while it plays leader.
    leading: BTreeMap<NodeId, u64>,
    /// The highest term anyone was elected in.
    term_max: u64,
    /// Each client's outstanding operation: its invoke time (µs).
    outstanding: BTreeMap<NodeId, u64>,
    /// Servers of the majority component since the last change (empty: none).
    majority: Vec<NodeId>,
    /// Clients connected to that component.
    majority_clients: Vec<NodeId>,
    /// When a current leader was first seen in that component after the last change.
    leader_at_us: Option<u64>,
    /// When a client of that component first had work after the last change.
    busy_at_us: Option<u64>,
    /// When an operation first completed after `busy_at_us`.
    done_at_us: Option<u64>,
}

impl Liveness {
    pub(crate) fn new(servers: &[NodeId], clients: &[NodeId], cfg: &ChecksConfig) -> Liveness {
        let mut live = Liveness {
            servers: servers.to_vec(),
            clients: clients.to_vec(),
            leader_within_us: cfg.leader_within_ms.saturating_mul(1000),
            progress_within_us: cfg.progress_within_ms.saturating_mul(1000),
            cluster: Cluster::default(),
            leading: BTreeMap::new(),
            term_max: 0,
            outstanding: BTreeMap::new(),
            majority: Vec::new(),
            majority_clients: Vec::new(),
            leader_at_us: None,
            busy_at_us: None,
            done_at_us: None,
        };
        live.regroup();
        live
    }

    /// Recomputes the majority component after a fault changed the cluster.
    fn regroup(&mut self) {
        let quorum = self.servers.len() / 2 + 1;
        self.majority = self
            .cluster
            .components(&self.servers)
            .into_iter()
            .find(|c| c.len() >= quorum)
            .unwrap_or_default();
        let mut all: Vec<NodeId> = self.servers.iter().chain(&self.clients).copied().collect();
        all.sort();
        self.majority_clients = self
            .cluster
            .components(&all)
            .into_iter()
            .find(|c| self.majority.first().is_some_and(|s| c.contains(s)))
            .unwrap_or_default()
            .into_iter()
            .filter(|n| self.clients.contains(n))
            .collect();
        self.leader_at_us = None;
        self.busy_at_us = None;
        self.done_at_us = None;
    }

    fn update(&mut self, t_us: u64) {
        if self.majority.is_empty() {
            return;
        }
        if self.leader_at_us.is_none()
            && self
                .majority
                .iter()
                .any(|s| self.leading.get(s) == Some(&self.term_max))
        {
            self.leader_at_us = Some(t_us);
        }
        if self.busy_at_us.is_none()
            && self
                .majority_clients
                .iter()
                .any(|c| self.outstanding.contains_key(c))
        {
            self.busy_at_us = Some(t_us);
        }
    }

    /// The verdict's words, and how many deadlines were judged: the leader's, and the
    /// progress's when the run has clients. A run with clients whose progress was not
    /// judged judged nothing that matters: 0.
    fn judge(&self, end_us: u64) -> (u64, Result<String, String>) {
        let last_us = self.cluster.last_change_us;
        if self.majority.is_empty() {
            return (
                0,
                Ok(format!(
                    "not judged: no majority of servers connected after the last fault ({}ms)",
                    ms(last_us)
                )),
            );
        }
        let mut judged = 0;
        let mut progress_judged = false;
        let mut said = Vec::new();
        let deadline_us = last_us.saturating_add(self.leader_within_us);
        match self.leader_at_us {
            _ if end_us < deadline_us => said.push("leader not judged (run too short)".into()),
            Some(t) if t <= deadline_us => {
                judged += 1;
                said.push(format!("leader at {}ms", ms(t)));
            }
            Some(t) => {
                return (
                    0,
                    Err(format!(
                        "first leader at {}ms, after the deadline {}ms (last fault at {}ms)",
                        ms(t),
                        ms(deadline_us),
                        ms(last_us)
                    )),
                )
            }
            None => {
                return (
                    0,
                    Err(format!(
                        "no leader in {:?} by {}ms (last fault at {}ms)",
                        self.majority,
                        ms(end_us),
                        ms(last_us)
                    )),
                )
            }
        }
        match self.busy_at_us {
            None => said.push("progress not judged (no client had work)".into()),
            Some(busy) => {
                let deadline_us = busy.saturating_add(self.progress_within_us);
                match self.done_at_us {
                    Some(t) if t <= deadline_us => {
                        judged += 1;
                        progress_judged = true;
                        said.push(format!("an operation completed at {}ms", ms(t)))
                    }
                    _ if end_us < deadline_us => {
                        said.push("progress not judged (run too short)".into())
                    }
                    _ => {
                        return (
                            0,
                            Err(format!(
                                "clients had work from {}ms but none completed by {}ms",
                                ms(busy),
                                ms(deadline_us)
                            )),
                        )
                    }
                }
            }
        }
        if !self.clients.is_empty() && !progress_judged {
            judged = 0;
        }
        let detail = format!(
            "after the last fault at {}ms: {}",
            ms(last_us),
            said.join("; ")
        );
        (judged, Ok(detail))
    }
}

impl Check<Event> for Liveness {
    fn name(&self) -> &'static str {
        "liveness"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let node = rec.node;
        if self.cluster.observe(rec) {
            if matches!(rec.ev, Ev::Crash) {
                self.leading.remove(&node);
                self.outstanding.remove(&node);
            }
            self.regroup();
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
                event: Event::Invoke { .. },
            } => {
                self.outstanding.insert(node, rec.t);
            }
            Ev::Proto {
                event: Event::Return { result, .. },
            } => {
                self.outstanding.remove(&node);
                let done = !matches!(**result, Outcome::Unknown);
                if done && self.busy_at_us.is_some() && self.done_at_us.is_none() {
                    self.done_at_us = Some(rec.t);
                }
            }
            _ => {}
        }
        self.update(rec.t);
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let (judged, result) = self.judge(end_us);
        Verdict::from_result(self.name(), judged, "deadlines", result)
    }
}
