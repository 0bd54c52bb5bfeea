//! The client: submits its problem to every coordinator replica until the active one
//! answers with the tour, so it follows whichever replica is active after a failover.
//! `faultline client tsp solve FILE.tsp` runs it as a one-shot: it stops at the answer or
//! at its deadline.

use std::time::Duration;

use faultline_sim::check::{Stamp, StampKind};
use faultline_sim::{Cx, Node, NodeId};

use crate::parts::lamport_clock::LamportClock;

use super::event::Event;
use super::instance::Instance;
use super::msg::{Body, Msg};

faultline_sim::timers! {
    /// The client's timers.
    pub enum ClientTimer {
        /// Ask (again).
        Ask = 1,
        /// Give up (one-shot only).
        Deadline = 2,
    }
}

/// What the client's callbacks answer through.
type ClCx<'a> = Cx<'a, Msg, Event, ClientTimer>;

/// A client with one problem.
pub struct Client {
    /// Every coordinator replica.
    coordinators: Vec<NodeId>,
    /// The problem.
    instance: Instance,
    /// When it first asks.
    start: Duration,
    /// How long it waits before asking again.
    retry: Duration,
    /// The Lamport clock every message is stamped with.
    clock: LamportClock,
    /// Whether it has its answer.
    solved: bool,
    /// One-shot: how long it tries before it stops; it stops at the answer too.
    deadline: Option<Duration>,
}

impl Client {
    /// A client that asks `coordinators` to solve `instance`.
    pub fn new(
        coordinators: Vec<NodeId>,
        instance: Instance,
        start: Duration,
        retry: Duration,
    ) -> Client {
        Client {
            coordinators,
            instance,
            start,
            retry,
            clock: LamportClock::new(),
            solved: false,
            deadline: None,
        }
    }

    /// This client as a one-shot: it stops at the answer, or after `deadline` without one.
    pub fn one_shot(mut self, deadline: Duration) -> Client {
        self.deadline = Some(deadline);
        self
    }
}

impl Node for Client {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut ClCx<'_>) {
        cx.role("client");
        cx.set_timer(ClientTimer::Ask, self.start);
        if let Some(deadline) = self.deadline {
            cx.set_timer(ClientTimer::Deadline, deadline);
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut ClCx<'_>) {
        let ts = self.clock.merge(msg.ts);
        cx.emit(Event::Stamp(Stamp {
            ts,
            kind: StampKind::Receive {
                from,
                sent_ts: msg.ts,
            },
        }));
        if let Body::Solved { tour } = msg.body {
            if !self.solved && self.coordinators.contains(&from) {
                self.solved = true;
                cx.emit(Event::Solved { tour });
                if self.deadline.is_some() {
                    cx.stop();
                }
            }
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut ClCx<'_>) {
        if timer == ClientTimer::Deadline {
            cx.stop();
            return;
        }
        if self.solved {
            return;
        }
        for to in self.coordinators.clone() {
            let ts = self.clock.tick();
            cx.emit(Event::Stamp(Stamp {
                ts,
                kind: StampKind::Send { to },
            }));
            let body = Body::Solve {
                instance: self.instance.clone(),
            };
            cx.send(to, Msg { ts, body });
        }
        cx.set_timer(ClientTimer::Ask, self.retry);
    }
}
