//! A client that performs one operation and stops: `faultline client kv put K V`. It tries the
//! servers in turn, follows redirects to the leader, resends under the same seq (so the
//! operation applies at most once), and gives up at its deadline.

use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};

use super::event::Event;
use super::msg::Msg;
use super::op::{Op, Outcome};

/// A one-shot client's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OneShotTimer {
    /// Resend to the next server.
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
/// Pause between tries; a leader answers a healthy request well within it.
const RETRY_MS: u64 = 300;

/// The one-shot client.
pub struct OneShot {
    /// The servers to try, in order.
    servers: Vec<NodeId>,
    /// The operation.
    op: Op,
    /// How long to keep trying.
    deadline_ms: u64,
    /// Its number: the wall clock in µs at start, above any seq this client id used before.
    seq: u64,
    /// The server to send to next.
    target: usize,
    /// Whether the answer came (the node stops once it has).
    done: bool,
}

impl OneShot {
    /// A client for `op` against `servers`, giving up after `deadline_ms`.
    pub fn new(servers: Vec<NodeId>, op: Op, deadline_ms: u64) -> OneShot {
        OneShot {
            servers,
            op,
            deadline_ms,
            seq: 0,
            target: 0,
            done: false,
        }
    }

    fn send(&mut self, cx: &mut OneShotCx<'_>) {
        if let Some(&to) = self.servers.get(self.target % self.servers.len().max(1)) {
            cx.send(
                to,
                Msg::Request {
                    seq: self.seq,
                    op: self.op.clone(),
                },
            );
        }
        cx.set_timer(OneShotTimer::Retry, Duration::from_millis(RETRY_MS));
    }

    fn finish(&mut self, result: Outcome, cx: &mut OneShotCx<'_>) {
        if !self.done {
            self.done = true;
            cx.emit(Event::Return {
                seq: self.seq,
                result: Box::new(result),
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
        self.seq = cx.now_us().max(1);
        cx.role("client");
        cx.emit(Event::Invoke {
            seq: self.seq,
            op: Box::new(self.op.clone()),
        });
        cx.set_timer(
            OneShotTimer::Deadline,
            Duration::from_millis(self.deadline_ms),
        );
        self.send(cx);
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut OneShotCx<'_>) {
        if !self.servers.contains(&from) {
            return;
        }
        match msg {
            Msg::Reply {
                client,
                seq,
                result,
            } if client == cx.me() && seq == self.seq => self.finish(result, cx),
            Msg::Redirect {
                seq,
                leader: Some(leader),
            } if seq == self.seq => {
                if let Some(i) = self.servers.iter().position(|s| *s == leader) {
                    self.target = i;
                    self.send(cx);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: OneShotTimer, cx: &mut OneShotCx<'_>) {
        match timer {
            OneShotTimer::Retry => {
                if !self.done {
                    self.target += 1;
                    self.send(cx);
                }
            }
            OneShotTimer::Deadline => self.finish(Outcome::Unknown, cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_sim::testkit::{sent, Bench};

    #[test]
    fn follows_a_redirect_and_stops_at_the_reply() {
        let servers = vec![NodeId(0), NodeId(1), NodeId(2)];
        let mut node = OneShot::new(servers, Op::Get { key: "k".into() }, 5000);
        let mut b: Bench<Msg, Event, OneShotTimer> = Bench::new(3);
        b.advance_ms(5);
        let start = b.run(|cx| node.on_start(cx));
        assert_eq!(
            sent(&start, 0),
            vec![Msg::Request {
                seq: 5000,
                op: Op::Get { key: "k".into() }
            }]
        );
        let redirect = b.run(|cx| {
            node.on_message(
                NodeId(0),
                Msg::Redirect {
                    seq: 5000,
                    leader: Some(NodeId(2)),
                },
                cx,
            )
        });
        assert!(matches!(
            sent(&redirect, 2)[..],
            [Msg::Request { seq: 5000, .. }]
        ));
        // A reply to another seq is not ours, nor is one to another client with our seq
        // (a replayed reply): nothing is reported.
        for (client, seq) in [(NodeId(3), 4999), (NodeId(4), 5000)] {
            let stale = b.run(|cx| {
                node.on_message(
                    NodeId(2),
                    Msg::Reply {
                        client,
                        seq,
                        result: Outcome::Unknown,
                    },
                    cx,
                )
            });
            assert!(stale.1.is_empty(), "{client} {seq}");
        }
        let reply = b.run(|cx| {
            node.on_message(
                NodeId(2),
                Msg::Reply {
                    client: NodeId(3),
                    seq: 5000,
                    result: Outcome::Unknown,
                },
                cx,
            )
        });
        assert!(matches!(
            reply.1[..],
            [faultline_sim::Note::Proto(Event::Return { seq: 5000, .. })]
        ));
    }
}
