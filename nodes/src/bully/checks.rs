//! The bully group's checks: one leader per component, reliable total-order chat delivery,
//! and views that match reachability.

use std::collections::{BTreeMap, BTreeSet};

use faultline_sim::{Check, Cluster, Ev, NodeId, Record, Verdict};
use serde::{Deserialize, Serialize};

use super::event::Event;

/// Time bounds the checks allow after the last fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// Time for every component to agree on its highest server as leader.
    pub leader_within_ms: u64,
    /// Time for every view to match reachability.
    pub view_within_ms: u64,
    /// Time for every acknowledged chat to reach every node of the majority side.
    pub delivery_within_ms: u64,
}

impl Default for ChecksConfig {
    fn default() -> Self {
        ChecksConfig {
            leader_within_ms: 3000,
            view_within_ms: 3000,
            delivery_within_ms: 5000,
        }
    }
}

/// The three checks, for a run with these servers and clients.
pub fn checks(
    servers: &[NodeId],
    clients: &[NodeId],
    cfg: &ChecksConfig,
) -> Vec<Box<dyn Check<Event> + Send>> {
    let mut all: Vec<NodeId> = servers.iter().chain(clients).copied().collect();
    all.sort();
    all.dedup();
    vec![
        Box::new(LeaderAgreement::new(servers, cfg.leader_within_ms)),
        Box::new(ChatDelivery::new(servers, &all, cfg.delivery_within_ms)),
        Box::new(ViewConvergence::new(&all, cfg.view_within_ms)),
    ]
}

/// Up to this many nodes, debug builds check each incremental verdict against the full
/// search it replaces (beyond, the full search per record is what made large groups slow).
const CROSS_CHECK_NODES_MAX: usize = 64;

/// Milliseconds, for details.
fn ms(us: u64) -> u64 {
    us / 1000
}

/// Tracks since when a condition has held without a break.
#[derive(Clone, Debug, Default)]
struct Settle {
    /// When the condition last became true; `None` while it is false.
    since_us: Option<u64>,
}

impl Settle {
    fn update(&mut self, holds: bool, t_us: u64) {
        self.since_us = match (holds, self.since_us) {
            (false, _) => None,
            (true, None) => Some(t_us),
            (true, kept) => kept,
        };
    }

    /// Judges "holds within `within_us` of the last change, and to the end". `now` tells
    /// what is wrong at the end, if anything; `judged` counts the nodes it held over at the
    /// end (`what` names them).
    #[allow(clippy::too_many_arguments)]
    fn verdict(
        &self,
        name: &str,
        within_us: u64,
        last_change_us: u64,
        end_us: u64,
        now: Result<(), String>,
        judged: u64,
        what: &str,
    ) -> Verdict {
        let deadline_us = last_change_us.saturating_add(within_us);
        let (judged, ok, detail) = if end_us < deadline_us {
            let d = format!(
                "not judged: the run ended at {}ms, before the last fault ({}ms) + {}ms",
                ms(end_us),
                ms(last_change_us),
                ms(within_us)
            );
            (0, true, d)
        } else {
            match (self.since_us, now) {
                (Some(t), _) if t <= deadline_us => (
                    judged,
                    true,
                    format!(
                        "held from {}ms (last fault at {}ms, bound {}ms) to the end ({}ms)",
                        ms(t),
                        ms(last_change_us),
                        ms(within_us),
                        ms(end_us)
                    ),
                ),
                (Some(t), _) => (
                    0,
                    false,
                    format!(
                        "held only from {}ms, after the deadline {}ms (last fault at {}ms)",
                        ms(t),
                        ms(deadline_us),
                        ms(last_change_us)
                    ),
                ),
                (None, Err(why)) => (
                    0,
                    false,
                    format!("broken at the end ({}ms): {why}", ms(end_us)),
                ),
                (None, Ok(())) => (0, false, format!("never held by {}ms", ms(end_us))),
            }
        };
        if ok {
            Verdict::held(name, judged, what, detail)
        } else {
            Verdict::violated(name, detail)
        }
    }
}

