//! Scenario files (TOML): the protocol, the nodes, the network, the workload, the faults and
//! the checks of one run. Every error names the file, the line and the field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::faults::byzantine::Behaviour;
use crate::faults::net_rules::NetRule;
pub use crate::faults::target::{Condition, Target};
use crate::node::NodeId;
pub use crate::runtime::node_clock::NodeClock;

mod expect;
mod fault_checks;
mod input_error;
pub(crate) mod schedule;

use crate::protocol::Role;
pub use expect::{Expect, ExpectKind, Resolved, ALLOW_VACUOUS, CAUGHT_UP_LAG_MS_DEFAULT};
pub use input_error::{InputError, Source};
pub use schedule::{Turns, WorldAction};

/// The protocols a scenario may name, and their roles: a scenario counts its nodes by role.
pub trait Catalog {
    /// The roles of `protocol`, in id order; `None` for a protocol it does not know.
    fn roles(&self, protocol: &str) -> Option<&'static [Role]>;
    /// Every protocol name it knows, for errors.
    fn protocols(&self) -> Vec<&'static str>;
    /// Whether `protocol`'s nodes take submitted commands ([`Fault::Submit`]).
    fn takes_submits(&self, _protocol: &str) -> bool {
        false
    }
}

/// A scenario as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short name ("leader-crash").
    pub name: String,
    /// The protocol that runs, by its registered name.
    pub protocol: String,
    /// What the scenario shows, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How long the run lasts, in simulated milliseconds.
    pub duration_ms: u64,
    /// The seed used when none is given on the command line.
    #[serde(default)]
    pub seed: u64,
    /// How many nodes of each of the protocol's roles.
    pub nodes: Nodes,
    /// The protocol's roles, in id order (set when the scenario is parsed).
    #[serde(skip)]
    pub roles: &'static [Role],
    /// Whether the protocol's nodes take submitted commands (set when the scenario is
    /// parsed).
    #[serde(skip)]
    pub takes_submits: bool,
    /// The network's latency and loss.
    #[serde(default)]
    pub network: Network,
    /// Protocol settings (timeouts); the protocol validates them.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub config: toml::Table,
    /// The workload; the protocol validates it.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub workload: toml::Table,
    /// Check bounds; the protocol validates them, all but `allow_vacuous` (the checks that
    /// may judge nothing), which the runtime reads.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub checks: toml::Table,
    /// The fault schedule.
    #[serde(default, rename = "faults", skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// What the run must show over time, judged beside the checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Expect>,
    /// Faults drawn per seed (swarm testing); see [`Scenario::concretize`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_faults: Option<crate::faults::swarm::RandomFaults>,
    /// Nodes whose clock is off (skew) or runs at another rate (drift), by name; every
    /// other node reads the run's time.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clocks: BTreeMap<String, NodeClock>,
}

/// How many nodes of each role, by the role's count key (`servers = 5`, `workers = 3`).
/// Ids go role by role in the protocol's order: servers `s1..sN`, then clients `c1..cM`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Nodes(pub BTreeMap<String, u16>);

impl Nodes {
    /// How many nodes count under `key` ("servers"); 0 when none.
    pub fn count(&self, key: &str) -> u16 {
        self.0.get(key).copied().unwrap_or(0)
    }
}

/// The simulated network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// One-way latency range `[min, max]` in milliseconds, drawn per datagram.
    #[serde(default = "default_latency_ms", deserialize_with = "two_numbers")]
    pub latency_ms: [u64; 2],
    /// Probability that a datagram is lost, on every link, all run long.
    #[serde(default)]
    pub loss: f64,
    /// Probability that a datagram arrives with bits flipped (the checksum must catch it).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub corrupt: f64,
    /// Probability that a datagram arrives twice.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duplicate: f64,
    /// How long a stream may get nothing through (a partition, lasting loss) before it
    /// breaks, with a notification to both ends (see [`crate::node::stream`]).
    #[serde(
        default = "default_stream_timeout_ms",
        skip_serializing_if = "is_default_stream_timeout"
    )]
    pub stream_timeout_ms: u64,
    /// Loss, delay and long reordering of some messages only (by kind, sender, receiver),
    /// all run long (see [`NetRule`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<NetRule>,
}

