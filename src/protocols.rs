//! The protocols faultline knows, by the name scenarios and cluster files use.

use faultline_sim::scenario::{InputError, Scenario, Source};
use faultline_sim::Setup;

/// Protocol names, for error messages.
pub const NAMES: &[&str] = &["bully", "raft"];

/// The setup a scenario describes.
pub fn setup(scenario: &Scenario, bugs: &[String]) -> Setup {
    Setup {
        servers: scenario.servers(),
        clients: scenario.clients(),
        config: scenario.config.clone(),
        workload: scenario.workload.clone(),
        checks: scenario.checks.clone(),
        bugs: bugs.to_vec(),
    }
}

/// An error for a protocol name nobody knows.
pub fn unknown(src: &Source, field: &str, name: &str) -> InputError {
    src.error(
        field,
        format!("unknown protocol `{name}` (known: {})", NAMES.join(", ")),
    )
}

/// Something to do with a protocol, whichever one a scenario names (a closure cannot be
/// generic over the protocol's type; a trait method can).
pub trait WithProtocol {
    /// What it gives back.
    type Out;
    /// Does it with the protocol built from the scenario.
    fn with<P: faultline_sim::Protocol>(self, proto: P) -> Self::Out;
}

/// Builds the protocol `scenario` names (validating its sections against `src`) and hands
/// it to `w`.
pub fn with_protocol<W: WithProtocol>(
    scenario: &Scenario,
    bugs: &[String],
    src: &Source,
    w: W,
) -> Result<W::Out, InputError> {
    let setup = setup(scenario, bugs);
    match scenario.protocol.as_str() {
        "bully" => Ok(w.with(faultline_nodes::bully::Bully::new(&setup, src)?)),
        "raft" => Ok(w.with(faultline_nodes::raft::Raft::new(&setup, src)?)),
        other => Err(unknown(src, "protocol", other)),
    }
}

/// Runs a request in the simulator with the protocol it names.
#[cfg(madsim)]
pub fn simulate(
    req: &crate::run::RunRequest,
    files: bool,
) -> Result<crate::run::Outcome, InputError> {
    let src = req.source();
    let setup = setup(&req.scenario, &req.bugs);
    match req.scenario.protocol.as_str() {
        "bully" => Ok(crate::run::execute(
            faultline_nodes::bully::Bully::new(&setup, &src)?,
            req,
            files,
        )),
        "raft" => Ok(crate::run::execute(
            faultline_nodes::raft::Raft::new(&setup, &src)?,
            req,
            files,
        )),
        other => Err(unknown(&src, "protocol", other)),
    }
}
