//! Byte encodings of what servers and clients keep in the durable store.
//!
//! Hand-rolled little-endian fields: the store outlives any one build, and a damaged value
//! must decode to `None` (treated as absent), never panic.

use faultline_sim::NodeId;

use super::config::TEXT_BYTES_MAX;
use super::msg::Entry;

/// Encodes a counter.
pub(crate) fn encode_u64(value: u64) -> Vec<u8> {
    value.to_le_bytes().to_vec()
}

/// Decodes a counter written by [`encode_u64`].
pub(crate) fn decode_u64(bytes: &[u8]) -> Option<u64> {
    let mut r = Reader { bytes };
    let value = r.u64()?;
    r.done().then_some(value)
}

/// Encodes an epoch and the node it was adopted from.
pub(crate) fn encode_term(epoch: u64, leader: Option<NodeId>) -> Vec<u8> {
    let mut out = epoch.to_le_bytes().to_vec();
    match leader {
        Some(node) => {
            out.push(1);
            out.extend_from_slice(&node.0.to_le_bytes());
        }
        None => out.push(0),
    }
    out
}

/// Decodes what [`encode_term`] wrote.
pub(crate) fn decode_term(bytes: &[u8]) -> Option<(u64, Option<NodeId>)> {
    let mut r = Reader { bytes };
    let epoch = r.u64()?;
    let leader = match r.u8()? {
        0 => None,
        1 => Some(NodeId(r.u16()?)),
        _ => return None,
    };
    r.done().then_some((epoch, leader))
}

/// Encodes a log entry.
pub(crate) fn encode_entry(entry: &Entry) -> Vec<u8> {
    let mut out = Vec::with_capacity(30 + entry.text.len());
    out.extend_from_slice(&entry.epoch.to_le_bytes());
    out.extend_from_slice(&entry.seq.to_le_bytes());
    out.extend_from_slice(&entry.origin.0.to_le_bytes());
    out.extend_from_slice(&entry.client_seq.to_le_bytes());
    out.extend_from_slice(&(entry.text.len() as u32).to_le_bytes());
    out.extend_from_slice(entry.text.as_bytes());
    out
}

/// Decodes what [`encode_entry`] wrote.
pub(crate) fn decode_entry(bytes: &[u8]) -> Option<Entry> {
    let mut r = Reader { bytes };
    let epoch = r.u64()?;
    let seq = r.u64()?;
    let origin = NodeId(r.u16()?);
    let client_seq = r.u64()?;
    let len = r.u32()? as usize;
    if len > TEXT_BYTES_MAX {
        return None;
    }
    let text = String::from_utf8(r.take(len)?.to_vec()).ok()?;
    r.done().then_some(Entry {
        epoch,
        seq,
        origin,
        client_seq,
        text,
    })
}

/// A cursor over bytes that answers `None` instead of reading past the end.
struct Reader<'a> {
    /// What is left to read.
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn done(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let entry = Entry {
            epoch: 3,
            seq: 9,
            origin: NodeId(7),
            client_seq: 2,
            text: "hé".into(),
        };
        let bytes = encode_entry(&entry);
        assert_eq!(decode_entry(&bytes), Some(entry));
        assert_eq!(decode_entry(&bytes[..bytes.len() - 1]), None);
        assert_eq!(
            decode_term(&encode_term(5, Some(NodeId(2)))),
            Some((5, Some(NodeId(2))))
        );
        assert_eq!(decode_term(&encode_term(5, None)), Some((5, None)));
        assert_eq!(decode_term(&[1, 2, 3]), None);
        assert_eq!(decode_u64(&encode_u64(42)), Some(42));
        assert_eq!(decode_u64(&[0; 9]), None);
    }
}
