//! Wake-ups of one simulated task at deadlines that move, with as few madsim timers as will
//! do (sim flavor only).
//!
//! madsim cannot cancel a timer: one registered for a deadline that later moves fires all
//! the same and wakes its task for nothing, and the task's next poll registers yet another.
//! A task's deadlines move all the time: a Raft follower's election deadline with every
//! heartbeat, an inbox's next arrival with every datagram. [`Wakeups`] remembers the timers
//! still to fire and registers a new one only when none of them comes by the deadline. A
//! deadline that moved later is served by the earlier timer, whose wake-up registers the
//! next.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};
use std::time::Duration;

use madsim::time::TimeHandle;

/// The timers registered for one task that have not fired yet.
#[derive(Default)]
pub struct Wakeups {
    /// When each fires, as time since madsim's start, earliest first.
    pending: BinaryHeap<Reverse<Duration>>,
}

impl Wakeups {
    /// Makes sure `waker` is woken by `deadline`, a time since madsim's start (or 1 ms from
    /// now, madsim's shortest sleep, if that is later): registers a timer unless one still
    /// to fire comes by then. A deadline already reached wakes it at once.
    pub fn ensure(&mut self, time: &TimeHandle, deadline: Duration, waker: &Waker) {
        let now = time.elapsed();
        if deadline <= now {
            waker.wake_by_ref();
            return;
        }
        // madsim sets its clock past a timer's deadline when it fires it.
        while self.pending.peek().is_some_and(|Reverse(at)| *at <= now) {
            self.pending.pop();
        }
        if self
            .pending
            .peek()
            .is_some_and(|Reverse(at)| *at <= deadline)
        {
            return;
        }
        // What madsim does with a shorter sleep, so that `now + after` is when it fires.
        let after = (deadline - now).max(Duration::from_millis(1));
        let registered = pin!(time.sleep(after))
            .poll(&mut Context::from_waker(waker))
            .is_pending();
        debug_assert!(registered, "a sleep of at least 1 ms is pending");
        self.pending.push(Reverse(now + after));
    }

    /// Timers still to fire, as of the last [`Wakeups::ensure`].
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    /// Counts its wake-ups.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn a_deadline_that_moves_later_costs_no_timer_until_the_earlier_one_fires() {
        madsim::runtime::Runtime::new().block_on(moving_deadline());
    }

    async fn moving_deadline() {
        let time = TimeHandle::current();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let start = time.elapsed();
        let mut wakeups = Wakeups::default();
        wakeups.ensure(&time, start + Duration::from_millis(100), &waker);
        for ms in [150, 200, 250] {
            wakeups.ensure(&time, start + Duration::from_millis(ms), &waker);
        }
        assert_eq!(
            wakeups.pending(),
            1,
            "later deadlines are covered by the first timer"
        );
        // An earlier deadline needs a timer of its own.
        wakeups.ensure(&time, start + Duration::from_millis(50), &waker);
        assert_eq!(wakeups.pending(), 2);
        madsim::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(counter.0.load(Ordering::Relaxed), 2, "both timers fired");
        // Both fired: the deadline at 250 ms needs a new one.
        wakeups.ensure(&time, start + Duration::from_millis(250), &waker);
        assert_eq!(wakeups.pending(), 1);
        madsim::time::sleep(Duration::from_millis(140)).await;
        assert_eq!(counter.0.load(Ordering::Relaxed), 3);
    }
}
