//! The alarm: a wake-up at a deadline that may move, costing one simulated timer per deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// One wake-up at a deadline that moves: a driver's next timer.
///
/// madsim's `Sleep` registers a fresh timer every time it is polled before its deadline, and
/// `select!` polls it after every datagram: each datagram would leave a timer behind that
/// later fires for nothing. The alarm polls the inner sleep once per deadline; later polls
/// for the same deadline only check the clock.
pub struct Alarm {
    /// The underlying sleep.
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// The deadline a timer is registered for.
    armed: Option<tokio::time::Instant>,
}

impl Alarm {
    /// An alarm for `deadline`.
    pub fn new(deadline: tokio::time::Instant) -> Alarm {
        Alarm {
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            armed: None,
        }
    }

    /// Moves the deadline.
    pub fn set(&mut self, deadline: tokio::time::Instant) {
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
    }

    /// Ready once the deadline has passed; registers one timer per deadline.
    pub fn poll_ring(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.sleep.deadline();
        if self.sleep.is_elapsed() {
            self.armed = None;
            return Poll::Ready(());
        }
        if self.armed == Some(deadline) {
            return Poll::Pending;
        }
        self.armed = Some(deadline);
        self.sleep.as_mut().poll(cx)
    }
}
