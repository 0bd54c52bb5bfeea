//! Client sessions: the last command number of each client and its reply, so a retried
//! command is applied once and answered again from the cache.

use std::collections::BTreeMap;

use faultline_sim::NodeId;

use super::codec::{read_outcome, write_outcome, Reader, Writer};
use super::config::SESSIONS_MAX;
use super::op::Outcome;

/// One client's session.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Session {
    /// The client's latest command number applied.
    seq: u64,
    /// Its reply; `None` while it waits (a lock acquire queued behind holders).
    reply: Option<Outcome>,
}

/// What the session table says about a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Newer than anything applied for this client: apply it.
    New,
    /// The latest one, already applied: here is its reply (`None`: still waiting).
    Duplicate(Option<Outcome>),
    /// Older than the latest one: the client gave up on it; ignore it.
    Stale,
}

/// Every client's session; at most `SESSIONS_MAX`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sessions {
    /// Sessions by client.
    by_client: BTreeMap<NodeId, Session>,
}

impl Sessions {
    /// What to do with the command `seq` of `client`.
    pub(crate) fn status(&self, client: NodeId, seq: u64) -> Status {
        match self.by_client.get(&client) {
            Some(s) if seq < s.seq => Status::Stale,
            Some(s) if seq == s.seq => Status::Duplicate(s.reply.clone()),
            _ => Status::New,
        }
    }

    /// Whether `client` has a session or there is room for one.
    pub(crate) fn has_room(&self, client: NodeId) -> bool {
        self.by_client.contains_key(&client) || self.by_client.len() < SESSIONS_MAX
    }

    /// Records that `seq` was applied for `client`, with its reply if it has one already.
    pub(crate) fn record(&mut self, client: NodeId, seq: u64, reply: Option<Outcome>) {
        if self.has_room(client) {
            self.by_client.insert(client, Session { seq, reply });
        }
    }

    /// Sets the reply of a waiting command; false if the client moved on (or it had one).
    pub(crate) fn finish(&mut self, client: NodeId, seq: u64, reply: &Outcome) -> bool {
        match self.by_client.get_mut(&client) {
            Some(s) if s.seq == seq && s.reply.is_none() => {
                s.reply = Some(reply.clone());
                true
            }
            _ => false,
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.len(self.by_client.len());
        for (client, s) in &self.by_client {
            w.node(*client);
            w.u64(s.seq);
            match &s.reply {
                Some(reply) => {
                    w.u8(1);
                    write_outcome(w, reply);
                }
                None => w.u8(0),
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Sessions> {
        let mut out = Sessions::default();
        for _ in 0..r.len(SESSIONS_MAX)? {
            let client = r.node()?;
            let seq = r.u64()?;
            let reply = match r.u8()? {
                0 => None,
                1 => Some(read_outcome(r)?),
                _ => return None,
            };
            out.by_client.insert(client, Session { seq, reply });
        }
        Some(out)
    }
}
