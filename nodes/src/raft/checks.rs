//! Raft's checks: the five safety properties of Figure 3 of the Raft paper judged from trace
//! events as the run goes, lock and queue safety from the clients' view, and liveness.

use std::collections::BTreeMap;

use faultline_sim::{Check, Ev, NodeId, Record, Verdict};
use serde::{Deserialize, Serialize};

use super::catch_up::CatchUp;
use super::event::Event;
use super::failover::Failover;
use super::liveness::Liveness;
use super::lock_check::LockSafety;
use super::mirror::Mirror;
use super::queue_check::QueueDelivery;
use super::traffic_budget::TrafficBudget;

/// Time bounds the checks allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// With a majority connected, time from the last fault to a leader.
    pub leader_within_ms: u64,
    /// With a majority and a busy client connected, time from the last fault (or the first
    /// operation after it) to an operation that completes.
    pub progress_within_ms: u64,
    /// Time from a fault to every live replica connected to the leader at its commit index,
    /// judged after every fault that lasts (the `catch-up` check; off when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_up_within_ms: Option<u64>,
    /// Time from a leader's crash (or pause) to a new leader while it stays down and a
    /// majority is connected, after every such crash (the `failover` check; off when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover_within_ms: Option<u64>,
    /// At most this many messages in the run (the `traffic` check; off when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages_max: Option<u64>,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            leader_within_ms: 2000,
            progress_within_ms: 5000,
            catch_up_within_ms: None,
            failover_within_ms: None,
            messages_max: None,
        }
    }
}

/// The five safety properties of Figure 3 of the Raft paper, for a protocol that embeds
/// Raft replicas and judges them beside its own checks.
pub fn safety_checks() -> Vec<Box<dyn Check<Event> + Send>> {
    vec![
        Box::new(ElectionSafety::default()),
        Box::new(LeaderAppendOnly::default()),
        Box::new(LogMatching::default()),
        Box::new(LeaderCompleteness::default()),
        Box::new(StateMachineSafety::default()),
    ]
}

/// Every check, for a run with these servers and clients and this lock lease.
pub fn checks(
    servers: &[NodeId],
    clients: &[NodeId],
    cfg: &ChecksConfig,
    lease_ms: u64,
) -> Vec<Box<dyn Check<Event> + Send>> {
    let mut all: Vec<Box<dyn Check<Event> + Send>> = vec![
        Box::new(ElectionSafety::default()),
        Box::new(LeaderAppendOnly::default()),
        Box::new(LogMatching::default()),
        Box::new(LeaderCompleteness::default()),
        Box::new(StateMachineSafety::default()),
        Box::new(LockSafety::new(lease_ms)),
        Box::new(QueueDelivery::new()),
        Box::new(Liveness::new(servers, clients, cfg)),
        Box::new(super::kv_check::KvLinearizable::default()),
    ];
    if let Some(ms) = cfg.catch_up_within_ms {
        all.push(Box::new(CatchUp::new(servers, ms)));
    }
    if let Some(ms) = cfg.failover_within_ms {
        all.push(Box::new(Failover::new(servers, ms)));
    }
    if let Some(max) = cfg.messages_max {
        all.push(Box::new(TrafficBudget::new(max)));
    }
    all
}

/// Milliseconds, for details.
pub(crate) fn ms(us: u64) -> u64 {
    us / 1000
}

/// At most one leader per term.
#[derive(Default)]
pub(crate) struct ElectionSafety {
    /// The leader of each term.
    leaders: BTreeMap<u64, NodeId>,
}

impl Check<Event> for ElectionSafety {
    fn name(&self) -> &'static str {
        "election-safety"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        if let Ev::Proto {
            event: Event::BecameLeader { term },
        } = &rec.ev
        {
            match self.leaders.insert(*term, rec.node) {
                Some(other) if other != rec.node => {
                    return Err(format!(
                        "term {term} has two leaders: {other} and {}",
                        rec.node
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.leaders.len() as u64,
            "terms",
            format!("{} terms elected a leader, one each", self.leaders.len()),
        )
    }
}

/// A leader never removes entries from its log.
#[derive(Default)]
pub(crate) struct LeaderAppendOnly {
    /// The term each replica currently leads.
    leading: BTreeMap<NodeId, u64>,
    /// Entries appended by leaders.
    appended: u64,
}

impl Check<Event> for LeaderAppendOnly {
    fn name(&self) -> &'static str {
        "leader-append-only"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let node = rec.node;
        match &rec.ev {
            Ev::Proto {
                event: Event::BecameLeader { term },
            } => {
                self.leading.insert(node, *term);
            }
            Ev::Role { role } if role != "leader" => {
                self.leading.remove(&node);
            }
            Ev::Crash => {
                self.leading.remove(&node);
            }
            Ev::Proto {
                event: Event::Truncated { from_index },
            } => {
                if let Some(term) = self.leading.get(&node) {
                    return Err(format!(
                        "{node}, leader of term {term}, truncated its log from index {from_index}"
                    ));
                }
            }
            Ev::Proto {
                event: Event::Appended { .. },
            } if self.leading.contains_key(&node) => self.appended += 1,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.appended,
            "entries appended by leaders",
            format!(
                "leaders appended {} entries and never truncated",
                self.appended
            ),
        )
    }
}

/// Log matching: one chain hash per (index, term) across replicas, so equal (index, term)
/// means equal logs up to it; and every replica's log is consistent with its own events.
#[derive(Default)]
pub(crate) struct LogMatching {
    /// Every replica's log.
    mirror: Mirror,
    /// The chain seen at each (index, term), with the replica that first had it.
    chains: BTreeMap<(u64, u64), (u64, NodeId)>,
}

impl LogMatching {
    fn place(&mut self, node: NodeId, index: u64, term: u64, chain: u64) -> Result<(), String> {
        match self.chains.get(&(index, term)) {
            Some(&(c, other)) if c != chain => Err(format!(
                "index {index} term {term}: {other} has chain {c:016x}, {node} has {chain:016x}"
            )),
            Some(_) => Ok(()),
            None => {
                self.chains.insert((index, term), (chain, node));
                Ok(())
            }
        }
    }
}

impl Check<Event> for LogMatching {
    fn name(&self) -> &'static str {
        "log-matching"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.mirror.observe(rec)?;
        match &rec.ev {
            Ev::Proto {
                event:
                    Event::Appended { index, term, chain }
                    | Event::SnapshotTaken { index, term, chain }
                    | Event::SnapshotInstalled { index, term, chain },
            } => self.place(rec.node, *index, *term, *chain),
            _ => Ok(()),
        }
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.chains.len() as u64,
            "(index, term) pairs",
            format!(
                "{} (index, term) pairs, one log prefix each",
                self.chains.len()
            ),
        )
    }
}

