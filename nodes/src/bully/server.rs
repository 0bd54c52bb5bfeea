//! A group server: discovery, view, heartbeats, and the dispatch to election and replication.

use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};

use super::chat_log::ChatLog;
use super::codec::decode_term;
use super::config::BullyConfig;
use super::event::Event;
use super::msg::{Kind, Msg};
use super::replication::Leadership;
use super::view::View;
pub(crate) use crate::parts::bully_election::Role;
use crate::parts::bully_election::{self as election, BullyElection};

/// A server's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServerTimer {
    /// Heartbeat, retransmission and view-timeout period.
    Heartbeat,
    /// End of the discovery window after a start.
    Discovery,
    /// A candidate's wait for an OK or for a COORDINATOR.
    Election,
}

impl Timer for ServerTimer {
    fn id(self) -> TimerId {
        match self {
            ServerTimer::Heartbeat => TimerId(1),
            ServerTimer::Discovery => TimerId(2),
            ServerTimer::Election => TimerId(3),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id {
            TimerId(1) => Some(ServerTimer::Heartbeat),
            TimerId(2) => Some(ServerTimer::Discovery),
            TimerId(3) => Some(ServerTimer::Election),
            _ => None,
        }
    }
}

/// What a server's callbacks answer through.
pub(crate) type ServerCx<'a> = Cx<'a, Msg, Event, ServerTimer>;

/// Durable key of the adopted epoch and its coordinator.
pub(crate) const KEY_EPOCH: &str = "epoch";

/// A server of the bully group. It knows only its own id (from the driver), the group size
/// in its configuration, and what it hears.
pub struct Server {
    /// Timing, group size and planted bugs.
    pub(super) cfg: BullyConfig,
    /// This server, as the driver says at start.
    pub(super) me: NodeId,
    /// The group as heard.
    pub(super) view: View,
    /// The adopted epoch (durable); only its coordinator may sync or append in it.
    pub(super) epoch: u64,
    /// The coordinator `epoch` was adopted from (durable), so no second one is accepted.
    pub(super) epoch_leader: Option<NodeId>,
    /// The highest epoch seen in any message; a new coordinator goes above it.
    pub(super) epoch_seen_max: u64,
    /// The bully election: what this server does now and whom it follows.
    pub(super) election: BullyElection,
    /// When the leader last proved alive, or when the search for one began (µs).
    pub(super) leader_heard_us: u64,
    /// Whether the listening window after start is still open.
    pub(super) discovering: bool,
    /// The best leader claim heard while discovering: (epoch, leader).
    pub(super) leader_hint: Option<(u64, NodeId)>,
    /// The replicated log.
    pub(super) log: ChatLog,
    /// Seq up to which this log is known to match the current epoch's leader's.
    pub(super) matched_seq: u64,
    /// Leader-only state; `None` unless leading.
    pub(super) lead: Option<Leadership>,
}

impl Server {
    /// A server with the given configuration; its state is built at `on_start`.
    pub fn new(cfg: BullyConfig) -> Server {
        let view = View::new(NodeId(0), cfg.peer_timeout_ms);
        let election = BullyElection::new(NodeId(0), cfg.election_timeout_ms);
        Server {
            cfg,
            me: NodeId(0),
            view,
            epoch: 0,
            epoch_leader: None,
            epoch_seen_max: 0,
            election,
            leader_heard_us: 0,
            discovering: false,
            leader_hint: None,
            log: ChatLog::default(),
            matched_seq: 0,
            lead: None,
        }
    }

    /// Carries out what the election asked for, in order.
    pub(super) fn run_election(&mut self, outs: Vec<election::Out>, cx: &mut ServerCx<'_>) {
        for out in outs {
            match out {
                election::Out::Role(role) => cx.role(role.name()),
                election::Out::Leader(leader) => {
                    self.leader_heard_us = cx.now_us();
                    cx.leader(leader);
                }
                election::Out::Send(to, msg) => cx.send(to, msg.into()),
                election::Out::Multicast(msg) => cx.multicast(msg.into()),
                election::Out::SetTimer(after) => cx.set_timer(ServerTimer::Election, after),
                election::Out::CancelTimer => cx.cancel_timer(ServerTimer::Election),
                election::Out::StartElection => self.start_election(cx),
                election::Out::Won => self.become_coordinator(cx),
            }
        }
    }

