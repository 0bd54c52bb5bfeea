//! The client: asks the coordinator for a snapshot now (Chandy-Lamport on demand, beside
//! the periodic ones) and waits for the answer, asking again with the same request number
//! until it comes. In a scenario it asks at the times `[workload] snapshot_requests_ms`
//! names; `faultline client primes snapshot` runs it as a one-shot that stops at the answer
//! or at its deadline.

use std::collections::VecDeque;
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId};

use super::event::Event;
use super::msg::Msg;

faultline_sim::timers! {
    /// The client's timers.
    pub enum ClientTimer {
        /// Ask for the next snapshot.
        Ask = 1,
        /// Ask again for the one not yet answered.
        Retry = 2,
        /// Give up (one-shot only).
        Deadline = 3,
    }
}

/// What the client's callbacks answer through.
type ClCx<'a> = Cx<'a, Msg, Event, ClientTimer>;

/// A client that asks for snapshots.
pub struct Client {
    /// The coordinator.
    coordinator: NodeId,
    /// When to ask, from its start, in order.
    asks: VecDeque<Duration>,
    /// How long it waits for an answer before asking again.
    retry: Duration,
    /// The last request's number: numbers start at the start time in µs, so that a client
    /// started again (or another one-shot) never reuses one the coordinator answered.
    req: u64,
    /// When it started, µs.
    started_us: u64,
    /// The request waiting for its answer.
    waiting: Option<u64>,
    /// One-shot: how long it tries before it stops; it stops at the answer too.
    deadline: Option<Duration>,
}

impl Client {
    /// A client that asks `coordinator` for a snapshot at each of `asks` after it starts
    /// (a restarted client starts its list again).
    pub fn new(coordinator: NodeId, mut asks: Vec<Duration>, retry: Duration) -> Client {
        asks.sort();
        Client {
            coordinator,
            asks: asks.into(),
            retry,
            req: 0,
            started_us: 0,
            waiting: None,
            deadline: None,
        }
    }

    /// One snapshot asked for at once; the client stops at the answer, or after `deadline`.
    pub fn one_shot(coordinator: NodeId, retry: Duration, deadline: Duration) -> Client {
        let mut client = Client::new(coordinator, vec![Duration::ZERO], retry);
        client.deadline = Some(deadline);
        client
    }

    fn ask(&mut self, req: u64, cx: &mut ClCx<'_>) {
        cx.send(self.coordinator, Msg::SnapshotRequest { req });
        cx.set_timer(ClientTimer::Retry, self.retry);
    }

    /// Sets the timer for the next ask, if any.
    fn schedule(&mut self, cx: &mut ClCx<'_>) {
        if let Some(at) = self.asks.front() {
            let since = Duration::from_micros(cx.now_us().saturating_sub(self.started_us));
            cx.set_timer(ClientTimer::Ask, at.saturating_sub(since));
        }
    }
}

impl Node for Client {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut ClCx<'_>) {
        cx.role("client");
        self.waiting = None;
        self.started_us = cx.now_us();
        self.req = self.req.max(self.started_us);
        self.schedule(cx);
        if let Some(deadline) = self.deadline {
            cx.set_timer(ClientTimer::Deadline, deadline);
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut ClCx<'_>) {
        let Msg::SnapshotTaken { req, seq, report } = msg else {
            return;
        };
        if from != self.coordinator || self.waiting != Some(req) {
            return; // an answer to an older request, or not from the coordinator
        }
        self.waiting = None;
        cx.cancel_timer(ClientTimer::Retry);
        cx.emit(Event::SnapshotAnswered { req, seq, report });
        if self.deadline.is_some() {
            cx.stop();
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut ClCx<'_>) {
        match timer {
            ClientTimer::Deadline => cx.stop(),
            ClientTimer::Retry => {
                if let Some(req) = self.waiting {
                    self.ask(req, cx);
                }
            }
            ClientTimer::Ask => {
                self.asks.pop_front();
                // A request still unanswered is given up for the new one.
                self.req += 1;
                let req = self.req;
                self.waiting = Some(req);
                cx.emit(Event::SnapshotAsked { req });
                self.ask(req, cx);
                self.schedule(cx);
            }
        }
    }
}
