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
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use madsim::time::{Sleep, TimeHandle};

/// The timers registered for one task that have not fired yet.
#[derive(Default)]
pub struct Wakeups {
    /// When each fires, as time since madsim's start, earliest first.
    pending: BinaryHeap<Reverse<Duration>>,
    /// A sleep kept to register timers with, and the instant of madsim's start, from the
    /// first timer on: a poll of a sleep is madsim's only public way to add a timer, and
    /// moving one costs less than making one (which reads madsim's locked clock twice).
    sleep: Option<(Sleep, Instant)>,
}

impl Wakeups {
    /// Makes sure `waker` is woken by `deadline`, a time since madsim's start (or 1 ms from
    /// now, madsim's shortest sleep, if that is later): registers a timer unless one still
    /// to fire comes by then. A deadline already reached wakes it at once.
    pub fn ensure(&mut self, time: &TimeHandle, deadline: Duration, waker: &Waker) {
        self.ensure_at(time, time.elapsed(), deadline, waker);
    }

    /// [`Wakeups::ensure`] for a caller that has just read the clock (`now`, time since
    /// madsim's start): madsim's clock is behind a lock, and the hot paths read it once.
    /// Returns when the earliest timer still to fire fires (`None` when it woke the waker
    /// at once): until then, and while the deadline is no earlier, another call would
    /// change nothing.
    pub fn ensure_at(
        &mut self,
        time: &TimeHandle,
        now: Duration,
        deadline: Duration,
        waker: &Waker,
    ) -> Option<Duration> {
        if deadline <= now {
            waker.wake_by_ref();
            return None;
        }
        // madsim sets its clock past a timer's deadline when it fires it.
        while self.pending.peek().is_some_and(|Reverse(at)| *at <= now) {
            self.pending.pop();
        }
        if let Some(Reverse(at)) = self.pending.peek().filter(|Reverse(at)| *at <= deadline) {
            return Some(*at);
        }
        // What madsim does with a shorter sleep, so that `now + after` is when it fires.
        let after = (deadline - now).max(Duration::from_millis(1));
        let (sleep, start) = self.sleep.get_or_insert_with(|| {
            let start = time.now_instant() - time.elapsed();
            (time.sleep(Duration::ZERO), start)
        });
        // The same timer `time.sleep(after)` would add: at `now + after` since the start.
        Pin::new(&mut *sleep).reset(*start + now + after);
        let registered = Pin::new(sleep)
            .poll(&mut Context::from_waker(waker))
            .is_pending();
        debug_assert!(registered, "a sleep of at least 1 ms is pending");
        self.pending.push(Reverse(now + after));
        self.pending.peek().map(|Reverse(at)| *at)
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

    #[test]
    fn ensure_at_tells_which_timer_covers_the_deadline_and_when_none_is_needed() {
        madsim::runtime::Runtime::new().block_on(covering_timer());
    }

    async fn covering_timer() {
        let time = TimeHandle::current();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let now = time.elapsed();
        let ms = |ms| now + Duration::from_millis(ms);
        let mut wakeups = Wakeups::default();
        assert_eq!(
            wakeups.ensure_at(&time, now, ms(100), &waker),
            Some(ms(100))
        );
        // A later deadline is covered by the timer at 100 ms, an earlier one gets its own.
        assert_eq!(
            wakeups.ensure_at(&time, now, ms(300), &waker),
            Some(ms(100))
        );
        assert_eq!(wakeups.ensure_at(&time, now, ms(40), &waker), Some(ms(40)));
        // A deadline already reached wakes at once, and no timer covers it.
        assert_eq!(wakeups.ensure_at(&time, now, now, &waker), None);
        assert_eq!(counter.0.load(Ordering::Relaxed), 1);
        madsim::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            counter.0.load(Ordering::Relaxed),
            2,
            "the timer at 40 ms fired"
        );
    }
}
