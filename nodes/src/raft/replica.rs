//! A Raft replica: its durable state (term, vote, log, snapshot), its role, the apply loop,
//! and the dispatch to election, replication, snapshots and client requests.

use std::collections::BTreeSet;
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};

use super::codec::{Reader, Writer};
use super::config::RaftConfig;
use super::event::Event;
use super::log::Log;
use super::msg::{Entry, Msg, Payload};
use super::replication::Leadership;
use super::snapshot::{Incoming, KEY_SNAP_DATA};
use super::state_machine::StateMachine;

/// A replica's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReplicaTimer {
    /// A follower's or candidate's election timeout.
    Election,
    /// A leader's heartbeat period.
    Heartbeat,
}

impl Timer for ReplicaTimer {
    fn id(self) -> TimerId {
        match self {
            ReplicaTimer::Election => TimerId(1),
            ReplicaTimer::Heartbeat => TimerId(2),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id {
            TimerId(1) => Some(ReplicaTimer::Election),
            TimerId(2) => Some(ReplicaTimer::Heartbeat),
            _ => None,
        }
    }
}

/// What a replica's callbacks answer through.
pub(crate) type ReplicaCx<'a> = Cx<'a, Msg, Event, ReplicaTimer>;
/// Durable key of the current term and the vote cast in it.
const KEY_HARD_STATE: &str = "raft/hard";

/// What a replica currently does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Follows the leader of its term (or waits for one).
    Follower,
    /// Asks for votes in its term.
    Candidate,
    /// Leads its term.
    Leader,
}

impl Role {
    /// The name reported through `Cx::role`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

/// One replica of the Raft group. It knows the whole (static) server list from its config.
pub struct Replica {
    /// Timing, bounds, the server list and planted bugs.
    pub(super) cfg: RaftConfig,
    /// This replica, as the driver says at start.
    pub(super) me: NodeId,
    /// The current term (durable).
    pub(super) term: u64,
    /// The candidate voted for in `term` (durable).
    pub(super) voted_for: Option<NodeId>,
    /// What this replica does now.
    pub(super) role: Role,
    /// The leader of `term`, when known (this replica when leading).
    pub(super) leader: Option<NodeId>,
    /// The log (durable).
    pub(super) log: Log,
    /// Highest index known committed; volatile, never decreasing within an incarnation.
    pub(super) commit: u64,
    /// Highest index applied to `sm`.
    pub(super) applied: u64,
    /// The replicated state machine, at `applied`.
    pub(super) sm: StateMachine,
    /// The encoded state machine at the log's snapshot point (durable), sent to laggards.
    pub(super) snapshot: Vec<u8>,
    /// Votes received as a candidate in `term`.
    pub(super) votes: BTreeSet<NodeId>,
    /// Pre-votes received for standing in `term + 1`; empty when no pre-vote is running.
    pub(super) pre_votes: BTreeSet<NodeId>,
    /// When a leader of the current term was last heard (volatile): while one was heard within
    /// the shortest election timeout, pre-votes are refused.
    pub(super) leader_heard_ms: Option<u64>,
    /// Leader-only state; `None` unless leading.
    pub(super) lead: Option<Leadership>,
    /// A snapshot being received from the leader.
    pub(super) incoming: Option<Incoming>,
}

impl Replica {
    /// A replica with the given configuration; its state is loaded at `on_start`.
    pub fn new(cfg: RaftConfig) -> Replica {
        Replica {
            cfg,
            me: NodeId(0),
            term: 0,
            voted_for: None,
            role: Role::Follower,
            leader: None,
            log: Log::default(),
            commit: 0,
            applied: 0,
            sm: StateMachine::default(),
            snapshot: Vec::new(),
            votes: BTreeSet::new(),
            pre_votes: BTreeSet::new(),
            leader_heard_ms: None,
            lead: None,
            incoming: None,
        }
    }

    /// The other replicas.
    pub(super) fn peers(&self) -> Vec<NodeId> {
        self.cfg
            .servers
            .iter()
            .copied()
            .filter(|s| *s != self.me)
            .collect()
    }

    /// Whether `node` is a replica of the group.
    pub(super) fn is_server(&self, node: NodeId) -> bool {
        self.cfg.servers.contains(&node)
    }

