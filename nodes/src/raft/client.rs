//! A client driven by the workload: one operation at a time, sent to the leader it believes
//! in (a random server at first), following redirects, retrying with the same seq (so the
//! sessions apply it once) and giving up after `timeout_ms` with an unknown outcome. After
//! its `ops`, it drains every queue (dequeue and ack until empty).

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};
use rand::Rng;

use super::codec::{decode_u64, encode_u64};
use super::config::{RaftConfig, Workload};
use super::event::Event;
use super::msg::Msg;
use super::op::{LockMode, Op, Outcome, Value};

/// A client's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// Start of the next operation.
    Next,
    /// Resend of the outstanding operation.
    Retry,
    /// The outstanding operation is given up.
    Deadline,
}

impl Timer for ClientTimer {
    fn id(self) -> TimerId {
        match self {
            ClientTimer::Next => TimerId(1),
            ClientTimer::Retry => TimerId(2),
            ClientTimer::Deadline => TimerId(3),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id {
            TimerId(1) => Some(ClientTimer::Next),
            TimerId(2) => Some(ClientTimer::Retry),
            TimerId(3) => Some(ClientTimer::Deadline),
            _ => None,
        }
    }
}

/// What a client's callbacks answer through.
type ClientCx<'a> = Cx<'a, Msg, Event, ClientTimer>;
/// Durable key of the last seq used, so a restart never reuses one.
const KEY_SEQ: &str = "client/seq";
/// Durable key of the workload operations issued.
const KEY_OPS: &str = "client/ops";
/// Redirects followed per try (bounds a loop between confused replicas).
const REDIRECTS_PER_TRY_MAX: u32 = 3;
/// Locks a client holds at most (it asks for a second one now and then, which is how
/// deadlocks arise).
const HELD_MAX: usize = 2;
/// One dequeued message in this many is never acked, so it comes back after its visibility.
const FORGET_ACK_ONE_IN: u32 = 10;

/// The operation waiting for its outcome.
#[derive(Clone, Debug)]
struct Pending {
    /// Its number.
    seq: u64,
    /// The operation, resent as is.
    op: Op,
    /// When it was invoked (ms).
    invoked_ms: u64,
    /// Resends so far.
    tries: u32,
    /// Redirects followed since the last resend.
    redirects: u32,
    /// Whether it belongs to the final drain.
    draining: bool,
}

/// The final drain of the queues.
#[derive(Clone, Debug, Default)]
struct Drain {
    /// The queue being drained (`q{queue}`); all done past the last.
    queue: u32,
    /// Drain operations issued.
    ops: u32,
}

/// A client of the replicated state machine.
pub struct Client {
    /// The server list and `lease_ms`.
    cfg: RaftConfig,
    /// What to do.
    work: Workload,
    /// This client, as the driver says at start.
    me: NodeId,
    /// The server requests go to; `None`: a random one.
    leader: Option<NodeId>,
    /// The last seq used (durable).
    seq: u64,
    /// Workload operations issued (durable).
    ops_done: u32,
    /// The operation in flight.
    pending: Option<Pending>,
    /// The last value seen of each key (for cas); at most `keys` entries.
    seen: BTreeMap<String, Option<String>>,
    /// Locks held as far as this client knows, with the end of their lease (ms); at most
    /// `HELD_MAX`.
    held: BTreeMap<String, u64>,
    /// A dequeued message to ack next: (queue, id).
    unacked: Option<(String, u64)>,
    /// The final drain, once the workload is done.
    drain: Drain,
}

impl Client {
    /// A client with the group's configuration and its workload; built up at `on_start`.
    pub fn new(cfg: RaftConfig, work: Workload) -> Client {
        Client {
            cfg,
            work,
            me: NodeId(0),
            leader: None,
            seq: 0,
            ops_done: 0,
            pending: None,
            seen: BTreeMap::new(),
            held: BTreeMap::new(),
            unacked: None,
            drain: Drain::default(),
        }
    }

    fn random_server(&self, cx: &mut ClientCx<'_>) -> Option<NodeId> {
        let n = self.cfg.servers.len();
        if n == 0 {
            return None;
        }
        let i = cx.rng().gen_range(0..n);
        self.cfg.servers.get(i).copied()
    }

    fn send_pending(&mut self, cx: &mut ClientCx<'_>) {
        if self.leader.is_none() {
            self.leader = self.random_server(cx);
        }
        let (Some(p), Some(mut to)) = (self.pending.as_ref(), self.leader) else {
            return;
        };
        if self.work.follower_reads && matches!(p.op, Op::Get { .. }) && p.redirects == 0 {
            let i = cx.rng().gen_range(0..self.cfg.servers.len());
            to = self.cfg.servers[i];
        }
        let msg = Msg::Request {
            seq: p.seq,
            op: p.op.clone(),
        };
        cx.send(to, msg);
    }

