//! The fault schedule compiled into timed world actions, in time order: all of it for a
//! scenario whose faults name their nodes, the static part when some are resolved at run
//! time (those the simulator's [`crate::faults::injector`] carries out).

use super::{Fault, Scenario};
use crate::faults::byzantine::Byzantine;
use crate::faults::net_rules::{NetRule, Rule};
use crate::faults::target::is_dynamic;
use crate::node::NodeId;

/// A world action at a time, compiled from the fault schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum WorldAction {
    /// Kill a node.
    Crash(NodeId),
    /// Restart a node.
    Restart(NodeId),
    /// Cut directed links (one more cut on each: cuts compose, see
    /// [`crate::faults::links`]).
    Cut(Vec<(NodeId, NodeId)>),
    /// Take back one cut of each directed link, which an earlier `Cut` made.
    Heal(Vec<(NodeId, NodeId)>),
    /// Set the loss fault's rate (0 ends it).
    Loss(f64),
    /// Make a node lie, or honest again.
    Byzantine(NodeId, Option<Byzantine>),
    /// A network window opens: these rules are in force until it closes.
    NetOpen(Vec<Rule>),
    /// The window that opened with these rules closes.
    NetClose(Vec<Rule>),
    /// Stop scheduling a node until the given time (ms), when it resumes.
    Pause(NodeId, u64),
    /// Schedule a paused node again.
    Resume(NodeId),
    /// Hand an up node this many commands to propose (a harness step, see
    /// [`Fault::Submit`]).
    Submit(NodeId, u32),
}

/// When a fault acts, beyond its first time: its repetition and its condition.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Turns<'a> {
    /// The first turn.
    pub at_ms: u64,
    /// The period, if it repeats.
    pub every_ms: Option<u64>,
    /// How many turns, if bounded.
    pub times: Option<u32>,
    /// Each turn's delay range.
    pub jitter_ms: Option<&'a [u64]>,
    /// What must hold for a turn to act.
    pub when: Option<&'a str>,
    /// How long a turn waits for it.
    pub wait_ms: Option<u64>,
    /// The name under which each turn keeps the nodes it resolved to.
    pub label: Option<&'a str>,
    /// Nodes its targets must not pick.
    pub except: &'a [String],
}

impl Fault {
    /// A crash of `node` at `at_ms`, once.
    pub fn crash(node: String, at_ms: u64) -> Fault {
        Fault::Crash {
            node,
            at_ms,
            every_ms: None,
            times: None,
            jitter_ms: None,
            when: None,
            wait_ms: None,
            label: None,
            except: Vec::new(),
        }
    }

    /// A restart of `node` at `at_ms`, once.
    pub fn restart(node: String, at_ms: u64) -> Fault {
        Fault::Restart {
            node,
            at_ms,
            every_ms: None,
            times: None,
            jitter_ms: None,
            when: None,
            wait_ms: None,
            label: None,
            except: Vec::new(),
        }
    }

    /// A submit of `count` commands to `node` at `at_ms`, once.
    pub fn submit(node: String, at_ms: u64, count: u32) -> Fault {
        Fault::Submit {
            node,
            at_ms,
            count,
            every_ms: None,
            times: None,
            jitter_ms: None,
            when: None,
            wait_ms: None,
            label: None,
            except: Vec::new(),
        }
    }

    /// A partition into `groups`, or one way `from` -> `to`, at `at_ms`, once.
    pub fn partition(
        groups: Vec<Vec<String>>,
        from: Vec<String>,
        to: Vec<String>,
        at_ms: u64,
        heal_ms: Option<u64>,
    ) -> Fault {
        Fault::Partition {
            groups,
            from,
            to,
            at_ms,
            heal_ms,
            every_ms: None,
            times: None,
            jitter_ms: None,
            when: None,
            wait_ms: None,
            label: None,
            except: Vec::new(),
        }
    }

    /// Its turns, for the kinds that may repeat or wait (crash, restart, partition, submit).
    pub fn turns(&self) -> Option<Turns<'_>> {
        match self {
            Fault::Crash {
                at_ms,
                every_ms,
                times,
                jitter_ms,
                when,
                wait_ms,
                label,
                except,
                ..
            }
            | Fault::Restart {
                at_ms,
                every_ms,
                times,
                jitter_ms,
                when,
                wait_ms,
                label,
                except,
                ..
            }
            | Fault::Partition {
                at_ms,
                every_ms,
                times,
                jitter_ms,
                when,
                wait_ms,
                label,
                except,
                ..
            }
            | Fault::Submit {
                at_ms,
                every_ms,
                times,
                jitter_ms,
                when,
                wait_ms,
                label,
                except,
                ..
            } => Some(Turns {
                at_ms: *at_ms,
                every_ms: *every_ms,
                times: *times,
                jitter_ms: jitter_ms.as_deref(),
                when: when.as_deref(),
                wait_ms: *wait_ms,
                label: label.as_deref(),
                except,
            }),
            Fault::Byzantine { .. }
            | Fault::Loss { .. }
            | Fault::Network { .. }
            | Fault::Pause { .. } => None,
        }
    }

    /// The node names it lists (targets and `except` included), wherever it lists them.
    pub fn names(&self) -> Vec<&str> {
        let mut names = match self {
            Fault::Crash { node, .. }
            | Fault::Restart { node, .. }
            | Fault::Byzantine { node, .. }
            | Fault::Pause { node, .. }
            | Fault::Submit { node, .. } => vec![node.as_str()],
            Fault::Network { rules, .. } => rules
                .iter()
                .flat_map(|r| r.from.iter().chain(&r.to))
                .map(String::as_str)
                .collect(),
            Fault::Partition {
                groups, from, to, ..
            } => groups
                .iter()
                .flatten()
                .chain(from)
                .chain(to)
                .map(String::as_str)
                .collect(),
            Fault::Loss { .. } => Vec::new(),
        };
        if let Some(turns) = self.turns() {
            names.extend(turns.except.iter().map(String::as_str));
        }
        names
    }

    /// The labels it names (`$x` among its targets and `except`).
    pub fn labels_named(&self) -> Vec<&str> {
        (self.names().into_iter())
            .filter_map(|n| n.strip_prefix('$'))
            .collect()
    }

    /// Whether it is decided when it acts: a target like `@leader` or `$label`, a
    /// repetition, a delay drawn, a condition, a label or an `except`. Such a fault runs in
    /// the simulator only.
    pub fn at_run_time(&self) -> bool {
        let turns = self.turns().unwrap_or_default();
        self.names().into_iter().any(is_dynamic)
            || turns.every_ms.is_some()
            || turns.jitter_ms.is_some()
            || turns.when.is_some()
            || turns.label.is_some()
            || !turns.except.is_empty()
    }
}