/// A stream timeout far above every latency a scenario allows, yet short enough that a
/// partition in a run of tens of seconds breaks the streams across it.
pub const STREAM_TIMEOUT_MS_DEFAULT: u64 = 5000;

fn default_stream_timeout_ms() -> u64 {
    STREAM_TIMEOUT_MS_DEFAULT
}

fn is_default_stream_timeout(ms: &u64) -> bool {
    *ms == STREAM_TIMEOUT_MS_DEFAULT
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_byzantine_rate() -> f64 {
    0.5
}

fn default_submit_count() -> u32 {
    1
}

/// The most commands one submit hands over at once.
pub const SUBMIT_COUNT_MAX: u32 = 1000;

/// A `[min, max]` pair, refusing a list of any other length (serde's arrays ignore extra
/// items: `[1, 2, 3]` was read as `[1, 2]`).
fn two_numbers<'de, D: serde::Deserializer<'de>>(de: D) -> Result<[u64; 2], D::Error> {
    let list = Vec::<u64>::deserialize(de)?;
    match list[..] {
        [lo, hi] => Ok([lo, hi]),
        _ => Err(serde::de::Error::custom(format!(
            "must be two numbers [min, max], not {}",
            list.len()
        ))),
    }
}

fn default_latency_ms() -> [u64; 2] {
    [1, 10]
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency_ms: default_latency_ms(),
            loss: 0.0,
            corrupt: 0.0,
            duplicate: 0.0,
            stream_timeout_ms: STREAM_TIMEOUT_MS_DEFAULT,
            rules: Vec::new(),
        }
    }
}

