//! A file server: holds the datasets, replicated primary-backup. The primary is chosen by
//! the shared bully election; a write (loading a dataset) goes to the primary, which copies
//! it to every backup and acknowledges once each has it (a backup silent for
//! `replicate_timeout_ms` is left out, and catches up by pulling when it comes back). Any
//! server answers reads from its copy, so reads go on while a new primary is elected; a read
//! is a callback promise: the reader's cached copy is broken when the file changes here.
//!
//! Files are durable (a restarted server has them); callback promises are not, as in AFS a
//! restarted server has forgotten them (datasets do not change once loaded).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId};
use serde::{Deserialize, Serialize};

use super::config::{PrimesConfig, DATASET_NUMBERS_MAX, NAME_BYTES_MAX, WRITES_PENDING_MAX};
use super::event::Event;
use super::msg::Msg;
use crate::parts::bully_election::{BullyElection, ElectionMsg, Out, Role};

faultline_sim::timers! {
    /// A file server's timers.
    pub enum FsTimer {
        /// Heartbeats, the leader's liveness, write retries.
        Tick = 1,
        /// The bully election's timer.
        Election = 2,
    }
}

/// What a file server's callbacks answer through.
pub(crate) type FsCx<'a> = Cx<'a, Msg, Event, FsTimer>;

/// Durable key of the list of file names.
const KEY_FILES: &str = "files";

/// Readers a file's callback list holds; past it the oldest promise is dropped (that reader
/// then sees a change only when its cache evicts the file).
const CALLBACKS_PER_FILE_MAX: usize = 256;

/// A stored file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct File {
    /// Bumped by the primary when the content changes.
    version: u64,
    /// The numbers.
    numbers: Vec<u64>,
}

/// A write being replicated.
#[derive(Clone, Debug)]
struct Write {
    /// Who asked.
    writer: NodeId,
    /// The writer's request number.
    writer_req: u64,
    /// The file.
    name: String,
    /// Backups that have not acknowledged.
    waiting: BTreeSet<NodeId>,
    /// When replication started, µs.
    started_us: u64,
}

/// One file server.
pub struct FileServer {
    /// This node.
    me: NodeId,
    /// Every file server, itself included.
    servers: Vec<NodeId>,
    /// The coordinator and the workers, told who the primary is.
    clients: Vec<NodeId>,
    /// Timings.
    cfg: PrimesConfig,
    /// The shared bully election.
    election: BullyElection,
    /// The highest epoch seen.
    epoch: u64,
    /// Files held.
    files: BTreeMap<String, File>,
    /// Readers holding a callback promise, per file.
    callbacks: BTreeMap<String, BTreeSet<NodeId>>,
    /// When the primary was last heard, µs.
    leader_heard_us: u64,
    /// When each other server was last heard, µs.
    heard_us: BTreeMap<NodeId, u64>,
    /// Writes being replicated, by this server's request number.
    writes: BTreeMap<u64, Write>,
    /// The next replication request number.
    req_next: u64,
}

impl FileServer {
    /// Server `me` among `servers`, with `clients` to tell who leads.
    pub fn new(
        me: NodeId,
        servers: Vec<NodeId>,
        clients: Vec<NodeId>,
        cfg: PrimesConfig,
    ) -> FileServer {
        FileServer {
            me,
            servers,
            clients,
            election: BullyElection::new(me, cfg.election_timeout_ms),
            cfg,
            epoch: 0,
            files: BTreeMap::new(),
            callbacks: BTreeMap::new(),
            leader_heard_us: 0,
            heard_us: BTreeMap::new(),
            writes: BTreeMap::new(),
            req_next: 1,
        }
    }

    fn others(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.servers.iter().copied().filter(move |s| *s != self.me)
    }

    /// Other servers heard from within the leader timeout.
    fn live(&self, now_us: u64) -> Vec<NodeId> {
        let window = self.cfg.fs_leader_timeout_ms * 1000;
        self.others()
            .filter(|s| {
                self.heard_us
                    .get(s)
                    .is_some_and(|t| now_us.saturating_sub(*t) < window)
            })
            .collect()
    }

    fn is_primary(&self) -> bool {
        self.election.role() == Role::Leader
    }

    /// Carries out what the election asked, in order.
    fn run_election(&mut self, outs: Vec<Out>, cx: &mut FsCx<'_>) {
        for out in outs {
            match out {
                Out::Role(role) => cx.role(match role {
                    Role::Leader => "primary",
                    Role::Follower => "backup",
                    Role::Candidate => "candidate",
                }),
                Out::Leader(leader) => cx.leader(leader),
                Out::Send(to, m) => cx.send(to, Msg::Election(m)),
                Out::Multicast(m) => {
                    let to: Vec<NodeId> =
                        self.others().chain(self.clients.iter().copied()).collect();
                    for n in to {
                        cx.send(n, Msg::Election(m.clone()));
                    }
                }
                Out::SetTimer(d) => cx.set_timer(FsTimer::Election, d),
                Out::CancelTimer => cx.cancel_timer(FsTimer::Election),
                Out::StartElection => {
                    cx.election_started();
                    let outs = self.election.start(&self.servers);
                    self.run_election(outs, cx);
                }
                Out::Won => {
                    self.epoch += 1;
                    let outs = self.election.win(self.epoch);
                    self.run_election(outs, cx);
                    cx.emit(Event::Primary { epoch: self.epoch });
                    // Take anything a previous primary wrote that this server missed.
                    self.pull(cx);
                }
            }
        }
    }

