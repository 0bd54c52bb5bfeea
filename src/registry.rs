//! The protocols the `faultline` command knows. A protocol tells the runtime everything
//! about itself through [`faultline_sim::Protocol`]; this file lists them, one line each, in
//! [`Registry::builtin`]. Every command (`run`, `explore`, `shrink`, `replay`, `byzantine`,
//! `bench`, `lan`, `node`) finds a protocol here by the name a scenario or cluster file
//! gives, so adding one touches nothing else.
//!
//! A user's own crate builds a registry with its protocol in it (`Registry::builtin()
//! .with::<MyProtocol>()`) and hands it to [`crate::cli::main_with`] for a whole `faultline`
//! command of its own, or calls [`crate::testing`] from `cargo test`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use faultline_sim::runtime::transport::TransportKind;
use faultline_sim::scenario::{Catalog, InputError, Scenario, Source};
use faultline_sim::{Bug, Message, MsgKind, Protocol, Role, Setup, Tone};

/// One protocol, with its type erased: what a command asks of a protocol it found by name.
pub trait Entry: Send + Sync {
    /// Its name in scenarios and cluster files.
    fn name(&self) -> &'static str;
    /// One line for people.
    fn about(&self) -> &'static str;
    /// Its kinds of node, in id order.
    fn roles(&self) -> &'static [Role];
    /// Whether its nodes take submitted commands (`Protocol::TAKES_SUBMITS`).
    fn takes_submits(&self) -> bool;
    /// How its real nodes talk by default.
    fn transport(&self) -> TransportKind;
    /// Its planted bugs.
    fn bugs(&self) -> &'static [Bug];
    /// Its message labels and their kinds.
    fn kinds(&self) -> &'static [(&'static str, MsgKind)];
    /// Its state roles and how a timeline draws them.
    fn states(&self) -> &'static [(&'static str, Tone)];
    /// Builds the protocol from `setup`, which validates its sections against `src`.
    fn validate(&self, setup: &Setup, src: &Source) -> Result<(), InputError>;
    /// The host of each node of `setup` ([`Protocol::host`]), in id order.
    fn hosts(&self, setup: &Setup, src: &Source) -> Result<Vec<Option<String>>, InputError>;
    /// Runs `req` in the simulator; `files` is a report folder to write the trace into as
    /// the run goes (and asks for the timeline).
    #[cfg(madsim)]
    fn simulate(
        &self,
        req: &crate::run::RunRequest,
        files: Option<&std::path::Path>,
    ) -> Result<crate::outcome::Outcome, InputError>;
    /// Merges and judges the traces real nodes of `scenario` wrote.
    #[cfg(not(madsim))]
    fn judge_traces(
        &self,
        scenario: &Scenario,
        src: &Source,
        opts: &crate::lan::merge::MergeOptions,
    ) -> Result<crate::lan::merge::Merged, String>;
    /// Runs node `id` of a cluster as a real process until Ctrl-C.
    #[cfg(not(madsim))]
    fn serve(&self, node: &crate::node::NodeRequest) -> Result<(), crate::error::Error>;
}

impl fmt::Debug for dyn Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "protocol {}", self.name())
    }
}

/// The [`Entry`] of protocol `P`.
struct Typed<P>(PhantomData<fn() -> P>);

impl<P: Protocol> Entry for Typed<P> {
    fn name(&self) -> &'static str {
        P::NAME
    }
    fn about(&self) -> &'static str {
        P::ABOUT
    }
    fn roles(&self) -> &'static [Role] {
        P::ROLES
    }
    fn takes_submits(&self) -> bool {
        P::TAKES_SUBMITS
    }
    fn transport(&self) -> TransportKind {
        P::TRANSPORT
    }
    fn bugs(&self) -> &'static [Bug] {
        P::BUGS
    }
    fn kinds(&self) -> &'static [(&'static str, MsgKind)] {
        <P::Msg as Message>::KINDS
    }
    fn states(&self) -> &'static [(&'static str, Tone)] {
        P::STATES
    }
    fn validate(&self, setup: &Setup, src: &Source) -> Result<(), InputError> {
        P::new(setup, src).map(drop)
    }
    fn hosts(&self, setup: &Setup, src: &Source) -> Result<Vec<Option<String>>, InputError> {
        let proto = P::new(setup, src)?;
        Ok((0..setup.names.len())
            .map(|i| proto.host(faultline_sim::NodeId(i as u16)))
            .collect())
    }
    #[cfg(madsim)]
    fn simulate(
        &self,
        req: &crate::run::RunRequest,
        files: Option<&std::path::Path>,
    ) -> Result<crate::outcome::Outcome, InputError> {
        let proto = P::new(&setup_of(&req.scenario, &req.bugs), &req.source())?;
        check_allow_vacuous(&proto, &req.scenario, &req.source())?;
        crate::run::execute(proto, req, files)
    }
    #[cfg(not(madsim))]
    fn judge_traces(
        &self,
        scenario: &Scenario,
        src: &Source,
        opts: &crate::lan::merge::MergeOptions,
    ) -> Result<crate::lan::merge::Merged, String> {
        let proto = P::new(&setup_of(scenario, &[]), src).map_err(|e| e.to_string())?;
        check_allow_vacuous(&proto, scenario, src).map_err(|e| e.to_string())?;
        crate::lan::merge::judge(proto, scenario, opts)
    }
    #[cfg(not(madsim))]
    fn serve(&self, node: &crate::node::NodeRequest) -> Result<(), crate::error::Error> {
        let proto = P::new(&node.cluster.setup(), &node.cluster.source())?;
        crate::node::serve(proto, node)
    }
}

