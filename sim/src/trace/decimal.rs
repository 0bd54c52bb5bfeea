//! Decimal numbers for the trace writer, byte for byte as serde_json (itoa) writes them.
//!
//! A trace's numbers are mostly times (eight digits) and message ids (fifteen or sixteen),
//! and they repeat their leading digits from one record to the next: records follow each
//! other within milliseconds, and a sender's message ids differ only in their last digits for
//! thousands of messages. [`Decimals`] remembers the text of the leading digits (all but the
//! last four) of the numbers it wrote lately, so that most numbers cost a lookup and four
//! digits: writing every number in full was a third of the trace writer's cost.

/// "00" to "99": numbers are written two digits at a time, as itoa does (a digit at a time
/// was a third of the writer's cost).
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The last digits of a number that [`Decimals`] writes itself; the ones before are looked up.
const TAIL: u64 = 10_000;

/// Leading digits remembered: a few times and a few senders' ids at once.
const PREFIXES: usize = 64;

/// The text of a number's leading digits (the number over [`TAIL`]).
#[derive(Clone, Copy)]
struct Prefix {
    /// The number over [`TAIL`] (`u64::MAX`, which no number over it equals: none yet).
    value: u64,
    /// Its digits: at most sixteen, since `u64::MAX / TAIL` has sixteen.
    text: [u8; 16],
    /// How many of `text` are digits.
    len: usize,
}

/// Writes numbers, remembering the leading digits of those written lately.
pub struct Decimals {
    /// Recent leading digits, at the slot their value hashes to.
    prefixes: Box<[Prefix; PREFIXES]>,
}

impl Default for Decimals {
    fn default() -> Self {
        Decimals {
            prefixes: Box::new(
                [Prefix {
                    value: u64::MAX,
                    text: [0; 16],
                    len: 0,
                }; PREFIXES],
            ),
        }
    }
}

impl Decimals {
    /// Appends `n` in decimal, as [`number`] does.
    #[inline(always)]
    pub fn write(&mut self, n: u64, out: &mut Vec<u8>) {
        if n < TAIL {
            number(n, out);
        } else {
            self.long(n, out);
        }
    }

    /// [`Decimals::write`] of a number of five digits or more: its leading digits from the
    /// cache (written and remembered when they are not there), then its last four.
    fn long(&mut self, n: u64, out: &mut Vec<u8>) {
        let (high, low) = (n / TAIL, (n % TAIL) as u32);
        // Fibonacci hashing: consecutive times, and ids of different senders, spread out.
        let slot = (high.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - PREFIXES.ilog2())) as usize;
        let prefix = &mut self.prefixes[slot];
        if prefix.value == high {
            // A fixed-size append cut to size: a slice of variable length called `memcpy`.
            let len = out.len();
            out.extend_from_slice(&prefix.text);
            out.truncate(len + prefix.len);
        } else {
            let start = out.len();
            number(high, out);
            let digits = &out[start..];
            prefix.value = high;
            prefix.len = digits.len();
            prefix.text[..digits.len()].copy_from_slice(digits);
        }
        let [a, b] = pair(low / 100);
        let [c, d] = pair(low % 100);
        out.extend_from_slice(&[a, b, c, d]);
    }
}

/// A decimal number, as serde_json (itoa) writes it.
///
/// Eight digits at a time, with no loop: message ids have sixteen digits and times eight,
/// and a loop over pairs of digits was a good part of the writer's cost.
#[inline(always)]
pub fn number(n: u64, out: &mut Vec<u8>) {
    // Node ids mostly: a single digit needs no call.
    if n < 10 {
        out.push(b'0' + n as u8);
    } else {
        longer_number(n, out);
    }
}

/// [`number`] of two digits or more.
fn longer_number(n: u64, out: &mut Vec<u8>) {
    const E8: u64 = 100_000_000;
    if n < E8 {
        leading(n as u32, out);
    } else if n < E8 * E8 {
        leading((n / E8) as u32, out);
        out.extend_from_slice(&eight((n % E8) as u32));
    } else {
        let high = n / E8;
        leading((high / E8) as u32, out);
        out.extend_from_slice(&eight((high % E8) as u32));
        out.extend_from_slice(&eight((n % E8) as u32));
    }
}

/// The two digits of `n` (below 100).
fn pair(n: u32) -> [u8; 2] {
    let i = n as usize * 2;
    [DIGIT_PAIRS[i], DIGIT_PAIRS[i + 1]]
}

/// `n` (below 10^8) as exactly eight digits, zeros in front.
fn eight(n: u32) -> [u8; 8] {
    let (high, low) = (n / 10_000, n % 10_000);
    let [a, b] = pair(high / 100);
    let [c, d] = pair(high % 100);
    let [e, f] = pair(low / 100);
    let [g, h] = pair(low % 100);
    [a, b, c, d, e, f, g, h]
}

/// `n` (below 10^8) with no zeros in front: the first digits of a number.
fn leading(n: u32, out: &mut Vec<u8>) {
    if n < 10 {
        out.push(b'0' + n as u8);
    } else if n < 100 {
        out.extend_from_slice(&pair(n));
    } else {
        // The eight digits as one little-endian word, shifted past the zeros in front: a
        // fixed-size append cut to size, where a slice of variable length called `memcpy`.
        let digits = n.ilog10() as usize + 1;
        let word = u64::from_le_bytes(eight(n)) >> (8 * (8 - digits));
        let len = out.len();
        out.extend_from_slice(&word.to_le_bytes());
        out.truncate(len + digits);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers of every length with every digit, message ids and times among them.
    fn cases() -> Vec<u64> {
        let mut n = 1u64;
        let mut cases = vec![0, 9, 10, 99, 100, 101, u64::MAX, u64::MAX - 1];
        while let Some(m) = n.checked_mul(10) {
            cases.extend([n - 1, n, n + 1]);
            n = m;
        }
        cases.extend((0..2_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (i % 64)));
        cases.extend([1_125_899_906_842_625, 337_000, 59_999_999, 100_000_000]);
        cases
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for n in cases() {
            let mut out = Vec::new();
            number(n, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
    }

    #[test]
    fn remembered_leading_digits_give_the_same_text() {
        let mut decimals = Decimals::default();
        // Twice over, so that the second pass finds every prefix remembered (or replaced by
        // another of the same slot); then runs of times and of a sender's message ids, which
        // share their leading digits.
        let mut all = cases();
        all.extend(cases());
        all.extend((59_990_000..60_010_000).step_by(7));
        all.extend((0..30_000u64).map(|i| (3 << 48) | i));
        all.extend((0..30_000u64).map(|i| (i % 5) << 48 | (i / 5)));
        let mut out = Vec::new();
        let mut expected = String::new();
        for n in all {
            decimals.write(n, &mut out);
            out.push(b',');
            expected.push_str(&n.to_string());
            expected.push(',');
        }
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }
}
