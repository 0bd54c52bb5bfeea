//! A client driven by the workload: one get or put at a time, through a cache node of the
//! ring picked at random, resent to that same node while it answers `Busy` (so an operation
//! is never carried out by two caches), moved to another node only when its node left the
//! ring, and given up after `timeout_ms` with an unknown outcome. With `[workload] direct`
//! it skips the caches and is a plain Raft client of the store instead (the bench's
//! baseline).

use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};
use rand::Rng;

use super::config::Workload;
use super::event::Event;
use super::membership::Membership;
use super::msg::{Answer, Msg};
use super::store::{Done, Job, StorePipe};

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
/// Durable key of the highest operation number reserved, so a restart never reuses one.
const KEY_OPS_RESERVED: &str = "cache-client/ops-reserved";
/// Operation numbers reserved with one durable write. A write per operation is an fsync per
/// operation on a real node, which costs more than a cache hit itself; a restart skips the
/// rest of the block instead.
const OPS_BLOCK: u64 = 1024;

/// The operation waiting for its answer.
#[derive(Copy, Clone, Debug)]
struct Pending {
    /// Its number.
    op: u64,
    /// The key.
    key: u32,
    /// A put's value.
    value: Option<u64>,
    /// The cache node it went to.
    cache: NodeId,
}

/// A client of the caches.
pub struct Client {
    /// What to do.
    work: Workload,
    /// The ring over time, to pick a member.
    membership: Membership,
    /// Operations issued, and the last one's number.
    ops: u64,
    /// Numbers up to this one are reserved in the durable store.
    reserved: u64,
    /// The operation in flight.
    pending: Option<Pending>,
    /// The Raft replicas (used with `direct` only).
    servers: Vec<NodeId>,
    /// The pipe to the store (used with `direct` only).
    pipe: StorePipe,
}

impl Client {
    /// A client with its workload; built up at `on_start`.
    pub(crate) fn new(work: Workload, membership: Membership, servers: Vec<NodeId>) -> Client {
        Client {
            work,
            membership,
            ops: 0,
            reserved: 0,
            pending: None,
            servers,
            pipe: StorePipe::default(),
        }
    }

    fn pick_cache(&self, not: Option<NodeId>, cx: &mut ClientCx<'_>) -> Option<NodeId> {
        let epoch = self.membership.epoch_at(cx.now_ms());
        let members: Vec<NodeId> = self
            .membership
            .epoch(epoch)
            .members
            .iter()
            .copied()
            .filter(|m| Some(*m) != not)
            .collect();
        if members.is_empty() {
            return None;
        }
        let i = cx.rng().gen_range(0..members.len());
        Some(members[i])
    }

    fn send(&mut self, cx: &mut ClientCx<'_>) {
        let Some(p) = self.pending else {
            return;
        };
        if self.work.direct {
            let job = match p.value {
                Some(value) => Job::Put(p.key, value),
                None => Job::Get(p.key),
            };
            // One operation at a time, so the pipe's queue is never full.
            self.pipe.push(job, cx);
            return;
        }
        let msg = match p.value {
            Some(value) => Msg::Put {
                op: p.op,
                key: p.key,
                value,
            },
            None => Msg::Get {
                op: p.op,
                key: p.key,
            },
        };
        cx.send(p.cache, msg);
    }

