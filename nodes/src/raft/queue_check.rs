//! Queue safety and durability from the clients' view: every enqueue that returned ok is
//! dequeued by someone (unless the run ended within `queue_within_ms` of it or of the last
//! fault), dequeues return what was enqueued under that id, and no dequeue invoked after an
//! ack of a message returned ok delivers that message again.

use std::collections::{BTreeMap, BTreeSet};

use faultline_sim::{Check, Cluster, Ev, NodeId, Record, Verdict};

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
    /// The body.
    body: String,
}

/// No acknowledged message lost, none delivered after its ack.
pub(crate) struct QueueDelivery {
    /// Time an enqueue gets to be dequeued (µs).
    within_us: u64,
    /// Who is up, which links are cut.
    cluster: Cluster,
    /// Invoked queue operations not returned yet: (client, seq) → (invoke time, op).
    invoked: BTreeMap<(NodeId, u64), (u64, Op)>,
    /// Acknowledged enqueues by message id.
    enqueued: BTreeMap<u64, Enqueued>,
    /// Ids some dequeue returned.
    delivered: BTreeSet<u64>,
    /// When an ack of each id first returned ok (µs).
    acked: BTreeMap<u64, u64>,
}

impl QueueDelivery {
    pub(crate) fn new(within_ms: u64) -> QueueDelivery {
        QueueDelivery {
            within_us: within_ms.saturating_mul(1000),
            cluster: Cluster::default(),
            invoked: BTreeMap::new(),
            enqueued: BTreeMap::new(),
            delivered: BTreeSet::new(),
            acked: BTreeMap::new(),
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
            (Op::Enqueue { body, .. }, Value::Enqueued { id }) => {
                let e = Enqueued {
                    t_us,
                    client,
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
        self.cluster.observe(rec);
        let client = rec.node;
        match &rec.ev {
            Ev::Proto {
                event: Event::Invoke { seq, op },
            } => {
                if matches!(op, Op::Enqueue { .. } | Op::Dequeue { .. } | Op::Ack { .. }) {
                    self.invoked.insert((client, *seq), (rec.t, op.clone()));
                }
            }
            Ev::Proto {
                event: Event::Return { seq, result },
            } => {
                if let Some((invoked_us, op)) = self.invoked.remove(&(client, *seq)) {
                    if let Outcome::Ok { value } = result {
                        self.on_return(client, rec.t, invoked_us, &op, value)?;
                    }
                }
            }
            Ev::Crash => self.invoked.retain(|(c, _), _| *c != client),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let name = self.name().to_string();
        let last_us = self.cluster.last_change_us;
        let judged: Vec<(&u64, &Enqueued)> = self
            .enqueued
            .iter()
            .filter(|(_, e)| e.t_us.max(last_us).saturating_add(self.within_us) <= end_us)
            .collect();
        let lost: Vec<String> = judged
            .iter()
            .filter(|(id, _)| !self.delivered.contains(id))
            .map(|(id, e)| {
                format!(
                    "message {id} ({:?} from {}, enqueued at {}ms)",
                    e.body,
                    e.client,
                    ms(e.t_us)
                )
            })
            .collect();
        if let Some(first) = lost.first() {
            return Verdict {
                name,
                ok: false,
                detail: format!(
                    "{} acknowledged enqueues never dequeued, first {first}",
                    lost.len()
                ),
            };
        }
        Verdict {
            name,
            ok: true,
            detail: format!(
                "{} acknowledged enqueues all dequeued ({} too recent to judge), {} acks",
                judged.len(),
                self.enqueued.len() - judged.len(),
                self.acked.len()
            ),
        }
    }
}
