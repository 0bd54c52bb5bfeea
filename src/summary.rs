//! What a run comes to, derived from its trace alone (so a simulated and a real run are
//! summarised alike): elections, recoveries after faults, message counts, check verdicts.

use std::collections::BTreeMap;

use faultline_sim::{Cluster, Ev, NodeId, Record, Verdict, WORLD};
use serde::{Deserialize, Serialize};

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The scenario's name.
    pub scenario: String,
    /// The protocol.
    pub protocol: String,
    /// The seed.
    pub seed: u64,
    /// Planted bugs switched on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<String>,
    /// The trace digest.
    pub digest: String,
    /// "pass"; "fail"; or "vacuous": no check was violated, but some that must judge
    /// something judged nothing (exit code 1 all the same).
    pub verdict: String,
    /// When the run ended, in milliseconds (early when a check failed).
    pub end_ms: f64,
    /// Node names, indexed by id.
    pub nodes: Vec<String>,
    /// One entry per check.
    pub checks: Vec<Verdict>,
    /// The checks that judged nothing, whether the scenario allows it or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vacuous: Vec<String>,
    /// Each election: from the first candidate to the winner taking office.
    pub elections: Vec<Election>,
    /// Each fault and how long the group took to agree on a live leader again.
    pub recoveries: Vec<Recovery>,
    /// Datagram counts.
    pub messages: Messages,
    /// Events in the trace.
    pub events: u64,
    /// Protocol facts (client operations, latencies, terms), when the protocol gives any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// One election.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Election {
    /// When the first node of this election became a candidate.
    pub started_ms: f64,
    /// When the winner took office.
    pub decided_ms: f64,
    /// The winner's name.
    pub leader: String,
}

/// One fault and the recovery from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// What happened ("crash s5", "heal", "partition s1,s2 | s3,s4,s5").
    pub fault: String,
    /// When.
    pub at_ms: f64,
    /// How long until every group of connected live servers agreed on a live leader;
    /// `None` when that never happened before the run ended.
    pub recovered_ms: Option<f64>,
}

/// Datagram counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Messages {
    /// Datagrams sent (a multicast counts once).
    pub sent: u64,
    /// Datagrams handed to a node.
    pub delivered: u64,
    /// Datagrams lost to partitions, loss or missing routes.
    pub dropped: u64,
    /// Datagrams refused for a bad checksum or encoding.
    pub corrupt: u64,
    /// Sends by message label.
    pub by_label: BTreeMap<String, u64>,
}

/// The roles that take part in elections.
fn is_elector_role(role: &str) -> bool {
    matches!(role, "leader" | "follower" | "candidate")
}

/// Walks the trace once and derives elections, recoveries and counts.
pub struct Analysis {
    /// Elections in order.
    pub elections: Vec<Election>,
    /// Recoveries in order.
    pub recoveries: Vec<Recovery>,
    /// Counts.
    pub messages: Messages,
}

