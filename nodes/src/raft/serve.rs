//! Client requests at a replica: a follower redirects to the leader it knows; the leader
//! answers a retry of an applied command from the session cache, and otherwise appends the
//! command (once) to the log. Replies leave when the command is applied.

use faultline_sim::NodeId;

use super::config::{LOG_ENTRIES_MAX, LOG_NOOP_RESERVE};
use super::msg::{Msg, Payload};
use super::op::{Op, Outcome, Refusal};
use super::replica::{Replica, ReplicaCx, Role};
use super::session::Status;

impl Replica {
    pub(super) fn on_request(&mut self, from: NodeId, seq: u64, op: Op, cx: &mut ReplicaCx<'_>) {
        if self.role != Role::Leader {
            if self.cfg.bugs.follower_reads_local {
                if let Op::Get { key } = &op {
                    let result = self.sm.read_local(key);
                    cx.send(from, Msg::reply(from, seq, result));
                    return;
                }
            }
            let leader = self.leader;
            cx.send(from, Msg::Redirect { seq, leader });
            return;
        }
        match self.sm.status(from, seq) {
            Status::Stale | Status::Duplicate(None) => return,
            Status::Duplicate(Some(result)) => {
                cx.send(from, Msg::reply(from, seq, result));
                return;
            }
            Status::New => {}
        }
        let in_flight = self
            .lead
            .as_ref()
            .and_then(|l| l.proposed.get(&from))
            .is_some_and(|&(s, index)| s == seq && index > self.applied);
        if in_flight {
            return;
        }
        if !op.within_bounds() {
            // Every copy of this request is refused the same way when applied: answering
            // now cannot disagree with one already in the log.
            let result = Outcome::fail(Refusal::TooLarge);
            cx.send(from, Msg::reply(from, seq, result));
            return;
        }
        if self.log.len() >= LOG_ENTRIES_MAX - LOG_NOOP_RESERVE {
            // No answer: an earlier copy may sit in the uncommitted log, so only the client's
            // timeout can say "unknown".
            return;
        }
        let payload = Payload::Command {
            client: from,
            seq,
            op,
        };
        if let Some(index) = self.propose(payload, cx) {
            if let Some(lead) = self.lead.as_mut() {
                lead.note_proposed(from, seq, index);
            }
        }
    }

    /// A command from the harness (the lab's `Start()`): a leader appends it, anyone else
    /// ignores it (`Start()` returns false there), as does a leader whose log is full.
    pub(super) fn on_submit_command(&mut self, command: u64, cx: &mut ReplicaCx<'_>) {
        if self.role != Role::Leader || self.log.len() >= LOG_ENTRIES_MAX - LOG_NOOP_RESERVE {
            return;
        }
        let term = self.term;
        if let Some(index) = self.propose(Payload::Start { command }, cx) {
            cx.emit(super::event::Event::Started {
                command,
                index,
                term,
            });
        }
    }
}
