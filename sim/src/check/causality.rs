//! Causality of Lamport timestamps, for any protocol that reports its stamps: along every
//! node's events stamps strictly increase, and a receive is stamped past the send of the
//! message it received.
//!
//! The protocol maps its events to [`Stamp`]s (`fn(&E) -> Option<Stamp>`). A receive names
//! the sender and the stamp the message carried; the check matches it to a send that the
//! sender recorded with that stamp, to this node or to its multicast group. A send may be
//! received several times (the network duplicates), and its record may come after the
//! receive's in a trace merged from real nodes, so a receive is matched by the end of the
//! run: one still unmatched then is a message nobody sent (a forged or corrupted stamp).
//!
//! A clock is volatile unless the protocol stores it: by default a restart starts the
//! node's stamps afresh; [`Causality::across_restarts`] requires them to keep growing.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Check, Verdict};
use crate::node::NodeId;
use crate::trace::{Ev, Record};

/// A Lamport-stamped event a protocol reports; the record's node is where it happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The event's Lamport timestamp.
    pub ts: u64,
    /// What the event was.
    pub kind: StampKind,
}

/// The kind of a stamped event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StampKind {
    /// A local event.
    Local,
    /// A send to one node, carrying the event's stamp.
    Send {
        /// The receiver.
        to: NodeId,
    },
    /// A send to the node's multicast group, carrying the event's stamp.
    Multicast,
    /// A receive of a message `from` sent, carrying `sent_ts`.
    Receive {
        /// The sender.
        from: NodeId,
        /// The stamp the message carried.
        sent_ts: u64,
    },
}

/// Lamport stamps grow along every node and every message.
pub struct Causality<E> {
    /// The protocol's mapping from its events to stamps.
    map: fn(&E) -> Option<Stamp>,
    /// Whether a restart keeps the node's stamps growing (a durable clock).
    across_restarts: bool,
    /// Each node's latest stamp in its current incarnation.
    last: BTreeMap<NodeId, u64>,
    /// Stamps sent on each (from, to).
    sent: BTreeMap<(NodeId, NodeId), BTreeSet<u64>>,
    /// Stamps multicast by each node.
    multicast: BTreeMap<NodeId, BTreeSet<u64>>,
    /// Receives whose send is not recorded yet: (from, to, sent_ts) -> first seen (µs).
    unmatched: BTreeMap<(NodeId, NodeId, u64), u64>,
    /// Stamps judged.
    stamps: u64,
    /// Sends and multicasts among them.
    sends: u64,
    /// Receives among them.
    receives: u64,
}

impl<E> Causality<E> {
    /// Stamps fresh at every restart, over the stamps `map` finds in the protocol's events.
    pub fn new(map: fn(&E) -> Option<Stamp>) -> Causality<E> {
        Causality {
            map,
            across_restarts: false,
            last: BTreeMap::new(),
            sent: BTreeMap::new(),
            multicast: BTreeMap::new(),
            unmatched: BTreeMap::new(),
            stamps: 0,
            sends: 0,
            receives: 0,
        }
    }

    /// Requires a node's stamps to keep growing across its restarts.
    pub fn across_restarts(mut self) -> Causality<E> {
        self.across_restarts = true;
        self
    }

    /// How much it judged: stamps checked.
    pub fn judged(&self) -> u64 {
        self.stamps
    }

    fn on_stamp(&mut self, node: NodeId, t: u64, stamp: Stamp) -> Result<(), String> {
        self.stamps += 1;
        if let Some(last) = self.last.get(&node) {
            if stamp.ts <= *last {
                return Err(format!(
                    "{node} stamped an event {} after an event stamped {last}: stamps must grow",
                    stamp.ts
                ));
            }
        }
        self.last.insert(node, stamp.ts);
        match stamp.kind {
            StampKind::Local => {}
            StampKind::Send { to } => {
                self.sends += 1;
                self.sent.entry((node, to)).or_default().insert(stamp.ts);
                self.unmatched.remove(&(node, to, stamp.ts));
            }
            StampKind::Multicast => {
                self.sends += 1;
                self.multicast.entry(node).or_default().insert(stamp.ts);
                self.unmatched
                    .retain(|(from, _, ts), _| !(*from == node && *ts == stamp.ts));
            }
            StampKind::Receive { from, sent_ts } => {
                self.receives += 1;
                if stamp.ts <= sent_ts {
                    return Err(format!(
                        "{node} stamped its receive of {from}'s message {} but the message \
                         carried {sent_ts}: a receive must be stamped past its send",
                        stamp.ts
                    ));
                }
                let matched = self
                    .sent
                    .get(&(from, node))
                    .is_some_and(|s| s.contains(&sent_ts))
                    || self
                        .multicast
                        .get(&from)
                        .is_some_and(|s| s.contains(&sent_ts));
                if !matched {
                    self.unmatched.entry((from, node, sent_ts)).or_insert(t);
                }
            }
        }
        Ok(())
    }
}

