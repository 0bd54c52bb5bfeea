//! A worker: registers with the coordinator over a stream, sends heartbeats on it and takes
//! one task at a time; reads the task's dataset through its cached file client, tests each
//! number of its slice with Miller-Rabin and reports the primes. Testing takes simulated time
//! (`test_us_per_number`), so a crash can come mid-task. A broken stream drops the task (the
//! coordinator gives it to someone else) and the worker connects again.

use std::time::Duration;

use faultline_sim::node::stream::{StreamEvent, StreamId};
use faultline_sim::{Cx, Node, NodeId};

use super::config::PrimesConfig;
use super::event::Event;
use super::file_client::{FileClient, Outcome};
use super::msg::{Msg, PartState, Task};
use super::primality::primes_in;
use crate::parts::chandy_lamport::{ChandyLamport, Limits, Step, Variant};

faultline_sim::timers! {
    /// A worker's timers.
    pub enum WorkerTimer {
        /// Heartbeats, file retries, reconnects.
        Tick = 1,
        /// The task's testing is over.
        Done = 2,
    }
}

/// What a worker's callbacks answer through.
type WorkerCx<'a> = Cx<'a, Msg, Event, WorkerTimer>;

/// One worker.
pub struct Worker {
    /// The coordinator.
    coordinator: NodeId,
    /// Timings.
    cfg: PrimesConfig,
    /// Reads datasets, with a cache.
    files: FileClient,
    /// The stream to the coordinator, while it lives.
    stream: Option<StreamId>,
    /// When to connect again, µs (while there is no stream).
    reconnect_us: u64,
    /// When the coordinator was last heard on the stream (or the stream opened), µs.
    coord_heard_us: u64,
    /// The task held.
    task: Option<Task>,
    /// Its primes, once tested (reported when the `Done` timer fires).
    result: Option<Vec<u64>>,
    /// Its side of the snapshots.
    snap: ChandyLamport<PartState, Msg>,
}

impl Worker {
    /// Worker `me` of `coordinator`, reading from `servers`.
    pub fn new(
        me: NodeId,
        coordinator: NodeId,
        servers: Vec<NodeId>,
        cfg: PrimesConfig,
        no_channel_state: bool,
    ) -> Worker {
        let variant = if no_channel_state {
            Variant::NoChannelState
        } else {
            Variant::Correct
        };
        Worker {
            coordinator,
            files: FileClient::new(servers, cfg.request_retry_ms, 0),
            cfg,
            stream: None,
            reconnect_us: 0,
            coord_heard_us: 0,
            task: None,
            result: None,
            snap: ChandyLamport::new(me, [coordinator], [coordinator], variant, Limits::default()),
        }
    }

    fn state(&self) -> PartState {
        PartState::Worker {
            task: self.task.as_ref().map(|t| t.id),
        }
    }

    /// Sends an application message to the coordinator, counted for the snapshots.
    fn send(&mut self, msg: Msg, cx: &mut WorkerCx<'_>) {
        if let Some(s) = self.stream {
            self.snap.on_send(self.coordinator);
            cx.stream_send(s, msg);
        }
    }

    fn connect(&mut self, cx: &mut WorkerCx<'_>) {
        let s = cx.connect(self.coordinator);
        self.stream = Some(s);
        self.coord_heard_us = cx.now_us();
        self.send(Msg::Register, cx);
    }

    fn drop_task(&mut self, cx: &mut WorkerCx<'_>) {
        if self.task.take().is_some() {
            cx.cancel_timer(WorkerTimer::Done);
            cx.role("idle");
        }
        self.result = None;
        self.files.cancel();
    }

    fn start(&mut self, task: Task, cx: &mut WorkerCx<'_>) {
        if self.task.is_some() {
            return; // one task at a time; the coordinator does not send a second
        }
        cx.role("working");
        cx.emit(Event::Started { task: task.id });
        let name = task.dataset.clone();
        self.task = Some(task);
        match self
            .files
            .cached(&name)
            .map(|(_, numbers)| numbers.to_vec())
        {
            Some(numbers) => self.test(&numbers, cx),
            None => self.files.read(&name, cx),
        }
    }

    /// Tests the task's slice of `numbers` now; the result goes out after the time testing
    /// takes.
    fn test(&mut self, numbers: &[u64], cx: &mut WorkerCx<'_>) {
        let Some(task) = &self.task else { return };
        let hi = (task.hi as usize).min(numbers.len());
        let lo = (task.lo as usize).min(hi);
        let slice = &numbers[lo..hi];
        self.result = Some(primes_in(slice));
        let cost = (slice.len() as u64).saturating_mul(self.cfg.test_us_per_number);
        cx.set_timer(WorkerTimer::Done, Duration::from_micros(cost.max(1)));
    }