/// One fault of the schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// The node stops at once and loses its volatile state.
    Crash {
        /// The node's name, or a target resolved when it acts (`@leader`; see [`Target`]).
        node: String,
        /// When.
        at_ms: u64,
        /// Repeat every this many milliseconds after `at_ms` (once, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_ms: Option<u64>,
        /// How many turns in all, with `every_ms` (until the run ends, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        times: Option<u32>,
        /// `[min, max]`: each turn comes this many milliseconds late, drawn per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jitter_ms: Option<Vec<u64>>,
        /// Acts only when this holds ("leader", "up < 3"; see [`Condition`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when: Option<String>,
        /// How long a turn waits for `when` to hold before it is skipped (0: not at all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wait_ms: Option<u64>,
        /// Names the nodes each turn resolves to, so that later faults name them as
        /// `$label` (see [`Target::Label`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Nodes its targets must not pick: names, `@leader`, roles, `$label`s.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        except: Vec<String>,
    },
    /// The node starts again from its durable state.
    Restart {
        /// The node's name, or a target resolved when it acts (`@random`: a down node).
        node: String,
        /// When.
        at_ms: u64,
        /// Repeat every this many milliseconds after `at_ms` (once, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_ms: Option<u64>,
        /// How many turns in all, with `every_ms` (until the run ends, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        times: Option<u32>,
        /// `[min, max]`: each turn comes this many milliseconds late, drawn per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jitter_ms: Option<Vec<u64>>,
        /// Acts only when this holds ("leader", "up < 3"; see [`Condition`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when: Option<String>,
        /// How long a turn waits for `when` to hold before it is skipped (0: not at all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wait_ms: Option<u64>,
        /// Names the nodes each turn resolves to, so that later faults name them as
        /// `$label` (see [`Target::Label`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Nodes its targets must not pick: names, `@leader`, roles, `$label`s.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        except: Vec<String>,
    },
    /// Links are cut: between `groups` both ways (nodes in no group form one more group),
    /// or one way from every node of `from` to every node of `to`. Names may be targets
    /// resolved when it acts (`[["@leader"], ["@rest"]]`).
    Partition {
        /// Groups that cannot talk to each other.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<Vec<String>>,
        /// One-way: senders whose datagrams are lost...
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        from: Vec<String>,
        /// ...on their way to these receivers.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to: Vec<String>,
        /// When the links are cut.
        at_ms: u64,
        /// When they are restored (never, if absent); a repeated partition lasts
        /// `heal_ms - at_ms` each turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heal_ms: Option<u64>,
        /// Repeat every this many milliseconds after `at_ms` (once, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_ms: Option<u64>,
        /// How many turns in all, with `every_ms` (until the run ends, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        times: Option<u32>,
        /// `[min, max]`: each turn comes this many milliseconds late, drawn per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jitter_ms: Option<Vec<u64>>,
        /// Acts only when this holds ("leader", "up < 3"; see [`Condition`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when: Option<String>,
        /// How long a turn waits for `when` to hold before it is skipped (0: not at all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wait_ms: Option<u64>,
        /// Names the nodes of its first group (or `from`) each turn, so that later faults
        /// name them as `$label` (see [`Target::Label`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Nodes its targets must not pick: names, `@leader`, roles, `$label`s.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        except: Vec<String>,
    },
    /// The node lies in what it sends (see [`Behaviour`]) from `from_ms` on.
    Byzantine {
        /// The node's name.
        node: String,
        /// What it does.
        behaviour: Behaviour,
        /// The share of its messages it twists.
        #[serde(default = "default_byzantine_rate")]
        rate: f64,
        /// Start.
        from_ms: u64,
        /// When it turns honest again (never, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_ms: Option<u64>,
    },
    /// Extra random loss on every link for a while.
    Loss {
        /// Probability that a datagram is lost.
        rate: f64,
        /// Start.
        from_ms: u64,
        /// End.
        until_ms: u64,
    },
    /// An unreliable network for a window: these network rules (loss, delay, long
    /// reordering, by kind or direction; see [`NetRule`]) are in force, then the network is
    /// as before.
    Network {
        /// The rules in force during the window.
        rules: Vec<NetRule>,
        /// Start.
        from_ms: u64,
        /// End.
        until_ms: u64,
    },
    /// A harness step, not a fault: the node is handed `count` commands at once to propose,
    /// as the MIT 6.5840 lab's `Start()` hands one to a server (for Raft: a leader appends
    /// each to its log; any other server ignores them). For a protocol that takes them
    /// (`Protocol::TAKES_SUBMITS`); the simulator only.
    Submit {
        /// The node's name, or a target resolved when it acts (`@leader`, `@all`).
        node: String,
        /// When.
        at_ms: u64,
        /// How many commands, handed over in one instant (a batch of concurrent `Start()`s).
        #[serde(default = "default_submit_count")]
        count: u32,
        /// Repeat every this many milliseconds after `at_ms` (once, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every_ms: Option<u64>,
        /// How many turns in all, with `every_ms` (until the run ends, if absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        times: Option<u32>,
        /// `[min, max]`: each turn comes this many milliseconds late, drawn per turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jitter_ms: Option<Vec<u64>>,
        /// Acts only when this holds ("leader", "up < 3"; see [`Condition`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when: Option<String>,
        /// How long a turn waits for `when` to hold before it is skipped (0: not at all).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wait_ms: Option<u64>,
        /// Names the nodes each turn resolves to, so that later faults name them as
        /// `$label` (see [`Target::Label`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Nodes its targets must not pick: names, `@leader`, roles, `$label`s.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        except: Vec<String>,
    },
    /// The node stops being scheduled but stays alive: what reaches it and its timers wait
    /// until it resumes, and it sends nothing meanwhile (a GC pause, a SIGSTOP).
    Pause {
        /// The node's name.
        node: String,
        /// When it stops.
        at_ms: u64,
        /// When it runs again.
        resume_ms: u64,
    },
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path, catalog: &dyn Catalog) -> Result<Scenario, InputError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InputError {
            file: file.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        Scenario::parse(&file, &text, catalog)
    }

    /// Parses and validates scenario text; `file` names it in errors.
    pub fn parse(file: &str, text: &str, catalog: &dyn Catalog) -> Result<Scenario, InputError> {
        let src = Source { file, text };
        let mut scenario: Scenario = src.parse()?;
        scenario.roles = catalog.roles(&scenario.protocol).ok_or_else(|| {
            src.error(
                "protocol",
                format!(
                    "unknown protocol `{}` (known: {})",
                    scenario.protocol,
                    catalog.protocols().join(", ")
                ),
            )
        })?;
        scenario.takes_submits = catalog.takes_submits(&scenario.protocol);
        scenario.validate(&src)?;
        Ok(scenario)
    }

    /// Each node's role, indexed by [`NodeId`]: the protocol's roles in order, each as many
    /// times as `[nodes]` counts it.
    pub fn node_roles(&self) -> Vec<&'static Role> {
        self.roles
            .iter()
            .flat_map(|role| std::iter::repeat_n(role, self.nodes.count(role.count_key) as usize))
            .collect()
    }

    /// Node names, indexed by [`NodeId`]: each role's prefix and a number from 1 (servers
    /// `s1..`, then clients `c1..`).
    pub fn node_names(&self) -> Vec<String> {
        self.roles
            .iter()
            .flat_map(|role| {
                (1..=self.nodes.count(role.count_key)).map(|i| format!("{}{i}", role.prefix))
            })
            .collect()
    }

    /// The ids of the nodes of the role named `role` ("server").
    pub fn ids(&self, role: &str) -> Vec<NodeId> {
        self.node_roles()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.name == role)
            .map(|(i, _)| NodeId(i as u16))
            .collect()
    }

    /// The names of the nodes random faults may pick (their role is a fault target).
    pub fn fault_targets(&self) -> Vec<String> {
        self.node_names()
            .into_iter()
            .zip(self.node_roles())
            .filter(|(_, role)| role.fault_target)
            .map(|(name, _)| name)
            .collect()
    }

    /// How many nodes the run has.
    pub fn node_count(&self) -> usize {
        self.roles
            .iter()
            .map(|r| self.nodes.count(r.count_key) as usize)
            .sum()
    }

    /// The id of a node name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.node_names()
            .iter()
            .position(|n| n == name)
            .map(|i| NodeId(i as u16))
    }

    fn validate(&self, src: &Source) -> Result<(), InputError> {
        // Per-node-pair state (link draws, partitions, keys) stays in tens of MB here.
        const NODES_MAX: u16 = 1024;
        const DURATION_MS_MAX: u64 = 24 * 3600 * 1000;
        for key in self.nodes.0.keys() {
            if !self.roles.iter().any(|r| r.count_key == key) {
                let keys: Vec<&str> = self.roles.iter().map(|r| r.count_key).collect();
                return Err(src.error(
                    &format!("nodes.{key}"),
                    format!(
                        "{} has no such role (it counts {})",
                        self.protocol,
                        keys.join(", ")
                    ),
                ));
            }
        }
        for role in self.roles {
            if self.nodes.count(role.count_key) < role.min {
                return Err(src.error(
                    &format!("nodes.{}", role.count_key),
                    format!(
                        "at least {} {} needed",
                        role.min,
                        if role.min == 1 {
                            role.name
                        } else {
                            role.count_key
                        }
                    ),
                ));
            }
        }
        if self.node_count() > NODES_MAX as usize {
            return Err(src.error("nodes", format!("at most {NODES_MAX} nodes in all")));
        }
        if self.duration_ms == 0 || self.duration_ms > DURATION_MS_MAX {
            return Err(src.error("duration_ms", format!("must be 1..={DURATION_MS_MAX}")));
        }
        let [lo, hi] = self.network.latency_ms;
        if lo > hi || hi > 60_000 {
            return Err(src.error(
                "network.latency_ms",
                "must be [min, max] with min <= max <= 60000",
            ));
        }
        // A timeout shorter than a round trip breaks every stream: allowed (a scenario may
        // want exactly that), but zero is a typo.
        const STREAM_TIMEOUT_MS_MAX: u64 = 3600 * 1000;
        if !(1..=STREAM_TIMEOUT_MS_MAX).contains(&self.network.stream_timeout_ms) {
            return Err(src.error(
                "network.stream_timeout_ms",
                format!("must be 1..={STREAM_TIMEOUT_MS_MAX}"),
            ));
        }
        self.expectations(src)?;
        // The names are checked once the run's checks are known.
        self.check_allow_vacuous(src, None)?;
        check_rate(src, "network.loss", self.network.loss)?;
        check_rate(src, "network.corrupt", self.network.corrupt)?;
        check_rate(src, "network.duplicate", self.network.duplicate)?;
        if let Some(rf) = &self.random_faults {
            if rf.kinds.is_empty() {
                return Err(src.error(
                    "random_faults.kinds",
                    "name at least one kind: crash, partition, one-way, loss",
                ));
            }
            if !(rf.per_s > 0.0 && rf.per_s <= 100.0) {
                return Err(src.error("random_faults.per_s", "must be above 0 and at most 100"));
            }
            if rf.until_ms > self.duration_ms || rf.until_ms <= rf.from_ms {
                return Err(src.error(
                    "random_faults.until_ms",
                    "must be after from_ms and within duration_ms",
                ));
            }
            check_rate(src, "random_faults.loss_max", rf.loss_max)?;
            if let Some((key, _)) = rf.config.iter().find(|(_, values)| values.is_empty()) {
                return Err(src.error(
                    &format!("random_faults.config.{key}"),
                    "list at least one value to draw from",
                ));
            }
            if let Some(rate) = rf.network_loss_max {
                check_rate(src, "random_faults.network_loss_max", rate)?;
            }
            if rf
                .latency_ms_max
                .is_some_and(|hi| hi < self.network.latency_ms[0] || hi > 60_000)
            {
                return Err(src.error(
                    "random_faults.latency_ms_max",
                    "must be between network.latency_ms's min and 60000",
                ));
            }
        }
        self.validate_rules(src, "network.rules", &self.network.rules)?;
        self.validate_clocks(src)?;
        self.validate_faults(src)?;
        Ok(())
    }
}