/// Once faults stop, every component of up servers follows its highest server, which
/// plays "leader", and this lasts to the end.
///
/// Judged incrementally: the components change only with faults, so each server's highest
/// is kept between faults, and a leader or role report rechecks only its server.
pub(crate) struct LeaderAgreement {
    /// The servers.
    servers: Vec<NodeId>,
    /// The same, for lookups per record.
    server_set: BTreeSet<NodeId>,
    /// Allowed settling time (µs).
    within_us: u64,
    /// Who is up, which links are cut.
    cluster: Cluster,
    /// Each server's last reported leader in its current incarnation.
    leader: BTreeMap<NodeId, Option<NodeId>>,
    /// Each server's last reported role in its current incarnation.
    role: BTreeMap<NodeId, String>,
    /// Each up server's component's highest server, as of the last fault.
    highest: BTreeMap<NodeId, NodeId>,
    /// The up servers that break agreement now (wrong leader, or a highest not leading).
    wrong: BTreeSet<NodeId>,
    /// Since when agreement has held.
    settle: Settle,
}

impl LeaderAgreement {
    pub(crate) fn new(servers: &[NodeId], within_ms: u64) -> Self {
        let mut check = LeaderAgreement {
            servers: servers.to_vec(),
            server_set: servers.iter().copied().collect(),
            within_us: within_ms.saturating_mul(1000),
            cluster: Cluster::default(),
            leader: BTreeMap::new(),
            role: BTreeMap::new(),
            highest: BTreeMap::new(),
            wrong: BTreeSet::new(),
            settle: Settle::default(),
        };
        check.regroup();
        check
    }

    /// Recomputes the components and every server's standing after a fault.
    fn regroup(&mut self) {
        self.highest.clear();
        for comp in self.cluster.components(&self.servers) {
            if let Some(&highest) = comp.last() {
                self.highest.extend(comp.iter().map(|s| (*s, highest)));
            }
        }
        self.wrong.clear();
        for s in self.servers.clone() {
            self.recheck(s);
        }
    }

    /// Whether `s` agrees: it follows its component's highest, and that one leads.
    fn recheck(&mut self, s: NodeId) {
        let agrees = self.highest.get(&s).is_none_or(|&highest| {
            self.leader.get(&s).copied().flatten() == Some(highest)
                && (s != highest || self.role.get(&s).map(String::as_str) == Some("leader"))
        });
        if agrees {
            self.wrong.remove(&s);
        } else {
            self.wrong.insert(s);
        }
    }

    /// The first disagreement, in words; the whole search, for the verdict.
    fn holds(&self) -> Result<(), String> {
        for comp in self.cluster.components(&self.servers) {
            let Some(&highest) = comp.last() else {
                continue;
            };
            for s in &comp {
                let follows = self.leader.get(s).copied().flatten();
                if follows != Some(highest) {
                    return Err(format!(
                        "{s} follows {follows:?}, not {highest} (component {comp:?})"
                    ));
                }
            }
            let role = self.role.get(&highest).map_or("none", String::as_str);
            if role != "leader" {
                return Err(format!(
                    "{highest} plays {role:?}, not \"leader\" (component {comp:?})"
                ));
            }
        }
        Ok(())
    }
}

impl Check<Event> for LeaderAgreement {
    fn name(&self) -> &'static str {
        "leader-agreement"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let changed = self.cluster.observe(rec);
        let mut reported = false;
        if self.server_set.contains(&rec.node) {
            match &rec.ev {
                Ev::Leader { leader } => {
                    self.leader.insert(rec.node, *leader);
                    reported = true;
                }
                Ev::Role { role } => {
                    self.role.insert(rec.node, role.clone());
                    reported = true;
                }
                Ev::Crash | Ev::Restart => {
                    self.leader.remove(&rec.node);
                    self.role.remove(&rec.node);
                }
                _ => {}
            }
        }
        if changed {
            self.regroup();
        } else if reported {
            self.recheck(rec.node);
        }
        if changed || reported {
            // The full search agrees (checked where it is cheap).
            debug_assert!(
                self.servers.len() > CROSS_CHECK_NODES_MAX
                    || self.wrong.is_empty() == self.holds().is_ok()
            );
            self.settle.update(self.wrong.is_empty(), rec.t);
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let now = self.holds();
        let up = self
            .servers
            .iter()
            .filter(|s| self.cluster.is_up(**s))
            .count();
        self.settle.verdict(
            self.name(),
            self.within_us,
            self.cluster.last_change_us,
            end_us,
            now,
            up as u64,
            "live servers",
        )
    }
}

