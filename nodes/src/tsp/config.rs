//! The solver's settings: `[config]` (timing, distribution), `[workload]` (the problem) and
//! `[checks]` (what the checks expect).

use serde::Deserialize;

/// How the active coordinator picks a worker for a subproblem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Workers in turn, each up to its window.
    RoundRobin,
    /// The worker with the fewest subproblems outstanding.
    #[default]
    LeastLoaded,
    /// Least loaded, with subproblems split one city finer, and an idle worker takes a
    /// copy of the oldest subproblem of the busiest worker once nothing is left to hand out.
    Adaptive,
}

/// `[config]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TspConfig {
    /// How often coordinators and workers send heartbeats (ms).
    pub heartbeat_ms: u64,
    /// Silence after which a peer is declared dead (ms).
    pub peer_timeout_ms: u64,
    /// How long a bully candidate waits for an answer (ms).
    pub election_timeout_ms: u64,
    /// How many subproblems a worker holds at once.
    pub window: usize,
    /// Cities fixed after city 0 in a subproblem's prefix.
    pub depth: usize,
    /// Simulated search time per branch-and-bound node (µs): a worker's slice of search
    /// takes its nodes times this long before the next slice, or its result, goes out.
    pub node_us: u64,
    /// Most branch-and-bound nodes a worker expands before it hears its messages again (a
    /// tighter bound, heartbeats due).
    pub slice_nodes: u64,
    /// Whether the active coordinator starts the solve from a heuristic tour (nearest
    /// neighbour, 2-opt, Or-opt) as the best known, so that workers prune from the start.
    pub start_tour: bool,
    /// How subproblems are handed out.
    pub strategy: Strategy,
}

impl Default for TspConfig {
    fn default() -> TspConfig {
        TspConfig {
            heartbeat_ms: 50,
            peer_timeout_ms: 600,
            election_timeout_ms: 300,
            window: 2,
            depth: 2,
            node_us: 500,
            slice_nodes: 2000,
            start_tour: true,
            strategy: Strategy::LeastLoaded,
        }
    }
}

/// `[workload]`: the problem the client submits, from a TSPLIB file or generated.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// A TSPLIB file, relative to the scenario's folder; when set, `cities` and `seed` are
    /// not used.
    pub file: Option<String>,
    /// Cities of a generated instance.
    pub cities: usize,
    /// The seed of a generated instance.
    pub seed: u64,
    /// When the client first asks (ms).
    pub start_ms: u64,
    /// How long the client waits before asking again (ms).
    pub retry_ms: u64,
}

impl Default for Workload {
    fn default() -> Workload {
        Workload {
            file: None,
            cities: 9,
            seed: 1,
            start_ms: 500,
            retry_ms: 500,
        }
    }
}

/// `[checks]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    /// The known optimum, for instances too large for the sequential exact solver.
    pub optimum: Option<u64>,
    /// Whether the client must have its tour by the end of the run.
    pub solve_required: bool,
    /// A lock request must be granted within this long of the last fault change (ms).
    pub grant_within_ms: u64,
}

impl Default for ChecksConfig {
    fn default() -> ChecksConfig {
        ChecksConfig {
            optimum: None,
            solve_required: true,
            grant_within_ms: 5000,
        }
    }
}