    /// The next operation of the workload, or of the drain; `None` when all is done.
    fn next_op(&mut self, cx: &mut ClientCx<'_>) -> Option<Op> {
        let seq = self.seq + 1;
        if self.ops_done < self.work.ops {
            self.ops_done += 1;
            cx.durable_put(KEY_OPS, encode_u64(u64::from(self.ops_done)));
            let mix = &self.work.mix;
            let total = mix.kv + mix.lock + mix.queue;
            let pick = cx.rng().gen_range(0..total.max(1));
            return Some(if pick < mix.kv || total == 0 {
                self.kv_op(seq, cx)
            } else if pick < mix.kv + mix.lock {
                self.lock_op(cx)
            } else {
                self.queue_op(seq, cx)
            });
        }
        if self.drain.ops >= self.work.drain_ops_max {
            return None;
        }
        self.drain.ops += 1;
        if let Some((queue, id)) = self.unacked.take() {
            return Some(Op::Ack { queue, id });
        }
        (self.drain.queue < self.work.queues).then(|| Op::Dequeue {
            queue: format!("q{}", self.drain.queue),
        })
    }

    fn kv_op(&mut self, seq: u64, cx: &mut ClientCx<'_>) -> Op {
        let key = format!("k{}", cx.rng().gen_range(0..self.work.keys.max(1)));
        let value = format!("{}.{seq}", self.me.0);
        match cx.rng().gen_range(0..10) {
            0..=3 => Op::Get { key },
            4..=6 => Op::Put { key, value },
            7 | 8 => Op::Cas {
                expected: self.seen.get(&key).cloned().flatten(),
                key,
                new: value,
            },
            _ => Op::Delete { key },
        }
    }

    fn lock_op(&mut self, cx: &mut ClientCx<'_>) -> Op {
        let now_ms = cx.now_ms();
        self.held.retain(|_, until_ms| *until_ms > now_ms);
        let more = self.held.len() < HELD_MAX && cx.rng().gen_bool(0.25);
        if self.held.is_empty() || more {
            let resource = format!("r{}", cx.rng().gen_range(0..self.work.resources.max(1)));
            let mode = if cx.rng().gen_bool(0.5) {
                LockMode::Exclusive
            } else {
                LockMode::Shared
            };
            return Op::Acquire { resource, mode };
        }
        let i = cx.rng().gen_range(0..self.held.len());
        let resource = self.held.keys().nth(i).cloned().unwrap_or_default();
        if cx.rng().gen_bool(0.5) {
            Op::Release { resource }
        } else {
            Op::Renew { resource }
        }
    }

    fn queue_op(&mut self, seq: u64, cx: &mut ClientCx<'_>) -> Op {
        if let Some((queue, id)) = self.unacked.take() {
            return Op::Ack { queue, id };
        }
        let queue = format!("q{}", cx.rng().gen_range(0..self.work.queues.max(1)));
        if cx.rng().gen_bool(0.5) {
            let body = format!("m{}.{seq}", self.me.0);
            Op::Enqueue { queue, body }
        } else {
            Op::Dequeue { queue }
        }
    }

    fn on_next_timer(&mut self, cx: &mut ClientCx<'_>) {
        if self.pending.is_some() {
            return;
        }
        let draining = self.ops_done >= self.work.ops;
        let Some(op) = self.next_op(cx) else {
            return;
        };
        self.seq += 1;
        cx.durable_put(KEY_SEQ, encode_u64(self.seq));
        cx.emit(Event::Invoke {
            seq: self.seq,
            op: Box::new(op.clone()),
        });
        self.pending = Some(Pending {
            seq: self.seq,
            op,
            invoked_ms: cx.now_ms(),
            tries: 0,
            redirects: 0,
            draining,
        });
        self.send_pending(cx);
        cx.set_timer(
            ClientTimer::Retry,
            Duration::from_millis(self.work.retry_ms.max(1)),
        );
        cx.set_timer(
            ClientTimer::Deadline,
            Duration::from_millis(self.work.timeout_ms),
        );
    }

    fn on_retry_timer(&mut self, cx: &mut ClientCx<'_>) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        p.tries += 1;
        p.redirects = 0;
        if p.tries >= 2 {
            // The believed leader keeps silent: try someone else.
            let current = self.leader;
            self.leader = self.random_server(cx);
            if self.leader == current && self.cfg.servers.len() > 1 {
                self.leader = self.random_server(cx);
            }
        }
        self.send_pending(cx);
        cx.set_timer(
            ClientTimer::Retry,
            Duration::from_millis(self.work.retry_ms.max(1)),
        );
    }

