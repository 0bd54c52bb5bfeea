//! The log's chain hash: FNV-1a (64 bits) over the previous chain and an entry's bytes, so
//! equal chains at an index mean equal logs up to it (with overwhelming likelihood).

/// FNV-1a's offset basis.
const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a's prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of `bytes`, starting from `state`.
fn fnv1a(mut state: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        state ^= u64::from(*b);
        state = state.wrapping_mul(PRIME);
    }
    state
}

/// The chain after appending an entry encoded as `entry_bytes` to a log whose chain is `prev`.
pub(crate) fn chain(prev: u64, entry_bytes: &[u8]) -> u64 {
    fnv1a(fnv1a(OFFSET_BASIS, &prev.to_le_bytes()), entry_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_and_chains_depend_on_order() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv1a(OFFSET_BASIS, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(OFFSET_BASIS, b"a"), 0xaf63_dc4c_8601_ec8c);
        let ab = chain(chain(0, b"a"), b"b");
        let ba = chain(chain(0, b"b"), b"a");
        assert_ne!(ab, ba);
        assert_eq!(ab, chain(chain(0, b"a"), b"b"));
    }
}