/// Checks that `[checks] allow_vacuous` names only checks the run has: the protocol's and
/// the scenario's expectations.
fn check_allow_vacuous<P: Protocol>(
    proto: &P,
    scenario: &Scenario,
    src: &Source,
) -> Result<(), InputError> {
    let checks = proto.checks();
    let expected = scenario.expected();
    let names: Vec<&str> = (checks.iter().map(|c| c.name()))
        .chain(expected.iter().map(|e| e.name.as_str()))
        .collect();
    scenario.check_allow_vacuous(src, Some(&names))
}

/// The setup a scenario describes, with planted bugs `bugs`.
pub fn setup_of(scenario: &Scenario, bugs: &[String]) -> Setup {
    Setup {
        names: scenario.node_names(),
        roles: scenario.node_roles().iter().map(|r| r.name).collect(),
        config: scenario.config.clone(),
        workload: scenario.workload.clone(),
        checks: scenario.protocol_checks(),
        bugs: bugs.to_vec(),
    }
}

/// The protocols a command can run.
#[derive(Clone, Default)]
pub struct Registry {
    /// Each protocol, in the order it was added.
    entries: Vec<Arc<dyn Entry>>,
}

impl Registry {
    /// The protocols faultline ships: one line each.
    pub fn builtin() -> Registry {
        Registry::default()
            .with::<faultline_nodes::bully::Bully>()
            .with::<faultline_nodes::raft::Raft>()
            .with::<faultline_nodes::cache::Cache>()
            .with::<faultline_nodes::overlay::Overlay>()
            .with::<faultline_nodes::primes::Primes>()
            .with::<faultline_nodes::tsp::Tsp>()
    }

    /// This registry with `P` added (replacing a protocol of the same name).
    pub fn with<P: Protocol>(mut self) -> Registry {
        self.entries.retain(|e| e.name() != P::NAME);
        self.entries.push(Arc::new(Typed::<P>(PhantomData)));
        self
    }

    /// The protocol named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Entry>> {
        self.entries.iter().find(|e| e.name() == name).cloned()
    }

    /// The protocol named `name`, or an error at `field` of `src` that lists the known ones.
    pub fn find(
        &self,
        name: &str,
        src: &Source,
        field: &str,
    ) -> Result<Arc<dyn Entry>, InputError> {
        self.get(name).ok_or_else(|| {
            src.error(
                field,
                format!(
                    "unknown protocol `{name}` (known: {})",
                    self.names().join(", ")
                ),
            )
        })
    }

    /// Every protocol's name.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name()).collect()
    }

    /// Every protocol.
    pub fn entries(&self) -> impl Iterator<Item = &Arc<dyn Entry>> {
        self.entries.iter()
    }
}

impl Catalog for Registry {
    fn roles(&self, protocol: &str) -> Option<&'static [Role]> {
        self.get(protocol).map(|e| e.roles())
    }
    fn protocols(&self) -> Vec<&'static str> {
        self.names()
    }
    fn takes_submits(&self, protocol: &str) -> bool {
        self.get(protocol).is_some_and(|e| e.takes_submits())
    }
}

/// Checks planted bug names against a protocol's; `src` and `field` say where they came from
/// (a seed file's `bugs`), or `--bug` when there is no file.
pub fn check_bugs(
    entry: &dyn Entry,
    names: &[String],
    src: Option<(&Source, &str)>,
) -> Result<(), InputError> {
    for name in names {
        if entry.bugs().iter().any(|b| b.name == name) {
            continue;
        }
        let known: Vec<&str> = entry.bugs().iter().map(|b| b.name).collect();
        let message = format!(
            "{} has no planted bug `{name}` (known: {})",
            entry.name(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
        return Err(match src {
            Some((src, field)) => src.error(field, message),
            None => InputError {
                file: "--bug".into(),
                line: None,
                field: String::new(),
                message,
            },
        });
    }
    Ok(())
}