/// Leader completeness: a new leader's log holds every committed entry. By the chain hash,
/// holding the highest committed entry (same chain) means holding all before it.
#[derive(Default)]
pub(crate) struct LeaderCompleteness {
    /// Every replica's log.
    mirror: Mirror,
    /// The highest committed index anywhere, with its chain and who committed it.
    committed: Option<(u64, u64, NodeId)>,
    /// Leaders checked.
    leaders: u64,
}

impl Check<Event> for LeaderCompleteness {
    fn name(&self) -> &'static str {
        "leader-completeness"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.mirror.observe(rec)?;
        let node = rec.node;
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        let log = self.mirror.logs.get(&node);
        match event {
            Event::Committed { index } => {
                let Some((_, chain)) = log.and_then(|l| l.at(*index)) else {
                    return Err(format!(
                        "{node} committed index {index}, which it does not hold"
                    ));
                };
                match self.committed {
                    Some((i, c, other)) if i == *index && c != chain => {
                        return Err(format!(
                            "index {index} committed with chain {c:016x} by {other} and \
                             {chain:016x} by {node}"
                        ));
                    }
                    Some((i, ..)) if i >= *index => {}
                    _ => self.committed = Some((*index, chain, node)),
                }
            }
            Event::BecameLeader { term } => {
                self.leaders += 1;
                let Some((index, chain, by)) = self.committed else {
                    return Ok(());
                };
                let have = log.and_then(|l| l.at(index));
                if have.map(|(_, c)| c) != Some(chain) {
                    let last = log.map_or(0, |l| l.last_index());
                    return Err(format!(
                        "{node} became leader of term {term} without committed index {index} \
                         (chain {chain:016x}, committed by {by}): it has {have:?}, last index \
                         {last}"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let top = self.committed.map_or(0, |c| c.0);
        Verdict::held(
            self.name(),
            self.leaders,
            "new leaders",
            format!(
                "{} new leaders each held every committed entry (highest committed index {top})",
                self.leaders
            ),
        )
    }
}

/// State machine safety: no two replicas apply different entries at an index; each applies
/// in index order, and its commit index never falls within an incarnation.
#[derive(Default)]
pub(crate) struct StateMachineSafety {
    /// The chain applied at each index, with the first replica that applied it.
    applied: BTreeMap<u64, (u64, NodeId)>,
    /// Each replica's next index to apply in its incarnation.
    next: BTreeMap<NodeId, u64>,
    /// Each replica's commit index in its incarnation.
    commit: BTreeMap<NodeId, u64>,
}

impl Check<Event> for StateMachineSafety {
    fn name(&self) -> &'static str {
        "state-machine-safety"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let node = rec.node;
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        match event {
            Event::Restored { snapshot_index, .. } => {
                self.next.insert(node, snapshot_index + 1);
                self.commit.insert(node, *snapshot_index);
            }
            Event::SnapshotInstalled { index, .. } => {
                self.next.insert(node, index + 1);
            }
            Event::Committed { index } => {
                let before = self.commit.insert(node, *index).unwrap_or(0);
                if *index < before {
                    return Err(format!(
                        "{node}'s commit index fell from {before} to {index}"
                    ));
                }
            }
            Event::Applied { index, chain } => {
                let next = self.next.get(&node).copied().unwrap_or(1);
                if *index != next {
                    return Err(format!("{node} applied index {index}, expected {next}"));
                }
                self.next.insert(node, index + 1);
                match self.applied.get(index) {
                    Some(&(c, other)) if c != *chain => {
                        return Err(format!(
                            "index {index}: {other} applied chain {c:016x}, {node} applied \
                             {chain:016x}"
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.applied.insert(*index, (*chain, node));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.applied.len() as u64,
            "applied indexes",
            format!("{} indexes applied, one entry each", self.applied.len()),
        )
    }
}
