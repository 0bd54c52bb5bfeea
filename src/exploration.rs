//! The results of many runs of one scenario, as `explore.json` keeps them: counts per outcome,
//! the first failing seeds and the distributions of election and recovery times, all bounded
//! however many seeds ran. `explore` and `merge` write them; `compare` reads the simulator's
//! and sets real runs beside them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::human_ms;
use crate::summary::Summary;

/// Failing seeds kept by seed in `explore.json`; the rest are only counted (a search that
/// fails every seed for a day must not grow without bound).
pub const FAILURES_KEPT_MAX: usize = 1000;

/// By default `explore` runs one seed in this many twice and compares their digests: a cheap
/// watch (1.6 % more work) for nondeterminism creeping into a protocol. (Here, not in the
/// sim-only `explore`, because the command line of both flavors names it.)
pub const DETERMINISM_EVERY_DEFAULT: u64 = 64;

/// What one seed came to, on its way from a worker into the [`Exploration`]; failing ones are
/// kept in `explore.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// Its trace digest.
    pub digest: String,
    /// Whether every check held.
    pub ok: bool,
    /// The first check that failed ("nondeterminism" when two runs differed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_check: Option<String>,
    /// The first check that judged nothing where the scenario wants judgement: the seed
    /// found no bug, and showed nothing either. Not a failure: no seed file is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vacuous: Option<String>,
    /// Its failure's seed file, relative to where explore ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_file: Option<String>,
    /// Each election's duration (folded into the histogram, not kept per seed).
    #[serde(default, skip_serializing)]
    pub elections_ms: Vec<f64>,
    /// Each recovery's duration (folded into the histogram, not kept per seed).
    #[serde(default, skip_serializing)]
    pub recoveries_ms: Vec<f64>,
    /// Simulated time run.
    pub sim_ms: f64,
    /// Datagrams delivered.
    pub delivered: u64,
}

/// All results of an exploration (one shard of it, or several merged), in memory that does
/// not grow with the number of seeds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    /// The scenario's name.
    pub scenario: String,
    /// The protocol.
    pub protocol: String,
    /// Planted bugs switched on.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// The seeds asked for, "A..B" ("A.." open-ended); merged shards keep the first's.
    #[serde(default)]
    pub seed_range: String,
    /// The slice of them, "I/N", when sharded (empty when not, or merged).
    #[serde(default)]
    pub shard: String,
    /// Wall seconds spent (summed over shards when merged).
    pub wall_s: f64,
    /// Whether SIGINT or SIGTERM stopped it before its seeds, failures or time ran out.
    #[serde(default)]
    pub interrupted: bool,
    /// Seeds run to the end (a seed abandoned at an interrupt is not counted).
    pub seeds_run: u64,
    /// Seeds that held every check.
    pub passed: u64,
    /// Seeds that failed a check (or ran differently twice).
    pub failed: u64,
    /// Failed seeds per check that failed first.
    pub failed_by_check: BTreeMap<String, u64>,
    /// Seeds that violated nothing but had a check that judged nothing (not counted as
    /// passed: nothing was found, and nothing was shown either).
    #[serde(default)]
    pub vacuous: u64,
    /// Those seeds per check that judged nothing first.
    #[serde(default)]
    pub vacuous_by_check: BTreeMap<String, u64>,
    /// The lowest failing seeds, by seed, at most [`FAILURES_KEPT_MAX`].
    pub failures: Vec<SeedResult>,
    /// Seeds whose determinism was checked (run twice).
    #[serde(default)]
    pub determinism_checked: u64,
    /// Every election's duration, over all seeds.
    pub elections_ms: LogHistogram,
    /// Every recovery's duration, over all seeds.
    pub recoveries_ms: LogHistogram,
    /// Simulated microseconds, over all seeds (whole numbers, so merging is exact).
    pub sim_us: u64,
    /// Datagrams delivered, over all seeds.
    pub delivered: u64,
    /// The XOR of a hash of every (seed, digest): two explorations of one set of seeds agree
    /// on it however the seeds were spread over workers, shards and machines.
    pub digests_xor: String,
}

