//! The lies a Byzantine replica can tell (see `faultline_sim::faults::byzantine`). Raft assumes crash
//! faults only, so these are where it breaks: a vote granted to every candidate of a term, an
//! acknowledgement of entries never stored, a leader telling each follower another command,
//! a reply with a value never read.

use faultline_sim::faults::byzantine::{Lie, TwistCx};

use super::msg::{Entry, Msg, Payload};
use super::op::{Op, Outcome, Value};

/// A lie in place of `msg`, or `None` when there is none worth telling.
/// Counters saturate: the liar's honest half may have adopted a hostile value at the end of
/// its range, and a lie must not panic the driver that tells it.
pub(crate) fn twist(msg: &Msg, lie: Lie, cx: &mut TwistCx<'_>) -> Option<Msg> {
    Some(match msg.clone() {
        Msg::RequestVote {
            term,
            last_index,
            last_term,
        } => Msg::RequestVote {
            // A longer, newer log than it has, so that others vote for it.
            term: term.saturating_add(cx.bump()),
            last_index: last_index.saturating_add(10 * cx.bump()),
            last_term: last_term.saturating_add(cx.bump()),
        },
        Msg::PreVote {
            term,
            last_index,
            last_term,
        } => Msg::PreVote {
            term: term.saturating_add(cx.bump()),
            last_index: last_index.saturating_add(10 * cx.bump()),
            last_term: last_term.saturating_add(cx.bump()),
        },
        // "I would vote for you", whatever it heard from the leader.
        Msg::PreVoteReply { term, .. } => Msg::PreVoteReply {
            term,
            granted: true,
        },
        // A vote for whoever asks: two candidates may both win one term.
        Msg::Vote { term, .. } => Msg::Vote {
            term,
            granted: true,
        },
        Msg::Append {
            term,
            prev_index,
            prev_term,
            entries,
            commit,
        } => match lie {
            // The leader tells each follower another command at the same index.
            Lie::Equivocate => Msg::Append {
                term,
                prev_index,
                prev_term,
                entries: entries.into_iter().map(|e| rewrite(e, cx)).collect(),
                commit,
            },
            Lie::Forge => Msg::Append {
                term: term.saturating_add(cx.bump()),
                prev_index,
                prev_term,
                entries,
                commit: commit.saturating_add(cx.bump()),
            },
        },
        // Acknowledges entries it never stored, so the leader commits too early.
        Msg::AppendReply {
            term, match_index, ..
        } => Msg::AppendReply {
            term,
            ok: true,
            match_index: match_index.saturating_add(cx.bump()),
            conflict_term: 0,
            conflict_index: 0,
        },
        Msg::Reply {
            client,
            seq,
            result,
        } => Msg::Reply {
            client,
            seq,
            result: match result {
                Outcome::Ok {
                    value: Value::Read { .. },
                } => Outcome::Ok {
                    value: Value::Read {
                        value: Some(format!("forged-{}", cx.bump())),
                    },
                },
                other => other,
            },
        },
        Msg::Redirect { seq, .. } => Msg::Redirect {
            seq,
            leader: Some(cx.other_node()),
        },
        Msg::Snapshot { .. } | Msg::SnapshotReply { .. } | Msg::Request { .. } => return None,
    })
}

/// The entry with another value in its command.
fn rewrite(mut entry: Entry, cx: &mut TwistCx<'_>) -> Entry {
    let mark = format!("forged-{}", cx.to.map_or(0, |n| n.0));
    if let Payload::Command { op, .. } = &mut entry.payload {
        match op {
            Op::Put { value, .. } => *value = mark,
            Op::Cas { new, .. } => *new = mark,
            Op::Enqueue { body, .. } => *body = mark,
            _ => {}
        }
    }
    entry
}
