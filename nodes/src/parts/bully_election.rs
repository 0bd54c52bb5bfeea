//! The bully election (Garcia-Molina): the highest live id leads. A node that misses its
//! leader asks every higher node it knows (ELECTION); any of them alive answers OK and takes
//! over the election; one that hears no OK within the timeout wins and announces itself
//! (COORDINATOR).
//!
//! Sans-IO: the host tells it what arrived and what its timer did, and carries out the
//! [`Out`]s it returns, in order: sends, one timer, role and leader changes, and two
//! decisions it leaves to the host ([`Out::StartElection`], [`Out::Won`]), because the host
//! has its own work to do around them (a replicated log syncs before it serves, a file server
//! takes over its files). Who is alive comes from the host's membership: the election asks
//! the servers it is given.

use std::time::Duration;

use faultline_sim::NodeId;
use serde::{Deserialize, Serialize};

/// What the election says on the wire; the host wraps it in its own message type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElectionMsg {
    /// "I am starting an election": sent to every higher node.
    Election,
    /// "I am alive and take it from here": a higher node's answer to ELECTION.
    Ok,
    /// "I lead, in this epoch": the winner's announcement. The epoch is the host's (a
    /// replicated log's term); the election only carries it.
    Coordinator {
        /// The winner's epoch.
        epoch: u64,
    },
}

/// What a node currently does in the election.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or looks for one).
    Follower,
    /// Runs an election.
    Candidate,
    /// Leads.
    Leader,
}

impl Role {
    /// The role's name in the trace.
    pub fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// One thing the host must do, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Out {
    /// The role changed: report it.
    Role(Role),
    /// The followed leader changed: report it.
    Leader(Option<NodeId>),
    /// Send to one node.
    Send(NodeId, ElectionMsg),
    /// Send to every other node.
    Multicast(ElectionMsg),
    /// Arm (or move) the election timer; its expiry goes to [`BullyElection::on_timeout`].
    SetTimer(Duration),
    /// Disarm the election timer.
    CancelTimer,
    /// Start an election: do what the host does then, and call [`BullyElection::start`].
    StartElection,
    /// Nobody higher answered: pick an epoch and call [`BullyElection::win`].
    Won,
}

/// One node's side of the election.
#[derive(Clone, Debug)]
pub struct BullyElection {
    /// This node; its id is its priority.
    me: NodeId,
    /// How long a candidate waits for an OK, then for a COORDINATOR after an OK.
    timeout: Duration,
    /// What this node does.
    role: Role,
    /// The leader it follows (itself when it leads).
    leader: Option<NodeId>,
    /// A higher node answered OK to this candidate's election.
    got_ok: bool,
}

impl BullyElection {
    /// A follower of nobody yet.
    pub fn new(me: NodeId, timeout_ms: u64) -> BullyElection {
        BullyElection {
            me,
            timeout: Duration::from_millis(timeout_ms),
            role: Role::Follower,
            leader: None,
            got_ok: false,
        }
    }

    /// What this node does.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The leader it follows.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// Starts (or restarts) an election among `servers` (the live ones the host knows, in
    /// any order): asks every higher one, or wins at once when there is none.
    pub fn start(&mut self, servers: &[NodeId]) -> Vec<Out> {
        let mut out = Vec::new();
        self.got_ok = false;
        self.set_role(Role::Candidate, &mut out);
        self.set_leader(None, &mut out);
        let higher: Vec<NodeId> = servers.iter().copied().filter(|s| *s > self.me).collect();
        if higher.is_empty() {
            out.push(Out::Won);
            return out;
        }
        out.extend(
            higher
                .into_iter()
                .map(|s| Out::Send(s, ElectionMsg::Election)),
        );
        out.push(Out::SetTimer(self.timeout));
        out
    }

    /// Leads from now, in `epoch`: announces it to everyone.
    pub fn win(&mut self, epoch: u64) -> Vec<Out> {
        let mut out = vec![Out::CancelTimer];
        self.got_ok = false;
        self.set_role(Role::Leader, &mut out);
        self.set_leader(Some(self.me), &mut out);
        out.push(Out::Multicast(ElectionMsg::Coordinator { epoch }));
        out
    }

    /// Follows `leader`, dropping any election or leadership of its own.
    pub fn follow(&mut self, leader: NodeId) -> Vec<Out> {
        let mut out = Vec::new();
        if self.role == Role::Candidate {
            out.push(Out::CancelTimer);
        }
        self.got_ok = false;
        self.set_role(Role::Follower, &mut out);
        self.set_leader(Some(leader), &mut out);
        out
    }

