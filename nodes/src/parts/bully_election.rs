//! The bully election (Garcia-Molina): the highest live id leads. A node that misses its
//! leader asks every higher node it knows (ELECTION); any of them alive answers OK and takes
//! over the election; one that hears no OK within the timeout wins and announces itself
//! (COORDINATOR).
//!
//! Kept to a few messages per election at any group size (the textbook version sends
//! O(n²) when the whole group notices a failure at once, and a group of 33 drowned in it):
//! a follower that wants an election waits first, longer the more live higher servers it
//! knows ([`BullyElection::want`]), so the highest one starts (and wins at once) while the
//! others are still waiting, and they follow its one COORDINATOR instead of electing too; a
//! follower that still has a leader higher than the asker answers an ELECTION with OK and
//! leaves the rest to that leader; a leader answers an ELECTION with OK and a COORDINATOR to
//! the asker alone.
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
    /// It times a candidate's wait, or a follower's wait before it starts one.
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
    /// A follower's election start is waiting on the election timer ([`BullyElection::want`]).
    deferred: bool,
}

/// Most ranks a follower's wait before an election counts: past it, servers wait alike. It
/// bounds how long the lowest server of a large group waits (8 steps, twice the election
/// timeout) when no higher one announces itself.
pub const RANK_WAIT_MAX: u64 = 8;

impl BullyElection {
    /// A follower of nobody yet.
    pub fn new(me: NodeId, timeout_ms: u64) -> BullyElection {
        BullyElection {
            me,
            timeout: Duration::from_millis(timeout_ms),
            role: Role::Follower,
            leader: None,
            got_ok: false,
            deferred: false,
        }
    }

    /// How long a follower that knows `rank` live higher servers waits before starting an
    /// election: a quarter of the election timeout per rank, so the announcement of a
    /// higher winner (one network hop) arrives well before a lower server's turn.
    pub fn wait_for_rank(&self, rank: usize) -> Duration {
        let rank = u32::try_from((rank as u64).min(RANK_WAIT_MAX)).unwrap_or(u32::MAX);
        (self.timeout / 4).saturating_mul(rank)
    }

