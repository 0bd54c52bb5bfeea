//! The fault schedule applied for real, and which mechanism each fault used:
//!
//! - crash: SIGKILL of the node's process; restart: the process started again, recovering
//!   from its durable file;
//! - a partition into groups: the kernel: each group's ports on a bridge of their own, so
//!   nothing crosses, unicast or multicast;
//! - cuts that are not groups (one-way, or overlapping): the nodes' drop rules, decided by
//!   the receiving node's transport and traced as drops;
//! - loss: the nodes' drop rules (there is no netem on this machine);
//! - pause: SIGSTOP of the node's process, and SIGCONT when it resumes.
//!
//! Every fault is also recorded in `world.trace.jsonl`, as the simulator records it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::Path;

use faultline_sim::faults::drop_rules::DropRules;
use faultline_sim::scenario::WorldAction;
use faultline_sim::{Cluster, Ev, Header, NodeId, Record, WORLD};

use super::netns::Lan;
use super::processes::Processes;
use crate::summary::groups;

/// The world's side of a LAN run: the faults in force and their record.
pub struct Faults {
    /// Node names by id.
    names: Vec<String>,
    /// Directed links cut now.
    cut: BTreeSet<(NodeId, NodeId)>,
    /// How many partitions in force cut each link of `cut`: cuts compose, and a heal
    /// reopens only the links no other partition cuts.
    cuts: BTreeMap<(NodeId, NodeId), u32>,
    /// The loss rate in force (the network's own, or a loss fault's).
    loss: f64,
    /// The network's own loss rate.
    loss_base: f64,
    /// Where the drop rules go.
    rules_path: std::path::PathBuf,
    /// The world's trace.
    trace: File,
}

/// Microseconds since the Unix epoch, the clock real nodes stamp their traces with.
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as u64
}

impl Faults {
    /// No fault in force; writes the first drop rules (the network's own loss) and the
    /// world trace's header.
    pub fn new(
        header: &Header,
        loss_base: f64,
        rules_path: &Path,
        trace_path: &Path,
    ) -> Result<Faults, String> {
        let mut trace = File::create(trace_path)
            .map_err(|e| format!("cannot write {}: {e}", trace_path.display()))?;
        let line = serde_json::to_string(header).map_err(|e| e.to_string())?;
        writeln!(trace, "{line}")
            .map_err(|e| format!("cannot write {}: {e}", trace_path.display()))?;
        let faults = Faults {
            names: header.nodes.clone(),
            cut: BTreeSet::new(),
            cuts: BTreeMap::new(),
            loss: loss_base,
            loss_base,
            rules_path: rules_path.to_path_buf(),
            trace,
        };
        faults.write_rules(false)?;
        Ok(faults)
    }

    fn record(&mut self, node: NodeId, ev: Ev<()>) {
        let rec = Record {
            t: unix_us(),
            node,
            ev,
        };
        if let Ok(line) = serde_json::to_string(&rec) {
            // The world trace is evidence, not state: a full disk must not stop the run.
            let _ = writeln!(self.trace, "{line}");
        }
    }

    /// Applies one action; returns what was done and by which mechanism, for people.
    pub fn apply(
        &mut self,
        action: WorldAction,
        lan: &mut Lan,
        procs: &mut Processes,
    ) -> Result<String, String> {
        let name = |n: NodeId| self.names[n.0 as usize].clone();
        match action {
            WorldAction::Crash(node) => {
                let who = name(node);
                match procs.kill(node.0 as usize) {
                    Some(pid) => {
                        // After the kill returned: every line the node wrote comes before.
                        self.record(node, Ev::Crash);
                        Ok(format!("crash {who}: SIGKILL to pid {pid}"))
                    }
                    None => Ok(format!("crash {who}: already down")),
                }
            }
            WorldAction::Restart(node) => {
                let who = name(node);
                if procs.is_up(node.0 as usize) {
                    return Ok(format!("restart {who}: already up"));
                }
                let pid = procs.start(node.0 as usize)?;
                Ok(format!(
                    "restart {who}: started again as pid {pid}, from its durable file"
                ))
            }
            WorldAction::Cut(links) => {
                for link in &links {
                    *self.cuts.entry(*link).or_insert(0) += 1;
                }
                let links: Vec<_> = links.into_iter().filter(|l| self.cut.insert(*l)).collect();
                let how = self.enforce_cut(lan)?;
                self.record(WORLD, Ev::Partition { links });
                Ok(format!("partition {}: {how}", self.groups_now()))
            }
            WorldAction::Heal(links) => {
                let mut reopened = Vec::new();
                for link in links {
                    let Some(count) = self.cuts.get_mut(&link) else {
                        continue;
                    };
                    *count -= 1;
                    if *count == 0 {
                        self.cuts.remove(&link);
                        self.cut.remove(&link);
                        reopened.push(link);
                    }
                }
                let links = reopened;
                let how = self.enforce_cut(lan)?;
                self.record(WORLD, Ev::Heal { links });
                Ok(format!("heal: {how}"))
            }
            WorldAction::Loss(rate) => {
                self.loss = rate.max(self.loss_base);
                self.write_rules(self.uses_rules_for_cuts(lan))?;
                self.record(WORLD, Ev::Loss { rate });
                Ok(format!(
                    "loss {:.0}%: drop rules in the nodes' transport (no netem on this machine)",
                    rate * 100.0
                ))
            }
            WorldAction::Pause(node, _) | WorldAction::Resume(node) => {
                let pause = matches!(action, WorldAction::Pause(..));
                let who = name(node);
                let (what, signal) = if pause {
                    ("pause", "SIGSTOP")
                } else {
                    ("resume", "SIGCONT")
                };
                match procs.pause(node.0 as usize, pause) {
                    Some(pid) => {
                        self.record(node, if pause { Ev::Pause } else { Ev::Resume });
                        Ok(format!("{what} {who}: {signal} to pid {pid}"))
                    }
                    None => Ok(format!("{what} {who}: down")),
                }
            }
            // Refused when the scenario was loaded (`ScenarioFile::load`).
            WorldAction::Byzantine(node, _) => Err(format!(
                "byzantine {}: Byzantine behaviours run in the simulator only",
                name(node)
            )),
            WorldAction::NetOpen(_) | WorldAction::NetClose(_) => {
                Err("network windows run in the simulator only".to_string())
            }
            WorldAction::Submit(node, _) => Err(format!(
                "submit to {}: submitted commands run in the simulator only",
                name(node)
            )),
        }
    }

