//! The replicated state machine: kv store, lock table and queues behind client sessions.
//! Every replica applies the same entries in the same order and, using only the entries'
//! timestamps as its clock, computes the same state and the same replies.

use faultline_sim::NodeId;

use super::codec::{Reader, Writer};
use super::config::RaftConfig;
use super::kv::Kv;
use super::locks::{Grant, LockRules, Locks};
use super::msg::{Entry, Payload};
use super::op::{Op, Outcome, Refusal};
use super::queue::Queues;
use super::session::{Sessions, Status};

/// Version byte of the snapshot encoding.
const SNAPSHOT_VERSION: u8 = 1;

/// A reply owed to a client after applying an entry (sent by the leader only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The client.
    pub(crate) client: NodeId,
    /// Its command number.
    pub(crate) seq: u64,
    /// The outcome.
    pub(crate) result: Outcome,
}

/// The whole replicated state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StateMachine {
    /// Keys and values.
    kv: Kv,
    /// Locks, holders and waiters.
    locks: Locks,
    /// Message queues.
    queues: Queues,
    /// Each client's last command and reply.
    sessions: Sessions,
}

impl StateMachine {
    /// A kv read answered from this replica's own state, outside the log: what the planted
    /// bug `follower-reads-local` does.
    pub(crate) fn read_local(&self, key: &str) -> Outcome {
        self.kv.read(key)
    }

    /// Applies one committed entry; replies it produces are pushed on `out`.
    pub(crate) fn apply(&mut self, entry: &Entry, cfg: &RaftConfig, out: &mut Vec<Answer>) {
        let rules = LockRules {
            now_ms: entry.at_ms,
            lease_ms: cfg.lease_ms,
            lease_ignored: cfg.bugs.lease_ignored,
        };
        let mut grants = Vec::new();
        match &entry.payload {
            Payload::Noop => self.locks.tick(rules, &mut grants),
            // The harness's command asks nothing of the state machine.
            Payload::Start { .. } => {}
            Payload::Command { client, seq, op } => {
                let (client, seq) = (*client, *seq);
                match self.sessions.status(client, seq) {
                    Status::Stale | Status::Duplicate(None) => {}
                    Status::Duplicate(Some(result)) => out.push(Answer {
                        client,
                        seq,
                        result,
                    }),
                    Status::New if !self.sessions.has_room(client) => out.push(Answer {
                        client,
                        seq,
                        result: Outcome::fail(Refusal::Full),
                    }),
                    Status::New => {
                        // A client has one operation outstanding: a newer one ends its wait.
                        self.locks.cancel_wait(client, rules, &mut grants);
                        let result = self.run(client, seq, op, entry.at_ms, cfg, &mut grants);
                        self.sessions.record(client, seq, result.clone());
                        if let Some(result) = result {
                            out.push(Answer {
                                client,
                                seq,
                                result,
                            });
                        }
                    }
                }
            }
        }
        for g in grants {
            if self.sessions.finish(g.client, g.seq, &g.result) {
                out.push(Answer {
                    client: g.client,
                    seq: g.seq,
                    result: g.result,
                });
            }
        }
    }

    /// Runs an operation; `None` when it waits (a lock acquire).
    fn run(
        &mut self,
        client: NodeId,
        seq: u64,
        op: &Op,
        now_ms: u64,
        cfg: &RaftConfig,
        grants: &mut Vec<Grant>,
    ) -> Option<Outcome> {
        if !op.within_bounds() {
            return Some(Outcome::fail(Refusal::TooLarge));
        }
        let rules = LockRules {
            now_ms,
            lease_ms: cfg.lease_ms,
            lease_ignored: cfg.bugs.lease_ignored,
        };
        Some(match op {
            Op::Get { .. } | Op::Put { .. } | Op::Cas { .. } | Op::Delete { .. } => {
                self.kv.apply(op)
            }
            Op::Acquire { resource, mode } => {
                return self
                    .locks
                    .acquire(client, seq, resource, *mode, rules, grants)
            }
            Op::Renew { resource } => self.locks.renew(client, resource, rules, grants),
            Op::Release { resource } => self.locks.release(client, resource, rules, grants),
            Op::Enqueue { queue, body } => self.queues.enqueue(queue, body, cfg.queue_length_max),
            Op::Dequeue { queue } => self.queues.dequeue(queue, now_ms, cfg.visibility_ms),
            Op::Ack { queue, id } => self.queues.ack(queue, *id),
        })
    }

    /// What the sessions say about a command (a leader answers a retry from here).
    pub(crate) fn status(&self, client: NodeId, seq: u64) -> Status {
        self.sessions.status(client, seq)
    }

    /// Whether a tick at `now_ms` would free an expired lock for a waiter.
    pub(crate) fn needs_tick(&self, now_ms: u64) -> bool {
        self.locks.needs_tick(now_ms)
    }

    /// The snapshot encoding.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(SNAPSHOT_VERSION);
        self.kv.encode(&mut w);
        self.locks.encode(&mut w);
        self.queues.encode(&mut w);
        self.sessions.encode(&mut w);
        w.buf
    }

    /// Decodes what [`StateMachine::encode`] wrote; `None` if damaged.
    pub(crate) fn decode(bytes: &[u8]) -> Option<StateMachine> {
        let mut r = Reader::new(bytes);
        if r.u8()? != SNAPSHOT_VERSION {
            return None;
        }
        let sm = StateMachine {
            kv: Kv::decode(&mut r)?,
            locks: Locks::decode(&mut r)?,
            queues: Queues::decode(&mut r)?,
            sessions: Sessions::decode(&mut r)?,
        };
        r.done().then_some(sm)
    }
}