    fn on_next(&mut self, cx: &mut ClientCx<'_>) {
        if self.pending.is_some() || self.ops >= u64::from(self.work.ops) {
            return;
        }
        let picked = if self.work.direct {
            Some(cx.me())
        } else {
            self.pick_cache(None, cx)
        };
        let Some(cache) = picked else {
            cx.set_timer(
                ClientTimer::Next,
                Duration::from_millis(self.work.rate_ms.max(1)),
            );
            return;
        };
        self.ops += 1;
        if self.ops > self.reserved {
            self.reserved = self.ops + OPS_BLOCK - 1;
            cx.durable_put(KEY_OPS_RESERVED, self.reserved.to_le_bytes().to_vec());
        }
        let keys = self.work.keys.max(1);
        // Half the operations go to the hottest quarter of the keys.
        let key = if cx.rng().gen_bool(0.5) {
            cx.rng().gen_range(0..(keys / 4).max(1))
        } else {
            cx.rng().gen_range(0..keys)
        };
        let value = (cx.rng().gen_range(0..100) >= self.work.read_percent)
            .then(|| (u64::from(cx.me().0) << 32) | self.ops);
        self.pending = Some(Pending {
            op: self.ops,
            key,
            value,
            cache,
        });
        cx.emit(Event::Invoke {
            op: self.ops,
            key,
            value,
        });
        self.send(cx);
        cx.set_timer(
            ClientTimer::Retry,
            Duration::from_millis(self.work.retry_ms.max(1)),
        );
        cx.set_timer(
            ClientTimer::Deadline,
            Duration::from_millis(self.work.timeout_ms),
        );
    }

    fn finish(&mut self, answer: Option<super::msg::Answer>, cx: &mut ClientCx<'_>) {
        let Some(p) = self.pending.take() else {
            return;
        };
        cx.cancel_timer(ClientTimer::Retry);
        cx.cancel_timer(ClientTimer::Deadline);
        cx.emit(Event::Return { op: p.op, answer });
        if self.work.rate_ms == 0 {
            self.on_next(cx);
        } else {
            cx.set_timer(ClientTimer::Next, Duration::from_millis(self.work.rate_ms));
        }
    }

    /// A replica's message, with `direct`.
    fn on_store(&mut self, from: NodeId, msg: crate::raft::Msg, cx: &mut ClientCx<'_>) {
        if let Some((_, done)) = self.pipe.on_raft(from, msg, cx) {
            let answer = match done {
                Done::Read(value) => Some(Answer::Read(value)),
                Done::Written => Some(Answer::Written),
                // Refused by the store: nothing happened, and the client says so by giving
                // no answer (a refusal is never a lie about the value).
                Done::Refused => None,
            };
            self.finish(answer, cx);
        }
    }
}

impl Node for Client {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut ClientCx<'_>) {
        *self = Client::new(
            self.work.clone(),
            self.membership.clone(),
            self.servers.clone(),
        );
        if self.work.direct {
            self.pipe = StorePipe::new(self.servers.clone(), cx);
        }
        self.ops = cx
            .durable_get(KEY_OPS_RESERVED)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_le_bytes);
        cx.role("client");
        cx.set_timer(ClientTimer::Next, Duration::from_millis(self.work.start_ms));
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut ClientCx<'_>) {
        if let Msg::Raft(msg) = msg {
            if self.work.direct && self.pending.is_some() {
                self.on_store(from, msg, cx);
            }
            return;
        }
        let Some(p) = self.pending.filter(|p| p.cache == from) else {
            return;
        };
        match msg {
            Msg::Answer { op, answer } if op == p.op => {
                // A get's answer to a put, or the reverse, is a lie: wait for the truth.
                let fits = matches!(
                    (&answer, p.value),
                    (super::msg::Answer::Read(_), None) | (super::msg::Answer::Written, Some(_))
                );
                if fits {
                    self.finish(Some(answer), cx);
                }
            }
            Msg::Busy { op, member: false } if op == p.op => {
                // Not carried out there: another member may take it.
                if let Some(cache) = self.pick_cache(Some(from), cx) {
                    if let Some(p) = self.pending.as_mut() {
                        p.cache = cache;
                    }
                    self.send(cx);
                }
            }
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut ClientCx<'_>) {
        match timer {
            ClientTimer::Next => self.on_next(cx),
            ClientTimer::Retry => {
                if self.work.direct {
                    self.pipe.resend(cx);
                    cx.set_timer(
                        ClientTimer::Retry,
                        Duration::from_millis(self.work.retry_ms.max(1)),
                    );
                } else if self.pending.is_some() {
                    self.send(cx);
                    cx.set_timer(
                        ClientTimer::Retry,
                        Duration::from_millis(self.work.retry_ms.max(1)),
                    );
                }
            }
            ClientTimer::Deadline => self.finish(None, cx),
        }
    }
}
