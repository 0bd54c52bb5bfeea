//! Planted bugs: known-wrong variants that prove the cache's checks catch what they claim to.

faultline_sim::planted_bugs! {
    /// Which planted bugs are on.
    pub struct Bugs {
        /// A home grants Modified without invalidating one of the Shared copies.
        skip_invalidation = "skip-invalidation",
        /// A cache evicts a Modified entry before its write-back commits and acknowledges the put.
        evict_modified_without_writeback = "evict-modified-without-writeback",
        /// The ring's points depend on the number of members, so a join moves nearly every key.
        ring_moves_every_key = "ring-moves-every-key",
    }
}
