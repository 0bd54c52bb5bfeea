//! Commands the harness hands a node (a scenario's `submit` steps, the 6.5840 lab's
//! `Start()`): the world queues them at the instant the step acts, and the node's driver
//! hands them to [`crate::node::Node::on_submit`] between callbacks, in order.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

/// One node's queue of submitted commands, by their number in the run.
#[derive(Default)]
pub struct Submits {
    /// Commands not yet handed over.
    queue: Mutex<VecDeque<u64>>,
    /// Wakes the driver; a wake-up with no waiter is kept for the next wait.
    ready: Notify,
}

impl Submits {
    /// Queues commands `first..first + count` and wakes the driver.
    pub fn push(&self, first: u64, count: u32) {
        self.lock().extend((0..count as u64).map(|i| first + i));
        self.ready.notify_one();
    }

    /// Every queued command, oldest first; the queue is left empty.
    pub fn take(&self) -> Vec<u64> {
        self.lock().drain(..).collect()
    }

    /// Forgets what is queued: the node crashed before taking it.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Returns once something may have been queued since the last call.
    pub async fn ready(&self) {
        self.ready.notified().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u64>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::Submits;

    #[test]
    fn commands_come_out_in_order_once_and_a_crash_forgets_them() {
        let s = Submits::default();
        s.push(3, 2);
        s.push(7, 1);
        assert_eq!(s.take(), vec![3, 4, 7]);
        assert!(s.take().is_empty());
        s.push(8, 3);
        s.clear();
        assert!(s.take().is_empty());
    }
}