impl<E> Check<E> for Causality<E> {
    fn name(&self) -> &'static str {
        "causality"
    }

    fn observe(&mut self, rec: &Record<E>) -> Result<(), String> {
        match &rec.ev {
            Ev::Restart if !self.across_restarts => {
                self.last.remove(&rec.node);
                Ok(())
            }
            Ev::Proto { event } => match (self.map)(event) {
                Some(stamp) => self.on_stamp(rec.node, rec.t, stamp),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let name = self.name().to_string();
        if let Some(((from, to, ts), t)) = self.unmatched.iter().next() {
            return Verdict::violated(
                name,
                format!(
                    "{to} received at {} ms a message from {from} stamped {ts} that {from} never \
                     recorded sending ({} such receives)",
                    t / 1000,
                    self.unmatched.len()
                ),
            );
        }
        Verdict::held(
            name,
            self.judged(),
            "stamps",
            format!(
                "{} stamps at {} nodes grew along every node; {} sends, {} receives each \
                 stamped past its send",
                self.stamps,
                self.last.len(),
                self.sends,
                self.receives
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::judge;

    /// A protocol's events: stamped steps and other things.
    #[derive(Clone, Debug)]
    enum Event {
        Step(Stamp),
        Other,
    }

    fn stamp_of(e: &Event) -> Option<Stamp> {
        match e {
            Event::Step(s) => Some(s.clone()),
            Event::Other => None,
        }
    }

    fn at(t_ms: u64, node: u16, ev: Ev<Event>) -> Record<Event> {
        Record {
            t: t_ms * 1000,
            node: NodeId(node),
            ev,
        }
    }

    fn step(t_ms: u64, node: u16, ts: u64, kind: StampKind) -> Record<Event> {
        at(
            t_ms,
            node,
            Ev::Proto {
                event: Event::Step(Stamp { ts, kind }),
            },
        )
    }

    fn send(to: u16) -> StampKind {
        StampKind::Send { to: NodeId(to) }
    }

    fn receive(from: u16, sent_ts: u64) -> StampKind {
        StampKind::Receive {
            from: NodeId(from),
            sent_ts,
        }
    }

    fn run(check: Causality<Event>, records: &[Record<Event>]) -> Verdict {
        let mut checks: Vec<Box<dyn Check<Event> + Send>> = vec![Box::new(check)];
        judge(&mut checks, records, 1_000_000).remove(0)
    }

    /// #0 sends to #1, #1 answers, #0 multicasts to both others; a restart of #2 resets it.
    fn good() -> Vec<Record<Event>> {
        vec![
            step(0, 0, 1, StampKind::Local),
            step(1, 0, 2, send(1)),
            step(2, 1, 3, receive(0, 2)),
            step(3, 1, 4, send(0)),
            at(
                3,
                1,
                Ev::Proto {
                    event: Event::Other,
                },
            ),
            step(4, 0, 5, receive(1, 4)),
            step(5, 0, 6, StampKind::Multicast),
            step(6, 1, 7, receive(0, 6)),
            step(6, 2, 7, receive(0, 6)),
            step(6, 2, 8, receive(0, 6)), // a duplicate delivery
            at(7, 2, Ev::Crash),
            at(8, 2, Ev::Restart),
            step(9, 2, 1, StampKind::Local),
        ]
    }

    #[test]
    fn stamps_that_grow_along_nodes_and_messages_pass() {
        let v = run(Causality::new(stamp_of), &good());
        assert!(v.ok, "{}", v.detail);
        assert_eq!(
            v.detail,
            "10 stamps at 3 nodes grew along every node; 3 sends, 5 receives each stamped past its send"
        );
    }

    #[test]
    fn a_stamp_that_does_not_grow_at_a_node_fails() {
        let records = vec![step(0, 0, 4, StampKind::Local), step(1, 0, 4, send(1))];
        let v = run(Causality::new(stamp_of), &records);
        assert!(!v.ok);
        assert_eq!(
            v.detail,
            "at 0.001 s: #0 stamped an event 4 after an event stamped 4: stamps must grow"
        );
        // A volatile clock restarting at 1 fails when the clock is meant to be durable.
        let v = run(Causality::new(stamp_of).across_restarts(), &good());
        assert!(!v.ok);
        assert!(
            v.detail
                .contains("#2 stamped an event 1 after an event stamped 8"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_receive_stamped_before_its_send_fails() {
        let records = vec![step(0, 0, 9, send(1)), step(1, 1, 5, receive(0, 9))];
        let v = run(Causality::new(stamp_of), &records);
        assert!(!v.ok);
        assert!(
            v.detail.contains("stamped its receive of #0's message 5"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_receive_of_a_message_never_sent_fails_at_the_end() {
        // The send to #2, not to #1, and a send recorded late still match.
        let records = vec![
            step(0, 1, 4, receive(0, 2)),
            step(1, 0, 2, send(1)),
            step(2, 0, 3, send(2)),
            step(3, 1, 5, receive(0, 3)),
        ];
        let v = run(Causality::new(stamp_of), &records);
        assert!(!v.ok);
        assert_eq!(
            v.detail,
            "#1 received at 3 ms a message from #0 stamped 3 that #0 never recorded sending (1 such receives)"
        );
    }

    #[test]
    fn a_run_without_stamps_is_vacuous() {
        let records = vec![at(
            0,
            0,
            Ev::Proto {
                event: Event::Other,
            },
        )];
        let v = run(Causality::new(stamp_of), &records);
        assert!(!v.ok && v.vacuous, "{v:?}");
        assert!(v.detail.starts_with("0 stamps"), "{}", v.detail);
        assert_eq!(Causality::<Event>::new(stamp_of).judged(), 0);
    }
}