impl Scenario {
    /// The faults that name their nodes, as timed world actions in time order (stable for
    /// equal times: the file's order). Faults decided at run time
    /// ([`Fault::at_run_time`]) are not among them.
    pub fn schedule(&self) -> Vec<(u64, WorldAction)> {
        let mut out: Vec<(u64, WorldAction)> = self
            .faults
            .iter()
            .filter(|f| !f.at_run_time())
            .flat_map(|f| self.actions_of(f))
            .collect();
        out.sort_by_key(|(at, _)| *at);
        out
    }

    /// What a fault that names its nodes does, and when.
    pub(crate) fn actions_of(&self, fault: &Fault) -> Vec<(u64, WorldAction)> {
        let id = |name: &str| self.node_id(name).expect("validated");
        match fault {
            Fault::Crash { node, at_ms, .. } => vec![(*at_ms, WorldAction::Crash(id(node)))],
            Fault::Restart { node, at_ms, .. } => vec![(*at_ms, WorldAction::Restart(id(node)))],
            Fault::Partition {
                groups,
                from,
                to,
                at_ms,
                heal_ms,
                ..
            } => {
                let ids = |names: &[String]| names.iter().map(|n| id(n)).collect::<Vec<_>>();
                let links = if groups.is_empty() {
                    one_way_links(&ids(from), &ids(to))
                } else {
                    let groups: Vec<Vec<NodeId>> = groups.iter().map(|g| ids(g)).collect();
                    links_between(self.node_count(), &groups)
                };
                let mut out = vec![(*at_ms, WorldAction::Cut(links.clone()))];
                if let Some(heal) = heal_ms {
                    out.push((*heal, WorldAction::Heal(links)));
                }
                out
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
                let mut out = vec![(*from_ms, WorldAction::Byzantine(id(node), Some(byzantine)))];
                if let Some(until) = until_ms {
                    out.push((*until, WorldAction::Byzantine(id(node), None)));
                }
                out
            }
            Fault::Loss {
                rate,
                from_ms,
                until_ms,
            } => vec![
                (*from_ms, WorldAction::Loss(*rate)),
                (*until_ms, WorldAction::Loss(0.0)),
            ],
            Fault::Network {
                rules,
                from_ms,
                until_ms,
            } => {
                let rules = self.compile_rules(rules);
                vec![
                    (*from_ms, WorldAction::NetOpen(rules.clone())),
                    (*until_ms, WorldAction::NetClose(rules)),
                ]
            }
            Fault::Pause {
                node,
                at_ms,
                resume_ms,
            } => vec![
                (*at_ms, WorldAction::Pause(id(node), *resume_ms)),
                (*resume_ms, WorldAction::Resume(id(node))),
            ],
            Fault::Submit {
                node, at_ms, count, ..
            } => vec![(*at_ms, WorldAction::Submit(id(node), *count))],
        }
    }

    /// Network rules with their node names as ids.
    pub fn compile_rules(&self, rules: &[NetRule]) -> Vec<Rule> {
        rules
            .iter()
            .map(|r| Rule::compile(r, |name| self.node_id(name)))
            .collect()
    }

    /// The network's own rules (`[[network.rules]]`), compiled.
    pub fn network_rules(&self) -> Vec<Rule> {
        self.compile_rules(&self.network.rules)
    }
}

/// Every directed link from a node of `from` to another node of `to`, each once.
pub(crate) fn one_way_links(from: &[NodeId], to: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    let once = |nodes: &[NodeId]| {
        let mut seen = Vec::with_capacity(nodes.len());
        for n in nodes {
            if !seen.contains(n) {
                seen.push(*n);
            }
        }
        seen
    };
    let (from, to) = (once(from), once(to));
    let mut links = Vec::new();
    for &f in &from {
        for &t in &to {
            if f != t {
                links.push((f, t));
            }
        }
    }
    links
}

/// Both directions of every link between different groups of `nodes` nodes; unlisted nodes
/// form one more group, and a node listed twice belongs to its first group.
pub(crate) fn links_between(nodes: usize, groups: &[Vec<NodeId>]) -> Vec<(NodeId, NodeId)> {
    let group_of = |n: NodeId| {
        groups
            .iter()
            .position(|g| g.contains(&n))
            .unwrap_or(groups.len())
    };
    let mut links = Vec::new();
    for a in (0..nodes).map(|i| NodeId(i as u16)) {
        for b in (0..nodes).map(|i| NodeId(i as u16)) {
            if a != b && group_of(a) != group_of(b) {
                links.push((a, b));
            }
        }
    }
    links
}