    fn finish(&mut self, cx: &mut WorkerCx<'_>) {
        let (Some(task), Some(primes)) = (self.task.take(), self.result.take()) else {
            return;
        };
        cx.emit(Event::Tested {
            task: task.id,
            numbers: u64::from(task.hi.saturating_sub(task.lo)),
        });
        cx.role("idle");
        self.send(
            Msg::Result {
                task: task.id,
                primes,
            },
            cx,
        );
    }

    /// Sends what a snapshot step asks: markers first, then this node's part.
    fn snapshot_step(&mut self, step: Step<PartState, Msg>, cx: &mut WorkerCx<'_>) {
        let Some(s) = self.stream else { return };
        for (_, marker) in step.send {
            cx.stream_send(s, Msg::Marker(marker));
        }
        for part in step.completed {
            self.send(Msg::SnapPart(Box::new(part)), cx);
        }
    }

    /// The stream is over (broken, or closed here): the task goes, a new stream comes.
    fn lost(&mut self, cx: &mut WorkerCx<'_>) {
        self.stream = None;
        let _ = self.snap.reset_channel(self.coordinator);
        self.drop_task(cx);
        self.reconnect_us = cx.now_us() + self.cfg.reconnect_ms * 1000;
    }

    fn on_stream_message(&mut self, msg: Msg, cx: &mut WorkerCx<'_>) {
        self.coord_heard_us = cx.now_us();
        if let Msg::Marker(marker) = msg {
            let state = self.state();
            let step = self.snap.on_marker(self.coordinator, marker, || state);
            self.snapshot_step(step, cx);
            return;
        }
        let step = self.snap.on_receive(self.coordinator, &msg);
        self.snapshot_step(step, cx);
        if let Msg::Assign(task) = msg {
            self.start(task, cx);
        }
    }
}

impl Node for Worker {
    type Msg = Msg;
    type Event = Event;
    type Timer = WorkerTimer;

    fn on_start(&mut self, cx: &mut WorkerCx<'_>) {
        self.files = FileClient::new(self.files_servers(), self.cfg.request_retry_ms, cx.now_us());
        cx.role("idle");
        self.connect(cx);
        cx.set_timer(
            WorkerTimer::Tick,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut WorkerCx<'_>) {
        if let Outcome::Read(name, numbers) = self.files.on_message(from, &msg, cx) {
            if self.task.as_ref().is_some_and(|t| t.dataset == name) && self.result.is_none() {
                self.test(&numbers, cx);
            }
        }
    }

    fn on_timer(&mut self, timer: WorkerTimer, cx: &mut WorkerCx<'_>) {
        match timer {
            WorkerTimer::Done => self.finish(cx),
            WorkerTimer::Tick => {
                cx.set_timer(
                    WorkerTimer::Tick,
                    Duration::from_millis(self.cfg.heartbeat_ms),
                );
                self.files.tick(cx);
                let silent = cx.now_us().saturating_sub(self.coord_heard_us)
                    >= self.cfg.worker_timeout_ms * 1000;
                match self.stream {
                    // A stream whose far end restarted behind a partition can stay open
                    // here with nothing coming back: the coordinator's silence ends it.
                    Some(s) if silent => {
                        cx.close(s);
                        self.lost(cx);
                    }
                    Some(_) => self.send(Msg::Heartbeat, cx),
                    None => {}
                }
                if self.stream.is_none() && cx.now_us() >= self.reconnect_us {
                    self.connect(cx);
                }
            }
        }
    }

    fn on_stream(
        &mut self,
        stream: StreamId,
        _peer: NodeId,
        event: StreamEvent<Msg>,
        cx: &mut WorkerCx<'_>,
    ) {
        if self.stream != Some(stream) {
            if event == StreamEvent::Accepted {
                cx.close(stream); // nobody opens streams to a worker
            }
            return;
        }
        match event {
            StreamEvent::Message(msg) => self.on_stream_message(msg, cx),
            StreamEvent::Closed(_) => self.lost(cx),
            StreamEvent::Accepted | StreamEvent::Connected => {}
        }
    }
}

impl Worker {
    fn files_servers(&self) -> Vec<NodeId> {
        self.files.servers().to_vec()
    }
}
