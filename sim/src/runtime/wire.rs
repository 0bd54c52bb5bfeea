//! The datagram format: a small header, the encoded message, and a CRC-32 over both.
//!
//! A datagram that fails any check is refused with a reason, never parsed into state.

use crate::node::{Message, NodeId};

/// The largest datagram a node sends or accepts.
pub const DATAGRAM_BYTES_MAX: usize = 60 * 1024;

const MAGIC: [u8; 2] = *b"FL";
const VERSION: u8 = 1;
/// magic(2) version(1) from(2) id(8) payload_len(4)
const HEADER_BYTES: usize = 17;
const CRC_BYTES: usize = 4;

/// A decoded datagram.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<M> {
    /// The sender's claimed id.
    pub from: NodeId,
    /// The sender's unique id for this datagram (links a send to its deliveries).
    pub id: u64,
    /// The message.
    pub msg: M,
}

/// Why a datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// Shorter than a header and checksum, or longer than the bound.
    Size,
    /// Not a faultline datagram, or another wire version.
    Magic,
    /// The checksum does not match: bits were flipped on the way.
    Checksum,
    /// The length field disagrees with the datagram.
    Length,
    /// The payload is not a valid message.
    Decode,
}

/// Encodes into `out` (cleared first). Fails only when the message exceeds the bound.
pub fn encode<M: Message>(
    from: NodeId,
    id: u64,
    msg: &M,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&from.0.to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let out_taken = std::mem::take(out);
    let mut buf = postcard::to_extend(msg, out_taken).map_err(|_| WireError::Decode)?;
    let payload_len = buf.len() - HEADER_BYTES;
    if buf.len() + CRC_BYTES > DATAGRAM_BYTES_MAX {
        *out = buf;
        out.clear();
        return Err(WireError::Size);
    }
    buf[13..17].copy_from_slice(&(payload_len as u32).to_le_bytes());
    let crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    *out = buf;
    Ok(())
}

/// The length of the frame a datagram starts with, by its header (what follows it is a
/// trailer, such as an authenticator); `None` when no whole frame is there.
pub fn frame_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..HEADER_BYTES)?;
    let payload_len = u32::from_le_bytes([header[13], header[14], header[15], header[16]]) as usize;
    let len = HEADER_BYTES
        .checked_add(payload_len)?
        .checked_add(CRC_BYTES)?;
    (len <= bytes.len()).then_some(len)
}

/// Rewrites a frame's length field and checksum to match its bytes, so that a payload mangled
/// on purpose reaches the message decoder instead of being refused at the checksum (the
/// fuzzer's way past the CRC); a frame shorter than a header is left alone.
pub(crate) fn reseal(bytes: &mut Vec<u8>) {
    if bytes.len() < HEADER_BYTES + CRC_BYTES {
        return;
    }
    bytes.truncate(bytes.len() - CRC_BYTES);
    let payload_len = (bytes.len() - HEADER_BYTES) as u32;
    bytes[13..17].copy_from_slice(&payload_len.to_le_bytes());
    let crc = crc32fast::hash(bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
}

/// The datagram id in a frame's header, unchecked (for tracing a replayed datagram).
pub fn peek_id(bytes: &[u8]) -> Option<u64> {
    let id: [u8; 8] = bytes.get(5..13)?.try_into().ok()?;
    Some(u64::from_le_bytes(id))
}

/// Verifies a datagram's size, magic, checksum and length field without decoding its message
/// (a transport that must decide whether a peer speaks faultline uses it); returns the payload.
pub fn check(bytes: &[u8]) -> Result<&[u8], WireError> {
    if bytes.len() < HEADER_BYTES + CRC_BYTES || bytes.len() > DATAGRAM_BYTES_MAX {
        return Err(WireError::Size);
    }
    let (body, crc) = bytes.split_at(bytes.len() - CRC_BYTES);
    if body[0..2] != MAGIC || body[2] != VERSION {
        return Err(WireError::Magic);
    }
    let crc_sent = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != crc_sent {
        return Err(WireError::Checksum);
    }
    let payload_len = u32::from_le_bytes([body[13], body[14], body[15], body[16]]) as usize;
    let payload = &body[HEADER_BYTES..];
    if payload.len() != payload_len {
        return Err(WireError::Length);
    }
    Ok(payload)
}

/// Decodes and verifies a datagram.
pub fn decode<M: Message>(bytes: &[u8]) -> Result<Envelope<M>, WireError> {
    let payload = check(bytes)?;
    let from = NodeId(u16::from_le_bytes([bytes[3], bytes[4]]));
    let mut id_bytes = [0u8; 8];
    id_bytes.copy_from_slice(&bytes[5..13]);
    let id = u64::from_le_bytes(id_bytes);
    let msg = postcard::from_bytes(payload).map_err(|_| WireError::Decode)?;
    Ok(Envelope { from, id, msg })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
    enum M {
        Ping(u64),
        Text(String),
    }
    impl Message for M {
        fn label(&self) -> &'static str {
            "M"
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = Vec::new();
        encode(NodeId(3), 99, &M::Text("hi".into()), &mut buf).unwrap();
        let env: Envelope<M> = decode(&buf).unwrap();
        assert_eq!(
            env,
            Envelope {
                from: NodeId(3),
                id: 99,
                msg: M::Text("hi".into())
            }
        );
    }

    #[test]
    fn every_single_bit_flip_is_refused() {
        let mut buf = Vec::new();
        encode(NodeId(1), 7, &M::Ping(12345), &mut buf).unwrap();
        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(decode::<M>(&bad).is_err(), "bit {bit} flip accepted");
        }
    }

    #[test]
    fn truncation_and_garbage_are_refused() {
        let mut buf = Vec::new();
        encode(NodeId(1), 7, &M::Text("hello".into()), &mut buf).unwrap();
        for len in 0..buf.len() {
            assert!(decode::<M>(&buf[..len]).is_err());
        }
        assert_eq!(decode::<M>(&[0u8; 100]), Err(WireError::Magic));
    }

    #[test]
    fn oversized_message_is_refused_at_encode() {
        let mut buf = Vec::new();
        let big = M::Text("x".repeat(DATAGRAM_BYTES_MAX));
        assert_eq!(encode(NodeId(1), 1, &big, &mut buf), Err(WireError::Size));
    }
}
