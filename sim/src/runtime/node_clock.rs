//! A node's own clock: what `Cx::now` shows it and how long its timers really take, when the
//! scenario gives it a skew (an offset) and a drift (a rate error).
//!
//! The run's time stays the truth: the trace, the faults and the network use it. The node
//! sees `t + skew + t × drift`, and a timer it sets for `d` of its own time fires after
//! `d / (1 + drift)` of the run's: a node whose clock runs fast sees its timeouts expire
//! early, as a real one would. A clock without skew or drift is the run's clock, exactly.

use serde::{Deserialize, Serialize};

/// The largest skew a scenario may give, either way: an hour.
pub const SKEW_MS_MAX: i64 = 3_600_000;

/// The slowest a clock may run (half speed) and the fastest (double speed), in parts per
/// million of error.
pub const DRIFT_PPM_RANGE: std::ops::RangeInclusive<i64> = -500_000..=1_000_000;

/// One node's clock error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeClock {
    /// Offset from the run's time, in milliseconds (negative: behind).
    #[serde(default)]
    pub skew_ms: i64,
    /// Rate error in parts per million (10000: 1% fast; negative: slow).
    #[serde(default)]
    pub drift_ppm: i64,
}

impl NodeClock {
    /// Whether it is the run's clock.
    pub fn is_exact(&self) -> bool {
        self.skew_ms == 0 && self.drift_ppm == 0
    }

    /// What the node reads at the run's time `true_us` (never below zero).
    pub fn local_us(&self, true_us: u64) -> u64 {
        if self.is_exact() {
            return true_us;
        }
        let t = true_us as i128;
        let local = t + self.skew_ms as i128 * 1000 + t * self.drift_ppm as i128 / 1_000_000;
        local.clamp(0, u64::MAX as i128) as u64
    }

    /// How long of the run's time a timer of `local_us` of the node's time lasts.
    pub fn true_after_us(&self, local_us: u64) -> u64 {
        if self.drift_ppm == 0 {
            return local_us;
        }
        let rate = 1_000_000 + self.drift_ppm.clamp(*DRIFT_PPM_RANGE.start(), i64::MAX) as i128;
        (local_us as i128 * 1_000_000 / rate).clamp(0, u64::MAX as i128) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_shifts_what_the_node_reads_and_drift_its_timers() {
        let exact = NodeClock::default();
        assert_eq!(exact.local_us(1234), 1234);
        assert_eq!(exact.true_after_us(500), 500);
        let ahead = NodeClock {
            skew_ms: 200,
            drift_ppm: 0,
        };
        assert_eq!(ahead.local_us(1_000_000), 1_200_000);
        assert_eq!(
            ahead.true_after_us(150_000),
            150_000,
            "skew alone keeps durations"
        );
        let behind = NodeClock {
            skew_ms: -200,
            drift_ppm: 0,
        };
        assert_eq!(behind.local_us(100_000), 0, "never below zero");
        let fast = NodeClock {
            skew_ms: 0,
            drift_ppm: 250_000,
        };
        assert_eq!(fast.local_us(4_000_000), 5_000_000);
        assert_eq!(
            fast.true_after_us(150_000),
            120_000,
            "a fast clock's timers end early"
        );
        let slow = NodeClock {
            skew_ms: 0,
            drift_ppm: -500_000,
        };
        assert_eq!(slow.true_after_us(150_000), 300_000);
    }
}