    fn want_election(&mut self, cx: &mut FsCx<'_>) {
        let live = self.live(cx.now_us());
        let outs = self.election.want(&live);
        self.run_election(outs, cx);
    }

    fn follow(&mut self, leader: NodeId, cx: &mut FsCx<'_>) {
        self.leader_heard_us = cx.now_us();
        if self.election.leader() != Some(leader) || self.election.role() != Role::Follower {
            self.writes.clear();
            let outs = self.election.follow(leader);
            self.run_election(outs, cx);
        }
    }

    fn pull(&mut self, cx: &mut FsCx<'_>) {
        let others: Vec<NodeId> = self.others().collect();
        for s in others {
            cx.send(s, Msg::Pull);
        }
    }

    /// Stores `name` at `version` if newer than the copy here, durably, breaking callbacks.
    fn store(&mut self, name: &str, version: u64, numbers: Vec<u64>, cx: &mut FsCx<'_>) {
        if name.is_empty() || name.len() > NAME_BYTES_MAX || numbers.len() > DATASET_NUMBERS_MAX {
            return; // hostile or malformed
        }
        if self.files.get(name).is_some_and(|f| f.version >= version) {
            return;
        }
        let file = File { version, numbers };
        let is_new = !self.files.contains_key(name);
        cx.durable_put(
            &format!("f/{name}"),
            serde_json::to_vec(&file).expect("plain data serializes"),
        );
        self.files.insert(name.to_string(), file);
        if is_new {
            let names: Vec<&String> = self.files.keys().collect();
            cx.durable_put(
                KEY_FILES,
                serde_json::to_vec(&names).expect("plain data serializes"),
            );
        }
        for reader in self.callbacks.remove(name).unwrap_or_default() {
            cx.send(
                reader,
                Msg::Break {
                    name: name.to_string(),
                },
            );
        }
    }

    fn on_write(
        &mut self,
        from: NodeId,
        req: u64,
        name: String,
        numbers: Vec<u64>,
        cx: &mut FsCx<'_>,
    ) {
        if !self.is_primary() {
            cx.send(
                from,
                Msg::NotPrimary {
                    req,
                    primary: self.election.leader(),
                },
            );
            return;
        }
        let again = self
            .writes
            .values()
            .any(|w| w.writer == from && w.writer_req == req);
        if again || self.writes.len() >= WRITES_PENDING_MAX {
            return; // the writer retries
        }
        let version = match self.files.get(&name) {
            Some(f) if f.numbers == numbers => f.version,
            Some(f) => f.version + 1,
            None => 1,
        };
        self.store(&name, version, numbers.clone(), cx);
        if !self.files.contains_key(&name) {
            return; // refused as malformed
        }
        let waiting: BTreeSet<NodeId> = self.others().collect();
        if waiting.is_empty() {
            cx.send(from, Msg::WriteAck { req });
            return;
        }
        let my_req = self.req_next;
        self.req_next += 1;
        for b in &waiting {
            cx.send(
                *b,
                Msg::Replicate {
                    req: my_req,
                    name: name.clone(),
                    version,
                    numbers: numbers.clone(),
                },
            );
        }
        self.writes.insert(
            my_req,
            Write {
                writer: from,
                writer_req: req,
                name,
                waiting,
                started_us: cx.now_us(),
            },
        );
    }

    fn on_tick(&mut self, cx: &mut FsCx<'_>) {
        cx.set_timer(
            FsTimer::Tick,
            Duration::from_millis(self.cfg.fs_heartbeat_ms),
        );
        let now = cx.now_us();
        if self.is_primary() {
            let others: Vec<NodeId> = self.others().collect();
            for s in others {
                cx.send(s, Msg::FsHeartbeat { epoch: self.epoch });
            }
            self.retry_writes(cx);
            return;
        }
        let silent =
            now.saturating_sub(self.leader_heard_us) >= self.cfg.fs_leader_timeout_ms * 1000;
        let idle = self.election.role() == Role::Follower && !self.election.is_waiting();
        if idle && (self.election.leader().is_none() || silent) {
            self.want_election(cx);
        }
    }

