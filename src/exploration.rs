//! The results of many runs of one scenario, as `explore.json` keeps them: one record per
//! seed with its election and recovery times. `explore` and `merge` write them; `compare`
//! reads the simulator's and sets real runs beside them.

use serde::{Deserialize, Serialize};

use crate::report::human_ms;
use crate::summary::Summary;

/// What one seed came to; `explore.json` holds one per seed, and `merge` reads them back.
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
    /// Each election's duration.
    pub elections_ms: Vec<f64>,
    /// Each recovery's duration.
    pub recoveries_ms: Vec<f64>,
    /// Simulated time run.
    pub sim_ms: f64,
    /// Datagrams delivered.
    pub delivered: u64,
}

/// All results of an exploration (one shard of it, or several merged).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    /// The scenario's name.
    pub scenario: String,
    /// The protocol.
    pub protocol: String,
    /// Planted bugs switched on.
    #[serde(default)]
    pub bugs: Vec<String>,
    /// Wall seconds spent (summed over shards when merged).
    pub wall_s: f64,
    /// One entry per seed run, by seed.
    pub seeds: Vec<SeedResult>,
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

/// "p50 12 ms, p90 430 ms, max 1.2 s (n=3000)".
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
