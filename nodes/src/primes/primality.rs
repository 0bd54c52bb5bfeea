//! Deterministic Miller-Rabin, exact for every 64-bit integer.
//!
//! The witnesses 2, 3, 5, ..., 37 (the first twelve primes) decide primality for every
//! n < 3.3 · 10^24 (Sorenson and Webster, 2015), so no 64-bit composite passes all of them.
//! Products are taken in u128, so nothing overflows near 2^64.

/// The witnesses that make the test exact below 2^64.
const WITNESSES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];

/// `a * b mod m` without overflow.
fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    ((a as u128 * b as u128) % m as u128) as u64
}

/// `base^exp mod m` by squaring.
fn pow_mod(mut base: u64, mut exp: u64, m: u64) -> u64 {
    let mut acc = 1 % m;
    base %= m;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul_mod(acc, base, m);
        }
        base = mul_mod(base, base, m);
        exp >>= 1;
    }
    acc
}

/// Whether `n` is prime.
pub fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    for p in WITNESSES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    // n - 1 = d · 2^s with d odd.
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    'witness: for a in WITNESSES {
        let mut x = pow_mod(a, d, n);
        if x == 1 || x == n - 1 {
            continue;
        }
        for _ in 1..s {
            x = mul_mod(x, x, n);
            if x == n - 1 {
                continue 'witness;
            }
        }
        return false;
    }
    true
}

/// The primes among `numbers`, in the order given (duplicates kept).
pub fn primes_in(numbers: &[u64]) -> Vec<u64> {
    numbers.iter().copied().filter(|n| is_prime(*n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trial division, the reference for small numbers.
    fn by_trial(n: u64) -> bool {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    }

    #[test]
    fn agrees_with_trial_division_below_100_000() {
        for n in 0..100_000 {
            assert_eq!(is_prime(n), by_trial(n), "{n}");
        }
    }

    #[test]
    fn numbers_near_2_pow_64() {
        assert!(is_prime(18_446_744_073_709_551_557)); // the largest 64-bit prime
        assert!(!is_prime(18_446_744_073_709_551_615)); // 2^64 - 1 = 3 · 5 · 17 · 257 · ...
        assert!(!is_prime(18_446_744_073_709_551_559)); // odd, divisible by 3
        assert!(!is_prime(18_446_744_073_709_551_613)); // = 13 · 3889 · ... composite
        assert!(is_prime(18_446_744_073_709_551_533));
        // 2^61 - 1 is a Mersenne prime; 2^62 - 1 is not.
        assert!(is_prime((1 << 61) - 1));
        assert!(!is_prime((1 << 62) - 1));
    }

    #[test]
    fn strong_pseudoprimes_to_small_bases_are_caught() {
        // Composite, yet a strong probable prime to bases 2..=31 (the smallest such):
        // 3825123056546413051 = 149491 · 747451 · 34233211.
        assert!(!is_prime(3_825_123_056_546_413_051));
        assert!(!is_prime(3_215_031_751)); // = 151 · 751 · 28351, spsp(2,3,5,7)
        assert!(!is_prime(561)); // Carmichael
        assert!(!is_prime(4_294_967_297)); // F5 = 641 · 6700417
    }

    #[test]
    fn primes_in_keeps_the_primes_in_order() {
        assert_eq!(primes_in(&[10, 7, 1, 2, 9, 13]), vec![7, 2, 13]);
    }
}