impl Exploration {
    /// Folds one seed in; the result is the same whatever order the seeds come in.
    pub fn add(&mut self, r: SeedResult) {
        self.seeds_run += 1;
        for &ms in &r.elections_ms {
            self.elections_ms.record_ms(ms);
        }
        for &ms in &r.recoveries_ms {
            self.recoveries_ms.record_ms(ms);
        }
        self.sim_us += ms_to_us(r.sim_ms);
        self.delivered += r.delivered;
        self.digests_xor = xor_hex(&self.digests_xor, seed_hash(r.seed, &r.digest));
        if r.ok {
            match &r.vacuous {
                Some(check) => {
                    self.vacuous += 1;
                    *self.vacuous_by_check.entry(check.clone()).or_default() += 1;
                }
                None => self.passed += 1,
            }
            return;
        }
        self.failed += 1;
        let check = r.failed_check.clone().unwrap_or_else(|| "?".into());
        *self.failed_by_check.entry(check).or_default() += 1;
        self.keep_failure(SeedResult {
            elections_ms: Vec::new(),
            recoveries_ms: Vec::new(),
            ..r
        });
    }

    /// Adds another shard's results (`merge`); refuses the same seeds counted twice.
    pub fn merge(&mut self, x: Exploration) -> Result<(), String> {
        if (self.protocol.as_str(), self.scenario.as_str(), &self.bugs)
            != (x.protocol.as_str(), x.scenario.as_str(), &x.bugs)
        {
            return Err(format!(
                "explores {} / {}, not {} / {}",
                x.protocol, x.scenario, self.protocol, self.scenario
            ));
        }
        if !self.shard.is_empty() && self.shard == x.shard && self.seed_range == x.seed_range {
            return Err(format!(
                "shard {} of {} is given twice: its seeds would count twice",
                x.shard, x.seed_range
            ));
        }
        self.shard.clear();
        self.wall_s += x.wall_s;
        self.interrupted |= x.interrupted;
        self.seeds_run += x.seeds_run;
        self.passed += x.passed;
        self.failed += x.failed;
        for (check, n) in x.failed_by_check {
            *self.failed_by_check.entry(check).or_default() += n;
        }
        self.vacuous += x.vacuous;
        for (check, n) in x.vacuous_by_check {
            *self.vacuous_by_check.entry(check).or_default() += n;
        }
        for f in x.failures {
            self.keep_failure(f);
        }
        self.determinism_checked += x.determinism_checked;
        self.elections_ms.merge(&x.elections_ms);
        self.recoveries_ms.merge(&x.recoveries_ms);
        self.sim_us += x.sim_us;
        self.delivered += x.delivered;
        self.digests_xor = xor_hex(
            &self.digests_xor,
            u64::from_str_radix(&x.digests_xor, 16).unwrap_or(0),
        );
        Ok(())
    }

    /// Keeps `f` if it is among the lowest [`FAILURES_KEPT_MAX`] failing seeds.
    fn keep_failure(&mut self, f: SeedResult) {
        let at = self.failures.partition_point(|k| k.seed < f.seed);
        if self.failures.get(at).is_some_and(|k| k.seed == f.seed) {
            return;
        }
        self.failures.insert(at, f);
        self.failures.truncate(FAILURES_KEPT_MAX);
        assert!(self.failures.windows(2).all(|w| w[0].seed < w[1].seed));
    }
}

/// Milliseconds as whole microseconds (negative durations count as 0).
fn ms_to_us(ms: f64) -> u64 {
    (ms * 1000.0).round().max(0.0) as u64
}

