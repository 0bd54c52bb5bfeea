//! What a protocol's events say about the state expectations read: one small vocabulary
//! for every protocol, so `[[expect]]` is one language. A protocol maps its events to facts
//! in [`crate::Protocol::fact`]; who leads comes from the `Leader` note every protocol
//! already reports.

use serde::{Deserialize, Serialize};

/// One fact a node's event tells.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fact {
    /// The node is in this term (a Raft term, a bully epoch) or a later one: terms only
    /// rise, and survive a crash.
    Term(u64),
    /// The node's commit index rose to this. Lost in a crash.
    Commit(u64),
    /// The node's state machine holds everything up to this index (it applied it, or
    /// restored or installed a snapshot of it); applied entries are committed too. Lost in
    /// a crash.
    Applied(u64),
}
