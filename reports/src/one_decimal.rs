//! Numbers with one decimal, byte for byte as `{:.1}` writes them, without the float
//! formatting machinery.
//!
//! The clients' layers of a report write thousands of coordinates with one decimal; `{:.1}`
//! on an `f64` takes several hundred instructions (it formats the exact binary value, in
//! general with big numbers), and was most of the cost of drawing the client traffic and
//! the latency and throughput plots. A coordinate is small: its tenths, rounded exactly,
//! fit a 128-bit product of its mantissa.

use std::fmt;

/// `x` as `{:.1}` writes it: `{}` of `OneDecimal(x)` is `{x:.1}` of `x` (other flags, such as
/// a width, are not taken into account).
#[derive(Clone, Copy, Debug)]
pub struct OneDecimal(pub f64);

impl fmt::Display for OneDecimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match text(self.0) {
            Some((buf, at)) => f.write_str(ascii(&buf[at..])),
            // Not finite, or too large to count in tenths here: the general formatting.
            None => write!(f, "{:.1}", self.0),
        }
    }
}

/// Appends `x` as `{:.1}` writes it, without `write!` (whose machinery costs as much again
/// as the number, for an element of a few coordinates).
pub fn push_one_decimal(out: &mut String, x: f64) {
    match text(x) {
        // Pushed as characters: checking the bytes for `push_str` cost as much again.
        Some((buf, at)) => out.extend(buf[at..].iter().map(|&b| char::from(b))),
        None => {
            use std::fmt::Write as _;
            let _ = write!(out, "{x:.1}");
        }
    }
}

/// The text of `x` with one decimal: a buffer and where the text starts in it; `None` for a
/// value [`tenths`] does not count.
fn text(x: f64) -> Option<([u8; 24], usize)> {
    let (negative, tenths) = tenths(x)?;
    // A sign, up to twenty digits, a point and a digit.
    let mut buf = [0u8; 24];
    let mut at = buf.len() - 2;
    buf[at] = b'.';
    buf[at + 1] = b'0' + (tenths % 10) as u8;
    let mut units = tenths / 10;
    loop {
        at -= 1;
        buf[at] = b'0' + (units % 10) as u8;
        units /= 10;
        if units == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        buf[at] = b'-';
    }
    Some((buf, at))
}

/// The digits, point and sign [`text`] wrote, as a `str`.
fn ascii(bytes: &[u8]) -> &str {
    // Only ASCII was written: this cannot fail.
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The sign of `x` and `|x| * 10` rounded to an integer exactly, ties to even (as `{:.1}`
/// rounds the exact binary value); `None` for a value not finite or of 2^60 and more.
fn tenths(x: f64) -> Option<(bool, u64)> {
    let bits = x.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    if biased == 0x7ff {
        return None;
    }
    // |x| = mantissa * 2^exponent, exactly.
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    // Below 2^57: ten times a 53-bit mantissa.
    let scaled = mantissa * 10;
    if exponent >= 0 {
        if exponent > 6 {
            return None;
        }
        // Below 2^63.
        return Some((negative, scaled << exponent));
    }
    let shift = exponent.unsigned_abs();
    if shift >= 58 {
        // Under half a tenth (`scaled` is below 2^57): no tenth at all.
        return Some((negative, 0));
    }
    let whole = scaled >> shift;
    let rest = scaled & ((1 << shift) - 1);
    let half = 1 << (shift - 1);
    let rounded = if rest > half || (rest == half && whole & 1 == 1) {
        whole + 1
    } else {
        whole
    };
    Some((negative, rounded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f64) {
        let expected = format!("{x:.1}");
        assert_eq!(OneDecimal(x).to_string(), expected, "{x:e}");
        let mut pushed = "<".to_string();
        push_one_decimal(&mut pushed, x);
        assert_eq!(pushed, format!("<{expected}"), "{x:e}");
    }

    #[test]
    fn writes_what_the_formatting_machinery_writes() {
        // Ties (exact in binary) round to even; others by their exact binary value.
        for x in [
            0.0,
            -0.0,
            0.05,
            0.15,
            0.25,
            0.35,
            0.75,
            1.25,
            1.75,
            2.5,
            9.95,
            99.95,
            123.45,
            -0.01,
            -0.25,
            -7.75,
            1e-300,
            5e-324,
            -5e-324,
            1e15,
            1e17,
            1e18,
            1e19,
            1e20,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            check(x);
        }
        // Every quarter and tenth around a picture's coordinates, and many in between.
        for i in -20_000..20_000 {
            check(i as f64 / 4.0);
            check(i as f64 / 10.0);
            check(i as f64 / 20.0);
            check(i as f64 * 0.05);
        }
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Random bit patterns, all exponents, and random values of a picture's range.
            check(f64::from_bits(state));
            check((state >> 11) as f64 / (1u64 << 53) as f64 * 3000.0 - 100.0);
            check((state >> 11) as f64 / (1u64 << 40) as f64);
        }
    }
}