    /// "s1,s2 | s3,s4,s5".
    fn groups_now(&self) -> String {
        let cluster = Cluster {
            cut: self.cut.clone(),
            ..Cluster::default()
        };
        groups(&cluster, &self.names)
    }

    /// The groups the cut splits the nodes into, when the cut is exactly "every link between
    /// different groups, both ways" (what bridges can do); None otherwise.
    fn as_groups(&self) -> Option<Vec<usize>> {
        let n = self.names.len();
        let all: Vec<NodeId> = (0..n).map(|i| NodeId(i as u16)).collect();
        let cluster = Cluster {
            cut: self.cut.clone(),
            ..Cluster::default()
        };
        let mut group = vec![0; n];
        for (k, comp) in cluster.components(&all).iter().enumerate() {
            for node in comp {
                group[node.0 as usize] = k;
            }
        }
        let exact = all.iter().all(|&a| {
            all.iter().all(|&b| {
                a == b || self.cut.contains(&(a, b)) == (group[a.0 as usize] != group[b.0 as usize])
            })
        });
        exact.then_some(group)
    }

    /// Whether the cut in force is enforced by drop rules rather than by bridges.
    fn uses_rules_for_cuts(&self, lan: &Lan) -> bool {
        !self.cut.is_empty()
            && self
                .as_groups()
                .filter(|g| lan.keeps_hosts_whole(g))
                .is_none()
    }

    /// Puts the current cut in force with the kernel when it can, else with drop rules.
    fn enforce_cut(&mut self, lan: &mut Lan) -> Result<String, String> {
        match self.as_groups().filter(|g| lan.keeps_hosts_whole(g)) {
            Some(group) => {
                for (i, k) in group.iter().enumerate() {
                    lan.set_bridge(i, *k)?;
                }
                self.write_rules(false)?;
                let bridges = group.iter().max().map_or(1, |m| m + 1);
                Ok(if bridges == 1 {
                    "every port back on one bridge (kernel)".to_string()
                } else {
                    format!("ports moved onto {bridges} bridges, one per group (kernel)")
                })
            }
            None => {
                for i in 0..self.names.len() {
                    lan.set_bridge(i, 0)?;
                }
                self.write_rules(true)?;
                Ok(format!(
                    "{} directed links cut by drop rules in the nodes' transport (not whole groups of hosts: the kernel's bridges cannot cut one way or inside a host)",
                    self.cut.len()
                ))
            }
        }
    }

    /// Writes the drop rules: the loss in force and, if `with_cut`, the cut links.
    fn write_rules(&self, with_cut: bool) -> Result<(), String> {
        let cut = if with_cut {
            self.cut
                .iter()
                .map(|(a, b)| {
                    [
                        self.names[a.0 as usize].clone(),
                        self.names[b.0 as usize].clone(),
                    ]
                })
                .collect()
        } else {
            Vec::new()
        };
        let rules = DropRules {
            loss: self.loss,
            cut,
        };
        rules
            .write(&self.rules_path)
            .map_err(|e| format!("cannot write {}: {e}", self.rules_path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(cut: &[(u16, u16)]) -> Faults {
        let dir = std::env::temp_dir().join(format!("faultline-faults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = Header {
            faultline: "test".into(),
            protocol: "group".into(),
            scenario: "t".into(),
            seed: 0,
            nodes: vec!["s1".into(), "s2".into(), "s3".into()],
        };
        let mut f = Faults::new(
            &header,
            0.0,
            &dir.join("rules.toml"),
            &dir.join("world.jsonl"),
        )
        .unwrap();
        f.cut = cut.iter().map(|&(a, b)| (NodeId(a), NodeId(b))).collect();
        f
    }

    #[test]
    fn only_a_two_way_cut_between_whole_groups_goes_to_the_bridges() {
        assert_eq!(faults(&[]).as_groups(), Some(vec![0, 0, 0]));
        let groups = faults(&[(0, 1), (1, 0), (0, 2), (2, 0)]).as_groups();
        assert_eq!(groups, Some(vec![0, 1, 1]));
        assert_eq!(faults(&[(0, 1)]).as_groups(), None, "one way");
        assert_eq!(
            faults(&[(0, 1), (1, 0)]).as_groups(),
            None,
            "s3 still joins s1 and s2"
        );
    }
}
