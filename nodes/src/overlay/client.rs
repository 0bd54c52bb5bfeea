//! A simulated client: what the seed's `client.py` and `test_system.py` do over gRPC, as a
//! node. It sends requests to the leader (resent until answered), takes the first answer
//! to each, reports a request late once its deadline and a grace period pass unanswered,
//! and now and then asks a process for its metrics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId};

use super::config::{Workload, ANSWERS_KEPT_MAX, OUTSTANDING_MAX};
use super::event::Event;
use super::msg::{Msg, Outcome};

faultline_sim::timers! {
    /// A client's timers.
    pub enum ClientTimer {
        /// Send new requests, resend waiting ones, give up on late ones.
        Tick = 1,
    }
}

/// What a client's callbacks answer through.
type CCx<'a> = Cx<'a, Msg, Event, ClientTimer>;

/// Period of a client's housekeeping.
const TICK_MS: u64 = 5;
/// The durable key of a client's next request number: a restarted client must not reuse
/// numbers, or its new requests would be taken for old ones.
const NEXT_SEQ: &str = "next_seq";

/// A request waiting for its answer.
#[derive(Clone, Debug)]
struct Waiting {
    /// Its team.
    team: u16,
    /// When it was first sent, in µs.
    sent_us: u64,
    /// When it was last sent, in µs.
    resent_us: u64,
    /// When the client stops waiting, in µs.
    deadline_us: u64,
}

/// A simulated client of the overlay.
pub struct Client {
    /// What it sends.
    work: Workload,
    /// Where requests go.
    leader: NodeId,
    /// How many teams there are; requests go to each in turn.
    teams: u16,
    /// The processes it asks for metrics, in turn.
    processes: Vec<NodeId>,
    /// The number of its next request.
    next_seq: u64,
    /// Requests sent in this incarnation.
    sent: u32,
    /// When it last sent a new request, in µs.
    last_new_us: u64,
    /// Requests waiting for an answer.
    waiting: BTreeMap<u64, Waiting>,
    /// The answer taken for each recent request, to spot a contradicting one; bounded.
    taken: BTreeMap<u64, Outcome>,
    /// Recent requests it gave up on; bounded.
    given_up: BTreeSet<u64>,
    /// Metrics questions asked.
    metrics_asked: u64,
}

impl Client {
    /// A client of an overlay led by `leader` with `teams` teams and overlay processes
    /// `processes`.
    pub fn new(work: Workload, leader: NodeId, teams: u16, processes: Vec<NodeId>) -> Client {
        Client {
            work,
            leader,
            teams: teams.max(1),
            processes,
            next_seq: 1,
            sent: 0,
            last_new_us: 0,
            waiting: BTreeMap::new(),
            taken: BTreeMap::new(),
            given_up: BTreeSet::new(),
            metrics_asked: 0,
        }
    }

    /// Sends one new request.
    fn send_new(&mut self, cx: &mut CCx<'_>) {
        let now = cx.now_us();
        let seq = self.next_seq;
        self.next_seq += 1;
        cx.durable_put(NEXT_SEQ, self.next_seq.to_le_bytes().to_vec());
        self.sent += 1;
        self.last_new_us = now;
        let team = (seq % u64::from(self.teams)) as u16;
        let deadline_ms = self.work.deadline_ms;
        self.waiting.insert(
            seq,
            Waiting {
                team,
                sent_us: now,
                resent_us: now,
                deadline_us: now + u64::from(deadline_ms) * 1000,
            },
        );
        cx.emit(Event::Issued {
            seq,
            team,
            deadline_ms,
        });
        cx.send(
            self.leader,
            Msg::Request {
                seq,
                team,
                deadline_ms,
            },
        );
        let every = u64::from(self.work.metrics_every);
        if every > 0 && seq.is_multiple_of(every) && !self.processes.is_empty() {
            let to = self.processes[(self.metrics_asked % self.processes.len() as u64) as usize];
            self.metrics_asked += 1;
            cx.send(to, Msg::GetMetrics { seq });
        }
    }

    fn tick(&mut self, cx: &mut CCx<'_>) {
        let now = cx.now_us();
        let grace_us = self.work.grace_ms * 1000;
        let late: Vec<u64> = (self.waiting.iter())
            .filter(|(_, w)| now > w.deadline_us + grace_us)
            .map(|(s, _)| *s)
            .collect();
        for seq in late {
            self.waiting.remove(&seq);
            cx.emit(Event::GaveUp { seq });
            if self.given_up.len() >= ANSWERS_KEPT_MAX {
                self.given_up.pop_first();
            }
            self.given_up.insert(seq);
        }
        for (seq, w) in self.waiting.iter_mut() {
            if now.saturating_sub(w.resent_us) >= self.work.retry_ms * 1000 {
                w.resent_us = now;
                let left_ms = w.deadline_us.saturating_sub(now) / 1000;
                cx.send(
                    self.leader,
                    Msg::Request {
                        seq: *seq,
                        team: w.team,
                        deadline_ms: u32::try_from(left_ms).unwrap_or(u32::MAX),
                    },
                );
            }
        }
        let outstanding_max = self.work.outstanding_max.min(OUTSTANDING_MAX) as usize;
        while self.sent < self.work.requests
            && self.waiting.len() < outstanding_max
            && (self.sent == 0
                || now.saturating_sub(self.last_new_us) >= self.work.interval_ms * 1000)
        {
            self.send_new(cx);
            if self.work.interval_ms > 0 {
                break;
            }
        }
        if self.sent < self.work.requests || !self.waiting.is_empty() {
            cx.set_timer(ClientTimer::Tick, Duration::from_millis(TICK_MS));
        }
    }

    fn on_reply(
        &mut self,
        seq: u64,
        outcome: Outcome,
        path: Vec<faultline_sim::NodeId>,
        cx: &mut CCx<'_>,
    ) {
        let now = cx.now_us();
        if let Some(w) = self.waiting.remove(&seq) {
            if now > w.deadline_us + self.work.grace_ms * 1000 {
                cx.emit(Event::LateAnswer { seq, outcome });
                return;
            }
            cx.emit(Event::Answered {
                seq,
                outcome,
                latency_us: now - w.sent_us,
                path,
            });
            if self.taken.len() >= ANSWERS_KEPT_MAX {
                self.taken.pop_first();
            }
            self.taken.insert(seq, outcome);
        } else if let Some(first) = self.taken.get(&seq) {
            if *first != outcome {
                cx.emit(Event::Conflict {
                    seq,
                    first: *first,
                    second: outcome,
                });
            }
        } else if self.given_up.contains(&seq) {
            cx.emit(Event::LateAnswer { seq, outcome });
        }
    }
}

impl Node for Client {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut CCx<'_>) {
        cx.role("client");
        self.next_seq = (cx.durable_get(NEXT_SEQ))
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(1, u64::from_le_bytes);
        cx.set_timer(
            ClientTimer::Tick,
            Duration::from_millis(self.work.start_ms.max(1)),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut CCx<'_>) {
        match msg {
            Msg::Reply { seq, outcome, path } if from == self.leader => {
                self.on_reply(seq, outcome, path, cx)
            }
            Msg::MetricsReply { metrics, .. } => cx.emit(Event::MetricsSeen {
                node: from,
                metrics,
            }),
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut CCx<'_>) {
        match timer {
            ClientTimer::Tick => self.tick(cx),
        }
    }
}
