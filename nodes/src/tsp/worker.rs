//! A worker: searches the subproblems the active coordinator hands it, one at a time, and
//! sends each result to every coordinator replica (the active one counts it; a standby
//! that sees a shorter tour writes it to the shared ledger). It says which subproblems it
//! holds every heartbeat, so a coordinator sees what was lost.
//!
//! The search runs in slices of at most `slice_nodes` nodes; each slice is charged its
//! nodes times `node_us` of simulated time before the next one runs (or the result goes
//! out), so that runs show workers busy for as long as their work is large and a crash can
//! land mid-search. Between slices the worker hears its messages: a shorter tour known
//! elsewhere (an ASSIGN's or a BOUND's) tightens the search in progress, and in real
//! processes it keeps sending heartbeats however long a search takes.

use std::collections::VecDeque;
use std::time::Duration;

use faultline_sim::check::{Stamp, StampKind};
use faultline_sim::{Cx, Node, NodeId};

use crate::parts::lamport_clock::LamportClock;

use super::config::TspConfig;
use super::event::Event;
use super::instance::Instance;
use super::msg::{Body, Msg};
use super::search::{Bounds, Search};

faultline_sim::timers! {
    /// A worker's timers.
    pub enum WorkerTimer {
        /// Tell the coordinators what it holds.
        Hello = 1,
        /// The time of a slice of search is over: search on, or report.
        Slice = 2,
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
    /// The subproblem being searched.
    busy: Option<Busy>,
}

/// A subproblem being searched.
#[derive(Clone, Debug)]
struct Busy {
    /// The subproblem.
    job: Job,
    /// Its search, between slices.
    search: Search,
    /// Simulated search time charged so far (µs).
    busy_us: u64,
}

/// Least simulated time a slice takes (µs): a slice that is due at once would fire before
/// any message is heard (the driver serves timers first).
const SLICE_US_MIN: u64 = 100;

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
            .map(|b| b.job.task)
            .chain(self.queue.iter().map(|j| j.task))
            .collect()
    }

    /// Starts the next queued subproblem, if idle.
    fn start_next(&mut self, cx: &mut WCx<'_>) {
        if self.busy.is_some() {
            return;
        }
        let Some((inst, _)) = &self.instance else {
            return;
        };
        let Some(job) = self.queue.pop_front() else {
            return;
        };
        let search = Search::new(inst, &job.prefix, self.bound);
        self.busy = Some(Busy {
            job,
            search,
            busy_us: 0,
        });
        self.slice(cx);
    }

    /// Runs a slice of the search in progress and charges its time; a search done in no
    /// time at all (`node_us = 0`, real processes) reports at once, since there is no time
    /// to wait for.
    fn slice(&mut self, cx: &mut WCx<'_>) {
        let (Some((inst, bounds)), Some(busy)) = (&self.instance, &mut self.busy) else {
            return;
        };
        busy.search.tighten(self.bound);
        let before = busy.search.nodes();
        let done = busy.search.run(inst, bounds, self.cfg.slice_nodes);
        let slice_us = (busy.search.nodes() - before).saturating_mul(self.cfg.node_us);
        if done && slice_us == 0 {
            self.finish(cx);
            return;
        }
        let slice_us = slice_us.max(SLICE_US_MIN);
        busy.busy_us = busy.busy_us.saturating_add(slice_us);
        cx.set_timer(WorkerTimer::Slice, Duration::from_micros(slice_us));
    }

    /// The slice's time is over: the next slice, or the result if the search is done.
    fn on_slice(&mut self, cx: &mut WCx<'_>) {
        match &self.busy {
            Some(b) if !b.search.done() => self.slice(cx),
            Some(_) => self.finish(cx),
            None => {}
        }
    }

    /// Sends the result of the search in progress, which is done, and starts the next.
    fn finish(&mut self, cx: &mut WCx<'_>) {
        let Some(Busy {
            job,
            search,
            busy_us,
        }) = self.busy.take()
        else {
            return;
        };
        debug_assert!(search.done());
        let found = search.found();
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
        // Recurses through slice() only while searches take no time: at most the queue.
        self.start_next(cx);
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
        if !self.coordinators.contains(&from) {
            return;
        }
        let (task, prefix, bound, instance) = match msg.body {
            Body::Assign {
                task,
                prefix,
                bound,
                instance,
            } => (task, prefix, bound, instance),
            // Applied at the next slice of the search in progress, and to every later one;
            // only a tour of this worker's instance is a bound for it (one of an earlier
            // problem's, late, is not).
            Body::Bound { tour } => {
                if let Some((inst, _)) = &self.instance {
                    if inst.judge(&tour).is_ok() {
                        self.bound = self.bound.min(tour.len);
                    }
                }
                return;
            }
            Body::Cancel { task } => {
                self.queue.retain(|j| j.task != task);
                if self.busy.as_ref().is_some_and(|b| b.job.task == task) {
                    self.busy = None;
                    self.start_next(cx);
                }
                return;
            }
            _ => return,
        };
        if !instance.is_valid() || !Self::valid_prefix(&instance, &prefix) {
            return;
        }
        if self.instance.as_ref().is_none_or(|(i, _)| *i != instance) {
            // Another problem: what was queued or searched for the old one is moot.
            self.queue.clear();
            self.busy = None;
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
            WorkerTimer::Slice => self.on_slice(cx),
        }
    }
}
