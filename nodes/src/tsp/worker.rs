//! A worker: searches the subproblems the active coordinator hands it, one at a time, and
//! sends each result to every coordinator replica (the active one counts it; a standby
//! that sees a shorter tour writes it to the shared ledger). It says which subproblems it
//! holds every heartbeat, so a coordinator sees what was lost.
//!
//! The search runs at once when a subproblem starts; the result goes out after the
//! simulated time the search took (its nodes times `node_us`), so that runs show workers
//! busy for as long as their work is large.

use std::collections::VecDeque;
use std::time::Duration;

use faultline_sim::check::{Stamp, StampKind};
use faultline_sim::{Cx, Node, NodeId};

use crate::parts::lamport_clock::LamportClock;

use super::config::TspConfig;
use super::event::Event;
use super::instance::Instance;
use super::msg::{Body, Msg};
use super::search::{search, Bounds, Found};

faultline_sim::timers! {
    /// A worker's timers.
    pub enum WorkerTimer {
        /// Tell the coordinators what it holds.
        Hello = 1,
        /// The subproblem being searched is done.
        Done = 2,
    }
}

/// What a worker's callbacks answer through.
type WCx<'a> = Cx<'a, Msg, Event, WorkerTimer>;

/// Most subproblems a worker queues: more are dropped (the coordinator sees them missing
/// from the next HELLO and hands them out again).
pub const QUEUE_MAX: usize = 16;

/// A subproblem to search.
#[derive(Clone, Debug)]
struct Job {
    /// Its id.
    task: u32,
    /// Its prefix.
    prefix: Vec<u8>,
}

/// A worker.
pub struct Worker {
    /// Settings.
    cfg: TspConfig,
    /// Every coordinator replica.
    coordinators: Vec<NodeId>,
    /// The Lamport clock every message is stamped with.
    clock: LamportClock,
    /// The instance being solved, with its bound parts.
    instance: Option<(Instance, Bounds)>,
    /// The shortest tour length heard of: only shorter tours are kept.
    bound: u64,
    /// Subproblems waiting.
    queue: VecDeque<Job>,
    /// The subproblem being searched, what the search found, and how long it takes (µs).
    busy: Option<(Job, Found, u64)>,
}

impl Worker {
    /// A worker for `coordinators`.
    pub fn new(cfg: TspConfig, coordinators: Vec<NodeId>) -> Worker {
        Worker {
            cfg,
            coordinators,
            clock: LamportClock::new(),
            instance: None,
            bound: u64::MAX,
            queue: VecDeque::new(),
            busy: None,
        }
    }

    /// Sends `body` to every coordinator, each send stamped.
    fn send_coordinators(&mut self, body: &Body, cx: &mut WCx<'_>) {
        for to in self.coordinators.clone() {
            let ts = self.clock.tick();
            cx.emit(Event::Stamp(Stamp {
                ts,
                kind: StampKind::Send { to },
            }));
            cx.send(
                to,
                Msg {
                    ts,
                    body: body.clone(),
                },
            );
        }
    }

    /// Subproblems held.
    fn held(&self) -> Vec<u32> {
        self.busy
            .iter()
            .map(|(j, _, _)| j.task)
            .chain(self.queue.iter().map(|j| j.task))
            .collect()
    }

    /// Starts the next queued subproblem, if idle.
    fn start_next(&mut self, cx: &mut WCx<'_>) {
        if self.busy.is_some() {
            return;
        }
        let Some((inst, bounds)) = &self.instance else {
            return;
        };
        let Some(job) = self.queue.pop_front() else {
            return;
        };
        let found = search(inst, bounds, &job.prefix, self.bound);
        let busy_us = found.nodes.saturating_mul(self.cfg.node_us).max(100);
        cx.set_timer(WorkerTimer::Done, Duration::from_micros(busy_us));
        self.busy = Some((job, found, busy_us));
    }

    /// Whether `prefix` is a prefix of a tour of `inst` that leaves a city open.
    fn valid_prefix(inst: &Instance, prefix: &[u8]) -> bool {
        let mut seen = 0u64;
        prefix.first() == Some(&0)
            && prefix.len() < inst.n
            && prefix.iter().all(|&c| {
                let fresh = (c as usize) < inst.n && seen & (1 << c) == 0;
                seen |= 1u64.checked_shl(c as u32).unwrap_or(0);
                fresh
            })
    }
}

impl Node for Worker {
    type Msg = Msg;
    type Event = Event;
    type Timer = WorkerTimer;

    fn on_start(&mut self, cx: &mut WCx<'_>) {
        cx.role("worker");
        cx.set_timer(
            WorkerTimer::Hello,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut WCx<'_>) {
        let ts = self.clock.merge(msg.ts);
        cx.emit(Event::Stamp(Stamp {
            ts,
            kind: StampKind::Receive {
                from,
                sent_ts: msg.ts,
            },
        }));
        let Body::Assign {
            task,
            prefix,
            bound,
            instance,
        } = msg.body
        else {
            return;
        };
        if !self.coordinators.contains(&from)
            || !instance.is_valid()
            || !Self::valid_prefix(&instance, &prefix)
        {
            return;
        }
        if self.instance.as_ref().is_none_or(|(i, _)| *i != instance) {
            // Another problem: what was queued for the old one is moot.
            self.queue.clear();
            self.bound = u64::MAX;
            let bounds = Bounds::new(&instance);
            self.instance = Some((instance, bounds));
        }
        self.bound = self.bound.min(bound);
        if self.held().contains(&task) || self.queue.len() >= QUEUE_MAX {
            return;
        }
        self.queue.push_back(Job { task, prefix });
        self.start_next(cx);
    }

    fn on_timer(&mut self, timer: WorkerTimer, cx: &mut WCx<'_>) {
        match timer {
            WorkerTimer::Hello => {
                let body = Body::Hello { tasks: self.held() };
                self.send_coordinators(&body, cx);
                cx.set_timer(
                    WorkerTimer::Hello,
                    Duration::from_millis(self.cfg.heartbeat_ms),
                );
            }
            WorkerTimer::Done => {
                let Some((job, found, busy_us)) = self.busy.take() else {
                    return;
                };
                if let Some(tour) = &found.best {
                    self.bound = self.bound.min(tour.len);
                }
                cx.emit(Event::Searched {
                    task: job.task,
                    nodes: found.nodes,
                    busy_us,
                });
                let body = Body::Result {
                    task: job.task,
                    best: found.best,
                    nodes: found.nodes,
                };
                self.send_coordinators(&body, cx);
                self.start_next(cx);
            }
        }
    }
}