/// A well-mixed 64-bit hash of one seed's result (splitmix64 finaliser over seed and digest).
fn seed_hash(seed: u64, digest: &str) -> u64 {
    let d = u64::from_str_radix(digest, 16).unwrap_or(0);
    let mut z = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ d;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `hex` (16 hex digits, empty for none yet) XOR `v`, as 16 hex digits.
fn xor_hex(hex: &str, v: u64) -> String {
    format!("{:016x}", u64::from_str_radix(hex, 16).unwrap_or(0) ^ v)
}

/// Sub-buckets per power of two: a bucket is at most 1/32 of its values wide, so a quantile
/// read from the midpoint is within 1.6 % of the true one.
const SUB_BUCKETS: u64 = 32;

/// Buckets in all: exact below 2 * SUB_BUCKETS µs, then 32 per power of two up to u64::MAX.
const BUCKETS: u32 = 1920;

/// Durations in a fixed set of logarithmic buckets of whole microseconds: bounded memory (at
/// most [`BUCKETS`] counts) and, being integers, the same counts whatever order values come in
/// or however shards are merged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogHistogram {
    /// Values recorded.
    pub count: u64,
    /// The smallest value, in µs (0 when empty).
    pub min_us: u64,
    /// The largest value, in µs.
    pub max_us: u64,
    /// How many values fell in each non-empty bucket, by bucket index.
    pub buckets: BTreeMap<u32, u64>,
}

impl LogHistogram {
    /// Records a duration in milliseconds.
    pub fn record_ms(&mut self, ms: f64) {
        self.record_us(ms_to_us(ms));
    }

    /// Records a duration in microseconds.
    pub fn record_us(&mut self, us: u64) {
        self.min_us = if self.count == 0 {
            us
        } else {
            self.min_us.min(us)
        };
        self.max_us = self.max_us.max(us);
        self.count += 1;
        *self.buckets.entry(bucket_of(us)).or_default() += 1;
        assert!(self.buckets.len() <= BUCKETS as usize);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &LogHistogram) {
        if other.count == 0 {
            return;
        }
        self.min_us = if self.count == 0 {
            other.min_us
        } else {
            self.min_us.min(other.min_us)
        };
        self.max_us = self.max_us.max(other.max_us);
        self.count += other.count;
        for (&b, &n) in &other.buckets {
            *self.buckets.entry(b).or_default() += n;
        }
    }

    /// The `p` quantile (0..=1) in ms, as the nearest-rank value's bucket midpoint.
    pub fn quantile_ms(&self, p: f64) -> Option<f64> {
        self.sample_ms(&[p]).first().copied()
    }

