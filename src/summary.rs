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
    /// Whom each turn of a fault decided at run time (`@leader`) hit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<ResolvedTurn>,
}

/// One turn of a fault decided at run time, as the trace's `resolved` record says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedTurn {
    /// When it acted, in milliseconds.
    pub at_ms: f64,
    /// Its index among the scenario's faults.
    pub fault: u32,
    /// The nodes it resolved to, by name: one group for a crash or restart, the groups of
    /// a partition, `[from, to]` of a one-way cut.
    pub groups: Vec<Vec<String>>,
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
    /// Whom each turn of a fault decided at run time hit.
    pub resolved: Vec<ResolvedTurn>,
}

/// Derives the summary's facts from a trace in memory.
pub fn analyse<E>(records: &[Record<E>], names: &[String]) -> Analysis {
    let mut analyser = Analyser::new(names);
    for rec in records {
        analyser.observe(rec);
    }
    analyser.finish()
}

/// Derives the summary's facts record by record, as a run goes: its memory grows with the
/// elections, faults and labels of a run, not with its records.
pub struct Analyser {
    /// Node names, indexed by id.
    names: Vec<String>,
    /// Who is up and which links are cut.
    cluster: Cluster,
    /// Each node's current role.
    role: Vec<Option<String>>,
    /// Each node's current leader.
    leader: Vec<Option<NodeId>>,
    /// Whether each node ever played an elector role.
    elector: Vec<bool>,
    /// When the election under way started, if one is.
    election_open: Option<u64>,
    /// What the run comes to so far.
    analysis: Analysis,
    /// Indexes into `analysis.recoveries` of faults not yet recovered from.
    pending: Vec<usize>,
}

impl Analyser {
    /// Nothing seen yet, of a run of nodes named `names`.
    pub fn new(names: &[String]) -> Self {
        let nodes = names.len();
        Analyser {
            names: names.to_vec(),
            cluster: Cluster::default(),
            role: vec![None; nodes],
            leader: vec![None; nodes],
            elector: vec![false; nodes],
            election_open: None,
            analysis: Analysis {
                elections: Vec::new(),
                recoveries: Vec::new(),
                messages: Messages::default(),
                resolved: Vec::new(),
            },
            pending: Vec::new(),
        }
    }

    /// One record of the run.
    pub fn observe<E>(&mut self, rec: &Record<E>) {
        let Analyser {
            names,
            cluster,
            role,
            leader,
            elector,
            election_open,
            analysis,
            pending,
        } = self;
        let Analysis {
            elections,
            recoveries,
            messages,
            resolved,
        } = analysis;
        if let Ev::Resolved { fault, groups } = &rec.ev {
            resolved.push(ResolvedTurn {
                at_ms: rec.t as f64 / 1000.0,
                fault: *fault,
                groups: (groups.iter())
                    .map(|g| {
                        g.iter()
                            .map(|n| {
                                names
                                    .get(n.0 as usize)
                                    .cloned()
                                    .unwrap_or_else(|| format!("#{}", n.0))
                            })
                            .collect()
                    })
                    .collect(),
            });
        }
        let name = |n: NodeId| {
            names
                .get(n.0 as usize)
                .cloned()
                .unwrap_or_else(|| n.to_string())
        };
        let nodes = names.len();
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
        if let Some(fault) = describe_fault(rec, cluster, names, &name) {
            pending.push(recoveries.len());
            recoveries.push(Recovery {
                fault,
                at_ms: ms(rec.t),
                recovered_ms: None,
            });
        }
        if changed && agreed(cluster, elector, role, leader) {
            // Candidates that the standing leader answered did not elect anyone new: their
            // election ends here, without an entry.
            *election_open = None;
            for idx in pending.drain(..) {
                let r = &mut recoveries[idx];
                r.recovered_ms = Some(((ms(rec.t) - r.at_ms) * 1000.0).round() / 1000.0);
            }
        }
    }

