//! The group view: who is a member, what it is, and when it was last heard.

use faultline_sim::{Cx, NodeId, Timer};

use super::event::Event;
use super::msg::{Kind, Msg};
use crate::parts::membership::Membership;

/// Most members a view holds; a newcomer past it is not added (it is still answered, and
/// joins once a member times out).
pub(crate) const MEMBERS_MAX: usize = 1024;

/// This node's picture of the group, as the shared [`Membership`] keeps it, and the events
/// that report its changes. It never contains the node itself.
#[derive(Clone, Debug)]
pub(crate) struct View {
    /// Who is in the group, what each is, and when each was last heard.
    members: Membership<Kind>,
}

impl View {
    /// An empty view for `me`.
    pub(crate) fn new(me: NodeId, peer_timeout_ms: u64) -> View {
        View {
            members: Membership::new(me, peer_timeout_ms, MEMBERS_MAX),
        }
    }

    /// Notes that `from` was heard; adds it (reporting the join and the new view) if new.
    /// `kind` is what the message says the sender is; `None` only refreshes a known member.
    pub(crate) fn heard<T: Timer>(
        &mut self,
        from: NodeId,
        kind: Option<Kind>,
        cx: &mut Cx<'_, Msg, Event, T>,
    ) {
        if self.members.heard(from, kind, cx.now_us()) {
            cx.emit(Event::ViewJoin { node: from });
            self.report(cx);
        }
    }

    /// Drops `from` after its goodbye.
    pub(crate) fn leave<T: Timer>(&mut self, from: NodeId, cx: &mut Cx<'_, Msg, Event, T>) {
        if self.members.leave(from) {
            cx.emit(Event::ViewLeave { node: from });
            self.report(cx);
        }
    }

    /// Drops every member silent for the timeout; returns them.
    pub(crate) fn expire<T: Timer>(&mut self, cx: &mut Cx<'_, Msg, Event, T>) -> Vec<NodeId> {
        let gone = self.members.expire(cx.now_us());
        for node in &gone {
            cx.emit(Event::ViewTimeout { node: *node });
        }
        if !gone.is_empty() {
            self.report(cx);
        }
        gone
    }

    /// Members silent for longer than half the timeout: worth a direct probe before they
    /// are dropped, so a few lost heartbeats do not look like a departure.
    pub(crate) fn suspects(&self, now_us: u64) -> Vec<NodeId> {
        self.members.suspects(now_us)
    }

    /// Reports the current membership, this node included.
    pub(crate) fn report<T: Timer>(&self, cx: &mut Cx<'_, Msg, Event, T>) {
        cx.emit(Event::View {
            members: self.members_with_me(),
        });
    }

    /// Every member and this node, sorted.
    pub(crate) fn members_with_me(&self) -> Vec<NodeId> {
        self.members.members_with_me()
    }

    /// Whether `node` is a member.
    pub(crate) fn contains(&self, node: NodeId) -> bool {
        self.members.contains(node)
    }

    /// Whether `node` is a member known to be a server.
    pub(crate) fn is_server(&self, node: NodeId) -> bool {
        self.members.kind_of(node) == Some(Kind::Server)
    }

    /// The other servers, in id order.
    pub(crate) fn servers(&self) -> Vec<NodeId> {
        self.members.of_kind(Kind::Server)
    }
}
