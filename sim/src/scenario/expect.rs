//! `[[expect]]` entries of a scenario: what the run must show over time (a leader during a
//! window, nothing committed while a majority is cut off, every replica caught up by a
//! time), judged on the trace beside the protocol's checks by [`crate::check::expect`].
//! And `[checks] allow_vacuous`: which checks may judge nothing.

use serde::{Deserialize, Serialize};

use super::{Scenario, Source};
use crate::node::NodeId;
use crate::scenario::InputError;

/// The key of `[checks]` that lists the checks allowed to judge nothing. The runtime
/// reads it; the protocol never sees it.
pub const ALLOW_VACUOUS: &str = "allow_vacuous";

/// How far behind the highest commit a caught-up replica may be, unless it says.
pub const CAUGHT_UP_LAG_MS_DEFAULT: u64 = 1000;

/// What an expectation asks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectKind {
    /// Throughout `[from_ms, until_ms)`, some live node leads (names itself leader).
    Leader,
    /// Throughout `[from_ms, until_ms)`, no live node leads.
    NoLeader,
    /// At `at_ms`, every live node with a known term is in the same one.
    SameTerm,
    /// Throughout `[from_ms, until_ms)`, no commit index rises.
    NoCommit,
    /// By `by_ms`, every live replica (or at least `replicas` of them) has committed
    /// `index`, or (without `index`) an entry beyond the highest commit index anyone had at
    /// `after_ms`.
    Committed,
    /// At `by_ms`, every live replica has applied everything committed anywhere by
    /// `by_ms - lag_ms` (entries committed since may still be on their way).
    CaughtUp,
    /// At most `max` datagrams (of `label`, if given) are sent in `[from_ms, until_ms)`.
    Messages,
}

impl ExpectKind {
    /// Its name in scenarios ("no-leader").
    pub fn name(self) -> &'static str {
        match self {
            ExpectKind::Leader => "leader",
            ExpectKind::NoLeader => "no-leader",
            ExpectKind::SameTerm => "same-term",
            ExpectKind::NoCommit => "no-commit",
            ExpectKind::Committed => "committed",
            ExpectKind::CaughtUp => "caught-up",
            ExpectKind::Messages => "messages",
        }
    }

    /// The time fields it needs, and the optional ones it takes.
    fn fields(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            ExpectKind::Leader | ExpectKind::NoLeader | ExpectKind::NoCommit => {
                (&["from_ms", "until_ms"], &[])
            }
            ExpectKind::SameTerm => (&["at_ms"], &[]),
            ExpectKind::Committed => (&["by_ms"], &["after_ms", "index", "replicas"]),
            ExpectKind::CaughtUp => (&["by_ms"], &["lag_ms"]),
            ExpectKind::Messages => (&["from_ms", "until_ms", "max"], &["label"]),
        }
    }
}

/// One `[[expect]]` entry as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// What it asks for.
    pub kind: ExpectKind,
    /// Its name in verdicts and in `allow_vacuous` (default `expect-<n>-<kind>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The nodes it looks at (default: every node).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Start of its window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<u64>,
    /// End of its window (excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<u64>,
    /// The instant it judges (same-term).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// The instant by which it must hold (committed, caught-up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_ms: Option<u64>,
    /// Committed: the entry must be newer than every entry committed by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<u64>,
    /// Caught-up: how far behind the commits a replica may be (default
    /// [`CAUGHT_UP_LAG_MS_DEFAULT`]): a leader that keeps ticking commits as it goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_ms: Option<u64>,
    /// Committed: the index every live replica must reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Committed: how many live replicas must have it (default: every live one), as the
    /// 6.5840 lab's `one(cmd, n)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u64>,
    /// Messages: the most allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
    /// Messages: count only datagrams of this label ("REQUEST_VOTE").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// An expectation resolved against its scenario: node names turned into ids, defaults
/// filled in, times in microseconds. What [`crate::check::expect::Expectation`] judges.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// Its unique name.
    pub name: String,
    /// What it asks for.
    pub kind: ExpectKind,
    /// The nodes it looks at; empty: every node.
    pub nodes: Vec<NodeId>,
    /// Window start, or the instant judged (µs).
    pub from_us: u64,
    /// Window end, excluded (µs); equal to `from_us` for an instant.
    pub until_us: u64,
    /// Committed: the time whose highest commit index must be passed; caught-up: the time
    /// whose highest commit index every replica must have applied (µs).
    pub after_us: u64,
    /// Committed: the index to reach.
    pub index: Option<u64>,
    /// Committed: how many live replicas must reach it (`None`: every live one).
    pub replicas: Option<u64>,
    /// Messages: the most allowed.
    pub max: u64,
    /// Messages: the label counted.
    pub label: Option<String>,
}

impl Expect {
    /// The value of field `name` (a time or a count), if set.
    fn field(&self, name: &str) -> Option<u64> {
        match name {
            "from_ms" => self.from_ms,
            "until_ms" => self.until_ms,
            "at_ms" => self.at_ms,
            "by_ms" => self.by_ms,
            "after_ms" => self.after_ms,
            "lag_ms" => self.lag_ms,
            "index" => self.index,
            "replicas" => self.replicas,
            "max" => self.max,
            _ => None,
        }
    }
}

/// Every field a kind may take, for "takes no" errors.
const FIELDS: &[&str] = &[
    "from_ms", "until_ms", "at_ms", "by_ms", "after_ms", "lag_ms", "index", "replicas", "max",
];

