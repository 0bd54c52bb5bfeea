//! A process's own numbers for `GetMetrics`: counts and the latencies of recent answers.

use std::collections::VecDeque;

use super::config::LATENCY_SAMPLES_MAX;
use super::msg::{Metrics, Outcome};

/// Counts and recent latencies of one process.
#[derive(Clone, Debug, Default)]
pub struct Meter {
    /// Requests answered with a result.
    processed: u64,
    /// Requests answered with a refusal.
    refused: u64,
    /// Latencies of the most recent answers, in µs, oldest first.
    latencies_us: VecDeque<u64>,
}

impl Meter {
    /// One request answered after `latency_us`.
    pub fn record(&mut self, outcome: Outcome, latency_us: u64) {
        if matches!(outcome, Outcome::Done { .. }) {
            self.processed += 1;
        } else {
            self.refused += 1;
        }
        if self.latencies_us.len() == LATENCY_SAMPLES_MAX {
            self.latencies_us.pop_front();
        }
        self.latencies_us.push_back(latency_us);
    }

    /// The numbers, with the caller's queue length and requests in flight.
    pub fn view(&self, queue_len: usize, inflight: usize) -> Metrics {
        let mut sorted: Vec<u64> = self.latencies_us.iter().copied().collect();
        sorted.sort_unstable();
        Metrics {
            queue_len: queue_len as u32,
            inflight: inflight as u32,
            processed: self.processed,
            refused: self.refused,
            p50_us: quantile(&sorted, 50),
            p90_us: quantile(&sorted, 90),
            p99_us: quantile(&sorted, 99),
        }
    }
}

/// The `pct`th percentile of `sorted` (nearest rank), 0 when empty.
pub fn quantile(sorted: &[u64], pct: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(quantile(&v, 50), 50);
        assert_eq!(quantile(&v, 99), 99);
        assert_eq!(quantile(&[7], 99), 7);
        assert_eq!(quantile(&[], 50), 0);
    }

    #[test]
    fn the_meter_counts_results_and_refusals_apart_and_keeps_a_bounded_window() {
        let mut m = Meter::default();
        for i in 0..(LATENCY_SAMPLES_MAX as u64 + 10) {
            m.record(Outcome::Busy, i);
        }
        m.record(
            Outcome::Done {
                worker: faultline_sim::NodeId(3),
            },
            5,
        );
        let v = m.view(2, 1);
        assert_eq!(
            (v.processed, v.refused, v.queue_len, v.inflight),
            (1, LATENCY_SAMPLES_MAX as u64 + 10, 2, 1)
        );
        assert_eq!(m.latencies_us.len(), LATENCY_SAMPLES_MAX);
    }
}