    /// The values at quantiles `ps` (ascending, 0..=1), in ms, in one pass over the buckets.
    pub fn sample_ms(&self, ps: &[f64]) -> Vec<f64> {
        if self.count == 0 {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(ps.len());
        let mut buckets = self.buckets.iter();
        let (mut bucket, mut below) = (None, 0u64);
        for &p in ps {
            let rank = ((self.count - 1) as f64 * p.clamp(0.0, 1.0)).round() as u64;
            // Advance to the bucket holding the value of this rank (0-based).
            while bucket.is_none_or(|(_, n): (u32, u64)| below + n <= rank) {
                if let Some((_, n)) = bucket {
                    below += n;
                }
                let Some((&b, &n)) = buckets.next() else {
                    break;
                };
                bucket = Some((b, n));
            }
            let (b, _) = bucket.expect("count > 0 means a bucket holds each rank");
            let (low, width) = bounds_of(b);
            let mid = low.saturating_add(width / 2);
            out.push(mid.clamp(self.min_us, self.max_us) as f64 / 1000.0);
        }
        out
    }

    /// At most `k` values spread evenly over the distribution (its quantiles), for a plot.
    pub fn sample_evenly_ms(&self, k: usize) -> Vec<f64> {
        let k = (self.count.min(k as u64)) as usize;
        if k <= 1 {
            return self.sample_ms(&[0.5][..k]);
        }
        let ps: Vec<f64> = (0..k).map(|i| i as f64 / (k - 1) as f64).collect();
        self.sample_ms(&ps)
    }

    /// "p50 12 ms, p90 430 ms, p99 1.1 s, max 1.2 s  (n=3000)", like [`quantiles`].
    pub fn describe(&self) -> String {
        if self.count == 0 {
            return "none".into();
        }
        let q = self.sample_ms(&[0.5, 0.9, 0.99]);
        format!(
            "p50 {}, p90 {}, p99 {}, max {}  (n={})",
            human_ms(q[0]),
            human_ms(q[1]),
            human_ms(q[2]),
            human_ms(self.max_us as f64 / 1000.0),
            self.count
        )
    }
}

/// The bucket of `us`: the value itself below 2 * SUB_BUCKETS, then the power of two and the
/// next five bits below the leading one. Whole-number arithmetic, so the same on every machine.
fn bucket_of(us: u64) -> u32 {
    if us < 2 * SUB_BUCKETS {
        return us as u32;
    }
    let exp = 63 - us.leading_zeros() as u64; // >= 6
    let shift = exp - 5;
    let mantissa = us >> shift; // in [32, 64)
    let b = (shift + 1) * SUB_BUCKETS + (mantissa - SUB_BUCKETS);
    assert!(b < BUCKETS as u64, "bucket {b} of {us} µs");
    b as u32
}

/// The lowest value of bucket `b` and its width, in µs.
fn bounds_of(b: u32) -> (u64, u64) {
    let b = b as u64;
    if b < 2 * SUB_BUCKETS {
        return (b, 1);
    }
    let shift = b / SUB_BUCKETS - 1;
    let mantissa = SUB_BUCKETS + b % SUB_BUCKETS;
    (mantissa << shift, 1 << shift)
}

/// Each election's duration in a run: from the first candidate to the winner taking office.
pub fn election_times_ms(s: &Summary) -> Vec<f64> {
    s.elections
        .iter()
        .map(|e| e.decided_ms - e.started_ms)
        .collect()
}

/// Each recovery's duration in a run (faults never recovered from are left out).
pub fn recovery_times_ms(s: &Summary) -> Vec<f64> {
    s.recoveries.iter().filter_map(|r| r.recovered_ms).collect()
}

/// "p50 12 ms, p90 430 ms, max 1.2 s (n=3000)", exact, for a few values (compare's LAN runs).
pub fn quantiles(values: &[f64]) -> String {
    if values.is_empty() {
        return "none".into();
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {}, p90 {}, p99 {}, max {}  (n={})",
        human_ms(q(0.5)),
        human_ms(q(0.9)),
        human_ms(q(0.99)),
        human_ms(v[v.len() - 1]),
        v.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact nearest-rank quantile, as `quantiles` reads it.
    fn exact(values: &[f64], p: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p).round() as usize]
    }