    /// A lower node started an election: it is told this one is alive, and this one runs
    /// the election from here (a leader re-announces itself, in the host's `epoch`).
    pub fn on_election(&mut self, from: NodeId, epoch: u64) -> Vec<Out> {
        if from >= self.me {
            return Vec::new();
        }
        let mut out = vec![Out::Send(from, ElectionMsg::Ok)];
        match self.role {
            Role::Leader => out.push(Out::Multicast(ElectionMsg::Coordinator { epoch })),
            Role::Candidate => {}
            Role::Follower => out.push(Out::StartElection),
        }
        out
    }

    /// A higher node answered: wait for its announcement instead of winning.
    pub fn on_ok(&mut self, from: NodeId) -> Vec<Out> {
        if from <= self.me || self.role != Role::Candidate || self.got_ok {
            return Vec::new();
        }
        self.got_ok = true;
        vec![Out::SetTimer(self.timeout)]
    }

    /// The election timer fired: no OK means this node wins; an OK with no announcement
    /// since means the higher node died in turn, so the election starts over.
    pub fn on_timeout(&mut self) -> Vec<Out> {
        if self.role != Role::Candidate {
            return Vec::new();
        }
        if self.got_ok {
            vec![Out::StartElection]
        } else {
            vec![Out::Won]
        }
    }

    fn set_role(&mut self, role: Role, out: &mut Vec<Out>) {
        if self.role != role {
            self.role = role;
            out.push(Out::Role(role));
        }
    }

    fn set_leader(&mut self, leader: Option<NodeId>, out: &mut Vec<Out>) {
        if self.leader != leader {
            self.leader = leader;
            out.push(Out::Leader(leader));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(id: u16) -> NodeId {
        NodeId(id)
    }

    const TIMEOUT: Duration = Duration::from_millis(300);

    #[test]
    fn a_candidate_asks_the_higher_servers_and_wins_when_none_answers() {
        let mut e = BullyElection::new(n(2), 300);
        let out = e.start(&[n(4), n(0), n(3)]);
        assert_eq!(
            out,
            [
                Out::Role(Role::Candidate),
                Out::Send(n(4), ElectionMsg::Election),
                Out::Send(n(3), ElectionMsg::Election),
                Out::SetTimer(TIMEOUT),
            ]
        );
        assert_eq!(e.on_timeout(), [Out::Won]);
        let out = e.win(7);
        assert_eq!(
            out,
            [
                Out::CancelTimer,
                Out::Role(Role::Leader),
                Out::Leader(Some(n(2))),
                Out::Multicast(ElectionMsg::Coordinator { epoch: 7 }),
            ]
        );
        assert_eq!((e.role(), e.leader()), (Role::Leader, Some(n(2))));
        // A late timer of the finished election does nothing.
        assert_eq!(e.on_timeout(), []);
    }

    #[test]
    fn the_highest_wins_at_once() {
        let mut e = BullyElection::new(n(4), 300);
        assert_eq!(
            e.start(&[n(1), n(3)]),
            [Out::Role(Role::Candidate), Out::Won]
        );
    }

    #[test]
    fn an_ok_from_above_defers_and_a_silent_taker_restarts_the_election() {
        let mut e = BullyElection::new(n(1), 300);
        e.start(&[n(3)]);
        assert_eq!(e.on_ok(n(0)), [], "an OK from below means nothing");
        assert_eq!(e.on_ok(n(3)), [Out::SetTimer(TIMEOUT)]);
        assert_eq!(e.on_ok(n(3)), [], "the wait is not extended twice");
        assert_eq!(e.on_timeout(), [Out::StartElection]);
        // The announcement ends the candidacy.
        assert_eq!(
            e.follow(n(3)),
            [
                Out::CancelTimer,
                Out::Role(Role::Follower),
                Out::Leader(Some(n(3)))
            ]
        );
        assert_eq!(e.on_ok(n(3)), []);
    }

    #[test]
    fn a_lower_nodes_election_is_answered_and_taken_over() {
        let mut e = BullyElection::new(n(3), 300);
        assert_eq!(e.on_election(n(4), 0), [], "a higher one runs its own");
        assert_eq!(
            e.on_election(n(1), 0),
            [Out::Send(n(1), ElectionMsg::Ok), Out::StartElection]
        );
        e.start(&[]);
        e.win(5);
        assert_eq!(
            e.on_election(n(1), 5),
            [
                Out::Send(n(1), ElectionMsg::Ok),
                Out::Multicast(ElectionMsg::Coordinator { epoch: 5 })
            ]
        );
    }
}
