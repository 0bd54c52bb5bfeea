//! Planted bugs: known-wrong variants that prove the checks can catch what they claim to.

faultline_sim::planted_bugs! {
    /// Which planted bugs are on.
    pub struct Bugs {
        /// A replica grants a second vote in a term it already voted in.
        vote_twice = "vote-twice",
        /// A replica votes whatever the candidate's log (no election restriction, Raft §5.4.1).
        vote_stale_log = "vote-stale-log",
        /// A leader commits an entry of an earlier term by counting replicas (Raft's Figure 8).
        commit_old_term = "commit-old-term",
        /// A lock acquire takes the resource from holders whose lease has not run out.
        lease_ignored = "lease-ignored",
        /// A follower answers a kv read from its own state machine, not the leader's log.
        follower_reads_local = "follower-reads-local",
    }
}