/// A chat as (origin, client_seq).
type ChatId = (NodeId, u64);

/// What one node delivered since it last started.
#[derive(Clone, Debug, Default)]
struct Incarnation {
    /// When it started (0 for the first).
    start_us: u64,
    /// Seqs delivered, in order.
    delivered: Vec<u64>,
    /// The same, for lookups.
    delivered_set: BTreeSet<u64>,
}

/// An acknowledgement a client received.
#[derive(Clone, Debug)]
struct Ack {
    /// When (µs).
    t_us: u64,
    /// The chat.
    chat: ChatId,
    /// Its seq.
    seq: u64,
}

/// Total order and reliable delivery of chats.
pub(crate) struct ChatDelivery {
    /// The servers (for the majority side).
    servers: Vec<NodeId>,
    /// Servers and clients.
    nodes: Vec<NodeId>,
    /// Allowed catch-up time after the last fault (µs).
    within_us: u64,
    /// Who is up, which links are cut.
    cluster: Cluster,
    /// The chat each seq holds, from deliveries and acks anywhere.
    by_seq: BTreeMap<u64, ChatId>,
    /// The seq of each chat, from deliveries and acks anywhere.
    by_chat: BTreeMap<ChatId, u64>,
    /// Every seq any node delivered.
    delivered_any: BTreeSet<u64>,
    /// Each node's current incarnation.
    incarnations: BTreeMap<NodeId, Incarnation>,
    /// Every acknowledgement, in order.
    acks: Vec<Ack>,
}

impl ChatDelivery {
    pub(crate) fn new(servers: &[NodeId], nodes: &[NodeId], within_ms: u64) -> Self {
        ChatDelivery {
            servers: servers.to_vec(),
            nodes: nodes.to_vec(),
            within_us: within_ms.saturating_mul(1000),
            cluster: Cluster::default(),
            by_seq: BTreeMap::new(),
            by_chat: BTreeMap::new(),
            delivered_any: BTreeSet::new(),
            incarnations: BTreeMap::new(),
            acks: Vec::new(),
        }
    }

    /// Records that `chat` sits at `seq`, failing if either already means something else.
    fn place(&mut self, chat: ChatId, seq: u64, at: &dyn Fn() -> String) -> Result<(), String> {
        if let Some(&other) = self.by_seq.get(&seq) {
            if other != chat {
                return Err(format!(
                    "seq {seq} holds two chats: {}/{} and {}/{} ({})",
                    other.0,
                    other.1,
                    chat.0,
                    chat.1,
                    at()
                ));
            }
        }
        if let Some(&other) = self.by_chat.get(&chat) {
            if other != seq {
                return Err(format!(
                    "chat {}/{} is at two seqs: {other} and {seq} ({})",
                    chat.0,
                    chat.1,
                    at()
                ));
            }
        }
        self.by_seq.insert(seq, chat);
        self.by_chat.insert(chat, seq);
        Ok(())
    }

    fn gaps(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (node, inc) in &self.incarnations {
            let Some(&max) = inc.delivered.last() else {
                continue;
            };
            if let Some(missing) = self
                .delivered_any
                .range(..max)
                .find(|s| !inc.delivered_set.contains(s))
            {
                out.push(format!("{node} delivered seq {max} but not seq {missing}"));
            }
        }
        out
    }
}

