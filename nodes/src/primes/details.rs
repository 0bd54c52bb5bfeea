//! What a farm run comes to, for the summary and the timeline: tasks reassigned, primes
//! found, time to finish, snapshots taken, file-server failovers.

use faultline_sim::protocol::chart::{Chart, Progress, Tenure};
use faultline_sim::protocol::facts::Facts;
use faultline_sim::{Ev, Record};
use serde_json::json;

use super::event::Event;

/// The summary's `details` for a farm run, gathered record by record.
#[derive(Default)]
pub(crate) struct Details {
    /// Tasks in all.
    tasks: u64,
    /// Tasks counted.
    counted: u64,
    /// Primes in the output.
    primes: u64,
    /// Tasks put back after a worker died.
    reassigned: u64,
    /// When every task was done, µs.
    finished_us: Option<u64>,
    /// Complete snapshots.
    snapshots: u64,
    /// Snapshots given up.
    abandoned: u64,
    /// Times a file server became primary.
    primaries: Vec<Tenure>,
    /// Cached copies broken by callbacks.
    breaks: u64,
    /// (µs, tasks counted) at each count.
    progress: Vec<(u64, u64)>,
}

impl Facts<Event> for Details {
    fn observe(&mut self, rec: &Record<Event>) {
        let Ev::Proto { event } = &rec.ev else { return };
        match event {
            Event::Loaded { tasks } => self.tasks = *tasks,
            Event::Counted { primes, .. } => {
                self.counted += 1;
                self.primes += primes.len() as u64;
                self.progress.push((rec.t, self.counted));
            }
            Event::Requeued { .. } => self.reassigned += 1,
            Event::Finished { .. } => self.finished_us = self.finished_us.or(Some(rec.t)),
            Event::Snapshot { .. } => self.snapshots += 1,
            Event::SnapshotAbandoned { .. } => self.abandoned += 1,
            Event::Primary { epoch } => {
                if let Some(last) = self.primaries.last_mut() {
                    last.to_us = last.to_us.or(Some(rec.t));
                }
                self.primaries.push(Tenure {
                    term: *epoch,
                    leader: rec.node,
                    from_us: rec.t,
                    to_us: None,
                });
            }
            Event::CacheBroken { .. } => self.breaks += 1,
            _ => {}
        }
    }

    fn details(&self, _names: &[String]) -> Option<serde_json::Value> {
        let finish = match self.finished_us {
            Some(t) => format!("finished in {:.3} s", t as f64 / 1e6),
            None => "not finished".to_string(),
        };
        Some(json!({
            "headline": format!(
                "{} primes from {}/{} tasks, {finish}; {} reassigned, {} snapshots, {} primaries",
                self.primes, self.counted, self.tasks, self.reassigned, self.snapshots, self.primaries.len()
            ),
            "tasks": self.tasks,
            "tasks_counted": self.counted,
            "tasks_reassigned": self.reassigned,
            "primes_found": self.primes,
            "finish_ms": self.finished_us.map(|t| t / 1000),
            "snapshots_taken": self.snapshots,
            "snapshots_abandoned": self.abandoned,
            "file_server_primaries": self.primaries.len(),
            "cache_callbacks": self.breaks,
        }))
    }

    fn chart(&self) -> Chart {
        Chart {
            tenures: self.primaries.clone(),
            progress: Some(Progress {
                name: "tasks counted".to_string(),
                points: self.progress.clone(),
            }),
            ops: Vec::new(),
        }
    }
}
