//! What a protocol gives the runtime: its name, roles, transport, planted bugs, nodes and
//! checks. Everything a command needs to know about a protocol is here, so that a new one
//! plugs in with one registry line and no string match elsewhere.

pub mod chart;
pub mod client_op;
pub mod facts;
pub mod planted;

use crate::check::{Check, Fact};
use crate::node::{BoxNode, Durable, Message, NodeId, ProtoEvent};
use crate::protocol::facts::{Facts, NoFacts};
use crate::runtime::transport::TransportKind;
use crate::scenario::{InputError, Source};

/// A kind of node a protocol runs ("server", "client", "worker", "file_server").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Role {
    /// Its name, in cluster files and on timeline lanes.
    pub name: &'static str,
    /// How a scenario's `[nodes]` section counts it ("servers", "workers").
    pub count_key: &'static str,
    /// What its nodes' names start with: "s" names them s1, s2...
    pub prefix: &'static str,
    /// Fewest nodes of this role a run needs.
    pub min: u16,
    /// Whether random faults (swarm crashes, Byzantine sweeps) pick nodes of this role.
    /// Clients that only drive a workload are usually left alone.
    pub fault_target: bool,
    /// One line for people: what a node of this role does.
    pub about: &'static str,
}

/// A planted bug: a known-wrong variant of the protocol that a check must catch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bug {
    /// Its name on the command line and in seed files ("vote-twice").
    pub name: &'static str,
    /// What goes wrong, for people.
    pub about: &'static str,
}

/// Who runs and how they are configured, from a scenario or a real cluster's config.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// Each node's name ("s1", "w3"), indexed by [`NodeId`].
    pub names: Vec<String>,
    /// Each node's role name ("server"), indexed by [`NodeId`].
    pub roles: Vec<&'static str>,
    /// The `[config]` section: protocol settings.
    pub config: toml::Table,
    /// The `[workload]` section.
    pub workload: toml::Table,
    /// The `[checks]` section: bounds for the checks.
    pub checks: toml::Table,
    /// Planted bugs switched on (simulator only), already checked against
    /// [`Protocol::BUGS`].
    pub bugs: Vec<String>,
}

impl Setup {
    /// The ids of the nodes of `role`, in id order.
    pub fn ids(&self, role: &str) -> Vec<NodeId> {
        self.roles
            .iter()
            .enumerate()
            .filter(|(_, r)| **r == role)
            .map(|(i, _)| NodeId(i as u16))
            .collect()
    }

    /// The role of node `id` ("" for an id the setup does not have).
    pub fn role_of(&self, id: NodeId) -> &'static str {
        self.roles.get(id.0 as usize).copied().unwrap_or("")
    }

    /// Whether planted bug `name` is on.
    pub fn bug(&self, name: &str) -> bool {
        self.bugs.iter().any(|b| b == name)
    }

    /// The `[workload]` section parsed for every node of `role`: the section's own fields,
    /// with a node's sub-table (`[workload.c2]`, named by the node) overriding them for that
    /// node alone. A sub-table named after a node of another role is an error, and so is
    /// a bad field, at its own line.
    pub fn workload_by_node<W: serde::de::DeserializeOwned>(
        &self,
        role: &str,
        src: &Source,
    ) -> Result<(W, Vec<(NodeId, W)>), InputError> {
        let mut base = self.workload.clone();
        let mut overrides = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            let Some(table) = base.remove(name) else {
                continue;
            };
            let field = format!("workload.{name}");
            if self.roles[i] != role {
                return Err(src.error(
                    &field,
                    format!(
                        "`{name}` is a {}: a workload of its own is for a {role}",
                        self.roles[i]
                    ),
                ));
            }
            let toml::Value::Table(table) = table else {
                return Err(src.error(
                    &field,
                    format!("must be a table of workload fields for {name}"),
                ));
            };
            overrides.push((NodeId(i as u16), name, table));
        }
        let all: W = src.section("workload", &base)?;
        let mut each = Vec::with_capacity(overrides.len());
        for (id, name, table) in overrides {
            let mut merged = base.clone();
            merged.extend(table);
            each.push((id, src.section(&format!("workload.{name}"), &merged)?));
        }
        Ok((all, each))
    }
}

