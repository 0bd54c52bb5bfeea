//! Sender authentication: a MAC per recipient after each datagram, so that a node cannot
//! claim another's identity.
//!
//! Every pair of nodes shares a key; a datagram carries one 16-byte tag per recipient (a
//! multicast carries one for every member, like PBFT's authenticators). A node holds only the
//! keys of the pairs it belongs to, so a liar can tag a message as itself, never as someone
//! else. The CRC inside the frame still catches noise; the tag catches intent.
//!
//! Layout after the frame: `count: u16 LE`, then `count` times `to: u16 LE, tag: [u8; 16]`
//! (a count of two bytes, so a multicast in a group of 1,024 carries every member's tag).

use crate::node::NodeId;

/// Bytes of one tag.
pub const TAG_BYTES: usize = 16;
/// Bytes of one trailer entry: recipient and tag.
const ENTRY_BYTES: usize = 2 + TAG_BYTES;
/// Bytes of the trailer's count.
const COUNT_BYTES: usize = 2;

/// The pairwise keys of one node.
#[derive(Clone)]
pub struct Keyring {
    /// Whose keys these are.
    me: NodeId,
    /// `keys[j]`: the key this node shares with node `j`.
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "Keyring({}, {} keys)", self.me, self.keys.len())
    }
}

impl Keyring {
    /// The keys of node `me` among `nodes` nodes, derived from a group secret.
    ///
    /// In the simulator each node is given only its own ring. A real deployment that derives
    /// rings from one shared secret trusts every holder of the secret; provision per-pair keys
    /// where that matters.
    pub fn derive(secret: &[u8; 32], me: NodeId, nodes: u16) -> Keyring {
        let keys = (0..nodes)
            .map(|j| {
                let (lo, hi) = if me.0 <= j { (me.0, j) } else { (j, me.0) };
                let mut pair = [0u8; 4];
                pair[..2].copy_from_slice(&lo.to_le_bytes());
                pair[2..].copy_from_slice(&hi.to_le_bytes());
                *blake3::keyed_hash(secret, &pair).as_bytes()
            })
            .collect();
        Keyring { me, keys }
    }

    /// A group secret from a passphrase or a seed.
    pub fn secret(context: &str, material: &[u8]) -> [u8; 32] {
        blake3::derive_key(context, material)
    }

    fn tag(&self, peer: NodeId, frame: &[u8]) -> Option<[u8; TAG_BYTES]> {
        let key = self.keys.get(peer.0 as usize)?;
        let mut tag = [0u8; TAG_BYTES];
        tag.copy_from_slice(&blake3::keyed_hash(key, frame).as_bytes()[..TAG_BYTES]);
        Some(tag)
    }

    /// Appends the trailer for `recipients` to `datagram`, which holds one frame (this node
    /// and unknown ids are skipped; at most `u16::MAX` tags).
    pub fn sign(&self, datagram: &mut Vec<u8>, recipients: impl IntoIterator<Item = NodeId>) {
        let frame_len = datagram.len();
        datagram.extend_from_slice(&[0; COUNT_BYTES]);
        let mut count = 0u16;
        for to in recipients {
            if to == self.me || count == u16::MAX {
                continue;
            }
            let Some(tag) = self.tag(to, &datagram[..frame_len]) else {
                continue;
            };
            datagram.extend_from_slice(&to.0.to_le_bytes());
            datagram.extend_from_slice(&tag);
            count += 1;
        }
        datagram[frame_len..frame_len + COUNT_BYTES].copy_from_slice(&count.to_le_bytes());
    }

    /// Whether `trailer` holds a valid tag from `from` for this node over `frame`.
    pub fn verify(&self, from: NodeId, frame: &[u8], trailer: &[u8]) -> bool {
        let Some((count, entries)) = trailer.split_first_chunk::<COUNT_BYTES>() else {
            return false;
        };
        if entries.len() != usize::from(u16::from_le_bytes(*count)) * ENTRY_BYTES {
            return false;
        }
        let Some(expected) = self.tag(from, frame) else {
            return false;
        };
        entries.chunks_exact(ENTRY_BYTES).any(|entry| {
            let to = u16::from_le_bytes([entry[0], entry[1]]);
            // Constant time in the tag, so timing tells a forger nothing.
            to == self.me.0
                && entry[2..]
                    .iter()
                    .zip(expected.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rings(n: u16) -> Vec<Keyring> {
        let secret = Keyring::secret("faultline test", b"seed");
        (0..n)
            .map(|i| Keyring::derive(&secret, NodeId(i), n))
            .collect()
    }

    #[test]
    fn a_multicast_verifies_at_every_recipient() {
        let rings = rings(4);
        let frame = b"a frame".to_vec();
        let mut datagram = frame.clone();
        rings[1].sign(&mut datagram, [NodeId(0), NodeId(2), NodeId(3)]);
        for r in [0, 2, 3] {
            assert!(rings[r].verify(NodeId(1), &frame, &datagram[frame.len()..]));
        }
    }

    #[test]
    fn a_multicast_in_a_group_of_1024_verifies_at_the_last_member() {
        let secret = Keyring::secret("faultline test", b"seed");
        let sender = Keyring::derive(&secret, NodeId(0), 1024);
        let last = Keyring::derive(&secret, NodeId(1023), 1024);
        let frame = b"HB".to_vec();
        let mut datagram = frame.clone();
        sender.sign(&mut datagram, (0..1024).map(NodeId));
        assert_eq!(
            datagram.len(),
            frame.len() + COUNT_BYTES + 1023 * ENTRY_BYTES
        );
        assert!(last.verify(NodeId(0), &frame, &datagram[frame.len()..]));
    }

    #[test]
    fn a_forged_sender_is_refused() {
        let rings = rings(3);
        let frame = b"COORDINATOR".to_vec();
        let mut datagram = frame.clone();
        // Node 0 tags with its own keys but the receiver believes node 2 sent it.
        rings[0].sign(&mut datagram, [NodeId(1)]);
        assert!(!rings[1].verify(NodeId(2), &frame, &datagram[frame.len()..]));
        assert!(rings[1].verify(NodeId(0), &frame, &datagram[frame.len()..]));
    }

    #[test]
    fn a_changed_frame_or_trailer_is_refused() {
        let rings = rings(2);
        let frame = b"payload".to_vec();
        let mut datagram = frame.clone();
        rings[0].sign(&mut datagram, [NodeId(1)]);
        let trailer = datagram[frame.len()..].to_vec();
        assert!(!rings[1].verify(NodeId(0), b"paylobd", &trailer));
        for i in 0..trailer.len() {
            let mut bad = trailer.clone();
            bad[i] ^= 0x10;
            assert!(!rings[1].verify(NodeId(0), &frame, &bad), "byte {i}");
        }
        assert!(!rings[1].verify(NodeId(0), &frame, &trailer[..trailer.len() - 1]));
        assert!(!rings[1].verify(NodeId(0), &frame, &[]));
    }
}
