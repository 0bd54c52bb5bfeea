//! Planted bugs: known-wrong variants that prove the checks can catch what they claim to.

use serde::{Deserialize, Serialize};

/// Which planted bugs are on. In configuration files it is a list of names.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Bugs {
    /// A server follows a COORDINATOR from a lower id instead of challenging it.
    pub accept_lower_coordinator: bool,
    /// The leader acknowledges a chat once appended locally, before a majority stored it.
    pub ack_before_quorum: bool,
    /// The leader appends a client's retried message again instead of recognising it.
    pub no_dedup: bool,
}

impl Bugs {
    /// Every known bug name.
    pub const NAMES: &'static [&'static str] =
        &["accept-lower-coordinator", "ack-before-quorum", "no-dedup"];

    /// Turns on the named bugs; an unknown name is an error listing the known ones.
    pub fn from_names(names: &[String]) -> Result<Bugs, String> {
        let mut bugs = Bugs::default();
        for name in names {
            match name.as_str() {
                "accept-lower-coordinator" => bugs.accept_lower_coordinator = true,
                "ack-before-quorum" => bugs.ack_before_quorum = true,
                "no-dedup" => bugs.no_dedup = true,
                other => {
                    return Err(format!(
                        "unknown bug {other:?}; known bugs: {}",
                        Bugs::NAMES.join(", ")
                    ))
                }
            }
        }
        Ok(bugs)
    }

    /// The names of the bugs that are on, in `NAMES` order.
    pub fn names(&self) -> Vec<String> {
        let on = [
            self.accept_lower_coordinator,
            self.ack_before_quorum,
            self.no_dedup,
        ];
        Bugs::NAMES
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(name, _)| name.to_string())
            .collect()
    }
}

impl TryFrom<Vec<String>> for Bugs {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, String> {
        Bugs::from_names(&names)
    }
}

impl From<Bugs> for Vec<String> {
    fn from(bugs: Bugs) -> Self {
        bugs.names()
    }
}
