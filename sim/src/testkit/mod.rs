//! Testing protocols without any runtime: a [`Bench`] holds one node's clock, randomness,
//! durable store and effect buffer, runs a callback, and hands back what the node asked for;
//! a [`World`] runs a whole protocol's nodes together under faults, and judges the trace.

pub mod fuzz;
mod world;
#[cfg(test)]
mod world_tests;

pub use world::World;

use std::marker::PhantomData;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::faults::byzantine::{Lie, TwistCx};
use crate::node::stream::StreamAction;
use crate::node::{Action, Cx, Durable, Effects, Message, NodeId, Note, Timer, TimerId};

/// The lie `msg` becomes when node #1 of 3 tells it to node #2, with a fixed seed (unit tests
/// of a protocol's [`Message::twist`]).
pub fn twist<M: Message>(msg: &M, lie: Lie) -> Option<M> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut cx = TwistCx {
        me: NodeId(1),
        nodes: 3,
        to: Some(NodeId(2)),
        rng: &mut rng,
    };
    msg.twist(lie, &mut cx)
}

/// What one callback asked for: its actions and its notes.
pub type Out<M, E> = (Vec<Action<M>>, Vec<Note<E>>);

/// One node's surroundings: its clock, randomness, durable store and effect buffer. `T` is
/// the node's [`Timer`] type.
pub struct Bench<M, E, T = TimerId> {
    /// The node's id.
    me: NodeId,
    /// The clock (µs).
    now_us: u64,
    /// The node's random source (fixed seed: a unit test is deterministic too).
    rng: ChaCha8Rng,
    /// The node's durable store; it survives between callbacks as it would a crash.
    durable: Durable,
    /// The buffer callbacks write into.
    effects: Effects<M, E>,
    /// The node's timer type.
    timers: PhantomData<fn(T)>,
}

impl<M, E, T: Timer> Bench<M, E, T> {
    /// A bench for node `me` at time 0.
    pub fn new(me: u16) -> Self {
        Bench {
            me: NodeId(me),
            now_us: 0,
            rng: ChaCha8Rng::seed_from_u64(7),
            durable: Durable::default(),
            effects: Effects::default(),
            timers: PhantomData,
        }
    }

    /// Runs one callback at the current time and returns what it asked for.
    pub fn run(&mut self, f: impl FnOnce(&mut Cx<'_, M, E, T>)) -> Out<M, E> {
        self.effects.clear();
        let mut cx = Cx::new(
            self.me,
            self.now_us,
            &mut self.rng,
            &mut self.durable,
            &mut self.effects,
        );
        f(&mut cx);
        (
            std::mem::take(&mut self.effects.actions),
            std::mem::take(&mut self.effects.notes),
        )
    }

    /// The same surroundings for a node with timers of type `U` (a protocol's node, then
    /// the same node boxed).
    pub fn retimed<U: Timer>(self) -> Bench<M, E, U> {
        Bench {
            me: self.me,
            now_us: self.now_us,
            rng: self.rng,
            durable: self.durable,
            effects: self.effects,
            timers: PhantomData,
        }
    }

    /// The stream requests (connects, sends, closes) of the last callback, in order; kept
    /// apart from [`Out`], whose shape protocol tests rely on.
    pub fn streams(&mut self) -> Vec<StreamAction<M>> {
        std::mem::take(&mut self.effects.streams)
    }

    /// Moves the clock on.
    pub fn advance_ms(&mut self, ms: u64) {
        self.now_us += ms * 1000;
    }
}

/// The messages sent to `to`.
pub fn sent<M: Clone, E>(out: &Out<M, E>, to: u16) -> Vec<M> {
    out.0
        .iter()
        .filter_map(|a| match a {
            Action::Send(t, m) if *t == NodeId(to) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// The messages multicast.
pub fn multicast<M: Clone, E>(out: &Out<M, E>) -> Vec<M> {
    out.0
        .iter()
        .filter_map(|a| match a {
            Action::Multicast(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// The protocol events emitted.
pub fn events<M, E: Clone>(out: &Out<M, E>) -> Vec<E> {
    out.1
        .iter()
        .filter_map(|note| match note {
            Note::Proto(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// The roles taken.
pub fn roles<M, E>(out: &Out<M, E>) -> Vec<String> {
    out.1
        .iter()
        .filter_map(|note| match note {
            Note::Role(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::stream::StreamId;

    #[test]
    fn stream_ids_count_up_across_callbacks_of_one_incarnation() {
        let mut bench = Bench::<u32, ()>::new(0);
        let mut first = None;
        bench.run(|cx| {
            first = Some(cx.connect(NodeId(1)));
            cx.stream_send(StreamId(0), 7);
        });
        assert_eq!(first, Some(StreamId(0)));
        assert_eq!(
            bench.streams(),
            [
                StreamAction::Connect(StreamId(0), NodeId(1)),
                StreamAction::Send(StreamId(0), 7)
            ]
        );
        let mut second = None;
        bench.run(|cx| {
            second = Some(cx.connect(NodeId(2)));
            cx.close(StreamId(0));
        });
        assert_eq!(second, Some(StreamId(1)), "a later callback's id is new");
        assert!(!StreamId(1).accepted() && StreamId(StreamId::ACCEPTED).accepted());
        assert_eq!(
            bench.streams(),
            [
                StreamAction::Connect(StreamId(1), NodeId(2)),
                StreamAction::Close(StreamId(0))
            ]
        );
        // A new incarnation (a fresh bench, as a restarted driver) counts from 0 again.
        let mut again = None;
        Bench::<u32, ()>::new(0).run(|cx| again = Some(cx.connect(NodeId(1))));
        assert_eq!(again, Some(StreamId(0)));
    }
}
