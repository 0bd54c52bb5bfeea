//! What a protocol gives the runtime: its nodes and its checks, built from a setup.

use crate::chart::Chart;
use crate::check::Check;
use crate::node::{BoxNode, Message, NodeId, ProtoEvent};
use crate::trace::Record;

/// Who runs and how they are configured, from a scenario or a real cluster's config.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// Server ids (group members, replicas), in id order.
    pub servers: Vec<NodeId>,
    /// Client ids.
    pub clients: Vec<NodeId>,
    /// The `[config]` section: protocol settings.
    pub config: toml::Table,
    /// The `[workload]` section.
    pub workload: toml::Table,
    /// The `[checks]` section: bounds for the checks.
    pub checks: toml::Table,
    /// Planted bugs switched on (simulator only).
    pub bugs: Vec<String>,
}

/// A protocol the runtime can run: a node factory and its checks.
pub trait Protocol: Send + Sync + 'static {
    /// The messages its nodes exchange.
    type Msg: Message;
    /// The events its nodes report.
    type Event: ProtoEvent + Send;
    /// A fresh node for `id`; called at boot and at every restart.
    fn node(&self, id: NodeId) -> BoxNode<Self::Msg, Self::Event>;
    /// The checks that judge a run.
    fn checks(&self) -> Vec<Box<dyn Check<Self::Event> + Send>>;
    /// Whether its nodes authenticate senders (a MAC per recipient on every datagram, see
    /// [`crate::auth`]), so that a node cannot speak for another.
    fn authenticates(&self) -> bool {
        false
    }
    /// Protocol facts for the summary (`details` in summary.json): client operation counts,
    /// latencies, terms... and a one-line `headline` for the verdict. None by default.
    /// `names` are the node names, indexed by id.
    fn details(
        &self,
        _records: &[Record<Self::Event>],
        _names: &[String],
    ) -> Option<serde_json::Value> {
        None
    }
    /// What the protocol adds to the run's timeline: terms, progress, client operations.
    /// Nothing by default.
    fn chart(&self, _records: &[Record<Self::Event>]) -> Chart {
        Chart::default()
    }
}
