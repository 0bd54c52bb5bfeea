//! The coordinator: loads the datasets onto the file service, turns them into tasks, hands
//! them to the workers that registered over streams, one at a time, and puts a dead
//! worker's task back at the front of the queue. Results are buffered and flushed to the
//! durable output (a set: duplicates fold), with the set of tasks done, so a restarted
//! coordinator neither loses a result nor redoes a task. It also takes the Chandy-Lamport
//! snapshots: markers on every worker stream, assembled here and saved as JSON.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use faultline_sim::node::stream::{StreamEvent, StreamId};
use faultline_sim::{Cx, Durable, Node, NodeId};
use serde::{Deserialize, Serialize};

use super::bugs::Bugs;
use super::config::{PrimesConfig, RESULTS_BUFFERED_MAX};
use super::dataset::Dataset;
use super::event::Event;
use super::file_client::{FileClient, Outcome};
use super::msg::{Msg, PartState, SnapshotReport, Task};
use super::snapshot::Assembly;
use crate::parts::chandy_lamport::{
    ChandyLamport, GlobalSnapshot, Limits, SnapshotId, Step, Variant,
};

faultline_sim::timers! {
    /// The coordinator's timers.
    pub enum CoordTimer {
        /// Loading, liveness of workers, flushes, snapshots.
        Tick = 1,
    }
}

/// What the coordinator's callbacks answer through.
type CoordCx<'a> = Cx<'a, Msg, Event, CoordTimer>;

/// Durable key of the progress (tasks done and the output).
const KEY_PROGRESS: &str = "progress";
/// Durable key of the latest complete snapshot, as JSON.
pub const KEY_SNAPSHOT: &str = "snapshot";

/// Snapshots assembled at once; past it a new one waits.
const ASSEMBLIES_MAX: usize = 4;

/// What survives a crash.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Progress {
    /// Every dataset is on the file service.
    loaded: bool,
    /// Tasks whose result is in the output.
    done: BTreeSet<u64>,
    /// The output: every prime found.
    output: BTreeSet<u64>,
}

/// The output a coordinator's durable store holds: every prime counted, in order; `None` if
/// it holds no progress (a first start) or a damaged one.
pub fn durable_output(durable: &Durable) -> Option<BTreeSet<u64>> {
    let bytes = durable.entries.get(KEY_PROGRESS)?;
    serde_json::from_slice::<Progress>(bytes)
        .ok()
        .map(|p| p.output)
}

/// A registered worker.
#[derive(Clone, Debug)]
struct Link {
    /// Its stream.
    stream: StreamId,
    /// When it was last heard, µs.
    heard_us: u64,
}

/// The coordinator.
pub struct Coordinator {
    /// This node.
    me: NodeId,
    /// Timings.
    cfg: PrimesConfig,
    /// Planted bug: a dead worker's task is forgotten.
    forget_dead_worker_task: bool,
    /// The datasets to load.
    datasets: Arc<Vec<Dataset>>,
    /// Every task, by id.
    tasks: Arc<Vec<Task>>,
    /// Writes the datasets.
    files: FileClient,
    /// What survives a crash.
    progress: Progress,
    /// The next dataset to load.
    loading: usize,
    /// Tasks waiting, front first.
    pending: VecDeque<u64>,
    /// The task each worker holds.
    assigned: BTreeMap<NodeId, u64>,
    /// Results received and not yet flushed.
    buffer: Vec<(u64, Vec<u64>)>,
    /// Registered workers.
    links: BTreeMap<NodeId, Link>,
    /// When results were last flushed, µs.
    flushed_us: u64,
    /// When the last snapshot started, µs.
    snapshot_us: u64,
    /// The finish was reported.
    finished: bool,
    /// Its side of the snapshots.
    snap: ChandyLamport<PartState, Msg>,
    /// Snapshots being assembled.
    assemblies: BTreeMap<SnapshotId, Assembly>,
    /// The nodes that may ask for a snapshot.
    clients: Vec<NodeId>,
    /// The requests each snapshot being assembled answers.
    waiters: BTreeMap<SnapshotId, Vec<(NodeId, u64)>>,
    /// Each client's last answer, sent again if the client asks again with the same request.
    answered: BTreeMap<NodeId, Msg>,
    /// The last snapshot completed or given up, and what it found.
    last_taken: Option<(SnapshotId, SnapshotReport)>,
}

