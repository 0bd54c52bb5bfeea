//! The faults in force: crashed nodes, cut links, loss. The driver asks it about every
//! datagram, so partitions and loss are decided (and traced) in one place in both flavors.

use crate::faults::link_draws::LinkDraws;
use crate::faults::links::LinkTable;
use crate::faults::net_rules::{Rule, Rules};
use crate::node::NodeId;
use crate::trace::DropReason;

/// The purpose that keys the fate draws ("FATE").
const FATE_DRAWS: u64 = 0x4641_5445;

/// The purpose that keys the draws of stream segments ("SFAT"): apart from the datagrams',
/// so that a run's streams leave its datagrams' fates as they were.
const STREAM_FATE_DRAWS: u64 = 0x5346_4154;

/// What happens to one datagram on its way.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// It arrives intact, once.
    Deliver,
    /// It never arrives.
    Drop(DropReason),
    /// It arrives with bits flipped; the value seeds which bits.
    Corrupt(u64),
    /// It arrives twice.
    Duplicate,
}

/// The fault state of the network.
pub struct Nemesis {
    /// The cuts of the partitions in force.
    links: LinkTable,
    /// `up[node]`: the node runs.
    up: Vec<bool>,
    /// The network's own loss rate (scenario `network.loss`).
    loss_base: f64,
    /// The loss rate of a loss fault in force (0 when none).
    loss_fault: f64,
    /// Probability that a datagram arrives with bits flipped (scenario `network.corrupt`).
    corrupt: f64,
    /// Probability that a datagram arrives twice (scenario `network.duplicate`).
    duplicate: f64,
    /// Draws each datagram's fate, per link; seeded from the run's seed.
    draws: LinkDraws,
    /// Draws each stream segment's fate, per link.
    stream_draws: LinkDraws,
    /// Loss of some messages only (by kind, sender, receiver), all run long or in windows.
    rules: Rules,
}

impl Nemesis {
    /// A healthy network of `nodes` nodes with a base loss rate, drawing under `seed`.
    pub fn new(nodes: usize, loss_base: f64, seed: u64) -> Self {
        Nemesis {
            links: LinkTable::new(nodes),
            up: vec![true; nodes],
            loss_base,
            loss_fault: 0.0,
            corrupt: 0.0,
            duplicate: 0.0,
            draws: LinkDraws::new(nodes, seed, FATE_DRAWS),
            stream_draws: LinkDraws::new(nodes, seed, STREAM_FATE_DRAWS),
            rules: Rules::default(),
        }
    }

    /// Sets the network's own rules (scenario `[[network.rules]]`).
    pub fn set_rules(&mut self, rules: Vec<Rule>) {
        self.rules = Rules::new(rules);
    }

    /// A network window opens (`Some`) or closes with these rules; returns how many windows
    /// are open now.
    pub fn window(&mut self, rules: &[Rule], open: bool) -> usize {
        if open {
            self.rules.open(rules.to_vec());
        } else {
            self.rules.close(rules);
        }
        self.rules.windows_open()
    }

    /// One more partition cuts `links`; returns those that were open until now.
    pub fn cut(&mut self, links: &[(NodeId, NodeId)]) -> Vec<(NodeId, NodeId)> {
        self.links.cut(links)
    }

    /// A partition that cut `links` heals; returns those no partition cuts any more.
    pub fn heal(&mut self, links: &[(NodeId, NodeId)]) -> Vec<(NodeId, NodeId)> {
        self.links.heal(links)
    }

    /// Cuts exactly `links`, healing every other: for drop rules, which say the whole
    /// state rather than one fault's share of it.
    pub fn set_cuts(&mut self, links: &[(NodeId, NodeId)]) {
        self.links.clear();
        self.links.cut(links);
    }

    /// Marks a node up or down.
    pub fn set_up(&mut self, node: NodeId, up: bool) {
        if let Some(slot) = self.up.get_mut(node.0 as usize) {
            *slot = up;
        }
    }

    /// Whether a node runs.
    pub fn is_up(&self, node: NodeId) -> bool {
        self.up.get(node.0 as usize).copied().unwrap_or(false)
    }

    /// Whether a partition cuts the directed link.
    pub fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.links.is_cut(from, to)
    }

    /// Decides whether one attempt of a stream segment from `from` gets through to `to`:
    /// `None` when it does, else why not. A stream's checksums and sequence numbers absorb
    /// noise and duplicates, so only partitions and loss stop it (and cost a retransmission).
    /// Every attempt takes its draw, cut or not, as a datagram does.
    pub fn stream_attempt(&mut self, from: NodeId, to: NodeId) -> Option<DropReason> {
        let draw = self.stream_draws.next(from.0, to.0);
        if self.is_cut(from, to) {
            return Some(DropReason::Partition);
        }
        let rate = self.loss_base.max(self.loss_fault);
        draw.chance(0, rate).then_some(DropReason::Loss)
    }

    /// Sets the loss rate of a loss fault (0 ends it).
    pub fn set_loss_fault(&mut self, rate: f64) {
        self.loss_fault = rate;
    }

    /// Sets the network's noise: the rates at which datagrams arrive corrupted or twice.
    pub fn set_noise(&mut self, corrupt: f64, duplicate: f64) {
        self.corrupt = corrupt;
        self.duplicate = duplicate;
    }

    /// Decides the fate of a datagram of kind `label` arriving at `to` from `from`.
    /// A sender claiming an id we do not know is judged by the receiver's links alone.
    /// Every datagram takes its draw, cut or not, so that healing a partition or turning
    /// noise off leaves the later datagrams' fates as they were.
    pub fn arrival(&mut self, from: NodeId, to: NodeId, label: &str) -> Arrival {
        let draw = self.draws.next(from.0, to.0);
        if self.links.is_cut(from, to) {
            return Arrival::Drop(DropReason::Partition);
        }
        let mut rate = self.loss_base.max(self.loss_fault);
        if !self.rules.is_empty() {
            rate = rate.max(self.rules.loss(from, to, label));
        }
        if draw.chance(0, rate) {
            return Arrival::Drop(DropReason::Loss);
        }
        if draw.chance(1, self.corrupt) {
            return Arrival::Corrupt(draw.value(2));
        }
        if draw.chance(3, self.duplicate) {
            return Arrival::Duplicate;
        }
        Arrival::Deliver
    }
}