impl Scenario {
    /// The expectations, checked and resolved; errors name the entry's line and field.
    pub fn expectations(&self, src: &Source) -> Result<Vec<Resolved>, InputError> {
        let mut out: Vec<Resolved> = Vec::new();
        for (i, e) in self.expect.iter().enumerate() {
            let at = |field: &str| format!("expect[{i}].{field}");
            let (needs, may) = e.kind.fields();
            for field in needs {
                if e.field(field).is_none() {
                    return Err(
                        src.error(&at("kind"), format!("`{}` needs `{field}`", e.kind.name()))
                    );
                }
            }
            for field in FIELDS {
                if e.field(field).is_some() && !needs.contains(field) && !may.contains(field) {
                    return Err(src.error(
                        &at(field),
                        format!("`{}` takes no `{field}`", e.kind.name()),
                    ));
                }
            }
            if e.label.is_some() && e.kind != ExpectKind::Messages {
                return Err(src.error(&at("label"), "only `messages` takes a `label`"));
            }
            for field in FIELDS.iter().filter(|f| f.ends_with("_ms")) {
                if let Some(ms) = e.field(field) {
                    if ms > self.duration_ms {
                        return Err(src.error(
                            &at(field),
                            format!("{ms} is past the end of the run ({} ms)", self.duration_ms),
                        ));
                    }
                }
            }
            if let (Some(from), Some(until)) = (e.from_ms, e.until_ms) {
                if until <= from {
                    return Err(src.error(&at("until_ms"), "must be after from_ms"));
                }
            }
            if let (Some(after), Some(by)) = (e.after_ms, e.by_ms) {
                if by <= after {
                    return Err(src.error(&at("by_ms"), "must be after after_ms"));
                }
            }
            if e.after_ms.is_some() && e.index.is_some() {
                return Err(src.error(&at("index"), "give `index` or `after_ms`, not both"));
            }
            if e.index == Some(0) {
                return Err(src.error(&at("index"), "indexes start at 1"));
            }
            if let Some(n) = e.replicas {
                let nodes = self.node_names().len() as u64;
                if n == 0 || n > nodes {
                    return Err(src.error(
                        &at("replicas"),
                        format!("must be between 1 and the {nodes} nodes of the run"),
                    ));
                }
            }
            let mut nodes = Vec::new();
            for name in &e.nodes {
                let id = self.node_id(name).ok_or_else(|| {
                    src.error(
                        &at("nodes"),
                        format!(
                            "no node named `{name}` (nodes are {})",
                            self.node_names().join(", ")
                        ),
                    )
                })?;
                nodes.push(id);
            }
            nodes.sort();
            nodes.dedup();
            let name = e
                .name
                .clone()
                .unwrap_or_else(|| format!("expect-{}-{}", i + 1, e.kind.name()));
            if name.is_empty() || out.iter().any(|r| r.name == name) {
                return Err(src.error(
                    &at("name"),
                    format!("`{name}`: each expectation needs a name of its own"),
                ));
            }
            let us = |ms: Option<u64>| ms.unwrap_or(0).saturating_mul(1000);
            let (from_us, until_us) = match e.kind {
                ExpectKind::SameTerm => (us(e.at_ms), us(e.at_ms)),
                ExpectKind::Committed | ExpectKind::CaughtUp => (us(e.by_ms), us(e.by_ms)),
                _ => (us(e.from_ms), us(e.until_ms)),
            };
            out.push(Resolved {
                name,
                kind: e.kind,
                nodes,
                from_us,
                until_us,
                after_us: match e.kind {
                    ExpectKind::CaughtUp => us(e.by_ms)
                        .saturating_sub(us(Some(e.lag_ms.unwrap_or(CAUGHT_UP_LAG_MS_DEFAULT)))),
                    _ => us(e.after_ms),
                },
                index: e.index,
                replicas: e.replicas,
                max: e.max.unwrap_or(0),
                label: e.label.clone(),
            });
        }
        Ok(out)
    }

    /// The expectations of a scenario that was validated when it was parsed.
    pub fn expected(&self) -> Vec<Resolved> {
        let src = Source {
            file: &self.name,
            text: "",
        };
        self.expectations(&src)
            .expect("a scenario's expectations are checked when it is parsed")
    }

    /// The checks `[checks] allow_vacuous` lets judge nothing.
    pub fn allow_vacuous(&self) -> Vec<String> {
        let Some(toml::Value::Array(names)) = self.checks.get(ALLOW_VACUOUS) else {
            return Vec::new();
        };
        names
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }

    /// `[checks]` as the protocol sees it: its own bounds, without the runtime's key.
    pub fn protocol_checks(&self) -> toml::Table {
        let mut checks = self.checks.clone();
        checks.remove(ALLOW_VACUOUS);
        checks
    }

    /// Checks `[checks] allow_vacuous`: a list of names, each one of `names` (the run's
    /// checks: the protocol's and the expectations') when they are known.
    pub fn check_allow_vacuous(
        &self,
        src: &Source,
        names: Option<&[&str]>,
    ) -> Result<(), InputError> {
        let field = format!("checks.{ALLOW_VACUOUS}");
        match self.checks.get(ALLOW_VACUOUS) {
            None => return Ok(()),
            Some(toml::Value::Array(items)) if items.iter().all(|v| v.is_str()) => {}
            Some(_) => return Err(src.error(&field, "must be a list of check names")),
        }
        let Some(names) = names else {
            return Ok(());
        };
        for name in self.allow_vacuous() {
            if !names.contains(&name.as_str()) {
                return Err(src.error(
                    &field,
                    format!("no check named `{name}` (checks are {})", names.join(", ")),
                ));
            }
        }
        Ok(())
    }
}
