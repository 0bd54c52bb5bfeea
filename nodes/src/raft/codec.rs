//! Byte encodings of what replicas keep in the durable store (entries, snapshots) and hash.
//!
//! Hand-rolled little-endian fields: the store outlives any one build, and a damaged value
//! must decode to `None` (treated as absent), never panic.

use faultline_sim::NodeId;

use super::config::{NAME_BYTES_MAX, VALUE_BYTES_MAX};
use super::msg::{Entry, Payload};
use super::op::{LockMode, Op, Outcome, Refusal, Value};

/// Appends fields to a buffer.
#[derive(Default)]
pub(crate) struct Writer {
    /// What was written.
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn node(&mut self, v: NodeId) {
        self.u16(v.0);
    }

    /// A length-prefixed string.
    pub(crate) fn str(&mut self, v: &str) {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.buf.extend_from_slice(v.as_bytes());
    }

    pub(crate) fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }

    /// A collection's length.
    pub(crate) fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
}

/// A cursor over bytes that answers `None` instead of reading past the end.
pub(crate) struct Reader<'a> {
    /// What is left to read.
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    pub(crate) fn node(&mut self) -> Option<NodeId> {
        Some(NodeId(self.u16()?))
    }

    /// A string of at most `max` bytes.
    pub(crate) fn str(&mut self, max: usize) -> Option<String> {
        let len = self.u32()? as usize;
        if len > max {
            return None;
        }
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }

    pub(crate) fn opt_str(&mut self, max: usize) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.str(max)?)),
            _ => None,
        }
    }

    /// A collection's length, at most `max`.
    pub(crate) fn len(&mut self, max: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n <= max).then_some(n)
    }

    pub(crate) fn done(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Encodes a counter.
pub(crate) fn encode_u64(value: u64) -> Vec<u8> {
    value.to_le_bytes().to_vec()
}

/// Decodes a counter written by [`encode_u64`].
pub(crate) fn decode_u64(bytes: &[u8]) -> Option<u64> {
    let mut r = Reader::new(bytes);
    let value = r.u64()?;
    r.done().then_some(value)
}

pub(crate) fn write_mode(w: &mut Writer, mode: LockMode) {
    w.u8(match mode {
        LockMode::Shared => 0,
        LockMode::Exclusive => 1,
    });
}

pub(crate) fn read_mode(r: &mut Reader<'_>) -> Option<LockMode> {
    match r.u8()? {
        0 => Some(LockMode::Shared),
        1 => Some(LockMode::Exclusive),
        _ => None,
    }
}

pub(crate) fn write_op(w: &mut Writer, op: &Op) {
    match op {
        Op::Get { key } => {
            w.u8(0);
            w.str(key);
        }
        Op::Put { key, value } => {
            w.u8(1);
            w.str(key);
            w.str(value);
        }
        Op::Cas { key, expected, new } => {
            w.u8(2);
            w.str(key);
            w.opt_str(expected.as_deref());
            w.str(new);
        }
        Op::Delete { key } => {
            w.u8(3);
            w.str(key);
        }
        Op::Acquire { resource, mode } => {
            w.u8(4);
            w.str(resource);
            write_mode(w, *mode);
        }
        Op::Renew { resource } => {
            w.u8(5);
            w.str(resource);
        }
        Op::Release { resource } => {
            w.u8(6);
            w.str(resource);
        }
        Op::Enqueue { queue, body } => {
            w.u8(7);
            w.str(queue);
            w.str(body);
        }
        Op::Dequeue { queue } => {
            w.u8(8);
            w.str(queue);
        }
        Op::Ack { queue, id } => {
            w.u8(9);
            w.str(queue);
            w.u64(*id);
        }
    }
}

pub(crate) fn read_op(r: &mut Reader<'_>) -> Option<Op> {
    let (n, v) = (NAME_BYTES_MAX, VALUE_BYTES_MAX);
    Some(match r.u8()? {
        0 => Op::Get { key: r.str(n)? },
        1 => Op::Put {
            key: r.str(n)?,
            value: r.str(v)?,
        },
        2 => Op::Cas {
            key: r.str(n)?,
            expected: r.opt_str(v)?,
            new: r.str(v)?,
        },
        3 => Op::Delete { key: r.str(n)? },
        4 => Op::Acquire {
            resource: r.str(n)?,
            mode: read_mode(r)?,
        },
        5 => Op::Renew {
            resource: r.str(n)?,
        },
        6 => Op::Release {
            resource: r.str(n)?,
        },
        7 => Op::Enqueue {
            queue: r.str(n)?,
            body: r.str(v)?,
        },
        8 => Op::Dequeue { queue: r.str(n)? },
        9 => Op::Ack {
            queue: r.str(n)?,
            id: r.u64()?,
        },
        _ => return None,
    })
}

/// Encodes an entry (also the bytes its chain hash covers). An op past its bounds is
/// encoded all the same; it is refused when applied and reads back as `None`.
pub(crate) fn encode_entry(entry: &Entry) -> Vec<u8> {
    // Room for a typical command at once, instead of growing through four reallocations.
    let mut w = Writer {
        buf: Vec::with_capacity(64),
    };
    w.u64(entry.term);
    w.u64(entry.index);
    w.u64(entry.at_ms);
    match &entry.payload {
        Payload::Noop => w.u8(0),
        Payload::Command { client, seq, op } => {
            w.u8(1);
            w.node(*client);
            w.u64(*seq);
            write_op(&mut w, op);
        }
        Payload::Start { command } => {
            w.u8(2);
            w.u64(*command);
        }
    }
    w.buf
}

/// Decodes what [`encode_entry`] wrote.
pub(crate) fn decode_entry(bytes: &[u8]) -> Option<Entry> {
    let mut r = Reader::new(bytes);
    let term = r.u64()?;
    let index = r.u64()?;
    let at_ms = r.u64()?;
    let payload = match r.u8()? {
        0 => Payload::Noop,
        1 => Payload::Command {
            client: r.node()?,
            seq: r.u64()?,
            op: read_op(&mut r)?,
        },
        2 => Payload::Start { command: r.u64()? },
        _ => return None,
    };
    r.done().then_some(Entry {
        term,
        index,
        at_ms,
        payload,
    })
}

/// Every refusal, in code order.
const REFUSALS: [Refusal; 8] = [
    Refusal::Mismatch,
    Refusal::NotHeld,
    Refusal::Deadlock,
    Refusal::Busy,
    Refusal::QueueFull,
    Refusal::NoSuchMessage,
    Refusal::TooLarge,
    Refusal::Full,
];

pub(crate) fn write_outcome(w: &mut Writer, outcome: &Outcome) {
    match outcome {
        Outcome::Ok { value } => {
            w.u8(0);
            match value {
                Value::Done => w.u8(0),
                Value::Read { value } => {
                    w.u8(1);
                    w.opt_str(value.as_deref());
                }
                Value::Enqueued { id } => {
                    w.u8(2);
                    w.u64(*id);
                }
                Value::Message { id, body } => {
                    w.u8(3);
                    w.u64(*id);
                    w.str(body);
                }
                Value::Empty { in_flight } => {
                    w.u8(4);
                    w.u32(*in_flight);
                }
            }
        }
        Outcome::Fail { reason } => {
            w.u8(1);
            let code = REFUSALS.iter().position(|r| r == reason).unwrap_or(0);
            w.u8(code as u8);
        }
        Outcome::Unknown => w.u8(2),
    }
}

pub(crate) fn read_outcome(r: &mut Reader<'_>) -> Option<Outcome> {
    Some(match r.u8()? {
        0 => Outcome::Ok {
            value: match r.u8()? {
                0 => Value::Done,
                1 => Value::Read {
                    value: r.opt_str(VALUE_BYTES_MAX)?,
                },
                2 => Value::Enqueued { id: r.u64()? },
                3 => Value::Message {
                    id: r.u64()?,
                    body: r.str(VALUE_BYTES_MAX)?,
                },
                4 => Value::Empty {
                    in_flight: r.u32()?,
                },
                _ => return None,
            },
        },
        1 => Outcome::Fail {
            reason: *REFUSALS.get(usize::from(r.u8()?))?,
        },
        2 => Outcome::Unknown,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_outcomes_round_trip_and_damage_reads_as_none() {
        let ops = super::super::op::every_op();
        for (i, op) in ops.into_iter().enumerate() {
            let entry = Entry {
                term: 3,
                index: 9 + i as u64,
                at_ms: 1234,
                payload: Payload::Command {
                    client: NodeId(6),
                    seq: 2,
                    op,
                },
            };
            let bytes = encode_entry(&entry);
            assert_eq!(decode_entry(&bytes), Some(entry));
            assert_eq!(decode_entry(&bytes[..bytes.len() - 1]), None);
        }
        let noop = Entry {
            term: 1,
            index: 1,
            at_ms: 0,
            payload: Payload::Noop,
        };
        assert_eq!(decode_entry(&encode_entry(&noop)), Some(noop));
        for outcome in [
            Outcome::ok(Value::Done),
            Outcome::ok(Value::Read {
                value: Some("x".into()),
            }),
            Outcome::ok(Value::Message {
                id: 4,
                body: "b".into(),
            }),
            Outcome::ok(Value::Empty { in_flight: 2 }),
            Outcome::fail(Refusal::Full),
            Outcome::Unknown,
        ] {
            let mut w = Writer::default();
            write_outcome(&mut w, &outcome);
            let mut r = Reader::new(&w.buf);
            assert_eq!(read_outcome(&mut r), Some(outcome));
            assert!(r.done());
        }
        assert_eq!(decode_u64(&encode_u64(42)), Some(42));
        assert_eq!(decode_u64(&[0; 9]), None);
    }
}
