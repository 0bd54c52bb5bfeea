//! A Raft replica of the store, as is: Raft's own node runs inside the cache protocol's
//! messages and events (`Cx::embed`), so the store is exactly the Raft that faultline tests
//! on its own.

use faultline_sim::{Node, NodeId, Timer, TimerId};

use super::event::Event;
use super::msg::Msg;
use crate::raft::{RaftConfig, Replica, ReplicaTimer};

/// Raft's replica behind the cache protocol's messages.
pub struct StoreReplica {
    /// The replica.
    inner: Replica,
}

impl StoreReplica {
    /// A replica with Raft's configuration.
    pub(crate) fn new(cfg: RaftConfig) -> StoreReplica {
        StoreReplica {
            inner: Replica::new(cfg),
        }
    }
}

type OuterCx<'a> = faultline_sim::Cx<'a, Msg, Event>;

impl Node for StoreReplica {
    type Msg = Msg;
    type Event = Event;
    type Timer = TimerId;

    fn on_start(&mut self, cx: &mut OuterCx<'_>) {
        let inner = &mut self.inner;
        cx.embed(Msg::Raft, Event::Raft, |icx| inner.on_start(icx));
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut OuterCx<'_>) {
        // Only Raft's messages mean anything to a replica; the rest are strays or lies.
        if let Msg::Raft(m) = msg {
            let inner = &mut self.inner;
            cx.embed(Msg::Raft, Event::Raft, |icx| inner.on_message(from, m, icx));
        }
    }

    fn on_timer(&mut self, timer: TimerId, cx: &mut OuterCx<'_>) {
        if let Some(t) = ReplicaTimer::from_id(timer) {
            let inner = &mut self.inner;
            cx.embed(Msg::Raft, Event::Raft, |icx| inner.on_timer(t, icx));
        }
    }
}
