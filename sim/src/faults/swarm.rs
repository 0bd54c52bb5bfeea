//! Swarm testing: a scenario's `[random_faults]` turned into a concrete fault schedule per
//! seed. Each seed switches on its own subset of fault kinds, at its own rate, against its
//! own nodes, so a search over seeds covers mixes no single hand-written scenario would.
//! The concrete schedule goes into the seed file, so a replay needs no generator.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::scenario::{Fault, Scenario};

/// What a seed may draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFaults {
    /// Kinds a seed may switch on ("crash", "partition", "one-way", "loss"); each seed
    /// keeps a random non-empty subset.
    pub kinds: Vec<FaultKind>,
    /// Mean faults per simulated second with every kind on; each seed scales it by a
    /// random factor between 0.25 and 2.
    #[serde(default = "default_per_s")]
    pub per_s: f64,
    /// No fault starts before this.
    #[serde(default)]
    pub from_ms: u64,
    /// Every fault has healed by this time, so liveness is judged on the rest of the run.
    pub until_ms: u64,
    /// Longest a single fault lasts.
    #[serde(default = "default_fault_ms_max")]
    pub fault_ms_max: u64,
    /// Most servers down at once (default: a minority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_max: Option<u16>,
    /// Highest rate of a loss fault.
    #[serde(default = "default_loss_max")]
    pub loss_max: f64,
    /// Each seed draws the network's highest latency between the scenario's and this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms_max: Option<u64>,
    /// Each seed draws a base loss rate between 0 and this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_loss_max: Option<f64>,
    /// Protocol settings drawn per seed: each key gets one of its listed values
    /// (`pre_vote = [true, false]`) in the seed's `[config]`, so a search covers both.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, Vec<toml::Value>>,
}

/// A kind of random fault.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// A server crashes and restarts.
    Crash,
    /// The nodes split into two groups, and heal.
    Partition,
    /// Some servers stop hearing others, one way, and heal.
    OneWay,
    /// Extra loss on every link for a while.
    Loss,
}

fn default_per_s() -> f64 {
    0.3
}

fn default_fault_ms_max() -> u64 {
    4000
}

fn default_loss_max() -> f64 {
    0.3
}

/// The shortest fault drawn: shorter ones rarely do more than a lost datagram.
const FAULT_MS_MIN: u64 = 200;
/// Most faults drawn per run, whatever the rate.
const FAULTS_MAX: usize = 200;

