//! Seed files: a run made concrete — the scenario, the seed, the planted bugs and the
//! faultline version. All that a replay needs.

use std::path::Path;

use faultline_sim::scenario::{InputError, Scenario, Source};

use crate::registry::{check_bugs, Registry};
use crate::summary::ResolvedTurn;
use serde::{Deserialize, Serialize};

/// This build's version; a seed file from another one is refused.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A `.seed` file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// The faultline version that wrote it.
    pub faultline_version: String,
    /// The simulator's seed.
    pub seed: u64,
    /// Planted bugs that were switched on.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// The trace digest of the run when it was recorded.
    pub digest: String,
    /// The check that failed, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_check: Option<String>,
    /// Whom each turn of a fault decided at run time hit in this run (what the trace's
    /// `resolved` records say): for people and for shrinking; a replay resolves the
    /// targets again, the same way.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<ResolvedTurn>,
    /// The scenario, whole.
    pub scenario: Scenario,
}

impl SeedFile {
    /// Reads a seed file; refuses one from another faultline version.
    pub fn load(path: &Path, registry: &Registry) -> Result<SeedFile, InputError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InputError {
            file: file.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let src = Source {
            file: &file,
            text: &text,
        };
        let mut seed: SeedFile = src.parse()?;
        if seed.faultline_version != VERSION {
            return Err(src.error(
                "faultline_version",
                format!(
                    "written by faultline {}, this is {VERSION}: a replay could silently differ, so it is refused",
                    seed.faultline_version
                ),
            ));
        }
        // Validate the embedded scenario the same way as a scenario file.
        let scenario_text =
            toml::to_string(&seed.scenario).map_err(|e| src.error("scenario", e.to_string()))?;
        seed.scenario = Scenario::parse(&format!("{file} [scenario]"), &scenario_text, registry)?;
        let protocol = registry.find(&seed.scenario.protocol, &src, "scenario.protocol")?;
        check_bugs(&*protocol, &seed.bugs, Some((&src, "bugs")))?;
        if seed.digest.len() != 16 || !seed.digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(src.error(
                "digest",
                format!("`{}` is not a trace digest (16 hex digits)", seed.digest),
            ));
        }
        Ok(seed)
    }

    /// The file's text, with a comment that says how to replay it.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string(self).expect("a seed file always serializes");
        format!("# faultline seed file: replay with `cargo sim replay <this file>`\n{body}")
    }
}