impl Coordinator {
    /// The coordinator `me`, loading `datasets` onto `servers` as `tasks`, taking snapshots
    /// when `clients` ask too, with the planted `bugs` on.
    pub fn new(
        me: NodeId,
        servers: Vec<NodeId>,
        datasets: Arc<Vec<Dataset>>,
        tasks: Arc<Vec<Task>>,
        cfg: PrimesConfig,
        clients: Vec<NodeId>,
        bugs: &Bugs,
    ) -> Coordinator {
        let variant = if bugs.snapshot_without_channel_state {
            Variant::NoChannelState
        } else {
            Variant::Correct
        };
        Coordinator {
            me,
            files: FileClient::new(servers, cfg.request_retry_ms, 0),
            cfg,
            forget_dead_worker_task: bugs.forget_dead_worker_task,
            datasets,
            tasks,
            progress: Progress::default(),
            loading: 0,
            pending: VecDeque::new(),
            assigned: BTreeMap::new(),
            buffer: Vec::new(),
            links: BTreeMap::new(),
            flushed_us: 0,
            snapshot_us: 0,
            finished: false,
            snap: ChandyLamport::new(me, [], [], variant, Limits::default()),
            assemblies: BTreeMap::new(),
            clients,
            waiters: BTreeMap::new(),
            answered: BTreeMap::new(),
            last_taken: None,
        }
    }

    fn save(&self, cx: &mut CoordCx<'_>) {
        cx.durable_put(
            KEY_PROGRESS,
            serde_json::to_vec(&self.progress).expect("plain data serializes"),
        );
    }

    fn loaded(&mut self, cx: &mut CoordCx<'_>) {
        self.progress.loaded = true;
        self.pending = self
            .tasks
            .iter()
            .map(|t| t.id)
            .filter(|id| !self.progress.done.contains(id))
            .collect();
        cx.emit(Event::Loaded {
            tasks: self.tasks.len() as u64,
        });
        self.assign_idle(cx);
        self.check_finished(cx);
    }

    /// Loads the next dataset, or finishes loading.
    fn load_next(&mut self, cx: &mut CoordCx<'_>) {
        match self.datasets.get(self.loading) {
            Some(d) => {
                let (name, numbers) = (d.name.clone(), d.numbers.clone());
                self.files.write(&name, numbers, cx);
            }
            None => {
                self.save(cx);
                self.loaded(cx);
            }
        }
    }

    /// Sends an application message to a worker, counted for the snapshots.
    fn send(&mut self, worker: NodeId, msg: Msg, cx: &mut CoordCx<'_>) {
        if let Some(link) = self.links.get(&worker) {
            self.snap.on_send(worker);
            cx.stream_send(link.stream, msg);
        }
    }

    /// Gives `worker` the next task if it holds none.
    fn assign(&mut self, worker: NodeId, cx: &mut CoordCx<'_>) {
        if !self.progress.loaded
            || self.assigned.contains_key(&worker)
            || !self.links.contains_key(&worker)
        {
            return;
        }
        let Some(id) = self.pending.pop_front() else {
            return;
        };
        let Some(task) = self.tasks.get(id as usize).cloned() else {
            return;
        };
        self.assigned.insert(worker, id);
        cx.emit(Event::Assigned { task: id, worker });
        self.send(worker, Msg::Assign(task), cx);
    }

    fn assign_idle(&mut self, cx: &mut CoordCx<'_>) {
        let idle: Vec<NodeId> = self
            .links
            .keys()
            .copied()
            .filter(|w| !self.assigned.contains_key(w))
            .collect();
        for w in idle {
            self.assign(w, cx);
        }
    }

