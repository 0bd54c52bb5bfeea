//! Failover after every fault, not only the last: a leader that crashes while a majority of
//! replicas stays up and connected is replaced within `failover_within_ms`, as long as it
//! stays down. A group that sits on a dead leader for seconds fails here even when the
//! leader restarts before the run ends (which [`super::liveness`] alone would forgive).

use std::collections::BTreeMap;

use faultline_sim::{Check, Cluster, Ev, NodeId, Record, Verdict};

use super::checks::ms;
use super::event::Event;

/// A crashed leader waiting to be replaced.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// The crashed leader.
    node: NodeId,
    /// When it crashed (µs).
    at_us: u64,
    /// The term it led.
    term: u64,
}

/// Each crashed leader is replaced in time.
pub(crate) struct Failover {
    /// The replicas.
    servers: Vec<NodeId>,
    /// Allowed time from a leader's crash to a new leader (µs).
    within_us: u64,
    /// Who is up, which links are cut.
    cluster: Cluster,
    /// The term each live replica leads, while it plays leader.
    leading: BTreeMap<NodeId, u64>,
    /// The highest term anyone was elected in.
    term_max: u64,
    /// The crash being judged.
    pending: Option<Pending>,
    /// Failovers judged (each in time).
    judged: u64,
    /// The slowest one, in µs.
    slowest_us: u64,
}

impl Failover {
    pub(crate) fn new(servers: &[NodeId], within_ms: u64) -> Failover {
        Failover {
            servers: servers.to_vec(),
            within_us: within_ms.saturating_mul(1000),
            cluster: Cluster::default(),
            leading: BTreeMap::new(),
            term_max: 0,
            pending: None,
            judged: 0,
            slowest_us: 0,
        }
    }

    /// Whether a majority of the replicas is up and connected.
    fn majority(&self) -> bool {
        let quorum = self.servers.len() / 2 + 1;
        self.cluster
            .components(&self.servers)
            .iter()
            .any(|c| c.len() >= quorum)
    }

    /// Fails when the pending crash's deadline has passed by `t_us`.
    fn due(&self, t_us: u64) -> Result<(), String> {
        match self.pending {
            Some(p) if t_us > p.at_us.saturating_add(self.within_us) => Err(format!(
                "leader {} of term {} crashed at {}ms and stayed down; no new leader by {}ms with a majority up and connected",
                p.node,
                p.term,
                ms(p.at_us),
                ms(p.at_us + self.within_us)
            )),
            _ => Ok(()),
        }
    }
}

impl Check<Event> for Failover {
    fn name(&self) -> &'static str {
        "failover"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.due(rec.t)?;
        let node = rec.node;
        if self.cluster.observe(rec) {
            let led = self.leading.get(&node) == Some(&self.term_max);
            // A paused leader is as gone for the others as a crashed one.
            if matches!(rec.ev, Ev::Crash | Ev::Pause) {
                if matches!(rec.ev, Ev::Crash) {
                    self.leading.remove(&node);
                }
                if led && self.pending.is_none() && self.majority() {
                    self.pending = Some(Pending {
                        node,
                        at_us: rec.t,
                        term: self.term_max,
                    });
                    return Ok(());
                }
            }
            // The leader came back, or the majority is gone: nothing to judge this time.
            if self.pending.is_some_and(|p| p.node == node) || !self.majority() {
                self.pending = None;
            }
        }
        match &rec.ev {
            Ev::Proto {
                event: Event::BecameLeader { term },
            } => {
                self.leading.insert(node, *term);
                self.term_max = self.term_max.max(*term);
                if let Some(p) = self.pending.filter(|p| *term > p.term) {
                    self.judged += 1;
                    self.slowest_us = self.slowest_us.max(rec.t - p.at_us);
                    self.pending = None;
                }
            }
            Ev::Role { role } if role != "leader" => {
                self.leading.remove(&node);
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let result = self.due(end_us).map(|()| match self.judged {
            0 => "not judged: no leader crashed with a majority left to replace it".to_string(),
            n => format!(
                "{n} crashed leaders replaced, the slowest in {}ms (bound {}ms)",
                ms(self.slowest_us),
                ms(self.within_us)
            ),
        });
        Verdict::from_result(self.name(), self.judged, "failovers", result)
    }
}
