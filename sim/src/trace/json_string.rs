//! JSON strings for the trace writer, byte for byte as serde_json writes them.
//!
//! Labels are protocol message names: they almost never need escaping, and when one does,
//! serde_json writes it (the same escapes as every other line). A trace has tens of
//! thousands of labels and a protocol a dozen: [`Labels`] checks each label the protocol lends
//! (`&'static str`) once, and then knows it by its address and length. Checking every label
//! was a seventh of the trace writer's cost.

use std::borrow::Cow;

/// Labels remembered: more than a protocol has. A label is looked for in [`PROBES`] slots
/// from the one its address hashes to.
const KNOWN: usize = 64;
/// Slots a label may be in.
const PROBES: usize = 4;
/// The longest label remembered, quotes included.
const QUOTED_MAX: usize = 24;

/// A label that needs no escaping, as written.
#[derive(Clone, Copy)]
struct Known {
    /// Its address and length; (0, 0) for an empty slot.
    key: (usize, usize),
    /// The label between quotes, zeros after.
    quoted: [u8; QUOTED_MAX],
}

/// Writes labels, remembering the borrowed ones that need no escaping.
pub struct Labels {
    /// Labels lent by the protocol that need no escaping, near the slot their address hashes
    /// to. A `&'static str` never changes and is never freed, so its address and length name
    /// its text for the whole run.
    known: Box<[Known; KNOWN]>,
}

impl Default for Labels {
    fn default() -> Self {
        Labels {
            known: Box::new(
                [Known {
                    key: (0, 0),
                    quoted: [0; QUOTED_MAX],
                }; KNOWN],
            ),
        }
    }
}

impl Labels {
    /// Appends `label` as a JSON string.
    #[allow(
        clippy::ptr_arg,
        reason = "only a borrowed label is remembered: an owned one's address may be reused"
    )]
    #[inline]
    pub fn write(&mut self, label: &Cow<'static, str>, out: &mut Vec<u8>) {
        match label {
            Cow::Borrowed(s) => self.write_static(s, out),
            // An owned label's address may be another text's later: it is checked every time.
            Cow::Owned(s) => string(s, out),
        }
    }

    /// Appends `s` as a JSON string: a label, or the name of an event's field or variant.
    /// Inlined up to the common case, a label found at its own slot.
    #[inline(always)]
    pub fn write_static(&mut self, s: &'static str, out: &mut Vec<u8>) {
        let key = (s.as_ptr() as usize, s.len());
        let known = &self.known[home(key.0)];
        if known.key == key {
            // A fixed-size append cut to size: a slice of variable length called `memcpy`.
            let len = out.len();
            out.extend_from_slice(&known.quoted);
            out.truncate(len + s.len() + 2);
        } else {
            self.write_elsewhere(s, out);
        }
    }

    /// [`Labels::write_static`] of a label not at its own slot: further on, new, or one
    /// that needs escaping.
    #[inline(never)]
    fn write_elsewhere(&mut self, s: &'static str, out: &mut Vec<u8>) {
        // An empty label's address may be anything, even 0: it is not remembered (nor is a
        // label too long to copy in one piece).
        if s.is_empty() || s.len() + 2 > QUOTED_MAX {
            string(s, out);
            return;
        }
        let key = (s.as_ptr() as usize, s.len());
        let home = home(key.0);
        for probe in 0..PROBES {
            let known = &mut self.known[(home + probe) % KNOWN];
            if known.key == key {
                // A fixed-size append cut to size: a slice of variable length called `memcpy`.
                let len = out.len();
                out.extend_from_slice(&known.quoted);
                out.truncate(len + s.len() + 2);
                return;
            }
            if known.key == (0, 0) {
                if needs_escape(s.as_bytes()) {
                    break;
                }
                known.key = key;
                known.quoted[0] = b'"';
                known.quoted[1..=s.len()].copy_from_slice(s.as_bytes());
                known.quoted[s.len() + 1] = b'"';
                quoted(s, out);
                return;
            }
        }
        // A label that needs escaping, or one for which no slot is left (a protocol of
        // countless labels): checked every time.
        string(s, out);
    }
}

/// The slot a label at address `ptr` is looked for first: Fibonacci hashing.
fn home(ptr: usize) -> usize {
    ((ptr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (u64::BITS - KNOWN.ilog2())) as usize
}

/// `s` between quotes, as it is: for a string that needs no escaping.
fn quoted(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// A JSON string.
pub fn string(s: &str, out: &mut Vec<u8>) {
    if needs_escape(s.as_bytes()) {
        // Writing a str into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        quoted(s, out);
    }
}

/// Whether JSON must escape a byte of `bytes`: a control character, a quote or a backslash.
/// Eight bytes at a time (a byte at a time was most of the cost of writing a label).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `w` is zero: the classic test, exact as to whether there is one.
    let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & HIGH != 0;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // A byte below 0x20 (bytes of 0x80 and up, UTF-8, are not below it).
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
        if control
            || zero_byte(w ^ (ONES * u64::from(b'"')))
            || zero_byte(w ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    (chunks.remainder().iter()).any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_needs_escaping_exactly_when_it_has_a_control_quote_or_backslash() {
        for len in 0..20 {
            let clean: Vec<u8> = (0..len).map(|i| b"azAZ09 ~\x7f"[i % 9]).collect();
            assert!(!needs_escape(&clean), "{clean:?}");
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\'] {
                    let mut s = clean.clone();
                    s[at] = bad;
                    assert!(needs_escape(&s), "{s:?}");
                }
                // Neighbours of the bad bytes, and UTF-8, are clean.
                for good in [0x20u8, b'!', b'#', b'[', b']', 0x80, 0xe9, 0xff] {
                    let mut s = clean.clone();
                    s[at] = good;
                    assert!(!needs_escape(&s), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn remembered_labels_are_written_as_serde_json_writes_them() {
        const LABELS: [&str; 10] = [
            "HB",
            "APPEND",
            "",
            "a\"b",
            "tab\t",
            "é→",
            "VOTE",
            "HB",
            "TWENTY_TWO_BYTES_LABEL",
            "A_LABEL_TOO_LONG_TO_BE_REMEMBERED",
        ];
        let mut labels = Labels::default();
        for _ in 0..3 {
            for l in LABELS {
                // Borrowed labels (remembered from the second time on) and owned ones.
                for label in [Cow::Borrowed(l), Cow::Owned(l.to_string())] {
                    let mut out = Vec::new();
                    labels.write(&label, &mut out);
                    assert_eq!(out, serde_json::to_vec(l).unwrap(), "{l:?}");
                }
            }
        }
    }

    #[test]
    fn more_labels_than_slots_are_all_written_right() {
        // Leaked like a protocol's labels: `&'static str`, each at its own address.
        let many: Vec<&'static str> = (0..300)
            .map(|i| &*String::leak(format!("LABEL_{i}")))
            .collect();
        let mut labels = Labels::default();
        for _ in 0..2 {
            for l in &many {
                let mut out = Vec::new();
                labels.write(&Cow::Borrowed(*l), &mut out);
                assert_eq!(out, serde_json::to_vec(l).unwrap(), "{l:?}");
            }
        }
    }
}