impl Scenario {
    /// The scenario this seed runs: random faults drawn and appended to the explicit ones,
    /// the network drawn within its bounds. Without `[random_faults]` it is unchanged.
    pub fn concretize(&self, seed: u64) -> Scenario {
        let mut out = self.clone();
        let Some(rf) = out.random_faults.take() else {
            return out;
        };
        if !rf.config.is_empty() {
            // A stream of its own ("CNFG"): drawing settings leaves the faults as they were.
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(0x434E_4647);
            for (key, values) in &rf.config {
                if let Some(value) = values.choose(&mut rng) {
                    out.config.insert(key.clone(), value.clone());
                }
            }
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(0x5741_524d); // "SWRM": independent of every other stream of the run
        if let Some(hi) = rf.latency_ms_max {
            let lo = out.network.latency_ms[0];
            out.network.latency_ms[1] = rng.gen_range(lo..=hi.max(lo));
        }
        if let Some(hi) = rf.network_loss_max {
            out.network.loss = round3(rng.gen_range(0.0..=hi.clamp(0.0, 1.0)));
        }
        let mut kinds = rf.kinds.clone();
        kinds.sort();
        kinds.dedup();
        kinds.shuffle(&mut rng);
        let keep = if kinds.is_empty() {
            0
        } else {
            rng.gen_range(1..=kinds.len())
        };
        kinds.truncate(keep);
        kinds.sort();
        if kinds.is_empty() {
            return out;
        }
        let scale = rng.gen_range(0.25..=2.0);
        let rate_per_ms =
            rf.per_s * scale * kinds.len() as f64 / rf.kinds.len().max(1) as f64 / 1000.0;
        if rate_per_ms <= 0.0 {
            return out;
        }
        // Crashes and one-way cuts hit the nodes whose role is a fault target (servers, not
        // the clients that only drive the workload); two-way partitions cut anyone.
        let servers = out.fault_targets();
        let everyone = out.node_names();
        let down_max =
            rf.down_max
                .unwrap_or((servers.len().saturating_sub(1) / 2) as u16) as usize;
        let until = rf.until_ms.min(out.duration_ms);
        // Faults of one kind never overlap, so each heal undoes exactly its own cut.
        let mut busy_until = [0u64; 4];
        let mut down: Vec<(String, u64)> = Vec::new();
        let mut drawn = Vec::new();
        let mut t = rf.from_ms as f64;
        while drawn.len() < FAULTS_MAX {
            let u: f64 = rng.gen_range(f64::EPSILON..1.0);
            t += -u.ln() / rate_per_ms;
            let at = t as u64;
            if at + FAULT_MS_MIN >= until {
                break;
            }
            let kind = kinds[rng.gen_range(0..kinds.len())];
            let slot = kind as usize;
            if busy_until[slot] > at {
                continue;
            }
            let end =
                (at + rng.gen_range(FAULT_MS_MIN..=rf.fault_ms_max.max(FAULT_MS_MIN))).min(until);
            match kind {
                FaultKind::Crash => {
                    down.retain(|(_, back)| *back > at);
                    if down.len() >= down_max {
                        continue;
                    }
                    let up: Vec<&String> = servers
                        .iter()
                        .filter(|s| !down.iter().any(|(d, _)| d == *s))
                        .collect();
                    let Some(node) = up.choose(&mut rng).map(|s| s.to_string()) else {
                        continue;
                    };
                    down.push((node.clone(), end));
                    drawn.push(Fault::crash(node.clone(), at));
                    drawn.push(Fault::restart(node, end));
                    continue;
                }
                FaultKind::Partition => {
                    let mut shuffled = everyone.clone();
                    shuffled.shuffle(&mut rng);
                    let cut = rng.gen_range(1..shuffled.len().max(2));
                    let (a, b) = shuffled.split_at(cut.min(shuffled.len()));
                    let mut a = a.to_vec();
                    let mut b = b.to_vec();
                    a.sort();
                    b.sort();
                    drawn.push(Fault::partition(vec![a, b], vec![], vec![], at, Some(end)));
                }
                FaultKind::OneWay => {
                    let mut shuffled = servers.clone();
                    shuffled.shuffle(&mut rng);
                    let cut = rng.gen_range(1..shuffled.len().max(2));
                    let (from, to) = shuffled.split_at(cut.min(shuffled.len()));
                    let mut from = from.to_vec();
                    let mut to = to.to_vec();
                    from.sort();
                    to.sort();
                    drawn.push(Fault::partition(vec![], from, to, at, Some(end)));
                }
                FaultKind::Loss => {
                    let rate = round3(rng.gen_range(0.05..=rf.loss_max.clamp(0.05, 1.0)));
                    drawn.push(Fault::Loss {
                        rate,
                        from_ms: at,
                        until_ms: end,
                    });
                }
            }
            busy_until[slot] = end;
        }
        out.faults.extend(drawn);
        // A drawn crash of a node the written faults already took down (or a restart of
        // one they brought back) is a no-op in the run, and a seed file may not hold it.
        out.drop_no_op_faults();
        out
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario() -> Scenario {
        Scenario::parse(
            "t.toml",
            r#"
name = "t"
protocol = "group"
duration_ms = 60000
[nodes]
servers = 5
clients = 1
[random_faults]
kinds = ["crash", "partition", "one-way", "loss"]
per_s = 1.0
until_ms = 40000
latency_ms_max = 50
"#,
            &crate::scenario::ServersAndClients,
        )
        .unwrap()
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let s = scenario();
        assert_eq!(s.concretize(3), s.concretize(3));
        assert_ne!(s.concretize(3).faults, s.concretize(4).faults);
    }

    #[test]
    fn settings_are_drawn_per_seed_and_leave_the_faults_as_they_were() {
        let plain = scenario();
        let mut drawn = plain.clone();
        let values = vec![toml::Value::Boolean(true), toml::Value::Boolean(false)];
        drawn
            .random_faults
            .as_mut()
            .unwrap()
            .config
            .insert("pre_vote".into(), values);
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let c = drawn.concretize(seed);
            assert_eq!(c.faults, plain.concretize(seed).faults);
            seen.insert(c.config["pre_vote"].as_bool().unwrap());
            assert_eq!(c.config, drawn.concretize(seed).config);
        }
        assert_eq!(seen.len(), 2, "both values drawn");
    }

    #[test]
    fn drawn_faults_are_valid_healed_in_time_and_respect_down_max() {
        let s = scenario();
        let mut kinds_seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let c = s.concretize(seed);
            assert!(c.random_faults.is_none());
            let text = toml::to_string(&c).unwrap();
            let back = Scenario::parse("c.toml", &text, &crate::scenario::ServersAndClients)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            let mut down_at: Vec<(u64, i32)> = Vec::new();
            for f in &back.faults {
                match f {
                    Fault::Crash { at_ms, .. } => {
                        kinds_seen.insert("crash");
                        down_at.push((*at_ms, 1));
                    }
                    Fault::Restart { at_ms, .. } => {
                        assert!(*at_ms <= 40000);
                        down_at.push((*at_ms, -1));
                    }
                    Fault::Partition {
                        heal_ms, groups, ..
                    } => {
                        kinds_seen.insert(if groups.is_empty() {
                            "one-way"
                        } else {
                            "partition"
                        });
                        assert!(heal_ms.unwrap() <= 40000);
                    }
                    Fault::Loss { until_ms, .. } => {
                        kinds_seen.insert("loss");
                        assert!(*until_ms <= 40000);
                    }
                    Fault::Byzantine { .. }
                    | Fault::Network { .. }
                    | Fault::Pause { .. }
                    | Fault::Submit { .. } => {
                        panic!("swarm draws no Byzantine node, network window, pause nor submit")
                    }
                }
            }
            // Restarts sort before crashes at the same instant: a node back is a node up.
            down_at.sort();
            let mut down = 0;
            for (_, d) in down_at {
                down += d;
                assert!(down <= 2, "seed {seed}: more than a minority down");
            }
        }
        assert_eq!(kinds_seen.len(), 4, "every kind is drawn by some seed");
    }
}
