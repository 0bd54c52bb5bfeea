//! Planted bugs: known-wrong variants that prove the checks catch what they claim to.

faultline_sim::planted_bugs! {
    /// Which planted bugs are on.
    pub struct Bugs {
        /// The leader silently drops a request that finds its queue full instead of answering busy.
        drop_beyond_capacity = "drop-beyond-capacity",
        /// A forwarder neither skips nor refuses processes a request already visited: it loops.
        no_hop_check = "no-hop-check",
    }
}