    /// Persists the term and the vote (before any message that depends on them leaves).
    pub(super) fn save_hard_state(&self, cx: &mut ReplicaCx<'_>) {
        let mut w = Writer::default();
        w.u64(self.term);
        match self.voted_for {
            Some(node) => {
                w.u8(1);
                w.node(node);
            }
            None => w.u8(0),
        }
        cx.durable_put(KEY_HARD_STATE, w.buf);
    }

    /// Reports a role change.
    pub(super) fn set_role(&mut self, role: Role, cx: &mut ReplicaCx<'_>) {
        if self.role != role {
            self.role = role;
            cx.role(role.name());
        }
    }

    /// Reports a change of the known leader.
    pub(super) fn set_leader(&mut self, leader: Option<NodeId>, cx: &mut ReplicaCx<'_>) {
        if self.leader != leader {
            self.leader = leader;
            cx.leader(leader);
        }
    }

    /// Adopts a newer term seen in any message: clears the vote and follows (nobody yet).
    pub(super) fn observe_term(&mut self, term: u64, cx: &mut ReplicaCx<'_>) {
        if term <= self.term {
            return;
        }
        self.term = term;
        self.voted_for = None;
        self.pre_votes.clear();
        self.leader_heard_ms = None;
        self.save_hard_state(cx);
        self.set_leader(None, cx);
        self.become_follower(cx);
    }

    /// Stops leading or campaigning (keeping the term) and waits for a leader.
    pub(super) fn become_follower(&mut self, cx: &mut ReplicaCx<'_>) {
        if self.role == Role::Follower {
            return;
        }
        if self.role == Role::Leader {
            cx.cancel_timer(ReplicaTimer::Heartbeat);
            self.set_leader(None, cx);
        }
        self.lead = None;
        self.votes.clear();
        self.set_role(Role::Follower, cx);
        self.reset_election_timer(cx);
    }

    /// Raises the commit index (never lowers it) and applies what it covers.
    pub(super) fn commit_to(&mut self, index: u64, cx: &mut ReplicaCx<'_>) {
        let index = index.min(self.log.last_index());
        if index <= self.commit {
            return;
        }
        // Commit only rises (the early return above), never past the log or below applied.
        assert!(
            index <= self.log.last_index(),
            "raft commit index moved to {index}, past last index {}",
            self.log.last_index()
        );
        assert!(
            self.applied <= self.commit,
            "raft applied index {} past commit index {}",
            self.applied,
            self.commit
        );
        self.commit = index;
        cx.emit(Event::Committed { index });
        self.apply_committed(cx);
    }

    /// Applies every committed entry not applied yet; a leader sends the replies owed.
    pub(super) fn apply_committed(&mut self, cx: &mut ReplicaCx<'_>) {
        let mut answers = Vec::new();
        while self.applied < self.commit {
            let index = self.applied + 1;
            let (Some(entry), Some(chain)) = (self.log.get(index), self.log.chain_at(index)) else {
                break;
            };
            self.sm.apply(entry, &self.cfg, &mut answers);
            self.applied = index;
            cx.emit(Event::Applied { index, chain });
            if self.role == Role::Leader {
                for a in answers.drain(..) {
                    cx.send(a.client, Msg::reply(a.client, a.seq, a.result));
                }
            }
            answers.clear();
        }
        if let Some(lead) = self.lead.as_mut() {
            lead.forget_applied(self.applied);
        }
        self.maybe_snapshot(cx);
    }

    /// Appends a new entry of this leader's term, stamped with its clock (never behind the
    /// previous entry's stamp), and sends it out. Returns its index.
    pub(super) fn propose(&mut self, payload: Payload, cx: &mut ReplicaCx<'_>) -> Option<u64> {
        if self.role != Role::Leader {
            return None;
        }
        let index = self.log.last_index() + 1;
        let entry = Entry {
            term: self.term,
            index,
            at_ms: cx.now_ms().max(self.log.last_at_ms()),
            payload,
        };
        if !self.log.append(entry, cx) {
            return None;
        }
        self.broadcast_append(false, cx);
        self.advance_commit(cx);
        Some(index)
    }