/// A protocol the runtime can run: what commands need to know about it, a node factory and
/// its checks.
pub trait Protocol: Send + Sync + Sized + 'static {
    /// The messages its nodes exchange.
    type Msg: Message;
    /// The events its nodes report.
    type Event: ProtoEvent + Send;
    /// Its name in scenarios and cluster files ("counter").
    const NAME: &'static str;
    /// One line for people: what it is.
    const ABOUT: &'static str;
    /// Its kinds of node, in id order: a scenario's nodes take ids role by role.
    const ROLES: &'static [Role];
    /// How its real nodes talk when a cluster file does not say: datagrams (UDP and IP
    /// multicast) or TCP streams.
    const TRANSPORT: TransportKind = TransportKind::Udp;
    /// Its planted bugs.
    const BUGS: &'static [Bug] = &[];
    /// What its state roles (as reported through `Cx::role`) mean to a timeline, so lanes
    /// are coloured without guessing from names.
    const STATES: &'static [(&'static str, Tone)] = STANDARD_STATES;
    /// Whether its nodes take commands from the harness (a scenario's `submit` steps, see
    /// [`crate::node::Node::on_submit`]); a scenario that submits to another protocol is
    /// refused.
    const TAKES_SUBMITS: bool = false;

    /// Builds the protocol from a setup, validating its `[config]`, `[workload]` and
    /// `[checks]` sections; errors point into `src`.
    fn new(setup: &Setup, src: &Source) -> Result<Self, InputError>;
    /// A fresh node for `id`; called at boot and at every restart.
    fn node(&self, id: NodeId) -> BoxNode<Self::Msg, Self::Event>;
    /// The checks that judge a run.
    fn checks(&self) -> Vec<Box<dyn Check<Self::Event> + Send>>;
    /// What an event tells a scenario's expectations (`[[expect]]`): a term, a commit or
    /// an applied index. None by default: expectations on terms and commits then judge
    /// nothing, and say so. Who leads comes from the `Leader` note, not from here.
    fn fact(_event: &Self::Event) -> Option<Fact> {
        None
    }
    /// Whether its nodes authenticate senders (a MAC per recipient on every datagram, see
    /// [`crate::runtime::auth`]), so that a node cannot speak for another.
    fn authenticates(&self) -> bool {
        false
    }
    /// What the protocol makes of a run for its summary (`details`) and timeline (its
    /// chart), gathered record by record as the run goes. Nothing by default.
    fn facts(&self) -> Box<dyn Facts<Self::Event>> {
        Box::new(NoFacts)
    }
    /// What an event says about a client operation (invoked, returned, seen), so that a run's
    /// report draws its clients' latency and throughput. None by default: no client plots.
    fn client_op(_event: &Self::Event) -> Option<client_op::ClientStep> {
        None
    }
    /// A recorder of the run's client history in the JSON lines `faultline check-history`
    /// reads (`history.jsonl` in the report), for a protocol whose clients' operations can be
    /// checked for linearizability. Asked for only when a run writes its report. None by
    /// default.
    fn history(&self) -> Option<Box<dyn facts::History<Self::Event>>> {
        None
    }
    /// What a real node prints to its log (standard error) when it reports `event`, for
    /// the few events people watching a real run want to see (a farm that finished). None by
    /// default: the trace has everything.
    fn log_line(_event: &Self::Event) -> Option<String> {
        None
    }
    /// A file a real node of this protocol keeps in its folder as a view of its durable
    /// state, for people and tools (the primes farm's `primes.txt`). None by default.
    fn view_file(&self, _id: NodeId) -> Option<ViewFile> {
        None
    }
    /// The host node `id` runs on, when the protocol's configuration places nodes on hosts
    /// (a topology file's `host`). `faultline lan` gives each host one namespace shared by
    /// its nodes; a node without a host gets one of its own. None by default.
    fn host(&self, _id: NodeId) -> Option<String> {
        None
    }
}

/// A file a real node keeps in its folder, rendered from its durable state: rewritten
/// atomically after every callback that wrote durable state (once that state is on disk),
/// and at start, so it never says less than the durable state acknowledged, even after a
/// SIGKILL.
#[derive(Clone, Copy, Debug)]
pub struct ViewFile {
    /// Its name in the node's folder ("primes.txt").
    pub name: &'static str,
    /// Its bytes from the durable state; None leaves the file as it is (nothing to say yet).
    pub render: fn(&Durable) -> Option<Vec<u8>>,
}

/// How a timeline draws a state role.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// The one in charge: a leader, a primary, the active coordinator.
    Lead,
    /// Following someone in charge: a follower, a backup, a standby.
    Follow,
    /// Contending to be in charge: a candidate.
    Contend,
    /// Doing work handed out: a worker, a cache, a file server.
    Work,
    /// Outside the protocol's state machine: a client.
    Client,
}

/// The state roles most protocols report, and what they mean.
pub const STANDARD_STATES: &[(&str, Tone)] = &[
    ("leader", Tone::Lead),
    ("primary", Tone::Lead),
    ("coordinator", Tone::Lead),
    ("follower", Tone::Follow),
    ("backup", Tone::Follow),
    ("standby", Tone::Follow),
    ("candidate", Tone::Contend),
    ("worker", Tone::Work),
    ("client", Tone::Client),
];

/// The roles of a protocol whose nodes are servers and clients (bully, Raft): servers
/// `s1..sN`, then clients `c1..cM`.
pub const SERVERS_AND_CLIENTS: &[Role] = &[
    Role {
        name: "server",
        count_key: "servers",
        prefix: "s",
        min: 1,
        fault_target: true,
        about: "a member of the group",
    },
    Role {
        name: "client",
        count_key: "clients",
        prefix: "c",
        min: 0,
        fault_target: false,
        about: "drives the workload",
    },
];
