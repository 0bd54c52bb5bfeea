//! Named message queues with visibility timeouts: a dequeued message stays invisible for
//! `visibility_ms` (by entry timestamps) and comes back unless it is acked.

use std::collections::{BTreeMap, VecDeque};

use super::codec::{Reader, Writer};
use super::config::{NAME_BYTES_MAX, QUEUES_MAX, QUEUE_LENGTH_MAX, VALUE_BYTES_MAX};
use super::op::{Outcome, Refusal, Value};

/// One message in a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Message {
    /// Its id, unique across queues.
    id: u64,
    /// Its body.
    body: String,
    /// Until when it is invisible (by entry timestamps); `None`: never delivered.
    invisible_until_ms: Option<u64>,
}

impl Message {
    fn visible(&self, now_ms: u64) -> bool {
        self.invisible_until_ms.is_none_or(|t| t <= now_ms)
    }
}

/// Every queue; at most `QUEUES_MAX` non-empty ones of at most `QUEUE_LENGTH_MAX` messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Queues {
    /// Messages by queue, oldest first.
    queues: BTreeMap<String, VecDeque<Message>>,
    /// The id of the next message enqueued.
    next_id: u64,
}

impl Queues {
    /// Appends `body` to `queue` unless it holds `length_max` messages.
    pub(crate) fn enqueue(&mut self, queue: &str, body: &str, length_max: usize) -> Outcome {
        if !self.queues.contains_key(queue) && self.queues.len() >= QUEUES_MAX {
            return Outcome::fail(Refusal::Full);
        }
        let q = self.queues.entry(queue.to_string()).or_default();
        if q.len() >= length_max.min(QUEUE_LENGTH_MAX) {
            return Outcome::fail(Refusal::QueueFull);
        }
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        q.push_back(Message {
            id,
            body: body.to_string(),
            invisible_until_ms: None,
        });
        Outcome::ok(Value::Enqueued { id })
    }

    /// Delivers the oldest visible message of `queue`, invisible for `visibility_ms` from now.
    pub(crate) fn dequeue(&mut self, queue: &str, now_ms: u64, visibility_ms: u64) -> Outcome {
        let Some(q) = self.queues.get_mut(queue) else {
            return Outcome::ok(Value::Empty { in_flight: 0 });
        };
        match q.iter_mut().find(|m| m.visible(now_ms)) {
            Some(m) => {
                m.invisible_until_ms = Some(now_ms.saturating_add(visibility_ms));
                Outcome::ok(Value::Message {
                    id: m.id,
                    body: m.body.clone(),
                })
            }
            None => Outcome::ok(Value::Empty {
                in_flight: u32::try_from(q.len()).unwrap_or(u32::MAX),
            }),
        }
    }

    /// Removes a delivered message for good.
    pub(crate) fn ack(&mut self, queue: &str, id: u64) -> Outcome {
        let Some(q) = self.queues.get_mut(queue) else {
            return Outcome::fail(Refusal::NoSuchMessage);
        };
        match q.iter().position(|m| m.id == id) {
            Some(i) if q.get(i).is_some_and(|m| m.invisible_until_ms.is_some()) => {
                q.remove(i);
                if q.is_empty() {
                    self.queues.remove(queue);
                }
                Outcome::ok(Value::Done)
            }
            _ => Outcome::fail(Refusal::NoSuchMessage),
        }
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u64(self.next_id);
        w.len(self.queues.len());
        for (name, q) in &self.queues {
            w.str(name);
            w.len(q.len());
            for m in q {
                w.u64(m.id);
                w.str(&m.body);
                match m.invisible_until_ms {
                    Some(t) => {
                        w.u8(1);
                        w.u64(t);
                    }
                    None => w.u8(0),
                }
            }
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Queues> {
        let mut out = Queues {
            next_id: r.u64()?,
            ..Default::default()
        };
        for _ in 0..r.len(QUEUES_MAX)? {
            let name = r.str(NAME_BYTES_MAX)?;
            let mut q = VecDeque::new();
            for _ in 0..r.len(QUEUE_LENGTH_MAX)? {
                let id = r.u64()?;
                let body = r.str(VALUE_BYTES_MAX)?;
                let invisible_until_ms = match r.u8()? {
                    0 => None,
                    1 => Some(r.u64()?),
                    _ => return None,
                };
                q.push_back(Message {
                    id,
                    body,
                    invisible_until_ms,
                });
            }
            out.queues.insert(name, q);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_timeout_redelivers_and_ack_removes() {
        let mut q = Queues::default();
        assert_eq!(
            q.enqueue("q", "a", 2),
            Outcome::ok(Value::Enqueued { id: 1 })
        );
        assert_eq!(
            q.enqueue("q", "b", 2),
            Outcome::ok(Value::Enqueued { id: 2 })
        );
        assert_eq!(q.enqueue("q", "c", 2), Outcome::fail(Refusal::QueueFull));
        let first = Outcome::ok(Value::Message {
            id: 1,
            body: "a".into(),
        });
        assert_eq!(q.dequeue("q", 100, 50), first);
        // Not acked: b comes next, then nothing until a's visibility ends at 150.
        assert_eq!(
            q.dequeue("q", 110, 50),
            Outcome::ok(Value::Message {
                id: 2,
                body: "b".into()
            })
        );
        assert_eq!(
            q.dequeue("q", 120, 50),
            Outcome::ok(Value::Empty { in_flight: 2 })
        );
        assert_eq!(q.dequeue("q", 150, 50), first);
        assert_eq!(q.ack("q", 1), Outcome::ok(Value::Done));
        assert_eq!(q.ack("q", 1), Outcome::fail(Refusal::NoSuchMessage));
        assert_eq!(q.ack("q", 2), Outcome::ok(Value::Done));
        assert_eq!(
            q.dequeue("q", 500, 50),
            Outcome::ok(Value::Empty { in_flight: 0 })
        );
        let mut w = Writer::default();
        q.enqueue("z", "x", 2);
        q.encode(&mut w);
        let mut r = Reader::new(&w.buf);
        assert_eq!(Queues::decode(&mut r), Some(q));
        assert!(r.done());
    }
}