pub(crate) fn check_rate(src: &Source, path: &str, rate: f64) -> Result<(), InputError> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(src.error(path, format!("{rate} is not a probability (0 to 1)")))
    }
}

/// A catalogue of one protocol, `group`, of servers and clients: for tests of the runtime,
/// which knows no protocol by name.
#[doc(hidden)]
pub struct ServersAndClients;

impl Catalog for ServersAndClients {
    fn roles(&self, protocol: &str) -> Option<&'static [Role]> {
        (protocol == "group").then_some(crate::protocol::SERVERS_AND_CLIENTS)
    }
    fn protocols(&self) -> Vec<&'static str> {
        vec!["group"]
    }
    fn takes_submits(&self, protocol: &str) -> bool {
        protocol == "group"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
protocol = "group"
duration_ms = 10000

[nodes]
servers = 3
clients = 1

[network]
latency_ms = [1, 5]

[[faults]]
kind = "crash"
node = "s3"
at_ms = 2000

[[faults]]
kind = "partition"
groups = [["s1"], ["s2", "s3"]]
at_ms = 3000
heal_ms = 4000
"#;

    #[test]
    fn good_scenario_parses_and_compiles_its_schedule() {
        let s = Scenario::parse("t.toml", GOOD, &ServersAndClients).unwrap();
        assert_eq!(s.node_names(), ["s1", "s2", "s3", "c1"]);
        let sched = s.schedule();
        assert_eq!(sched[0], (2000, WorldAction::Crash(NodeId(2))));
        let WorldAction::Cut(links) = &sched[1].1 else {
            panic!()
        };
        // s1 | s2,s3 | c1 (unlisted): every cross-group pair, both ways.
        assert!(links.contains(&(NodeId(0), NodeId(1))) && links.contains(&(NodeId(1), NodeId(0))));
        assert!(links.contains(&(NodeId(3), NodeId(0))));
        assert!(!links.contains(&(NodeId(1), NodeId(2))));
        assert_eq!(sched[2].0, 4000);
    }

    #[test]
    fn misspelt_field_names_line_and_field() {
        let bad = GOOD.replace("latency_ms = [1, 5]", "lateny_ms = [1, 5]");
        let err = Scenario::parse("t.toml", &bad, &ServersAndClients).unwrap_err();
        assert_eq!(err.field, "network.lateny_ms");
        assert_eq!(err.line, Some(11));
        assert!(
            err.to_string()
                .starts_with("t.toml:11: field `network.lateny_ms`"),
            "{err}"
        );
    }

    #[test]
    fn misspelt_fault_field_names_the_fault() {
        let bad = GOOD.replace("node = \"s3\"", "nod = \"s3\"");
        let err = Scenario::parse("t.toml", &bad, &ServersAndClients).unwrap_err();
        assert!(err.field.ends_with("nod"), "{err}");
        assert_eq!(err.line, Some(15), "{err}");
    }

    #[test]
    fn unknown_node_names_the_fault_line() {
        let bad = GOOD.replace("node = \"s3\"", "node = \"s9\"");
        let err = Scenario::parse("t.toml", &bad, &ServersAndClients).unwrap_err();
        assert_eq!(err.field, "faults[0].node");
        assert_eq!(err.line, Some(15));
    }

    #[test]
    fn a_group_of_1024_is_accepted_and_one_more_node_refused() {
        let at_cap = GOOD.replace("servers = 3", "servers = 1023");
        let s = Scenario::parse("t.toml", &at_cap, &ServersAndClients).unwrap();
        assert_eq!(s.node_count(), 1024);
        let past = GOOD.replace("servers = 3", "servers = 1024");
        let err = Scenario::parse("t.toml", &past, &ServersAndClients).unwrap_err();
        assert_eq!(err.field, "nodes");
        assert!(err.to_string().contains("at most 1024 nodes"), "{err}");
    }

    #[test]
    fn wrong_type_is_reported_with_its_line() {
        let bad = GOOD.replace("duration_ms = 10000", "duration_ms = \"ten\"");
        let err = Scenario::parse("t.toml", &bad, &ServersAndClients).unwrap_err();
        assert_eq!(err.field, "duration_ms");
        assert_eq!(err.line, Some(4));
    }

    #[test]
    fn stream_timeout_defaults_and_a_zero_one_names_its_line() {
        let s = Scenario::parse("t.toml", GOOD, &ServersAndClients).unwrap();
        assert_eq!(s.network.stream_timeout_ms, STREAM_TIMEOUT_MS_DEFAULT);
        let set = GOOD.replace(
            "latency_ms = [1, 5]",
            "latency_ms = [1, 5]\nstream_timeout_ms = 900",
        );
        let s = Scenario::parse("t.toml", &set, &ServersAndClients).unwrap();
        assert_eq!(s.network.stream_timeout_ms, 900);
        let bad = GOOD.replace(
            "latency_ms = [1, 5]",
            "latency_ms = [1, 5]\nstream_timeout_ms = 0",
        );
        let err = Scenario::parse("t.toml", &bad, &ServersAndClients).unwrap_err();
        assert_eq!(err.field, "network.stream_timeout_ms");
        assert_eq!(err.line, Some(12), "{err}");
    }

    const EXPECT: &str = r#"
[[expect]]
kind = "no-leader"
nodes = ["s1"]
from_ms = 3000
until_ms = 4000

[[expect]]
kind = "committed"
name = "progress"
after_ms = 4000
by_ms = 9000
"#;

    #[test]
    fn expectations_parse_resolve_and_round_trip() {
        let text = format!("{GOOD}{EXPECT}");
        let s = Scenario::parse("t.toml", &text, &ServersAndClients).unwrap();
        let e = s.expected();
        assert_eq!(e[0].name, "expect-1-no-leader");
        assert_eq!(e[0].nodes, [NodeId(0)]);
        assert_eq!((e[0].from_us, e[0].until_us), (3_000_000, 4_000_000));
        assert_eq!(
            (e[1].name.as_str(), e[1].kind),
            ("progress", ExpectKind::Committed)
        );
        assert_eq!((e[1].from_us, e[1].after_us), (9_000_000, 4_000_000));
        // A seed file embeds the scenario: its expectations must come back the same.
        let again = toml::to_string(&s).unwrap();
        let back = Scenario::parse("t.toml", &again, &ServersAndClients).unwrap();
        assert_eq!(back.expect, s.expect);
    }

    #[test]
    fn bad_expectations_name_their_line_and_field() {
        let err = |from: &str, to: &str| {
            let text = format!("{GOOD}{EXPECT}").replace(from, to);
            Scenario::parse("t.toml", &text, &ServersAndClients).unwrap_err()
        };
        let e = err("nodes = [\"s1\"]", "nodes = [\"s9\"]");
        assert_eq!(
            (e.field.as_str(), e.line),
            ("expect[0].nodes", Some(26)),
            "{e}"
        );
        let e = err("until_ms = 4000", "until_ms = 2000");
        assert_eq!(
            (e.field.as_str(), e.line),
            ("expect[0].until_ms", Some(28)),
            "{e}"
        );
        let e = err("by_ms = 9000", "at_ms = 9000");
        assert_eq!(e.field, "expect[1].kind", "{e}");
        assert!(e.message.contains("needs `by_ms`"), "{e}");
        let e = err("name = \"progress\"", "max = 3");
        assert_eq!(e.field, "expect[1].max", "{e}");
        let e = err("kind = \"committed\"", "kind = \"commited\"");
        assert_eq!(e.line, Some(31), "{e}");
        let e = err("by_ms = 9000", "by_ms = 99000");
        assert!(e.message.contains("past the end"), "{e}");
        let e = err("name = \"progress\"", "name = \"expect-1-no-leader\"");
        assert_eq!(e.field, "expect[1].name", "{e}");
        let e = err("after_ms = 4000", "aftr_ms = 4000");
        assert!(e.field.ends_with("aftr_ms") && e.line == Some(33), "{e}");
    }

    #[test]
    fn allow_vacuous_is_a_list_of_the_run_s_check_names() {
        let text = format!("{GOOD}\n[checks]\nallow_vacuous = [\"liveness\"]\nbound_ms = 5\n");
        let s = Scenario::parse("t.toml", &text, &ServersAndClients).unwrap();
        assert_eq!(s.allow_vacuous(), ["liveness"]);
        assert!(!s.protocol_checks().contains_key(ALLOW_VACUOUS));
        assert!(s.protocol_checks().contains_key("bound_ms"));
        let src = Source {
            file: "t.toml",
            text: &text,
        };
        assert!(s.check_allow_vacuous(&src, Some(&["liveness"])).is_ok());
        let e = s.check_allow_vacuous(&src, Some(&["safety"])).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.line),
            ("checks.allow_vacuous", Some(25)),
            "{e}"
        );
        let bad = text.replace("[\"liveness\"]", "\"liveness\"");
        let e = Scenario::parse("t.toml", &bad, &ServersAndClients).unwrap_err();
        assert_eq!(e.field, "checks.allow_vacuous", "{e}");
    }

    #[test]
    fn heal_before_cut_is_refused() {
        let bad = GOOD.replace("heal_ms = 4000", "heal_ms = 2500");
        let err = Scenario::parse("t.toml", &bad, &ServersAndClients).unwrap_err();
        assert_eq!(err.field, "faults[1].heal_ms");
        assert_eq!(err.line, Some(22));
    }
}