    fn on_heartbeat_timer(&mut self, cx: &mut ReplicaCx<'_>) {
        if self.role != Role::Leader {
            return;
        }
        cx.set_timer(
            ReplicaTimer::Heartbeat,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
        if !self.check_quorum(cx) {
            return;
        }
        // A first entry of the term lets earlier entries commit by implication; a tick lets
        // an expired lease free its lock for a waiter.
        let tick = self.applied == self.log.last_index() && self.sm.needs_tick(cx.now_ms());
        if self.log.last_term() != self.term || tick {
            self.propose(Payload::Noop, cx);
        }
        self.broadcast_append(true, cx);
    }
}

impl Node for Replica {
    type Msg = Msg;
    type Event = Event;
    type Timer = ReplicaTimer;

    fn on_start(&mut self, cx: &mut ReplicaCx<'_>) {
        *self = Replica::new(self.cfg.clone());
        self.me = cx.me();
        if let Some((term, voted_for)) = cx.durable_get(KEY_HARD_STATE).and_then(decode_hard) {
            self.term = term;
            self.voted_for = voted_for;
        }
        self.log = Log::load(cx);
        if self.log.snap_index() > 0 {
            let bytes = cx.durable_get(KEY_SNAP_DATA).unwrap_or_default().to_vec();
            self.sm = StateMachine::decode(&bytes).unwrap_or_default();
            self.snapshot = bytes;
        } else {
            self.snapshot = StateMachine::default().encode();
        }
        self.commit = self.log.snap_index();
        self.applied = self.log.snap_index();
        cx.emit(Event::Restored {
            snapshot_index: self.log.snap_index(),
            last_index: self.log.last_index(),
            chain: self.log.last_chain(),
        });
        cx.role(Role::Follower.name());
        cx.leader(None);
        self.reset_election_timer(cx);
    }

    fn on_submit(&mut self, command: u64, cx: &mut ReplicaCx<'_>) {
        self.on_submit_command(command, cx);
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut ReplicaCx<'_>) {
        if from == self.me || msg.sent_by_replica() != self.is_server(from) {
            return;
        }
        match msg {
            Msg::RequestVote {
                term,
                last_index,
                last_term,
            } => self.on_request_vote(from, term, last_index, last_term, cx),
            Msg::Vote { term, granted } => self.on_vote(from, term, granted, cx),
            Msg::PreVote {
                term,
                last_index,
                last_term,
            } => self.on_pre_vote(from, term, last_index, last_term, cx),
            Msg::PreVoteReply { term, granted } => self.on_pre_vote_reply(from, term, granted, cx),
            Msg::Append {
                term,
                prev_index,
                prev_term,
                entries,
                commit,
            } => self.on_append(from, term, prev_index, prev_term, entries, commit, cx),
            Msg::AppendReply {
                term,
                ok,
                match_index,
                conflict_term,
                conflict_index,
            } => {
                let reply = (ok, match_index, conflict_term, conflict_index);
                self.on_append_reply(from, term, reply, cx)
            }
            snapshot @ Msg::Snapshot { .. } => self.on_snapshot(from, snapshot, cx),
            Msg::SnapshotReply {
                term,
                last_index,
                received_bytes,
                done,
            } => self.on_snapshot_reply(from, term, last_index, received_bytes, done, cx),
            Msg::Request { seq, op } => self.on_request(from, seq, op, cx),
            // Meant for clients.
            Msg::Reply { .. } | Msg::Redirect { .. } => {}
        }
    }

    fn on_timer(&mut self, timer: ReplicaTimer, cx: &mut ReplicaCx<'_>) {
        match timer {
            ReplicaTimer::Election => self.on_election_timer(cx),
            ReplicaTimer::Heartbeat => self.on_heartbeat_timer(cx),
        }
    }
}

/// Decodes the term and vote written by [`Replica::save_hard_state`].
fn decode_hard(bytes: &[u8]) -> Option<(u64, Option<NodeId>)> {
    let mut r = Reader::new(bytes);
    let term = r.u64()?;
    let vote = match r.u8()? {
        0 => None,
        1 => Some(r.node()?),
        _ => return None,
    };
    r.done().then_some((term, vote))
}