    /// Closes the discovery window early (an election or a leader made it moot).
    pub(super) fn end_discovery(&mut self, cx: &mut ServerCx<'_>) {
        if self.discovering {
            self.discovering = false;
            cx.cancel_timer(ServerTimer::Discovery);
        }
    }

    fn note_hint(&mut self, leader: NodeId, epoch: u64) {
        if self.leader_hint.is_none_or(|hint| (epoch, leader) > hint) {
            self.leader_hint = Some((epoch, leader));
        }
    }

    fn on_heartbeat_timer(&mut self, cx: &mut ServerCx<'_>) {
        cx.set_timer(
            ServerTimer::Heartbeat,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
        cx.multicast(self.heartbeat());
        self.view.expire(cx);
        for suspect in self.view.suspects(cx.now_us()) {
            cx.send(suspect, Msg::Probe { kind: Kind::Server });
        }
        let silent_us = cx.now_us().saturating_sub(self.leader_heard_us);
        match self.election.role() {
            Role::Follower
                if !self.discovering
                    && silent_us > self.cfg.peer_timeout_ms.saturating_mul(1000) =>
            {
                self.want_election(cx);
            }
            Role::Leader => self.leader_tick(cx),
            _ => {}
        }
    }

    fn on_discovery_end(&mut self, cx: &mut ServerCx<'_>) {
        if !self.discovering {
            return;
        }
        self.discovering = false;
        if self.election.role() != Role::Follower {
            return;
        }
        let bug = self.cfg.bugs.accept_lower_coordinator;
        if self.election.leader().is_some_and(|l| l > self.me || bug) {
            return;
        }
        match self.leader_hint {
            Some((_, hint)) if hint > self.me && self.view.contains(hint) => self.follow(hint, cx),
            _ => self.want_election(cx),
        }
    }

    fn on_heartbeat(
        &mut self,
        from: NodeId,
        kind: Kind,
        leader: Option<NodeId>,
        epoch: u64,
        commit: u64,
        cx: &mut ServerCx<'_>,
    ) {
        if kind != Kind::Server {
            return;
        }
        self.seen(epoch);
        let claims = leader == Some(from);
        if self.discovering && claims {
            self.note_hint(from, epoch);
        }
        let bug = self.cfg.bugs.accept_lower_coordinator;
        match self.election.role() {
            Role::Leader if claims => {
                // Two leaders (a healed partition): the higher id wins, a newer epoch
                // forces a fresh election so the survivor's epoch is above both.
                if from > self.me {
                    self.follow(from, cx);
                } else if epoch >= self.epoch {
                    self.start_election(cx);
                } else {
                    cx.multicast(Msg::Coordinator { epoch: self.epoch });
                }
            }
            Role::Leader if epoch > self.epoch => self.start_election(cx),
            Role::Follower if self.election.leader() == Some(from) => {
                if claims {
                    if self.election.is_waiting() {
                        // It was only late: no election after all.
                        self.follow(from, cx);
                    }
                    self.leader_heard_us = cx.now_us();
                    if epoch == self.epoch && self.epoch_leader == Some(from) {
                        self.log.commit_to(commit.min(self.matched_seq));
                        self.log.deliver(cx);
                    }
                } else if !self.discovering {
                    // The leader stepped down: go where it went, or challenge. A leader
                    // no longer in the view is one this heartbeat, sent before its sender
                    // won, still named: following it would wait out its silence again.
                    match leader {
                        Some(next)
                            if next != self.me
                                && (next > self.me || bug)
                                && self.view.contains(next) =>
                        {
                            self.follow(next, cx)
                        }
                        _ => self.want_election(cx),
                    }
                }
            }
            Role::Follower
                if claims
                    && self.election.leader().is_none()
                    && !self.discovering
                    && (from > self.me || bug) =>
            {
                self.follow(from, cx);
            }
            _ => {}
        }
    }

    fn heartbeat(&self) -> Msg {
        Msg::Heartbeat {
            kind: Kind::Server,
            leader: self.election.leader(),
            epoch: self.epoch,
            commit: self.log.commit(),
        }
    }

    fn on_probe(&mut self, from: NodeId, kind: Kind, cx: &mut ServerCx<'_>) {
        cx.send(from, self.heartbeat());
        cx.send(
            from,
            Msg::Hello {
                leader: self.election.leader(),
                epoch: self.epoch,
            },
        );
        if self.election.role() == Role::Leader && kind == Kind::Server {
            // A (re)starting server learns its leader at once, or challenges it.
            cx.send(from, Msg::Coordinator { epoch: self.epoch });
        }
    }

    fn on_hello(&mut self, leader: Option<NodeId>, epoch: u64) {
        self.seen(epoch);
        if let (true, Some(leader)) = (self.discovering, leader) {
            self.note_hint(leader, epoch);
        }
    }
}

impl Node for Server {
    type Msg = Msg;
    type Event = Event;
    type Timer = ServerTimer;