    /// What the run came to.
    pub fn finish(self) -> Analysis {
        self.analysis
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
    _cluster: &Cluster,
    names: &[String],
    name: &dyn Fn(NodeId) -> String,
) -> Option<String> {
    match &rec.ev {
        Ev::Crash => Some(format!("crash {}", name(rec.node))),
        Ev::Restart => Some(format!("restart {}", name(rec.node))),
        Ev::Partition { links } if rec.node == WORLD => Some(describe_cut("", links, names)),
        Ev::Heal { links } if rec.node == WORLD => Some(describe_cut("heal ", links, names)),
        Ev::Loss { rate } if *rate > 0.0 => Some(format!("loss {:.0}%", rate * 100.0)),
        Ev::Loss { .. } => Some("loss ends".to_string()),
        Ev::Byzantine { byzantine: Some(b) } => {
            Some(format!("{} turns {}", name(rec.node), b.behaviour.name()))
        }
        Ev::Byzantine { byzantine: None } => Some(format!("{} honest again", name(rec.node))),
        _ => None,
    }
}

/// What a partition or heal event did to the links it names: "partition s1,s2 | s3,s4,s5"
/// when they split the nodes into groups, "cut s1,s2 -> s3" for a one-way cut, "cut s2,s3,s4
/// from each other", else link by link ("cut s1<->s2, s1->s3").
/// `verb` is "" or "heal ".
pub fn describe_cut(verb: &str, links: &[(NodeId, NodeId)], names: &[String]) -> String {
    use std::collections::BTreeSet;
    let name = |n: NodeId| names.get(n.0 as usize).map_or("?", String::as_str);
    let list = |set: &BTreeSet<NodeId>| set.iter().map(|&n| name(n)).collect::<Vec<_>>().join(",");
    let cut: BTreeSet<(NodeId, NodeId)> = links.iter().copied().collect();
    if cut.is_empty() {
        return format!("{verb}no link").trim_end().to_string();
    }
    // Groups: nodes joined while any direction between them is open.
    let count = names.len();
    let mut group: Vec<usize> = (0..count).collect();
    fn root(group: &mut [usize], mut i: usize) -> usize {
        while group[i] != i {
            group[i] = group[group[i]];
            i = group[i];
        }
        i
    }
    for a in 0..count {
        for b in (a + 1)..count {
            let (na, nb) = (NodeId(a as u16), NodeId(b as u16));
            if !cut.contains(&(na, nb)) || !cut.contains(&(nb, na)) {
                let (ra, rb) = (root(&mut group, a), root(&mut group, b));
                group[ra] = rb;
            }
        }
    }
    let mut groups: BTreeMap<usize, BTreeSet<NodeId>> = BTreeMap::new();
    for i in 0..count {
        let r = root(&mut group, i);
        groups.entry(r).or_default().insert(NodeId(i as u16));
    }
    let cuts_exactly_between_groups = groups.len() >= 2
        && cut
            .iter()
            .all(|&(a, b)| root(&mut group, a.0 as usize) != root(&mut group, b.0 as usize));
    if cuts_exactly_between_groups {
        let mut parts: Vec<String> = groups.values().map(list).collect();
        parts.sort();
        let kind = if verb.is_empty() { "partition " } else { verb };
        return format!("{kind}{}", parts.join(" | "));
    }
    let from: BTreeSet<NodeId> = cut.iter().map(|&(a, _)| a).collect();
    let to: BTreeSet<NodeId> = cut.iter().map(|&(_, b)| b).collect();
    let every = |from: &BTreeSet<NodeId>, to: &BTreeSet<NodeId>| {
        from.iter()
            .flat_map(|&a| to.iter().map(move |&b| (a, b)))
            .filter(|(a, b)| a != b)
            .collect::<BTreeSet<_>>()
    };
    let verb = if verb.is_empty() { "cut " } else { verb };
    if cut == every(&from, &to) {
        if from == to {
            return format!("{verb}{} from each other", list(&from));
        }
        if from.is_disjoint(&to) {
            return format!("{verb}{} -> {}", list(&from), list(&to));
        }
    }
    // Anything else, link by link, two-way links once.
    let mut shown = Vec::new();
    for &(a, b) in &cut {
        if cut.contains(&(b, a)) {
            if a < b {
                shown.push(format!("{}<->{}", name(a), name(b)));
            }
        } else {
            shown.push(format!("{}->{}", name(a), name(b)));
        }
    }
    format!("{verb}{}", shown.join(", "))
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

#[cfg(test)]
mod describe_cut_tests {
    use super::describe_cut;
    use faultline_sim::NodeId;

    fn names() -> Vec<String> {
        ["s1", "s2", "s3", "s4"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn links(pairs: &[(u16, u16)]) -> Vec<(NodeId, NodeId)> {
        pairs.iter().map(|&(a, b)| (NodeId(a), NodeId(b))).collect()
    }

    #[test]
    fn groups_one_way_cuts_and_cuts_among_nodes_read_as_what_they_are() {
        let split = links(&[
            (0, 2),
            (0, 3),
            (1, 2),
            (1, 3),
            (2, 0),
            (3, 0),
            (2, 1),
            (3, 1),
        ]);
        assert_eq!(
            describe_cut("", &split, &names()),
            "partition s1,s2 | s3,s4"
        );
        assert_eq!(
            describe_cut("heal ", &split, &names()),
            "heal s1,s2 | s3,s4"
        );
        let one_way = links(&[(0, 2), (1, 2)]);
        assert_eq!(describe_cut("", &one_way, &names()), "cut s1,s2 -> s3");
        let among = links(&[(1, 2), (2, 1), (1, 3), (3, 1), (2, 3), (3, 2)]);
        assert_eq!(
            describe_cut("", &among, &names()),
            "cut s2,s3,s4 from each other"
        );
        let around = links(&[(0, 1), (1, 0), (0, 2), (2, 0)]);
        assert_eq!(describe_cut("", &around, &names()), "cut s1<->s2, s1<->s3");
    }
}