    /// A worker is gone (its stream broke or it went silent): its task goes back to the
    /// front of the queue, and snapshots waiting on it are given up.
    fn lost(&mut self, worker: NodeId, cx: &mut CoordCx<'_>) {
        self.links.remove(&worker);
        if let Some(task) = self.assigned.remove(&worker) {
            if !self.forget_dead_worker_task {
                self.pending.push_front(task);
                cx.emit(Event::Requeued { task, worker });
            }
        }
        let step = self.snap.close_channel(worker);
        self.snapshot_step(step, cx);
        let waiting: Vec<SnapshotId> = self
            .assemblies
            .iter()
            .filter(|(_, a)| a.waits_for(worker))
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.abandon(id, cx);
        }
        self.assign_idle(cx);
    }

    fn abandon(&mut self, id: SnapshotId, cx: &mut CoordCx<'_>) {
        if self.assemblies.remove(&id).is_some() {
            cx.emit(Event::SnapshotAbandoned { seq: id.seq });
            self.answer(id, &SnapshotReport::Abandoned, cx);
        }
    }

    /// A client asks for a snapshot now: a retry of the request it is waiting on is not a
    /// new snapshot (it is answered again if it was answered).
    fn on_snapshot_request(&mut self, client: NodeId, req: u64, cx: &mut CoordCx<'_>) {
        if !self.clients.contains(&client) {
            return;
        }
        if let Some(Msg::SnapshotTaken { req: last, .. }) = self.answered.get(&client) {
            if *last == req {
                let again = self.answered[&client].clone();
                cx.send(client, again);
                return;
            }
        }
        if self.waiters.values().flatten().any(|w| *w == (client, req)) {
            return;
        }
        // A client waits on one request at a time: a newer one replaces it.
        for list in self.waiters.values_mut() {
            list.retain(|(c, _)| *c != client);
        }
        let refused = if !self.progress.loaded {
            Some(SnapshotReport::Loading)
        } else if !self.start_snapshot(Some((client, req)), cx) {
            Some(SnapshotReport::Busy)
        } else {
            None
        };
        if let Some(report) = refused {
            cx.send(
                client,
                Msg::SnapshotTaken {
                    req,
                    seq: 0,
                    report,
                },
            );
        }
    }

    /// Answers the requests snapshot `id` was taken for, and keeps what it found for a
    /// request that comes at the very instant it was taken.
    fn answer(&mut self, id: SnapshotId, report: &SnapshotReport, cx: &mut CoordCx<'_>) {
        for (client, req) in self.waiters.remove(&id).unwrap_or_default() {
            self.reply(client, req, id, report.clone(), cx);
        }
        self.last_taken = Some((id, report.clone()));
    }

    fn reply(
        &mut self,
        client: NodeId,
        req: u64,
        id: SnapshotId,
        report: SnapshotReport,
        cx: &mut CoordCx<'_>,
    ) {
        let msg = Msg::SnapshotTaken {
            req,
            seq: id.seq,
            report,
        };
        cx.send(client, msg.clone());
        self.answered.insert(client, msg);
    }

    fn on_result(&mut self, worker: NodeId, task: u64, primes: Vec<u64>, cx: &mut CoordCx<'_>) {
        if self.assigned.get(&worker) != Some(&task) {
            return; // not this worker's task (a stale or hostile result)
        }
        self.assigned.remove(&worker);
        let bogus = self.tasks.get(task as usize).is_none();
        if !bogus
            && !self.progress.done.contains(&task)
            && !self.buffer.iter().any(|(t, _)| *t == task)
        {
            self.buffer.push((task, primes));
        }
        if self.buffer.len() >= RESULTS_BUFFERED_MAX {
            self.flush(cx);
        }
        self.assign(worker, cx);
    }

    /// Writes buffered results to the durable output; each task is counted here, once.
    fn flush(&mut self, cx: &mut CoordCx<'_>) {
        self.flushed_us = cx.now_us();
        if self.buffer.is_empty() {
            return;
        }
        let mut counted = Vec::new();
        for (task, primes) in std::mem::take(&mut self.buffer) {
            if !self.progress.done.insert(task) {
                continue;
            }
            let new: Vec<u64> = primes
                .into_iter()
                .filter(|p| self.progress.output.insert(*p))
                .collect();
            counted.push((task, new));
        }
        self.save(cx);
        for (task, primes) in counted {
            cx.emit(Event::Counted { task, primes });
        }
        self.check_finished(cx);
    }

    fn check_finished(&mut self, cx: &mut CoordCx<'_>) {
        if !self.finished && self.progress.loaded && self.progress.done.len() == self.tasks.len() {
            self.finished = true;
            cx.emit(Event::Finished {
                primes: self.progress.output.len() as u64,
            });
        }
    }

    fn state(&self) -> PartState {
        let mut done: Vec<u64> = self.progress.done.iter().copied().collect();
        done.extend(self.buffer.iter().map(|(t, _)| *t));
        PartState::Coordinator {
            pending: self.pending.iter().copied().collect(),
            done,
            buffered: self.buffer.clone(),
            assigned: self.assigned.iter().map(|(w, t)| (*w, *t)).collect(),
        }
    }

    /// At a restart: takes back from the latest complete snapshot the results the durable
    /// progress lacks, and counts them.
    fn resume_from_snapshot(&mut self, cx: &mut CoordCx<'_>) {
        let Some(bytes) = cx.durable_get(KEY_SNAPSHOT) else {
            return;
        };
        match resumable(bytes, &self.progress.done, self.tasks.len() as u64) {
            Ok((seq, results)) => {
                let tasks = results.len() as u64;
                cx.emit(Event::Resumed { seq, tasks });
                if tasks > 0 {
                    self.buffer.extend(results);
                    self.flush(cx);
                }
            }
            Err(why) => cx.emit(Event::SnapshotRejected { why }),
        }
    }

    /// Starts a snapshot for `waiter` (a client's request) or for the period; false when as
    /// many as may be are being assembled. A snapshot started at this very instant is the
    /// one asked for (its number would be taken): the waiter joins it, or gets its answer if
    /// it is already complete. The waiter is registered before the snapshot starts, since
    /// with no worker registered it completes at once.
    fn start_snapshot(&mut self, waiter: Option<(NodeId, u64)>, cx: &mut CoordCx<'_>) -> bool {
        self.snapshot_us = cx.now_us();
        let id = SnapshotId {
            initiator: self.me,
            seq: cx.now_us(),
        };
        if self.assemblies.contains_key(&id) {
            self.waiters.entry(id).or_default().extend(waiter);
            return true;
        }
        if let Some((taken, report)) = self.last_taken.clone().filter(|(t, _)| *t == id) {
            if let Some((client, req)) = waiter {
                self.reply(client, req, taken, report, cx);
            }
            return true;
        }
        if self.assemblies.len() >= ASSEMBLIES_MAX {
            return false;
        }
        let workers: BTreeSet<NodeId> = self.links.keys().copied().collect();
        self.assemblies
            .insert(id, Assembly::new(id, self.me, workers, cx.now_us()));
        self.waiters.entry(id).or_default().extend(waiter);
        cx.emit(Event::SnapshotStarted { seq: id.seq });
        let step = self.snap.initiate(id, self.state());
        self.snapshot_step(step, cx);
        true
    }

    /// Sends the markers a step asks for and assembles the parts it completed.
    fn snapshot_step(&mut self, step: Step<PartState, Msg>, cx: &mut CoordCx<'_>) {
        for (to, marker) in step.send {
            if let Some(link) = self.links.get(&to) {
                cx.stream_send(link.stream, Msg::Marker(marker));
            }
        }
        for part in step.completed {
            self.add_part(part, cx);
        }
        for why in step.abandoned {
            use crate::parts::chandy_lamport::Abandoned;
            let (Abandoned::TooManySnapshots(id)
            | Abandoned::TooManyInFlight(id, _)
            | Abandoned::ChannelReset(id, _)) = why;
            self.abandon(id, cx);
        }
    }

    fn add_part(
        &mut self,
        part: crate::parts::chandy_lamport::LocalSnapshot<PartState, Msg>,
        cx: &mut CoordCx<'_>,
    ) {
        let id = part.id;
        let Some(assembly) = self.assemblies.get_mut(&id) else {
            return;
        };
        if !assembly.insert(part) {
            return;
        }
        if let Some(assembly) = self.assemblies.remove(&id) {
            let (event, json) = assembly.judge(self.tasks.len() as u64);
            if let Some(json) = json {
                cx.durable_put(KEY_SNAPSHOT, json.into_bytes());
            }
            let report = SnapshotReport::of(&event);
            cx.emit(event);
            if let Some(report) = report {
                self.answer(id, &report, cx);
            }
        }
    }

    fn on_stream_message(&mut self, worker: NodeId, msg: Msg, cx: &mut CoordCx<'_>) {
        if let Some(link) = self.links.get_mut(&worker) {
            link.heard_us = cx.now_us();
        }
        if let Msg::Marker(marker) = msg {
            let state = self.state();
            let step = self.snap.on_marker(worker, marker, || state);
            self.snapshot_step(step, cx);
            return;
        }
        let step = self.snap.on_receive(worker, &msg);
        self.snapshot_step(step, cx);
        match msg {
            Msg::Register => self.assign(worker, cx),
            Msg::Result { task, primes } => self.on_result(worker, task, primes, cx),
            Msg::SnapPart(part) if part.node == worker => self.add_part(*part, cx),
            _ => {}
        }
    }

    fn on_tick(&mut self, cx: &mut CoordCx<'_>) {
        cx.set_timer(
            CoordTimer::Tick,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
        let now = cx.now_us();
        let timeout = self.cfg.worker_timeout_ms * 1000;
        let silent: Vec<(NodeId, StreamId)> = self
            .links
            .iter()
            .filter(|(_, l)| now.saturating_sub(l.heard_us) >= timeout)
            .map(|(w, l)| (*w, l.stream))
            .collect();
        for (w, s) in silent {
            cx.close(s);
            self.lost(w, cx);
        }
        // Workers judge the coordinator's liveness by its heartbeats, as it judges theirs.
        let workers: Vec<NodeId> = self.links.keys().copied().collect();
        for w in workers {
            self.send(w, Msg::Heartbeat, cx);
        }
        if !self.progress.loaded {
            self.files.tick(cx);
            if !self.files.busy() {
                self.load_next(cx);
            }
            return;
        }
        if now.saturating_sub(self.flushed_us) >= self.cfg.flush_ms * 1000 {
            self.flush(cx);
        }
        // A snapshot whose parts never came (a worker that gave it up) is dropped.
        let stale: Vec<SnapshotId> = self
            .assemblies
            .iter()
            .filter(|(_, a)| now.saturating_sub(a.started_us()) >= timeout.saturating_mul(4))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.abandon(id, cx);
        }
        let every = self.cfg.snapshot_ms * 1000;
        if every > 0 && !self.finished && now.saturating_sub(self.snapshot_us) >= every {
            self.start_snapshot(None, cx);
        }
    }
}

