//! The alarm: a wake-up at a deadline that may move, costing as few timers as will do.

use std::task::{Context, Poll};

/// One wake-up at a deadline that moves: a driver's next timer (real flavor).
///
/// A tokio sleep moves its one registration when it is reset; `select!` polls it after
/// every datagram, and only a moved deadline costs anything.
#[cfg(not(madsim))]
pub struct Alarm {
    /// The underlying sleep.
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

#[cfg(not(madsim))]
impl Alarm {
    /// An alarm for `deadline`.
    pub fn new(deadline: tokio::time::Instant) -> Alarm {
        Alarm {
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// Moves the deadline.
    pub fn set(&mut self, deadline: tokio::time::Instant) {
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
    }

    /// Ready once the deadline has passed.
    pub fn poll_ring(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        std::future::Future::poll(self.sleep.as_mut(), cx)
    }
}

/// One wake-up at a deadline that moves: a driver's next timer (sim flavor).
///
/// madsim registers a fresh timer every time a sleep is polled before its deadline and
/// cannot cancel one, so each moved deadline left a timer behind that woke the node for
/// nothing later. The alarm keeps only as many timers as [`Wakeups`] needs: a deadline that
/// moves later (a Raft follower's, on every heartbeat) is served by the timer already
/// pending.
///
/// [`Wakeups`]: crate::simulator::wakeups::Wakeups
#[cfg(madsim)]
pub struct Alarm {
    /// The deadline, as time since madsim's start.
    deadline: std::time::Duration,
    /// madsim's clock.
    time: madsim::time::TimeHandle,
    /// The instant of madsim's start, to turn deadlines into times since then.
    base: tokio::time::Instant,
    /// The timers that wake this driver.
    wakeups: crate::simulator::wakeups::Wakeups,
    /// When the earliest of them fires, as of the last look at them: while that is still
    /// ahead and no later than the deadline, the deadline is covered without a look (the
    /// driver polls its alarm on every datagram).
    covered_at: Option<std::time::Duration>,
}

#[cfg(madsim)]
impl Alarm {
    /// An alarm for `deadline`. Call inside the runtime.
    pub fn new(deadline: tokio::time::Instant) -> Alarm {
        let time = madsim::time::TimeHandle::current();
        let base = time.now_instant() - time.elapsed();
        let mut alarm = Alarm {
            deadline: std::time::Duration::ZERO,
            time,
            base,
            wakeups: Default::default(),
            covered_at: None,
        };
        alarm.set(deadline);
        alarm
    }

    /// Moves the deadline.
    pub fn set(&mut self, deadline: tokio::time::Instant) {
        self.deadline = deadline.saturating_duration_since(self.base);
    }

    /// Ready once the deadline has passed.
    pub fn poll_ring(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.time.elapsed();
        if now >= self.deadline {
            return Poll::Ready(());
        }
        if self
            .covered_at
            .is_some_and(|at| now < at && at <= self.deadline)
        {
            return Poll::Pending;
        }
        self.covered_at = self
            .wakeups
            .ensure_at(&self.time, now, self.deadline, cx.waker());
        Poll::Pending
    }
}
