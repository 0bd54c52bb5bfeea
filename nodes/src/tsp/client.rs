//! The client: submits its problem to every coordinator replica until the active one
//! answers with the tour, so it follows whichever replica is active after a failover.

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
        }
    }
}

impl Node for Client {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut ClCx<'_>) {
        cx.role("client");
        cx.set_timer(ClientTimer::Ask, self.start);
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
            }
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut ClCx<'_>) {
        let ClientTimer::Ask = timer;
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
