//! The `faultline` command: runs scenarios in the simulator, real nodes over sockets, and
//! turns traces into summaries and timelines.

#[cfg(madsim)]
pub mod bench;
#[cfg(madsim)]
pub mod byzantine;
pub mod check_history;
pub mod cli;
#[cfg(not(madsim))]
pub mod client;
pub mod cluster;
#[cfg(not(madsim))]
pub mod collect;
#[cfg(not(madsim))]
pub mod compare;
pub mod exploration;
#[cfg(madsim)]
pub mod explore;
#[cfg(not(madsim))]
pub mod lan;
#[cfg(not(madsim))]
pub mod node;
pub mod outcome;
pub mod registry;
pub mod report;
#[cfg(madsim)]
pub mod run;
pub mod seedfile;
#[cfg(madsim)]
pub mod shrink;
pub mod summary;
