//! What travels between the solver's nodes: every message carries its sender's Lamport
//! timestamp.

use faultline_sim::{Message, MsgKind};
use serde::{Deserialize, Serialize};

use crate::parts::bully_election::ElectionMsg;
use crate::parts::ricart_agrawala::RaMsg;

use super::instance::{Instance, Tour};
use super::ledger::Ledger;

/// One message: a body stamped with the sender's Lamport clock at the send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    /// The sender's Lamport timestamp of this send.
    pub ts: u64,
    /// What it says.
    pub body: Body,
}

/// What a message says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// Coordinator replicas electing the active one (the shared bully election).
    Election(ElectionMsg),
    /// Ricart-Agrawala among coordinator replicas, guarding the shared best tour and ledger.
    Ra(RaMsg),
    /// A coordinator's heartbeat to the other replicas, with everything it knows.
    State {
        /// Its ledger.
        ledger: Ledger,
    },
    /// The holder of the critical section writes the shared ledger to a replica.
    Update {
        /// Which write this is, for the acknowledgement.
        round: u64,
        /// The ledger written.
        ledger: Ledger,
    },
    /// A replica stored write `round`; its ledger tells the writer what was counted
    /// meanwhile, so that the writer does not count it twice.
    UpdateAck {
        /// The write.
        round: u64,
        /// The replica's ledger after the write.
        ledger: Ledger,
    },
    /// A worker's heartbeat to every coordinator: alive, and the subproblems it holds.
    Hello {
        /// Subproblems queued or being searched.
        tasks: Vec<u32>,
    },
    /// The active coordinator hands a subproblem to a worker.
    Assign {
        /// The subproblem's id.
        task: u32,
        /// Its fixed tour prefix.
        prefix: Vec<u8>,
        /// The best length known: the worker keeps only shorter tours.
        bound: u64,
        /// The instance.
        instance: Instance,
    },
    /// The active coordinator heard of a shorter tour: workers prune with its length from
    /// their next slice of search on.
    Bound {
        /// The tour (a worker checks it is a tour of its instance before trusting it).
        tour: Tour,
    },
    /// The active coordinator split the subproblem: the worker drops it (its children are
    /// handed out instead).
    Cancel {
        /// The subproblem.
        task: u32,
    },
    /// A worker searched a subproblem (sent to every coordinator replica).
    Result {
        /// The subproblem.
        task: u32,
        /// The best tour under it shorter than the bound it was given.
        best: Option<Tour>,
        /// Search nodes expanded.
        nodes: u64,
    },
    /// A client asks for the best tour of an instance.
    Solve {
        /// The instance.
        instance: Instance,
    },
    /// The active coordinator's answer: the optimal tour.
    Solved {
        /// The tour.
        tour: Tour,
    },
}

impl Message for Msg {
    const KINDS: &'static [(&'static str, MsgKind)] = &[
        ("ELECTION", MsgKind::Election),
        ("OK", MsgKind::Election),
        ("COORDINATOR", MsgKind::Election),
        ("RA-REQUEST", MsgKind::Control),
        ("RA-REPLY", MsgKind::Control),
        ("STATE", MsgKind::Heartbeat),
        ("UPDATE", MsgKind::Replication),
        ("UPDATE-ACK", MsgKind::Replication),
        ("HELLO", MsgKind::Heartbeat),
        ("ASSIGN", MsgKind::Task),
        ("BOUND", MsgKind::Task),
        ("CANCEL", MsgKind::Task),
        ("RESULT", MsgKind::Task),
        ("SOLVE", MsgKind::Client),
        ("SOLVED", MsgKind::Client),
    ];

    fn label(&self) -> &'static str {
        match &self.body {
            Body::Election(ElectionMsg::Election) => "ELECTION",
            Body::Election(ElectionMsg::Ok) => "OK",
            Body::Election(ElectionMsg::Coordinator { .. }) => "COORDINATOR",
            Body::Ra(ra) => ra.label(),
            Body::State { .. } => "STATE",
            Body::Update { .. } => "UPDATE",
            Body::UpdateAck { .. } => "UPDATE-ACK",
            Body::Hello { .. } => "HELLO",
            Body::Assign { .. } => "ASSIGN",
            Body::Bound { .. } => "BOUND",
            Body::Cancel { .. } => "CANCEL",
            Body::Result { .. } => "RESULT",
            Body::Solve { .. } => "SOLVE",
            Body::Solved { .. } => "SOLVED",
        }
    }
}
