//! Leader election: randomised timeouts, pre-votes, vote requests, the vote rule (one vote per
//! term, for a candidate whose log is at least as up to date), and taking office.

use std::time::Duration;

use faultline_sim::NodeId;
use rand::Rng;

use super::event::Event;
use super::msg::Msg;
use super::replica::{Replica, ReplicaCx, ReplicaTimer, Role};
use super::replication::Leadership;

impl Replica {
    /// Restarts the election timeout with a fresh random duration.
    pub(super) fn reset_election_timer(&mut self, cx: &mut ReplicaCx<'_>) {
        let lo = self.cfg.election_timeout_ms_min;
        let hi = self.cfg.election_timeout_ms_max.max(lo);
        let ms = cx.rng().gen_range(lo..=hi);
        cx.set_timer(ReplicaTimer::Election, Duration::from_millis(ms));
    }

    pub(super) fn on_election_timer(&mut self, cx: &mut ReplicaCx<'_>) {
        if self.role == Role::Leader {
            return;
        }
        if self.cfg.pre_vote {
            self.start_pre_vote(cx);
        } else {
            self.start_election(cx);
        }
    }

    /// Asks everyone whether they would vote for this replica in the next term, leaving the
    /// term alone: only a majority of yes starts the real election. A replica that hears
    /// nobody, or whose peers hear a leader, so never disturbs the term.
    fn start_pre_vote(&mut self, cx: &mut ReplicaCx<'_>) {
        // A hostile peer can push the term to its end; no election can follow it there.
        let Some(term) = self.term.checked_add(1) else {
            return;
        };
        self.pre_votes.clear();
        self.pre_votes.insert(self.me);
        for peer in self.peers() {
            cx.send(
                peer,
                Msg::PreVote {
                    term,
                    last_index: self.log.last_index(),
                    last_term: self.log.last_term(),
                },
            );
        }
        self.reset_election_timer(cx);
        self.count_pre_votes(cx);
    }

    pub(super) fn on_pre_vote(
        &mut self,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
        cx: &mut ReplicaCx<'_>,
    ) {
        let up_to_date = (last_term, last_index) >= (self.log.last_term(), self.log.last_index());
        let leader_alive = self.role == Role::Leader
            || self.leader_heard_ms.is_some_and(|at| {
                cx.now_ms().saturating_sub(at) < self.cfg.election_timeout_ms_min
            });
        let granted = term > self.term && up_to_date && !leader_alive;
        cx.send(from, Msg::PreVoteReply { term, granted });
    }

    pub(super) fn on_pre_vote_reply(
        &mut self,
        from: NodeId,
        term: u64,
        granted: bool,
        cx: &mut ReplicaCx<'_>,
    ) {
        if granted && Some(term) == self.term.checked_add(1) && !self.pre_votes.is_empty() {
            self.pre_votes.insert(from);
            self.count_pre_votes(cx);
        }
    }

    fn count_pre_votes(&mut self, cx: &mut ReplicaCx<'_>) {
        if self.role != Role::Leader && self.pre_votes.len() >= self.cfg.majority() {
            self.pre_votes.clear();
            self.start_election(cx);
        }
    }

    /// Becomes a candidate of the next term, votes for itself and asks everyone else.
    fn start_election(&mut self, cx: &mut ReplicaCx<'_>) {
        // A hostile peer can push the term to its end; no election can follow it there.
        let Some(term) = self.term.checked_add(1) else {
            return;
        };
        self.term = term;
        self.leader_heard_ms = None;
        self.voted_for = Some(self.me);
        self.save_hard_state(cx);
        self.set_leader(None, cx);
        self.set_role(Role::Candidate, cx);
        self.incoming = None;
        cx.election_started();
        self.votes.clear();
        self.votes.insert(self.me);
        for peer in self.peers() {
            cx.send(
                peer,
                Msg::RequestVote {
                    term: self.term,
                    last_index: self.log.last_index(),
                    last_term: self.log.last_term(),
                },
            );
        }
        self.reset_election_timer(cx);
        self.count_votes(cx);
    }

    pub(super) fn on_request_vote(
        &mut self,
        from: NodeId,
        term: u64,
        last_index: u64,
        last_term: u64,
        cx: &mut ReplicaCx<'_>,
    ) {
        self.observe_term(term, cx);
        let up_to_date = (last_term, last_index) >= (self.log.last_term(), self.log.last_index());
        let free = match self.voted_for {
            None => true,
            Some(v) => v == from || self.cfg.bugs.vote_twice,
        };
        let granted = term == self.term && free && (up_to_date || self.cfg.bugs.vote_stale_log);
        if granted {
            self.voted_for = Some(from);
            self.save_hard_state(cx);
            if self.role == Role::Follower {
                self.reset_election_timer(cx);
            }
        }
        cx.send(
            from,
            Msg::Vote {
                term: self.term,
                granted,
            },
        );
    }

    pub(super) fn on_vote(
        &mut self,
        from: NodeId,
        term: u64,
        granted: bool,
        cx: &mut ReplicaCx<'_>,
    ) {
        self.observe_term(term, cx);
        if self.role == Role::Candidate && term == self.term && granted {
            self.votes.insert(from);
            self.count_votes(cx);
        }
    }

    fn count_votes(&mut self, cx: &mut ReplicaCx<'_>) {
        if self.role == Role::Candidate && self.votes.len() >= self.cfg.majority() {
            self.become_leader(cx);
        }
    }

    /// Takes office: fresh replication progress, heartbeats at once and every period.
    fn become_leader(&mut self, cx: &mut ReplicaCx<'_>) {
        self.votes.clear();
        self.set_role(Role::Leader, cx);
        self.set_leader(Some(self.me), cx);
        cx.emit(Event::BecameLeader { term: self.term });
        cx.cancel_timer(ReplicaTimer::Election);
        self.lead = Some(Leadership::new(
            &self.peers(),
            self.log.last_index() + 1,
            cx.now_ms(),
        ));
        self.broadcast_append(true, cx);
        cx.set_timer(
            ReplicaTimer::Heartbeat,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
    }
}
