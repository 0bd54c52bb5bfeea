//! Planted bugs: known-wrong variants that prove the checks can catch what they claim to.

use serde::{Deserialize, Serialize};

/// Which planted bugs are on. In configuration files it is a list of names.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct Bugs {
    /// A replica grants a second vote in a term it already voted in.
    pub vote_twice: bool,
    /// A leader commits an entry of an earlier term by counting replicas (Raft's Figure 8).
    pub commit_old_term: bool,
    /// A lock acquire takes the resource from holders whose lease has not run out.
    pub lease_ignored: bool,
}

impl Bugs {
    /// Every known bug name.
    pub const NAMES: &'static [&'static str] = &["vote-twice", "commit-old-term", "lease-ignored"];

    /// Turns on the named bugs; an unknown name is an error listing the known ones.
    pub fn from_names(names: &[String]) -> Result<Bugs, String> {
        let mut bugs = Bugs::default();
        for name in names {
            match name.as_str() {
                "vote-twice" => bugs.vote_twice = true,
                "commit-old-term" => bugs.commit_old_term = true,
                "lease-ignored" => bugs.lease_ignored = true,
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
        let on = [self.vote_twice, self.commit_old_term, self.lease_ignored];
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