    fn on_redirect(
        &mut self,
        from: NodeId,
        seq: u64,
        leader: Option<NodeId>,
        cx: &mut ClientCx<'_>,
    ) {
        let Some(p) = self.pending.as_mut().filter(|p| p.seq == seq) else {
            return;
        };
        match leader {
            Some(l) if l != from && p.redirects < REDIRECTS_PER_TRY_MAX => {
                p.redirects += 1;
                self.leader = Some(l);
                self.send_pending(cx);
            }
            // No leader known there: the next retry goes to a random server.
            _ => self.leader = None,
        }
    }

    fn on_reply(&mut self, from: NodeId, seq: u64, result: Outcome, cx: &mut ClientCx<'_>) {
        if result == Outcome::Unknown || self.pending.as_ref().is_none_or(|p| p.seq != seq) {
            return;
        }
        self.leader = Some(from);
        self.finish(result, cx);
    }

    /// Records the outcome of the pending operation and schedules the next one.
    fn finish(&mut self, result: Outcome, cx: &mut ClientCx<'_>) {
        let Some(p) = self.pending.take() else {
            return;
        };
        cx.cancel_timer(ClientTimer::Retry);
        cx.cancel_timer(ClientTimer::Deadline);
        cx.emit(Event::Return {
            seq: p.seq,
            result: Box::new(result.clone()),
        });
        self.learn(&p, &result, cx);
        cx.set_timer(ClientTimer::Next, Duration::from_millis(self.work.rate_ms));
    }

    /// What an outcome teaches about keys, locks and messages.
    fn learn(&mut self, p: &Pending, result: &Outcome, cx: &mut ClientCx<'_>) {
        let ok = matches!(result, Outcome::Ok { .. });
        let lease_end_ms = p.invoked_ms.saturating_add(self.cfg.lease_ms);
        match (&p.op, result) {
            (
                Op::Get { key },
                Outcome::Ok {
                    value: Value::Read { value },
                },
            ) => {
                self.seen.insert(key.clone(), value.clone());
            }
            (
                Op::Put { key, value }
                | Op::Cas {
                    key, new: value, ..
                },
                _,
            ) if ok => {
                self.seen.insert(key.clone(), Some(value.clone()));
            }
            (Op::Delete { key }, _) if ok => {
                self.seen.insert(key.clone(), None);
            }
            (
                Op::Get { key } | Op::Put { key, .. } | Op::Cas { key, .. } | Op::Delete { key },
                _,
            ) => {
                self.seen.remove(key);
            }
            (Op::Acquire { resource, .. } | Op::Renew { resource }, _) if ok => {
                self.held.insert(resource.clone(), lease_end_ms);
            }
            // An unknown renew may have extended the lease: keep the old end.
            (Op::Renew { .. }, Outcome::Unknown) => {}
            (Op::Renew { resource } | Op::Release { resource }, _) => {
                self.held.remove(resource);
            }
            // Now and then a message is never acked (outside the drain): it comes back.
            (
                Op::Dequeue { queue },
                Outcome::Ok {
                    value: Value::Message { id, .. },
                },
            ) if p.draining || cx.rng().gen_range(0..FORGET_ACK_ONE_IN) != 0 => {
                self.unacked = Some((queue.clone(), *id));
            }
            (
                Op::Dequeue { .. },
                Outcome::Ok {
                    value: Value::Empty { in_flight: 0 },
                },
            ) if p.draining => self.drain.queue += 1,
            _ => {}
        }
    }
}

impl Node for Client {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut ClientCx<'_>) {
        *self = Client::new(self.cfg.clone(), self.work.clone());
        self.me = cx.me();
        self.seq = cx.durable_get(KEY_SEQ).and_then(decode_u64).unwrap_or(0);
        let ops = cx.durable_get(KEY_OPS).and_then(decode_u64).unwrap_or(0);
        self.ops_done = u32::try_from(ops).unwrap_or(u32::MAX);
        self.leader = self.random_server(cx);
        cx.role("client");
        cx.set_timer(ClientTimer::Next, Duration::from_millis(self.work.start_ms));
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut ClientCx<'_>) {
        if !self.cfg.servers.contains(&from) {
            return;
        }
        match msg {
            Msg::Reply {
                client,
                seq,
                result,
            } if client == cx.me() => self.on_reply(from, seq, result, cx),
            Msg::Redirect { seq, leader } => self.on_redirect(from, seq, leader, cx),
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut ClientCx<'_>) {
        match timer {
            ClientTimer::Next => self.on_next_timer(cx),
            ClientTimer::Retry => self.on_retry_timer(cx),
            ClientTimer::Deadline => self.finish(Outcome::Unknown, cx),
        }
    }
}