/// Derives the summary's facts from a trace.
pub fn analyse<E>(records: &[Record<E>], names: &[String]) -> Analysis {
    let name = |n: NodeId| {
        names
            .get(n.0 as usize)
            .cloned()
            .unwrap_or_else(|| n.to_string())
    };
    let nodes = names.len();
    let mut cluster = Cluster::default();
    let mut role: Vec<Option<String>> = vec![None; nodes];
    let mut leader: Vec<Option<NodeId>> = vec![None; nodes];
    let mut elector = vec![false; nodes];
    let mut election_open: Option<u64> = None;
    let mut elections = Vec::new();
    let mut recoveries: Vec<Recovery> = Vec::new();
    let mut pending: Vec<usize> = Vec::new();
    let mut messages = Messages::default();

    for rec in records {
        let i = rec.node.0 as usize;
        let mut changed = cluster.observe(rec);
        match &rec.ev {
            Ev::Send { label, .. } => {
                messages.sent += 1;
                // Counted in place: a key is allocated once per label, not once per send.
                match messages.by_label.get_mut(label.as_ref()) {
                    Some(count) => *count += 1,
                    None => {
                        messages.by_label.insert(label.to_string(), 1);
                    }
                }
            }
            Ev::Deliver { .. } => messages.delivered += 1,
            Ev::Drop { .. } => messages.dropped += 1,
            Ev::Corrupt { .. } => messages.corrupt += 1,
            Ev::ElectionStarted => {
                election_open.get_or_insert(rec.t);
            }
            Ev::Role { role: new } if i < nodes => {
                elector[i] |= is_elector_role(new);
                let was_leader = role[i].as_deref() == Some("leader");
                if new == "leader" && !was_leader {
                    let started = election_open.take().unwrap_or(rec.t);
                    elections.push(Election {
                        started_ms: ms(started),
                        decided_ms: ms(rec.t),
                        leader: name(rec.node),
                    });
                }
                role[i] = Some(new.clone());
                changed = true;
            }
            Ev::Leader { leader: l } if i < nodes => {
                leader[i] = *l;
                changed = true;
            }
            Ev::Crash if i < nodes => {
                role[i] = None;
                leader[i] = None;
            }
            _ => {}
        }
        if let Some(fault) = describe_fault(rec, &cluster, names, &name) {
            pending.push(recoveries.len());
            recoveries.push(Recovery {
                fault,
                at_ms: ms(rec.t),
                recovered_ms: None,
            });
        }
        if changed && agreed(&cluster, &elector, &role, &leader) {
            // Candidates that the standing leader answered did not elect anyone new: their
            // election ends here, without an entry.
            election_open = None;
            for idx in pending.drain(..) {
                let r = &mut recoveries[idx];
                r.recovered_ms = Some(((ms(rec.t) - r.at_ms) * 1000.0).round() / 1000.0);
            }
        }
    }
    Analysis {
        elections,
        recoveries,
        messages,
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Every component of connected, up electors follows one leader of its own component, which
/// is up and plays "leader".
fn agreed(
    cluster: &Cluster,
    elector: &[bool],
    role: &[Option<String>],
    leader: &[Option<NodeId>],
) -> bool {
    let electors: Vec<NodeId> = (0..elector.len())
        .filter(|&i| elector[i])
        .map(|i| NodeId(i as u16))
        .collect();
    if electors.is_empty() {
        return false;
    }
    cluster.components(&electors).iter().all(|comp| {
        let Some(l) = leader[comp[0].0 as usize] else {
            return false;
        };
        comp.contains(&l)
            && role[l.0 as usize].as_deref() == Some("leader")
            && comp.iter().all(|n| leader[n.0 as usize] == Some(l))
    })
}

fn describe_fault<E>(
    rec: &Record<E>,
    cluster: &Cluster,
    names: &[String],
    name: &dyn Fn(NodeId) -> String,
) -> Option<String> {
    match &rec.ev {
        Ev::Crash => Some(format!("crash {}", name(rec.node))),
        Ev::Restart => Some(format!("restart {}", name(rec.node))),
        Ev::Partition { .. } if rec.node == WORLD => {
            Some(format!("partition {}", groups(cluster, names)))
        }
        Ev::Heal { .. } if rec.node == WORLD => Some("heal".to_string()),
        Ev::Loss { rate } if *rate > 0.0 => Some(format!("loss {:.0}%", rate * 100.0)),
        Ev::Loss { .. } => Some("loss ends".to_string()),
        Ev::Byzantine { byzantine: Some(b) } => {
            Some(format!("{} turns {}", name(rec.node), b.behaviour.name()))
        }
        Ev::Byzantine { byzantine: None } => Some(format!("{} honest again", name(rec.node))),
        _ => None,
    }
}

/// "s1,s2 | s3,s4,s5": the groups the cut links leave.
pub fn groups(cluster: &Cluster, names: &[String]) -> String {
    let all: Vec<NodeId> = (0..names.len()).map(|i| NodeId(i as u16)).collect();
    let mut healthy = cluster.clone();
    healthy.down.clear();
    healthy
        .components(&all)
        .iter()
        .map(|c| {
            c.iter()
                .map(|n| names[n.0 as usize].as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(" | ")
}
