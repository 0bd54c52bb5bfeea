//! Planted bugs: known-wrong variants that prove the checks can catch what they claim to.

faultline_sim::planted_bugs! {
    /// Which planted bugs are on.
    pub struct Bugs {
        /// A server follows a COORDINATOR from a lower id instead of challenging it.
        accept_lower_coordinator = "accept-lower-coordinator",
        /// The leader acknowledges a chat once appended locally, before a majority stored it.
        ack_before_quorum = "ack-before-quorum",
        /// The leader appends a client's retried message again instead of recognising it.
        no_dedup = "no-dedup",
    }
}
