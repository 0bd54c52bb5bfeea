//! The group view: who is a member, what it is, and when it was last heard.

use std::collections::BTreeMap;

use faultline_sim::{Cx, NodeId, Timer};

use super::event::Event;
use super::msg::{Kind, Msg};

/// Most members a view holds; a newcomer past it is not added (it is still answered, and
/// joins once a member times out).
pub(crate) const MEMBERS_MAX: usize = 1024;

/// One member as last heard.
#[derive(Copy, Clone, Debug)]
struct Member {
    /// Server or client.
    kind: Kind,
    /// When it was last heard (µs).
    heard_us: u64,
}

/// This node's picture of the group. It never contains the node itself.
#[derive(Clone, Debug)]
pub(crate) struct View {
    /// This node.
    me: NodeId,
    /// The other members.
    members: BTreeMap<NodeId, Member>,
    /// Silence after which a member is dropped (µs).
    timeout_us: u64,
}

impl View {
    /// An empty view for `me`.
    pub(crate) fn new(me: NodeId, peer_timeout_ms: u64) -> View {
        View {
            me,
            members: BTreeMap::new(),
            timeout_us: peer_timeout_ms.saturating_mul(1000),
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
        if from == self.me {
            return;
        }
        let now_us = cx.now_us();
        if let Some(member) = self.members.get_mut(&from) {
            member.heard_us = now_us;
            if let Some(kind) = kind {
                member.kind = kind;
            }
            return;
        }
        let Some(kind) = kind else { return };
        if self.members.len() >= MEMBERS_MAX {
            return;
        }
        self.members.insert(
            from,
            Member {
                kind,
                heard_us: now_us,
            },
        );
        cx.emit(Event::ViewJoin { node: from });
        self.report(cx);
    }

    /// Drops `from` after its goodbye.
    pub(crate) fn leave<T: Timer>(&mut self, from: NodeId, cx: &mut Cx<'_, Msg, Event, T>) {
        if self.members.remove(&from).is_some() {
            cx.emit(Event::ViewLeave { node: from });
            self.report(cx);
        }
    }

    /// Drops every member silent for the timeout; returns them.
    pub(crate) fn expire<T: Timer>(&mut self, cx: &mut Cx<'_, Msg, Event, T>) -> Vec<NodeId> {
        let now_us = cx.now_us();
        let gone: Vec<NodeId> = self
            .members
            .iter()
            .filter(|(_, m)| now_us.saturating_sub(m.heard_us) > self.timeout_us)
            .map(|(id, _)| *id)
            .collect();
        for node in &gone {
            self.members.remove(node);
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
        self.members
            .iter()
            .filter(|(_, m)| now_us.saturating_sub(m.heard_us) > self.timeout_us / 2)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Reports the current membership, this node included.
    pub(crate) fn report<T: Timer>(&self, cx: &mut Cx<'_, Msg, Event, T>) {
        cx.emit(Event::View {
            members: self.members_with_me(),
        });
    }

    /// Every member and this node, sorted.
    pub(crate) fn members_with_me(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self.members.keys().copied().collect();
        all.push(self.me);
        all.sort();
        all
    }

    /// Whether `node` is a member.
    pub(crate) fn contains(&self, node: NodeId) -> bool {
        self.members.contains_key(&node)
    }

    /// Whether `node` is a member known to be a server.
    pub(crate) fn is_server(&self, node: NodeId) -> bool {
        self.members
            .get(&node)
            .is_some_and(|m| m.kind == Kind::Server)
    }

    /// The other servers, in id order.
    pub(crate) fn servers(&self) -> Vec<NodeId> {
        self.members
            .iter()
            .filter(|(_, m)| m.kind == Kind::Server)
            .map(|(id, _)| *id)
            .collect()
    }
}