    /// A spread of durations from 0 to ~70 s, reproducible without a random source.
    fn spread(n: u64) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let h = seed_hash(i, "0");
                (h % 70_000_000) as f64 / 1000.0 / (1 + h % 97) as f64
            })
            .collect()
    }

    #[test]
    fn buckets_are_contiguous_and_hold_their_values() {
        let mut next_low = 0;
        for b in 0..BUCKETS {
            let (low, width) = bounds_of(b);
            assert_eq!(low, next_low, "bucket {b} starts where {} ended", b - 1);
            assert_eq!(bucket_of(low), b);
            assert_eq!(bucket_of(low + (width - 1)), b);
            next_low = low.wrapping_add(width);
        }
        assert_eq!(next_low, 0, "the last bucket ends at u64::MAX");
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_within_two_percent_of_the_exact_ones() {
        let values = spread(5000);
        let mut h = LogHistogram::default();
        values.iter().for_each(|&v| h.record_ms(v));
        assert_eq!(h.count, 5000);
        for p in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            let (got, want) = (h.quantile_ms(p).unwrap(), exact(&values, p));
            assert!(
                (got - want).abs() <= want * 0.016 + 0.001,
                "p{p}: {got} against {want}"
            );
        }
        assert_eq!(h.quantile_ms(1.0), Some(exact(&values, 1.0)));
    }

    #[test]
    fn a_wrong_quantile_is_caught() {
        // The check above must be able to fail: a histogram that lost its top half of values
        // gives a p90 far from the exact one.
        let values = spread(5000);
        let mut h = LogHistogram::default();
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[..2500].iter().for_each(|&v| h.record_ms(v));
        let (got, want) = (h.quantile_ms(0.9).unwrap(), exact(&values, 0.9));
        assert!((got - want).abs() > want * 0.016, "{got} {want}");
    }

    #[test]
    fn merging_in_any_order_gives_the_same_histogram() {
        let values = spread(1000);
        let mut whole = LogHistogram::default();
        values.iter().for_each(|&v| whole.record_ms(v));
        let (mut a, mut b) = (LogHistogram::default(), LogHistogram::default());
        for (i, &v) in values.iter().enumerate().rev() {
            if i % 3 == 0 { &mut a } else { &mut b }.record_ms(v);
        }
        b.merge(&a);
        assert_eq!(b, whole);
        assert!(whole.buckets.len() <= BUCKETS as usize);
    }

    #[test]
    fn an_empty_histogram_says_none() {
        let h = LogHistogram::default();
        assert_eq!(h.describe(), "none");
        assert_eq!(h.quantile_ms(0.5), None);
        assert!(h.sample_evenly_ms(100).is_empty());
    }

    #[test]
    fn an_even_sample_is_bounded_and_sorted() {
        let mut h = LogHistogram::default();
        spread(10_000).iter().for_each(|&v| h.record_ms(v));
        let s = h.sample_evenly_ms(500);
        assert_eq!(s.len(), 500);
        assert!(s.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(s[499], h.max_us as f64 / 1000.0);
    }

    fn result(seed: u64, ok: bool) -> SeedResult {
        SeedResult {
            seed,
            digest: format!("{:016x}", seed * 7),
            ok,
            failed_check: (!ok).then(|| "safety".to_string()),
            seed_file: None,
            elections_ms: vec![seed as f64],
            recoveries_ms: Vec::new(),
            sim_ms: 1000.0,
            delivered: 3,
            vacuous: None,
        }
    }

    #[test]
    fn a_vacuous_seed_is_counted_apart_from_the_passed_and_merges() {
        let mut x = Exploration::default();
        x.add(result(1, true));
        x.add(SeedResult {
            vacuous: Some("liveness".into()),
            ..result(2, true)
        });
        x.add(result(3, false));
        assert_eq!((x.passed, x.vacuous, x.failed), (1, 1, 1));
        assert_eq!(x.vacuous_by_check.get("liveness"), Some(&1));
        let mut y = Exploration::default();
        y.merge(x.clone()).unwrap();
        assert_eq!((y.passed, y.vacuous), (1, 1));
    }

    #[test]
    fn counts_and_kept_failures_do_not_depend_on_order_and_stay_bounded() {
        let n = FAILURES_KEPT_MAX as u64 + 500;
        let mut forward = Exploration::default();
        let mut backward = Exploration::default();
        for s in 0..n {
            forward.add(result(s, s.is_multiple_of(2)));
            backward.add(result(n - 1 - s, (n - 1 - s).is_multiple_of(2)));
        }
        assert_eq!(forward, backward);
        assert_eq!(forward.seeds_run, n);
        assert_eq!(forward.failed, n / 2);
        assert_eq!(forward.failed_by_check["safety"], n / 2);
        assert_eq!(
            forward.failures.len(),
            FAILURES_KEPT_MAX.min(n as usize / 2)
        );
        assert_eq!(
            forward.failures[0].seed, 1,
            "the lowest failing seeds are kept"
        );
        assert!(forward.failures.iter().all(|f| f.elections_ms.is_empty()));
        assert_eq!(forward.sim_us, n * 1_000_000);
    }

    #[test]
    fn shards_merge_into_the_whole_and_a_repeated_shard_is_refused() {
        let mut whole = Exploration::default();
        let (mut a, mut b) = (Exploration::default(), Exploration::default());
        (a.shard, b.shard) = ("0/2".into(), "1/2".into());
        for s in 0..40 {
            whole.add(result(s, s % 5 != 0));
            if s % 2 == 0 { &mut a } else { &mut b }.add(result(s, s % 5 != 0));
        }
        let again = a.clone();
        a.merge(b).unwrap();
        assert_eq!(a, whole);
        let mut twice = again.clone();
        assert!(twice.merge(again).is_err());
        let mut other = whole.clone();
        other.add(result(99, true));
        assert_ne!(other.digests_xor, whole.digests_xor);
    }
}
