//! Planted bugs: known-wrong variants that prove the checks can catch what they claim to.

faultline_sim::planted_bugs! {
    /// Which planted bugs are on.
    pub struct Bugs {
        /// The active coordinator forgets a dead worker's subproblems: the solve never ends.
        forget_dead_worker_subproblem = "forget-dead-worker-subproblem",
        /// Ricart-Agrawala without the node-id tie-break: equal timestamps both enter.
        ra_no_tiebreak = "ra-no-tiebreak",
    }
}