impl Check<Event> for ChatDelivery {
    fn name(&self) -> &'static str {
        "chat-delivery"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.cluster.observe(rec);
        let node = rec.node;
        // Built only when a violation is reported: observe runs for every record of a run.
        let at = || format!("at {node}, t={}ms", ms(rec.t));
        match &rec.ev {
            Ev::Crash | Ev::Restart => {
                self.incarnations.insert(
                    node,
                    Incarnation {
                        start_us: rec.t,
                        ..Default::default()
                    },
                );
            }
            Ev::Proto {
                event:
                    Event::Delivered {
                        seq,
                        origin,
                        client_seq,
                    },
            } => {
                self.place((*origin, *client_seq), *seq, &at)?;
                let inc = self.incarnations.entry(node).or_default();
                if inc.delivered_set.contains(seq) {
                    return Err(format!(
                        "seq {seq} delivered twice in one incarnation ({})",
                        at()
                    ));
                }
                if let Some(&last) = inc.delivered.last() {
                    if *seq < last {
                        return Err(format!("seq {seq} delivered after seq {last} ({})", at()));
                    }
                }
                inc.delivered.push(*seq);
                inc.delivered_set.insert(*seq);
                self.delivered_any.insert(*seq);
            }
            Ev::Proto {
                event: Event::ChatAcked { client_seq, seq },
            } => {
                self.place((node, *client_seq), *seq, &at)?;
                self.acks.push(Ack {
                    t_us: rec.t,
                    chat: (node, *client_seq),
                    seq: *seq,
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let name = self.name().to_string();
        let gaps = self.gaps();
        if !gaps.is_empty() {
            return Verdict::violated(name, summarize("gaps", &gaps));
        }
        let last_us = self.cluster.last_change_us;
        if end_us < last_us.saturating_add(self.within_us) {
            let detail = format!(
                "order held; delivery of {} acknowledged chats not judged: the run ended at {}ms, \
                 before the last fault ({}ms) + {}ms",
                self.acks.len(),
                ms(end_us),
                ms(last_us),
                ms(self.within_us)
            );
            return Verdict::held(name, 0, "acknowledged chats", detail);
        }
        let quorum = self.servers.len() / 2 + 1;
        let comps = self.cluster.components(&self.nodes);
        let majority = comps
            .into_iter()
            .find(|c| c.iter().filter(|n| self.servers.contains(n)).count() >= quorum);
        let Some(majority) = majority else {
            let detail = format!(
                "order held; no component holds a majority of servers at the end, so delivery of \
                 {} acknowledged chats was not judged",
                self.acks.len()
            );
            return Verdict::held(name, 0, "acknowledged chats", detail);
        };
        // An acknowledgement gets the same time to spread as a fault does to heal.
        let judged: Vec<&Ack> = self
            .acks
            .iter()
            .filter(|a| a.t_us.saturating_add(self.within_us) <= end_us)
            .collect();
        let mut missing = Vec::new();
        let empty = Incarnation::default();
        for node in &majority {
            let inc = self.incarnations.get(node).unwrap_or(&empty);
            for ack in judged.iter().filter(|a| a.t_us >= inc.start_us) {
                if !inc.delivered_set.contains(&ack.seq) {
                    missing.push(format!(
                        "{node} never delivered {}/{} (seq {}, acknowledged at {}ms)",
                        ack.chat.0,
                        ack.chat.1,
                        ack.seq,
                        ms(ack.t_us)
                    ));
                }
            }
        }
        if !missing.is_empty() {
            return Verdict::violated(name, summarize("undelivered", &missing));
        }
        let detail = format!(
            "{} acknowledged chats delivered in one order by all {} nodes of the majority side \
             ({} acknowledged in the last {}ms not judged); {} seqs delivered in all",
            judged.len(),
            majority.len(),
            self.acks.len() - judged.len(),
            ms(self.within_us),
            self.delivered_any.len()
        );
        Verdict::held(name, judged.len() as u64, "acknowledged chats", detail)
    }
}

/// The first few problems and how many there were.
fn summarize(what: &str, problems: &[String]) -> String {
    let shown: Vec<&str> = problems.iter().take(5).map(String::as_str).collect();
    format!("{} {what}: {}", problems.len(), shown.join("; "))
}

/// Once faults stop, every up node's view is exactly its component, to the end.
///
/// Judged incrementally: the components change only with faults, and a view report
/// rechecks only its node.
pub(crate) struct ViewConvergence {
    /// Servers and clients.
    nodes: Vec<NodeId>,
    /// Allowed settling time (µs).
    within_us: u64,
    /// Who is up, which links are cut.
    cluster: Cluster,
    /// Each node's last reported view in its current incarnation.
    views: BTreeMap<NodeId, Vec<NodeId>>,
    /// The components as of the last fault.
    comps: Vec<Vec<NodeId>>,
    /// Each up node's index in `comps`.
    comp_of: BTreeMap<NodeId, usize>,
    /// The up nodes whose view is not their component now.
    wrong: BTreeSet<NodeId>,
    /// Since when views have matched.
    settle: Settle,
}

impl ViewConvergence {
    pub(crate) fn new(nodes: &[NodeId], within_ms: u64) -> Self {
        let mut check = ViewConvergence {
            nodes: nodes.to_vec(),
            within_us: within_ms.saturating_mul(1000),
            cluster: Cluster::default(),
            views: BTreeMap::new(),
            comps: Vec::new(),
            comp_of: BTreeMap::new(),
            wrong: BTreeSet::new(),
            settle: Settle::default(),
        };
        check.regroup();
        check
    }

    /// Recomputes the components and every node's standing after a fault.
    fn regroup(&mut self) {
        self.comps = self.cluster.components(&self.nodes);
        self.comp_of = self
            .comps
            .iter()
            .enumerate()
            .flat_map(|(i, comp)| comp.iter().map(move |n| (*n, i)))
            .collect();
        self.wrong.clear();
        for n in self.nodes.clone() {
            self.recheck(n);
        }
    }

    /// Whether `n` (if up) sees exactly its component.
    fn recheck(&mut self, n: NodeId) {
        let matches = self
            .comp_of
            .get(&n)
            .is_none_or(|&i| self.views.get(&n) == Some(&self.comps[i]));
        if matches {
            self.wrong.remove(&n);
        } else {
            self.wrong.insert(n);
        }
    }

    /// The first mismatch, in words; the whole search, for the verdict.
    fn holds(&self) -> Result<(), String> {
        for comp in &self.comps {
            for n in comp {
                match self.views.get(n) {
                    Some(view) if view == comp => {}
                    view => return Err(format!("{n} sees {view:?}, reaches {comp:?}")),
                }
            }
        }
        Ok(())
    }
}

impl Check<Event> for ViewConvergence {
    fn name(&self) -> &'static str {
        "view-convergence"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let changed = self.cluster.observe(rec);
        let mut reported = false;
        match &rec.ev {
            Ev::Proto {
                event: Event::View { members },
            } => {
                let mut members = members.clone();
                members.sort();
                self.views.insert(rec.node, members);
                reported = true;
            }
            Ev::Crash | Ev::Restart => {
                self.views.remove(&rec.node);
            }
            _ => {}
        }
        if changed {
            self.regroup();
        } else if reported {
            self.recheck(rec.node);
        }
        if changed || reported {
            // The full search agrees (checked where it is cheap).
            debug_assert!(
                self.nodes.len() > CROSS_CHECK_NODES_MAX
                    || self.wrong.is_empty() == self.holds().is_ok()
            );
            self.settle.update(self.wrong.is_empty(), rec.t);
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let now = self.holds();
        let up = self
            .nodes
            .iter()
            .filter(|n| self.cluster.is_up(**n))
            .count();
        self.settle.verdict(
            self.name(),
            self.within_us,
            self.cluster.last_change_us,
            end_us,
            now,
            up as u64,
            "live nodes",
        )
    }
}
