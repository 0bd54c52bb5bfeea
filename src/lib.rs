//! faultline: a deterministic simulation testbed for distributed protocols.
//!
//! As a library, it tests a protocol of your own:
//! - write the protocol against [`sim`] (the runtime: [`sim::Node`], [`sim::Cx`],
//!   [`sim::Protocol`], [`sim::Check`]), with no I/O of its own;
//! - build it from [`parts`] where they fit (a bully election, a failure detector, a Lamport
//!   clock, Ricart-Agrawala, Chandy-Lamport snapshots);
//! - list it in a [`Registry`] (`Registry::default().with::<MyProtocol>()`);
//! - from `cargo test` (simulator flavor, `--cfg madsim`), run, explore and shrink its
//!   scenarios with [`testing::Sim`];
//! - from `main`, get the whole `faultline` command for it with [`cli::main_with`]: `run`,
//!   `explore`, `replay`, `shrink` in the simulator, `node` and `lan` as real processes.
//!
//! The protocols faultline ships (the bully group, Raft) are in [`Registry::builtin`].

#[cfg(madsim)]
pub mod bench;
#[cfg(not(madsim))]
pub mod bench_real;
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
#[cfg(not(madsim))]
pub mod data_dir;
pub mod error;
pub mod exploration;
#[cfg(madsim)]
pub mod explore;
#[cfg(not(madsim))]
pub mod lan;
#[cfg(not(madsim))]
pub mod node;
pub mod outcome;
#[cfg(not(madsim))]
pub mod overlay_grpc;
pub(crate) mod progress_bar;
pub mod recorder;
pub mod registry;
pub mod report;
#[cfg(madsim)]
pub mod run;
pub mod seedfile;
#[cfg(madsim)]
pub mod shrink;
#[cfg(not(madsim))]
pub mod start;
pub mod summary;
#[cfg(madsim)]
pub mod testing;

pub use error::Error;
pub use faultline_nodes::parts;
pub use faultline_sim as sim;
pub use registry::Registry;
