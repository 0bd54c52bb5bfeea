//! Bully election and epochs: who leads, and which coordinator a server has pledged to.
//!
//! The election itself is the shared part [`crate::parts::bully_election`]; here is what the
//! chat group adds around it. Priority is the node id. Adopting an epoch is a durable pledge
//! to one coordinator: a server adopts an epoch only if it is newer than its own, so two
//! coordinators can never both gather a majority for the same epoch (that is what keeps the
//! log safe when a partition lets two sides elect).

use faultline_sim::NodeId;

use super::codec::encode_term;
use super::event::Event;
use super::msg::Msg;
use super::server::{Role, Server, ServerCx, KEY_EPOCH};

impl Server {
    /// Remembers the highest epoch heard of.
    pub(super) fn seen(&mut self, epoch: u64) {
        self.epoch_seen_max = self.epoch_seen_max.max(epoch);
    }

    /// Adopts `epoch` of coordinator `leader`, durably.
    pub(super) fn adopt(&mut self, epoch: u64, leader: NodeId, cx: &mut ServerCx<'_>) {
        self.epoch = epoch;
        self.epoch_leader = Some(leader);
        self.seen(epoch);
        self.matched_seq = 0;
        cx.durable_put(KEY_EPOCH, encode_term(epoch, Some(leader)));
        cx.emit(Event::EpochAdopted { epoch, leader });
    }

    /// Follows `leader`, dropping any election or leadership of its own.
    pub(super) fn follow(&mut self, leader: NodeId, cx: &mut ServerCx<'_>) {
        self.lead = None;
        let outs = self.election.follow(leader);
        self.run_election(outs, cx);
        self.leader_heard_us = cx.now_us();
    }

    /// Starts (or restarts) an election: ask every known higher server, or win at once.
    pub(super) fn start_election(&mut self, cx: &mut ServerCx<'_>) {
        self.end_discovery(cx);
        cx.election_started();
        self.lead = None;
        let outs = self.election.start(&self.view.servers());
        self.run_election(outs, cx);
    }

    /// Wins: takes an epoch above all seen, announces it and starts syncing the log.
    pub(super) fn become_coordinator(&mut self, cx: &mut ServerCx<'_>) {
        self.end_discovery(cx);
        let epoch = self.epoch.max(self.epoch_seen_max).saturating_add(1);
        self.adopt(epoch, self.me, cx);
        let outs = self.election.win(epoch);
        self.run_election(outs, cx);
        self.start_sync(cx);
    }

    /// An election is due: a leader or the highest live server starts it now, any other
    /// server waits its turn (see [`crate::parts::bully_election::BullyElection::want`]).
    pub(super) fn want_election(&mut self, cx: &mut ServerCx<'_>) {
        let live = self.live_servers(cx.now_us());
        let outs = self.election.want(&live);
        self.run_election(outs, cx);
    }

    /// The other servers of the view, minus those silent for half the peer timeout: the
    /// ones whose turn comes before this server's in an election.
    fn live_servers(&self, now_us: u64) -> Vec<NodeId> {
        let suspects = self.view.suspects(now_us);
        let mut live = self.view.servers();
        live.retain(|s| !suspects.contains(s));
        live
    }

    pub(super) fn on_election(&mut self, from: NodeId, cx: &mut ServerCx<'_>) {
        let live = self.live_servers(cx.now_us());
        let outs = self.election.on_election(from, self.epoch, &live);
        self.run_election(outs, cx);
    }

    pub(super) fn on_ok(&mut self, from: NodeId, cx: &mut ServerCx<'_>) {
        let outs = self.election.on_ok(from);
        self.run_election(outs, cx);
    }

    pub(super) fn on_election_timeout(&mut self, cx: &mut ServerCx<'_>) {
        let outs = self.election.on_timeout();
        self.run_election(outs, cx);
    }

    pub(super) fn on_coordinator(&mut self, from: NodeId, epoch: u64, cx: &mut ServerCx<'_>) {
        self.seen(epoch);
        if from > self.me || self.cfg.bugs.accept_lower_coordinator {
            self.end_discovery(cx);
            self.follow(from, cx);
            if epoch > self.epoch {
                self.adopt(epoch, from, cx);
            } else if !(epoch == self.epoch && self.epoch_leader == Some(from)) {
                cx.send(from, Msg::Stale { epoch: self.epoch });
            }
            return;
        }
        if self.discovering {
            // Challenged when the window closes, once the whole group is known.
            return;
        }
        match self.election.role() {
            Role::Leader if epoch >= self.epoch => self.start_election(cx),
            Role::Leader => cx.multicast(Msg::Coordinator { epoch: self.epoch }),
            Role::Candidate => {}
            Role::Follower => self.want_election(cx),
        }
    }

    pub(super) fn on_stale(&mut self, epoch: u64, cx: &mut ServerCx<'_>) {
        self.seen(epoch);
        if self.election.role() == Role::Leader && epoch >= self.epoch {
            // Someone pledged to an epoch at least ours: re-announce above it.
            self.become_coordinator(cx);
        }
    }

    /// Whether a SYNC, FETCH or APPEND of `epoch` from `from` may be acted on. A newer
    /// epoch is adopted on the way (a lower sender is then challenged).
    pub(super) fn accept_epoch(&mut self, from: NodeId, epoch: u64, cx: &mut ServerCx<'_>) -> bool {
        self.seen(epoch);
        if from == self.me || epoch < self.epoch {
            return false;
        }
        let bug = self.cfg.bugs.accept_lower_coordinator;
        if epoch > self.epoch {
            self.adopt(epoch, from, cx);
            if from > self.me || bug {
                self.follow(from, cx);
            } else {
                self.want_election(cx);
            }
        } else if self.epoch_leader != Some(from) {
            return false;
        }
        if self.election.role() == Role::Follower
            && self.election.leader().is_none()
            && (from > self.me || bug)
        {
            self.follow(from, cx);
        }
        if self.election.leader() == Some(from) {
            self.leader_heard_us = cx.now_us();
        }
        self.epoch == epoch && self.epoch_leader == Some(from)
    }
}