    /// Sends a write's copy again to backups that have not acknowledged; past the
    /// replication timeout, acknowledges without them.
    fn retry_writes(&mut self, cx: &mut FsCx<'_>) {
        let now = cx.now_us();
        let timeout = self.cfg.replicate_timeout_ms * 1000;
        let mut given_up = Vec::new();
        for (req, w) in &self.writes {
            if now.saturating_sub(w.started_us) >= timeout {
                given_up.push(*req);
                continue;
            }
            let Some(file) = self.files.get(&w.name) else {
                continue;
            };
            for b in &w.waiting {
                cx.send(
                    *b,
                    Msg::Replicate {
                        req: *req,
                        name: w.name.clone(),
                        version: file.version,
                        numbers: file.numbers.clone(),
                    },
                );
            }
        }
        for req in given_up {
            if let Some(w) = self.writes.remove(&req) {
                cx.send(w.writer, Msg::WriteAck { req: w.writer_req });
            }
        }
    }

    fn on_election_msg(&mut self, from: NodeId, m: ElectionMsg, cx: &mut FsCx<'_>) {
        let outs = match m {
            ElectionMsg::Election => {
                let live = self.live(cx.now_us());
                self.election.on_election(from, self.epoch, &live)
            }
            ElectionMsg::Ok => self.election.on_ok(from),
            ElectionMsg::Coordinator { epoch } => {
                self.epoch = self.epoch.max(epoch);
                if from > self.me {
                    self.follow(from, cx);
                } else {
                    // A lower server claims to lead: the bully takes over.
                    self.want_election(cx);
                }
                return;
            }
        };
        self.run_election(outs, cx);
    }
}

impl Node for FileServer {
    type Msg = Msg;
    type Event = Event;
    type Timer = FsTimer;

    fn on_start(&mut self, cx: &mut FsCx<'_>) {
        // A damaged store reads as missing files; a pull fetches them again.
        let names: Vec<String> = cx
            .durable_get(KEY_FILES)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        for name in names {
            let file: Option<File> = cx
                .durable_get(&format!("f/{name}"))
                .and_then(|b| serde_json::from_slice(b).ok());
            if let Some(file) = file {
                self.files.insert(name, file);
            }
        }
        cx.role("backup");
        self.leader_heard_us = cx.now_us();
        self.pull(cx);
        self.want_election(cx);
        cx.set_timer(
            FsTimer::Tick,
            Duration::from_millis(self.cfg.fs_heartbeat_ms),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut FsCx<'_>) {
        let from_server = self.servers.contains(&from) && from != self.me;
        if from_server {
            self.heard_us.insert(from, cx.now_us());
        }
        match msg {
            Msg::Election(m) if from_server => self.on_election_msg(from, m, cx),
            Msg::FsHeartbeat { epoch } if from_server => {
                self.epoch = self.epoch.max(epoch);
                if self.election.leader() == Some(from) {
                    self.leader_heard_us = cx.now_us();
                } else if from > self.me {
                    self.follow(from, cx);
                } else if self.election.role() != Role::Candidate {
                    self.want_election(cx);
                }
            }
            Msg::Write { req, name, numbers } => self.on_write(from, req, name, numbers, cx),
            Msg::Replicate {
                req,
                name,
                version,
                numbers,
            } if from_server => {
                self.store(&name, version, numbers, cx);
                if req != 0 {
                    cx.send(from, Msg::ReplicateAck { req });
                }
            }
            Msg::ReplicateAck { req } if from_server => {
                let done = match self.writes.get_mut(&req) {
                    Some(w) => {
                        w.waiting.remove(&from);
                        w.waiting.is_empty()
                    }
                    None => false,
                };
                if done {
                    if let Some(w) = self.writes.remove(&req) {
                        cx.send(w.writer, Msg::WriteAck { req: w.writer_req });
                    }
                }
            }
            Msg::Pull if from_server => {
                for (name, f) in &self.files {
                    cx.send(
                        from,
                        Msg::Replicate {
                            req: 0,
                            name: name.clone(),
                            version: f.version,
                            numbers: f.numbers.clone(),
                        },
                    );
                }
            }
            Msg::Read { req, name } => match self.files.get(&name) {
                Some(f) => {
                    cx.send(
                        from,
                        Msg::Data {
                            req,
                            name: name.clone(),
                            version: f.version,
                            numbers: f.numbers.clone(),
                        },
                    );
                    cx.emit(Event::Served {
                        name: name.clone(),
                        version: f.version,
                    });
                    let readers = self.callbacks.entry(name).or_default();
                    if readers.len() < CALLBACKS_PER_FILE_MAX {
                        readers.insert(from);
                    }
                }
                None => cx.send(from, Msg::NotFound { req }),
            },
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: FsTimer, cx: &mut FsCx<'_>) {
        match timer {
            FsTimer::Tick => self.on_tick(cx),
            FsTimer::Election => {
                let outs = self.election.on_timeout();
                self.run_election(outs, cx);
            }
        }
    }
}
