//! The farm's planted bugs.

faultline_sim::planted_bugs! {
    /// Known-wrong variants of the primes farm.
    pub struct Bugs {
        /// The coordinator forgets the task of a dead worker instead of putting it back: the task is never done.
        forget_dead_worker_task = "forget-dead-worker-task",
        /// Snapshots are broadcast-and-wait: each node records its state and nothing in flight, so tasks in an ASSIGN or RESULT are missing from the cut.
        snapshot_without_channel_state = "snapshot-without-channel-state",
    }
}
