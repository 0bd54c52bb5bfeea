//! The fault schedule compiled into timed world actions, in time order.

use super::{Fault, Scenario};
use crate::faults::byzantine::Byzantine;
use crate::node::NodeId;

/// A world action at a time, compiled from the fault schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum WorldAction {
    /// Kill a node.
    Crash(NodeId),
    /// Restart a node.
    Restart(NodeId),
    /// Cut directed links.
    Cut(Vec<(NodeId, NodeId)>),
    /// Restore directed links.
    Heal(Vec<(NodeId, NodeId)>),
    /// Set the loss fault's rate (0 ends it).
    Loss(f64),
    /// Make a node lie, or honest again.
    Byzantine(NodeId, Option<Byzantine>),
}

impl Scenario {
    /// The fault schedule as timed world actions, in time order (stable for equal times).
    pub fn schedule(&self) -> Vec<(u64, WorldAction)> {
        let id = |name: &str| self.node_id(name).expect("validated");
        let mut out = Vec::new();
        for fault in &self.faults {
            match fault {
                Fault::Crash { node, at_ms } => out.push((*at_ms, WorldAction::Crash(id(node)))),
                Fault::Restart { node, at_ms } => {
                    out.push((*at_ms, WorldAction::Restart(id(node))))
                }
                Fault::Partition {
                    groups,
                    from,
                    to,
                    at_ms,
                    heal_ms,
                } => {
                    let links = if groups.is_empty() {
                        let mut links = Vec::new();
                        for f in from {
                            for t in to {
                                if f != t {
                                    links.push((id(f), id(t)));
                                }
                            }
                        }
                        links
                    } else {
                        self.links_between(groups)
                    };
                    out.push((*at_ms, WorldAction::Cut(links.clone())));
                    if let Some(heal) = heal_ms {
                        out.push((*heal, WorldAction::Heal(links)));
                    }
                }
                Fault::Byzantine {
                    node,
                    behaviour,
                    rate,
                    from_ms,
                    until_ms,
                } => {
                    let byzantine = Byzantine {
                        behaviour: *behaviour,
                        rate: *rate,
                    };
                    out.push((*from_ms, WorldAction::Byzantine(id(node), Some(byzantine))));
                    if let Some(until) = until_ms {
                        out.push((*until, WorldAction::Byzantine(id(node), None)));
                    }
                }
                Fault::Loss {
                    rate,
                    from_ms,
                    until_ms,
                } => {
                    out.push((*from_ms, WorldAction::Loss(*rate)));
                    out.push((*until_ms, WorldAction::Loss(0.0)));
                }
            }
        }
        out.sort_by_key(|(at, _)| *at);
        out
    }

    /// Both directions of every link between different groups; unlisted nodes form a group.
    fn links_between(&self, groups: &[Vec<String>]) -> Vec<(NodeId, NodeId)> {
        let names = self.node_names();
        let group_of = |name: &str| {
            groups
                .iter()
                .position(|g| g.iter().any(|n| n == name))
                .unwrap_or(groups.len())
        };
        let mut links = Vec::new();
        for (a, name_a) in names.iter().enumerate() {
            for (b, name_b) in names.iter().enumerate() {
                if a != b && group_of(name_a) != group_of(name_b) {
                    links.push((NodeId(a as u16), NodeId(b as u16)));
                }
            }
        }
        links
    }
}
