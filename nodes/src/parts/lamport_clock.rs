//! A Lamport logical clock: timestamps that grow along every local event, send and receive,
//! so that an event that causally precedes another carries a smaller stamp.
//!
//! Tick before a local event or a send, merge on a receive (`max(own, received) + 1`).
//! [`Stamped`] carries a stamp beside any message; the host wraps its own message enum in it
//! (or puts the stamp in a field) and reports every step as a
//! `faultline_sim::check::causality::Stamp` fact for the causality check.
//!
//! The clock is volatile: a host that needs stamps to keep growing across a crash stores
//! [`LamportClock::time`] in its durable store and rebuilds the clock with
//! [`LamportClock::at`]. A hostile stamp near `u64::MAX` saturates the clock instead of
//! wrapping it (the clock stops growing, which the causality check reports).

use serde::{Deserialize, Serialize};

/// A Lamport clock.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LamportClock {
    /// The stamp of the latest event at this node (0: none yet).
    time: u64,
}

/// A message with the sender's Lamport stamp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped<M> {
    /// The sender's clock when it sent the message.
    pub ts: u64,
    /// The message.
    pub msg: M,
}

impl LamportClock {
    /// A clock that has seen no event.
    pub fn new() -> LamportClock {
        LamportClock { time: 0 }
    }

    /// A clock resumed at `time` (read back from the durable store after a restart).
    pub fn at(time: u64) -> LamportClock {
        LamportClock { time }
    }

    /// The stamp of the latest event.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// A local event or a send: returns its stamp.
    pub fn tick(&mut self) -> u64 {
        self.time = self.time.saturating_add(1);
        self.time
    }

    /// A receive of a message stamped `ts`: returns the receive's stamp, past both.
    pub fn merge(&mut self, ts: u64) -> u64 {
        let before = self.time;
        self.time = self.time.max(ts).saturating_add(1);
        debug_assert!(self.time >= before, "a Lamport clock never goes back");
        self.time
    }

    /// Ticks for a send and stamps `msg` with the send's stamp.
    pub fn stamp<M>(&mut self, msg: M) -> Stamped<M> {
        Stamped {
            ts: self.tick(),
            msg,
        }
    }

    /// Merges a received stamped message: returns the receive's stamp and the message.
    pub fn receive<M>(&mut self, stamped: Stamped<M>) -> (u64, M) {
        (self.merge(stamped.ts), stamped.msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_grow_by_one_from_zero() {
        let mut clock = LamportClock::new();
        assert_eq!(clock.time(), 0);
        assert_eq!(clock.tick(), 1);
        assert_eq!(clock.tick(), 2);
        assert_eq!(clock.time(), 2);
    }

    #[test]
    fn a_receive_is_stamped_past_the_send_and_the_receivers_past() {
        let mut a = LamportClock::new();
        let mut b = LamportClock::at(10);
        let sent = a.stamp("hello");
        assert_eq!(sent.ts, 1);
        let (ts, msg) = b.receive(sent);
        assert_eq!((ts, msg), (11, "hello"));
        // The other way round, the receiver jumps past the sender.
        let reply = b.stamp("back");
        let (ts, _) = a.receive(reply);
        assert_eq!(ts, 13);
        assert!(ts > 12 && a.time() == 13);
    }

    /// The generic causality check's verdict on a ping-pong between two nodes whose
    /// receives go through `on_receive`.
    fn judged_by_the_check(
        on_receive: fn(&mut LamportClock, Stamped<()>) -> u64,
    ) -> faultline_sim::Verdict {
        use faultline_sim::check::{judge, Causality, Stamp, StampKind};
        use faultline_sim::{Check, Ev, NodeId, Record};

        let mut clocks = [LamportClock::new(), LamportClock::at(40)];
        let mut records = Vec::new();
        let mut push = |t: u64, node: usize, ts: u64, kind: StampKind| {
            records.push(Record {
                t,
                node: NodeId(node as u16),
                ev: Ev::Proto {
                    event: Stamp { ts, kind },
                },
            })
        };
        for round in 0..4u64 {
            let (from, to) = ((round % 2) as usize, ((round + 1) % 2) as usize);
            let msg = clocks[from].stamp(());
            let sent_ts = msg.ts;
            push(
                round * 10,
                from,
                sent_ts,
                StampKind::Send {
                    to: NodeId(to as u16),
                },
            );
            let ts = on_receive(&mut clocks[to], msg);
            let from = NodeId(from as u16);
            push(round * 10 + 5, to, ts, StampKind::Receive { from, sent_ts });
        }
        let mut checks: Vec<Box<dyn Check<Stamp> + Send>> =
            vec![Box::new(Causality::new(|s: &Stamp| Some(s.clone())))];
        judge(&mut checks, &records, 100).remove(0)
    }

    #[test]
    fn the_causality_check_passes_merges_and_catches_a_clock_that_only_ticks() {
        let v = judged_by_the_check(|clock, msg| clock.receive(msg).0);
        assert!(v.ok, "{}", v.detail);
        assert!(v.detail.starts_with("8 stamps at 2 nodes"), "{}", v.detail);
        // Ticking on a receive instead of merging: node 0 at 1 receives a message stamped 41.
        let v = judged_by_the_check(|clock, _msg| clock.tick());
        assert!(!v.ok);
        assert!(v.detail.contains("receive of #1's message"), "{}", v.detail);
    }

    #[test]
    fn a_hostile_stamp_saturates_instead_of_wrapping() {
        let mut clock = LamportClock::at(5);
        assert_eq!(clock.merge(u64::MAX), u64::MAX);
        assert_eq!(clock.tick(), u64::MAX);
        assert_eq!(clock.merge(3), u64::MAX);
    }

    #[test]
    fn a_stamped_message_round_trips_through_json() {
        let mut clock = LamportClock::new();
        let sent = clock.stamp(vec![1u8, 2]);
        let text = serde_json::to_string(&sent).unwrap();
        assert_eq!(text, r#"{"ts":1,"msg":[1,2]}"#);
        let back: Stamped<Vec<u8>> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, sent);
        assert_eq!(serde_json::to_string(&clock).unwrap(), "1");
    }
}
