//! The lies a Byzantine group member can tell (see `faultline_sim::faults::byzantine`): inflated
//! epochs, a leader that is not, acknowledgements never earned, forged chat sequence numbers,
//! other words in a chat line. Forging another member's identity is the driver's part, and
//! the group's authenticators refuse it.

use faultline_sim::faults::byzantine::{Lie, TwistCx};

use super::msg::{Entry, Msg};

/// A lie in place of `msg`. Forgery and equivocation tell the same kinds of lies here; each
/// call draws its own values, so every peer of an equivocation hears another version.
/// Counters saturate: the liar's honest half may have adopted a hostile value at the end of
/// its range, and a lie must not panic the driver that tells it.
pub(crate) fn twist(msg: &Msg, _lie: Lie, cx: &mut TwistCx<'_>) -> Option<Msg> {
    let twisted = match msg.clone() {
        Msg::Heartbeat {
            kind,
            epoch,
            commit,
            ..
        } => Msg::Heartbeat {
            kind,
            // "The leader is someone else": each peer may hear another name.
            leader: Some(cx.other_node()),
            epoch: epoch.saturating_add(cx.bump()),
            commit: commit.saturating_add(cx.bump()),
        },
        Msg::Hello { epoch, .. } => Msg::Hello {
            leader: Some(cx.other_node()),
            epoch: epoch.saturating_add(cx.bump()),
        },
        Msg::Coordinator { epoch } => Msg::Coordinator {
            epoch: epoch.saturating_add(cx.bump()),
        },
        // Asked to hold an election, it declares itself the winner instead.
        Msg::Election => Msg::Coordinator { epoch: cx.bump() },
        Msg::Stale { epoch } => Msg::Stale {
            epoch: epoch.saturating_add(cx.bump()),
        },
        Msg::SyncOk {
            epoch,
            last_epoch,
            last_seq,
        } => Msg::SyncOk {
            epoch,
            last_epoch: last_epoch.saturating_add(cx.bump()),
            last_seq: last_seq.saturating_add(cx.bump()),
        },
        Msg::Entries { epoch, entries } => Msg::Entries {
            epoch,
            entries: reword(entries, cx),
        },
        Msg::Append {
            epoch,
            prev_seq,
            prev_epoch,
            entries,
            commit,
        } => Msg::Append {
            epoch,
            prev_seq,
            prev_epoch,
            entries: reword(entries, cx),
            commit: commit.saturating_add(cx.bump()),
        },
        // The acknowledgement of entries it never stored.
        Msg::AppendOk {
            epoch, last_seq, ..
        } => Msg::AppendOk {
            epoch,
            ok: true,
            last_seq: last_seq.saturating_add(cx.bump()),
        },
        Msg::Chat { client_seq, text } => Msg::Chat {
            client_seq: client_seq.saturating_add(cx.bump()),
            text,
        },
        Msg::ChatAck { client_seq, seq } => Msg::ChatAck {
            client_seq,
            seq: seq.saturating_add(cx.bump()),
        },
        Msg::NotLeader { .. } => Msg::NotLeader {
            leader: Some(cx.other_node()),
        },
        Msg::Publish { entries } => Msg::Publish {
            entries: reword(entries, cx),
        },
        Msg::Pull { from_seq } => Msg::Pull {
            from_seq: from_seq.saturating_add(cx.bump()),
        },
        Msg::Probe { .. } | Msg::Leave | Msg::Ok | Msg::Sync { .. } | Msg::Fetch { .. } => {
            return None
        }
    };
    Some(twisted)
}

/// The same entries with other words: each peer that hears them stores another chat.
fn reword(mut entries: Vec<Entry>, cx: &mut TwistCx<'_>) -> Vec<Entry> {
    let mark = cx.to.map_or(0, |n| n.0);
    for entry in entries.iter_mut().filter(|e| !e.is_noop()) {
        entry.text = format!("{} [forged for #{mark}]", entry.text);
        // Cut on a character boundary: a chat's text is any UTF-8 a client sent.
        let mut end = entry.text.len().min(super::config::TEXT_BYTES_MAX);
        while !entry.text.is_char_boundary(end) {
            end -= 1;
        }
        entry.text.truncate(end);
    }
    entries
}
