//! A cache node's pipe to the Raft store: it is a Raft client, so its commands go one at a
//! time (Raft's sessions keep one outstanding command per client), to the leader it believes
//! in, following redirects and resending with the same number until the reply comes.

use std::collections::VecDeque;

use faultline_sim::{Cx, NodeId, Timer};
use rand::Rng;

use super::config::STORE_QUEUE_MAX;
use super::event::Event;
use super::msg::Msg;
use crate::raft::{self, Op, Outcome, Value};

/// Durable key of the last command number used, so a restart never reuses one.
const KEY_SEQ: &str = "cache/store_seq";

/// One store operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Job {
    /// Read a key.
    Get(u32),
    /// Write a key.
    Put(u32, u64),
}

impl Job {
    /// Its key.
    pub(crate) fn key(&self) -> u32 {
        match self {
            Job::Get(k) | Job::Put(k, _) => *k,
        }
    }

    fn op(&self) -> Op {
        match self {
            Job::Get(k) => Op::Get {
                key: format!("k{k}"),
            },
            Job::Put(k, v) => Op::Put {
                key: format!("k{k}"),
                value: v.to_string(),
            },
        }
    }
}

/// What a finished job returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Done {
    /// A get read this (`None`: absent).
    Read(Option<u64>),
    /// A put is committed.
    Written,
    /// The store refused it (nothing happened).
    Refused,
}

/// The pipe.
#[derive(Clone, Debug, Default)]
pub(crate) struct StorePipe {
    /// The replicas.
    servers: Vec<NodeId>,
    /// The replica believed to lead.
    leader: Option<NodeId>,
    /// The last command number used (durable).
    seq: u64,
    /// Jobs waiting their turn; at most `STORE_QUEUE_MAX`.
    queue: VecDeque<Job>,
    /// The job in flight, its number and resends so far.
    in_flight: Option<(u64, Job, u32)>,
}

impl StorePipe {
    /// A pipe to `servers`, its number restored from the durable store.
    pub(crate) fn new<T: Timer>(servers: Vec<NodeId>, cx: &mut Cx<'_, Msg, Event, T>) -> Self {
        let seq = cx
            .durable_get(KEY_SEQ)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_le_bytes);
        StorePipe {
            servers,
            seq,
            ..StorePipe::default()
        }
    }

    /// Queues `job`; false when the queue is full.
    pub(crate) fn push<T: Timer>(&mut self, job: Job, cx: &mut Cx<'_, Msg, Event, T>) -> bool {
        if self.queue.len() >= STORE_QUEUE_MAX {
            return false;
        }
        self.queue.push_back(job);
        self.pump(cx);
        true
    }

    /// Forgets every job of `key` not yet sent, and the one in flight too (its reply will be
    /// ignored): only the planted bug `evict-modified-without-writeback` does this.
    pub(crate) fn forget(&mut self, key: u32) {
        self.queue.retain(|j| j.key() != key);
        if self
            .in_flight
            .as_ref()
            .is_some_and(|(_, j, _)| j.key() == key)
        {
            self.in_flight = None;
        }
    }

    fn pump<T: Timer>(&mut self, cx: &mut Cx<'_, Msg, Event, T>) {
        if self.in_flight.is_some() {
            return;
        }
        let Some(job) = self.queue.pop_front() else {
            return;
        };
        self.seq += 1;
        cx.durable_put(KEY_SEQ, self.seq.to_le_bytes().to_vec());
        self.in_flight = Some((self.seq, job, 0));
        self.send(cx);
    }

    fn send<T: Timer>(&mut self, cx: &mut Cx<'_, Msg, Event, T>) {
        if self.leader.is_none() && !self.servers.is_empty() {
            let i = cx.rng().gen_range(0..self.servers.len());
            self.leader = Some(self.servers[i]);
        }
        if let (Some((seq, job, _)), Some(to)) = (&self.in_flight, self.leader) {
            let msg = raft::Msg::Request {
                seq: *seq,
                op: job.op(),
            };
            cx.send(to, Msg::Raft(msg));
        }
    }

    /// The resend period passed: send the job in flight again, to another replica after two
    /// silent tries.
    pub(crate) fn resend<T: Timer>(&mut self, cx: &mut Cx<'_, Msg, Event, T>) {
        let Some((_, _, tries)) = self.in_flight.as_mut() else {
            return;
        };
        *tries += 1;
        if *tries >= 2 {
            self.leader = None;
        }
        self.send(cx);
    }

    /// A replica's message; the finished job, if this finishes one.
    pub(crate) fn on_raft<T: Timer>(
        &mut self,
        from: NodeId,
        msg: raft::Msg,
        cx: &mut Cx<'_, Msg, Event, T>,
    ) -> Option<(Job, Done)> {
        if !self.servers.contains(&from) {
            return None;
        }
        let current = self.in_flight.as_ref().map(|(s, _, _)| *s);
        match msg {
            raft::Msg::Redirect { seq, leader } if Some(seq) == current => {
                self.leader = leader.filter(|l| *l != from && self.servers.contains(l));
                if let Some((_, _, tries)) = self.in_flight.as_mut() {
                    *tries = 0;
                }
                if self.leader.is_some() {
                    self.send(cx);
                }
                None
            }
            raft::Msg::Reply {
                client,
                seq,
                result,
            } if client == cx.me() && Some(seq) == current && result != Outcome::Unknown => {
                self.leader = Some(from);
                let (_, job, _) = self.in_flight.take()?;
                let done = match (&job, result) {
                    (
                        Job::Get(_),
                        Outcome::Ok {
                            value: Value::Read { value },
                        },
                    ) => match value {
                        None => Done::Read(None),
                        // A value that is no number was not written by a cache: refuse it.
                        Some(v) => v.parse().map_or(Done::Refused, |v| Done::Read(Some(v))),
                    },
                    (Job::Put(..), Outcome::Ok { .. }) => Done::Written,
                    _ => Done::Refused,
                };
                self.pump(cx);
                Some((job, done))
            }
            _ => None,
        }
    }
}