    /// Whether a follower waits to start an election.
    pub fn is_waiting(&self) -> bool {
        self.deferred
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
        self.deferred = false;
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

    /// The host thinks an election is due (its leader went silent, stepped down or is lower
    /// than this node; its discovery found none). `live` are the servers it believes alive
    /// (any order). A candidate already runs one and a waiting follower already waits; a
    /// leader starts at once, and so does the highest live server; any other follower waits
    /// [`BullyElection::wait_for_rank`] of its rank among `live`, and drops the wait when a
    /// leader announces itself meanwhile.
    pub fn want(&mut self, live: &[NodeId]) -> Vec<Out> {
        match self.role {
            Role::Candidate => Vec::new(),
            Role::Leader => vec![Out::StartElection],
            Role::Follower if self.deferred => Vec::new(),
            Role::Follower => {
                let rank = live.iter().filter(|s| **s > self.me).count();
                if rank == 0 {
                    return vec![Out::StartElection];
                }
                self.deferred = true;
                vec![Out::SetTimer(self.wait_for_rank(rank))]
            }
        }
    }

    /// Leads from now, in `epoch`: announces it to everyone.
    pub fn win(&mut self, epoch: u64) -> Vec<Out> {
        let mut out = vec![Out::CancelTimer];
        self.got_ok = false;
        self.deferred = false;
        self.set_role(Role::Leader, &mut out);
        self.set_leader(Some(self.me), &mut out);
        out.push(Out::Multicast(ElectionMsg::Coordinator { epoch }));
        out
    }

    /// Follows `leader`, dropping any election (run or awaited) or leadership of its own.
    pub fn follow(&mut self, leader: NodeId) -> Vec<Out> {
        let mut out = Vec::new();
        if self.role == Role::Candidate || self.deferred {
            out.push(Out::CancelTimer);
        }
        self.got_ok = false;
        self.deferred = false;
        self.set_role(Role::Follower, &mut out);
        self.set_leader(Some(leader), &mut out);
        out
    }

    /// A lower node started an election: it is told this one is alive. A leader also tells
    /// it who leads (in the host's `epoch`), to it alone; a follower whose leader is above
    /// the asker leaves the answer to that leader (which the asker asks too); any other
    /// follower wants an election of its own ([`BullyElection::want`] among `live`).
    pub fn on_election(&mut self, from: NodeId, epoch: u64, live: &[NodeId]) -> Vec<Out> {
        if from >= self.me {
            return Vec::new();
        }
        let mut out = vec![Out::Send(from, ElectionMsg::Ok)];
        match self.role {
            Role::Leader => out.push(Out::Send(from, ElectionMsg::Coordinator { epoch })),
            Role::Candidate => {}
            Role::Follower if self.leader.is_some_and(|l| l > from) && !self.deferred => {}
            Role::Follower => out.extend(self.want(live)),
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

    /// The election timer fired: a waiting follower's turn has come (nobody higher
    /// announced itself); for a candidate, no OK means this node wins, and an OK with no
    /// announcement since means the higher node died in turn, so the election starts over.
    pub fn on_timeout(&mut self) -> Vec<Out> {
        if self.deferred {
            self.deferred = false;
            return vec![Out::StartElection];
        }
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
    const TIMEOUT_400: Duration = Duration::from_millis(400);

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
        assert_eq!(
            e.on_election(n(4), 0, &[n(4)]),
            [],
            "a higher one runs its own"
        );
        assert_eq!(
            e.on_election(n(1), 0, &[n(1)]),
            [Out::Send(n(1), ElectionMsg::Ok), Out::StartElection],
            "the highest live server takes over at once"
        );
        e.start(&[]);
        e.win(5);
        assert_eq!(
            e.on_election(n(1), 5, &[n(1)]),
            [
                Out::Send(n(1), ElectionMsg::Ok),
                Out::Send(n(1), ElectionMsg::Coordinator { epoch: 5 })
            ],
            "a leader tells the asker alone"
        );
    }

    #[test]
    fn a_follower_with_a_leader_above_the_asker_only_answers() {
        let mut e = BullyElection::new(n(3), 300);
        e.follow(n(5));
        assert_eq!(
            e.on_election(n(1), 0, &[n(1), n(5)]),
            [Out::Send(n(1), ElectionMsg::Ok)]
        );
        assert_eq!(e.role(), Role::Follower);
    }

    #[test]
    fn a_follower_waits_its_rank_and_a_winner_ends_the_wait() {
        let mut e = BullyElection::new(n(2), 400);
        assert_eq!(
            e.want(&[n(1), n(3), n(5), n(4)]),
            [Out::SetTimer(Duration::from_millis(300))],
            "three live servers above: three steps of a quarter timeout"
        );
        assert!(e.is_waiting());
        assert_eq!(e.want(&[n(3)]), [], "already waiting");
        assert_eq!(
            e.on_election(n(0), 0, &[n(3)]),
            [Out::Send(n(0), ElectionMsg::Ok)],
            "no second wait"
        );
        assert_eq!(
            e.follow(n(5)),
            [Out::CancelTimer, Out::Leader(Some(n(5)))],
            "the winner's announcement ends the wait"
        );
        assert!(!e.is_waiting());
        assert_eq!(e.on_timeout(), [], "a late timer of the wait does nothing");
    }

    #[test]
    fn a_wait_that_nobody_ends_starts_the_election() {
        let mut e = BullyElection::new(n(2), 400);
        e.want(&[n(3)]);
        assert_eq!(e.on_timeout(), [Out::StartElection]);
        assert!(!e.is_waiting());
        let out = e.start(&[n(3)]);
        assert_eq!(out.last(), Some(&Out::SetTimer(TIMEOUT_400)));
        assert_eq!(e.want(&[n(3)]), [], "a candidate runs one already");
    }

    #[test]
    fn the_wait_is_bounded_and_leaders_do_not_wait() {
        let mut e = BullyElection::new(n(0), 400);
        let many: Vec<NodeId> = (1..1000).map(n).collect();
        assert_eq!(
            e.want(&many),
            [Out::SetTimer(Duration::from_millis(100 * RANK_WAIT_MAX))]
        );
        let mut e = BullyElection::new(n(2), 400);
        assert_eq!(e.want(&[n(1)]), [Out::StartElection], "highest live");
        e.start(&[]);
        e.win(1);
        assert_eq!(e.want(&[n(3)]), [Out::StartElection], "a leader challenged");
    }
}