impl Node for Coordinator {
    type Msg = Msg;
    type Event = Event;
    type Timer = CoordTimer;

    fn on_start(&mut self, cx: &mut CoordCx<'_>) {
        // A damaged store reads as no progress: the work is redone, never lost.
        self.progress = cx
            .durable_get(KEY_PROGRESS)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        self.files = FileClient::new(
            self.files.servers().to_vec(),
            self.cfg.request_retry_ms,
            cx.now_us(),
        );
        self.snapshot_us = cx.now_us();
        self.flushed_us = cx.now_us();
        cx.role("coordinator");
        cx.emit(Event::Restored {
            done: self.progress.done.len() as u64,
            primes: self.progress.output.len() as u64,
        });
        self.resume_from_snapshot(cx);
        if self.progress.loaded {
            self.loaded(cx);
        } else {
            self.load_next(cx);
        }
        cx.set_timer(
            CoordTimer::Tick,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut CoordCx<'_>) {
        if let Msg::SnapshotRequest { req } = msg {
            self.on_snapshot_request(from, req, cx);
            return;
        }
        if let Outcome::Written(name) = self.files.on_message(from, &msg, cx) {
            let expected = self
                .datasets
                .get(self.loading)
                .is_some_and(|d| d.name == name);
            if expected && !self.progress.loaded {
                self.loading += 1;
                self.load_next(cx);
            }
        }
    }

    fn on_timer(&mut self, timer: CoordTimer, cx: &mut CoordCx<'_>) {
        match timer {
            CoordTimer::Tick => self.on_tick(cx),
        }
    }

    fn on_stream(
        &mut self,
        stream: StreamId,
        peer: NodeId,
        event: StreamEvent<Msg>,
        cx: &mut CoordCx<'_>,
    ) {
        match event {
            StreamEvent::Accepted => {
                if !self.is_worker(peer) {
                    cx.close(stream);
                    return;
                }
                if let Some(old) = self.links.get(&peer).map(|l| l.stream) {
                    // The worker came back on a new stream: the old one is dead.
                    cx.close(old);
                    self.lost(peer, cx);
                }
                self.links.insert(
                    peer,
                    Link {
                        stream,
                        heard_us: cx.now_us(),
                    },
                );
                self.snap.open_channel(peer);
            }
            StreamEvent::Message(msg) => {
                if self.links.get(&peer).is_some_and(|l| l.stream == stream) {
                    self.on_stream_message(peer, msg, cx);
                }
            }
            StreamEvent::Closed(_) => {
                if self.links.get(&peer).is_some_and(|l| l.stream == stream) {
                    self.lost(peer, cx);
                }
            }
            StreamEvent::Connected => {}
        }
    }
}

/// A task and the primes its worker found.
pub(super) type TaskResult = (u64, Vec<u64>);

/// The results in a saved snapshot that `done` lacks, with the snapshot's number: those the
/// coordinator had buffered when it recorded, and those recorded in flight to it from a
/// worker that held that task then. An error names why the snapshot cannot be used
/// (unreadable, inconsistent channels, no coordinator part, a task out of range).
pub(super) fn resumable(
    bytes: &[u8],
    done: &BTreeSet<u64>,
    total: u64,
) -> Result<(u64, Vec<TaskResult>), String> {
    let global: GlobalSnapshot<PartState, Msg> =
        serde_json::from_slice(bytes).map_err(|e| format!("unreadable snapshot: {e}"))?;
    global.check_channels()?;
    let me = global.id.initiator;
    let part = global
        .parts
        .get(&me)
        .ok_or_else(|| format!("snapshot {} has no part of its coordinator", global.id))?;
    let PartState::Coordinator {
        buffered, assigned, ..
    } = &part.state
    else {
        return Err(format!(
            "snapshot {}: its coordinator's part is a worker's",
            global.id
        ));
    };
    let mut results: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (task, primes) in buffered {
        results.entry(*task).or_insert_with(|| primes.clone());
    }
    for (from, msgs) in &part.in_flight {
        for msg in msgs {
            if let Msg::Result { task, primes } = msg {
                if assigned.contains(&(*from, *task)) {
                    results.entry(*task).or_insert_with(|| primes.clone());
                }
            }
        }
    }
    if let Some(task) = results.keys().find(|t| **t >= total) {
        return Err(format!(
            "snapshot {}: task {task} does not exist ({total} tasks)",
            global.id
        ));
    }
    results.retain(|t, _| !done.contains(t));
    Ok((global.id.seq, results.into_iter().collect()))
}

impl Coordinator {
    fn is_worker(&self, peer: NodeId) -> bool {
        peer != self.me && !self.files.servers().contains(&peer)
    }
}
