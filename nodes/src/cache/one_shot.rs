//! A client that performs one operation through one cache node and stops: `faultline client
//! cache put k3 7 --via c2`. It resends the same operation number to that same cache while it
//! answers `Busy` or stays silent (so the operation is never carried out by two caches), and
//! gives up at its deadline with an unknown outcome.

use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};

use super::event::Event;
use super::msg::{Answer, Msg};

/// A one-shot client's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OneShotTimer {
    /// Resend.
    Retry,
    /// Give up.
    Deadline,
}

impl Timer for OneShotTimer {
    fn id(self) -> TimerId {
        match self {
            OneShotTimer::Retry => TimerId(1),
            OneShotTimer::Deadline => TimerId(2),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id {
            TimerId(1) => Some(OneShotTimer::Retry),
            TimerId(2) => Some(OneShotTimer::Deadline),
            _ => None,
        }
    }
}

/// What a one-shot client's callbacks answer through.
type OneShotCx<'a> = Cx<'a, Msg, Event, OneShotTimer>;
/// Pause between tries; a cache answers a hit in well under a millisecond and a write within
/// one Raft commit.
const RETRY_MS: u64 = 100;

/// One client operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CacheOp {
    /// Read a key.
    Get(u32),
    /// Write a key (acknowledged once it is in the store).
    Put(u32, u64),
    /// Drop the cache's copy of a key.
    Invalidate(u32),
}

/// The one-shot client.
pub struct OneShot {
    /// The cache node it goes through.
    cache: NodeId,
    /// The operation.
    op: CacheOp,
    /// How long to keep trying.
    deadline_ms: u64,
    /// Its number: the wall clock in µs at start, above any this client id used before.
    number: u64,
    /// Whether the answer came (the node stops once it has).
    done: bool,
}

impl OneShot {
    /// A client for `op` through `cache`, giving up after `deadline_ms`.
    pub fn new(cache: NodeId, op: CacheOp, deadline_ms: u64) -> OneShot {
        OneShot {
            cache,
            op,
            deadline_ms,
            number: 0,
            done: false,
        }
    }

    fn send(&self, cx: &mut OneShotCx<'_>) {
        let op = self.number;
        let msg = match self.op {
            CacheOp::Get(key) => Msg::Get { op, key },
            CacheOp::Put(key, value) => Msg::Put { op, key, value },
            CacheOp::Invalidate(key) => Msg::Invalidate { op, key },
        };
        cx.send(self.cache, msg);
        cx.set_timer(OneShotTimer::Retry, Duration::from_millis(RETRY_MS));
    }

    fn finish(&mut self, answer: Option<Answer>, cx: &mut OneShotCx<'_>) {
        if !self.done {
            self.done = true;
            cx.emit(Event::Return {
                op: self.number,
                answer,
            });
            cx.stop();
        }
    }
}

impl Node for OneShot {
    type Msg = Msg;
    type Event = Event;
    type Timer = OneShotTimer;

    fn on_start(&mut self, cx: &mut OneShotCx<'_>) {
        self.number = cx.now_us().max(1);
        cx.role("client");
        let (key, value) = match self.op {
            CacheOp::Get(key) | CacheOp::Invalidate(key) => (key, None),
            CacheOp::Put(key, value) => (key, Some(value)),
        };
        cx.emit(Event::Invoke {
            op: self.number,
            key,
            value,
        });
        cx.set_timer(
            OneShotTimer::Deadline,
            Duration::from_millis(self.deadline_ms),
        );
        self.send(cx);
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut OneShotCx<'_>) {
        if from != self.cache {
            return;
        }
        if let Msg::Answer { op, answer } = msg {
            // An answer of the wrong kind is a lie: wait for the truth or the deadline.
            let fits = matches!(
                (self.op, &answer),
                (CacheOp::Get(_), Answer::Read(_))
                    | (CacheOp::Put(..), Answer::Written)
                    | (CacheOp::Invalidate(_), Answer::Invalidated { .. })
            );
            if op == self.number && fits {
                self.finish(Some(answer), cx);
            }
        }
        // `Busy`: the retry timer resends.
    }

    fn on_timer(&mut self, timer: OneShotTimer, cx: &mut OneShotCx<'_>) {
        match timer {
            OneShotTimer::Retry => {
                if !self.done {
                    self.send(cx);
                }
            }
            OneShotTimer::Deadline => self.finish(None, cx),
        }
    }
}
