//! Queue safety and durability from the clients' view: no enqueue that returned ok is lost,
//! dequeues return what was enqueued under that id, and no dequeue invoked after an ack of a
//! message returned ok delivers that message again.
//!
//! A message is lost when a dequeue of its queue, invoked after its enqueue returned ok,
//! finds the queue empty with nothing in flight while the message was never acknowledged:
//! the service then claims it holds nothing the client was promised. (Timing is no part of
//! it: a slow network delays the clients' drain of the queues, it does not lose messages.)

use std::collections::{BTreeMap, BTreeSet};

use faultline_sim::{Check, Ev, NodeId, Record, Verdict};

use super::checks::ms;
use super::event::Event;
use super::op::{Op, Outcome, Value};

/// An enqueue that returned ok.
#[derive(Clone, Debug)]
struct Enqueued {
    /// When it returned (µs).
    t_us: u64,
    /// The client.
    client: NodeId,
    /// Its queue.
    queue: String,
    /// The body.
    body: String,
}

/// No acknowledged message lost, none delivered after its ack.
pub(crate) struct QueueDelivery {
    /// Invoked queue operations not returned yet: (client, seq) → (invoke time, op).
    invoked: BTreeMap<(NodeId, u64), (u64, Op)>,
    /// Acknowledged enqueues by message id.
    enqueued: BTreeMap<u64, Enqueued>,
    /// Ids some dequeue returned.
    delivered: BTreeSet<u64>,
    /// When an ack of each id first returned ok (µs).
    acked: BTreeMap<u64, u64>,
    /// Ids some client asked to ack: whatever the outcome, the ack may have been applied
    /// (an ack concurrent with a dequeue that finds the queue empty excuses it).
    ack_invoked: BTreeSet<u64>,
}

impl QueueDelivery {
    pub(crate) fn new() -> QueueDelivery {
        QueueDelivery {
            invoked: BTreeMap::new(),
            enqueued: BTreeMap::new(),
            delivered: BTreeSet::new(),
            acked: BTreeMap::new(),
            ack_invoked: BTreeSet::new(),
        }
    }

    fn on_return(
        &mut self,
        client: NodeId,
        t_us: u64,
        invoked_us: u64,
        op: &Op,
        value: &Value,
    ) -> Result<(), String> {
        match (op, value) {
            (Op::Enqueue { queue, body }, Value::Enqueued { id }) => {
                let e = Enqueued {
                    t_us,
                    client,
                    queue: queue.clone(),
                    body: body.clone(),
                };
                if let Some(old) = self.enqueued.insert(*id, e) {
                    return Err(format!(
                        "message id {id} returned by two enqueues ({} and {client})",
                        old.client
                    ));
                }
            }
            (Op::Dequeue { .. }, Value::Message { id, body }) => {
                if let Some(e) = self.enqueued.get(id) {
                    if e.body != *body {
                        return Err(format!(
                            "{client} dequeued message {id} as {body:?}, enqueued as {:?}",
                            e.body
                        ));
                    }
                }
                if let Some(&acked_us) = self.acked.get(id) {
                    if invoked_us > acked_us {
                        return Err(format!(
                            "{client} dequeued message {id} with a dequeue invoked at {}ms, \
                             after an ack of it returned ok at {}ms",
                            ms(invoked_us),
                            ms(acked_us)
                        ));
                    }
                }
                self.delivered.insert(*id);
            }
            (Op::Dequeue { queue }, Value::Empty { in_flight: 0 }) => {
                let lost = self.enqueued.iter().find(|(id, e)| {
                    e.queue == *queue && e.t_us < invoked_us && !self.ack_invoked.contains(id)
                });
                if let Some((id, e)) = lost {
                    return Err(format!(
                        "message {id} ({:?} from {}, enqueued at {}ms) is lost: {client}'s \
                         dequeue invoked at {}ms found {queue} empty with nothing in flight, \
                         and it was never acknowledged",
                        e.body,
                        e.client,
                        ms(e.t_us),
                        ms(invoked_us)
                    ));
                }
            }
            (Op::Ack { id, .. }, Value::Done) => {
                self.acked.entry(*id).or_insert(t_us);
            }
            _ => {}
        }
        Ok(())
    }
}

impl Check<Event> for QueueDelivery {
    fn name(&self) -> &'static str {
        "queue-delivery"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let client = rec.node;
        match &rec.ev {
            Ev::Proto {
                event: Event::Invoke { seq, op },
            } => {
                let op: &Op = op;
                if let Op::Ack { id, .. } = op {
                    self.ack_invoked.insert(*id);
                }
                if matches!(op, Op::Enqueue { .. } | Op::Dequeue { .. } | Op::Ack { .. }) {
                    self.invoked.insert((client, *seq), (rec.t, op.clone()));
                }
            }
            Ev::Proto {
                event: Event::Return { seq, result },
            } => {
                if let Some((invoked_us, op)) = self.invoked.remove(&(client, *seq)) {
                    if let Outcome::Ok { value } = &**result {
                        self.on_return(client, rec.t, invoked_us, &op, value)?;
                    }
                }
            }
            Ev::Crash => self.invoked.retain(|(c, _), _| *c != client),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let undelivered = self
            .enqueued
            .keys()
            .filter(|id| !self.delivered.contains(id))
            .count();
        // Every acknowledged enqueue was held to delivery; every dequeue to its enqueue.
        let judged = (self.enqueued.len() + self.delivered.len()) as u64;
        Verdict::held(
            self.name(),
            judged,
            "enqueues and dequeues",
            format!(
                "{} acknowledged enqueues, none lost; {} dequeued, {} acks ({undelivered} still \
                 queued at the end)",
                self.enqueued.len(),
                self.delivered.len(),
                self.acked.len()
            ),
        )
    }
}