    fn on_start(&mut self, cx: &mut ServerCx<'_>) {
        *self = Server::new(self.cfg.clone());
        self.me = cx.me();
        self.election = BullyElection::new(self.me, self.cfg.election_timeout_ms);
        self.view = View::new(self.me, self.cfg.peer_timeout_ms);
        let (epoch, epoch_leader) = cx
            .durable_get(KEY_EPOCH)
            .and_then(decode_term)
            .unwrap_or((0, None));
        self.epoch = epoch;
        self.epoch_leader = epoch_leader;
        self.epoch_seen_max = epoch;
        self.log = ChatLog::load(cx);
        self.leader_heard_us = cx.now_us();
        self.discovering = true;
        cx.role(Role::Follower.name());
        cx.leader(None);
        self.view.report(cx);
        cx.multicast(Msg::Probe { kind: Kind::Server });
        cx.set_timer(
            ServerTimer::Heartbeat,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
        cx.set_timer(
            ServerTimer::Discovery,
            Duration::from_millis(self.cfg.discovery_ms),
        );
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut ServerCx<'_>) {
        if from == self.me {
            return;
        }
        self.view.heard(from, msg.sender_kind(), cx);
        match msg {
            Msg::Heartbeat {
                kind,
                leader,
                epoch,
                commit,
            } => self.on_heartbeat(from, kind, leader, epoch, commit, cx),
            Msg::Probe { kind } => self.on_probe(from, kind, cx),
            Msg::Hello { leader, epoch } => self.on_hello(leader, epoch),
            Msg::Leave => self.view.leave(from, cx),
            Msg::Election => self.on_election(from, cx),
            Msg::Ok => self.on_ok(from, cx),
            Msg::Coordinator { epoch } => self.on_coordinator(from, epoch, cx),
            Msg::Stale { epoch } => self.on_stale(epoch, cx),
            Msg::Sync { epoch } => self.on_sync(from, epoch, cx),
            Msg::SyncOk {
                epoch,
                last_epoch,
                last_seq,
            } => self.on_sync_ok(from, epoch, last_epoch, last_seq, cx),
            Msg::Fetch { epoch, from_seq } => self.on_fetch(from, epoch, from_seq, cx),
            Msg::Entries { epoch, entries } => self.on_entries(from, epoch, entries, cx),
            append @ Msg::Append { .. } => self.on_append(from, append, cx),
            Msg::AppendOk {
                epoch,
                ok,
                last_seq,
            } => self.on_append_ok(from, epoch, ok, last_seq, cx),
            Msg::Chat { client_seq, text } => self.on_chat(from, client_seq, text, cx),
            Msg::Pull { from_seq } => self.on_pull(from, from_seq, cx),
            // Meant for clients.
            Msg::ChatAck { .. } | Msg::NotLeader { .. } | Msg::Publish { .. } => {}
        }
    }

    fn on_timer(&mut self, timer: ServerTimer, cx: &mut ServerCx<'_>) {
        match timer {
            ServerTimer::Heartbeat => self.on_heartbeat_timer(cx),
            ServerTimer::Discovery => self.on_discovery_end(cx),
            ServerTimer::Election => self.on_election_timeout(cx),
        }
    }
}
