//! What a farm run comes to, for the summary and the timeline: tasks reassigned, primes
//! found, time to finish, snapshots taken, file-server failovers; on the timeline each task
//! as a bar on the worker holding it, requeues and snapshots marked.

use faultline_sim::protocol::chart::{BarBook, Chart, Hue, Pin, Progress, Tenure, Tick};
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
    /// Results a restarted coordinator took back from its latest snapshot.
    resumed: u64,
    /// Snapshots clients asked for, and answers they got.
    asked: u64,
    answered: u64,
    /// Times a file server became primary.
    primaries: Vec<Tenure>,
    /// Cached copies broken by callbacks.
    breaks: u64,
    /// (µs, tasks counted) at each count.
    progress: Vec<(u64, u64)>,
    /// Each task on the worker holding it, from assignment to its count or requeue.
    tasks_held: BarBook<u64>,
    /// Requeues (on the dead worker's lane) and callbacks (on the client's).
    ticks: Vec<Tick>,
    /// Snapshots and requeues, labelled on the coordinator's lane.
    pins: Vec<Pin>,
}

impl Facts<Event> for Details {
    fn observe(&mut self, rec: &Record<Event>) {
        let Ev::Proto { event } = &rec.ev else { return };
        let pin = |text: String| Pin {
            node: rec.node,
            at_us: rec.t,
            text,
        };
        match event {
            Event::Loaded { tasks } => self.tasks = *tasks,
            Event::Assigned { task, worker } => {
                let text = format!("t{task}");
                self.tasks_held
                    .open(*task, *worker, 0, rec.t, text, Hue::Work);
            }
            Event::Counted { task, primes } => {
                self.counted += 1;
                self.primes += primes.len() as u64;
                self.progress.push((rec.t, self.counted));
                self.tasks_held.close(task, rec.t);
            }
            Event::Requeued { task, worker } => {
                self.reassigned += 1;
                self.tasks_held.close(task, rec.t);
                self.ticks.push(Tick {
                    node: *worker,
                    at_us: rec.t,
                    hue: Hue::Reassigned,
                });
                self.pins.push(pin(format!("t{task} requeued")));
            }
            Event::Finished { .. } => self.finished_us = self.finished_us.or(Some(rec.t)),
            Event::Snapshot { .. } => {
                self.snapshots += 1;
                self.pins.push(pin(format!("snapshot {}", self.snapshots)));
            }
            Event::Resumed { tasks, .. } => {
                self.resumed += tasks;
                if *tasks > 0 {
                    self.pins
                        .push(pin(format!("resumed: {tasks} results from the snapshot")));
                }
            }
            Event::SnapshotAsked { .. } => self.asked += 1,
            Event::SnapshotAnswered { .. } => self.answered += 1,
            Event::SnapshotAbandoned { .. } => {
                self.abandoned += 1;
                self.pins.push(pin("snapshot abandoned".to_string()));
            }
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
            Event::CacheBroken { .. } => {
                self.breaks += 1;
                self.ticks.push(Tick {
                    node: rec.node,
                    at_us: rec.t,
                    hue: Hue::Invalidated,
                });
            }
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
                "{} primes from {}/{} tasks, {finish}; {} reassigned, {} snapshots{}, {} primaries",
                self.primes, self.counted, self.tasks, self.reassigned, self.snapshots,
                if self.resumed > 0 { format!(" ({} results resumed from one)", self.resumed) } else { String::new() },
                self.primaries.len()
            ),
            "tasks": self.tasks,
            "tasks_counted": self.counted,
            "tasks_reassigned": self.reassigned,
            "primes_found": self.primes,
            "finish_ms": self.finished_us.map(|t| t / 1000),
            "snapshots_taken": self.snapshots,
            "snapshots_abandoned": self.abandoned,
            "results_resumed_from_snapshot": self.resumed,
            "snapshots_requested": self.asked,
            "snapshot_requests_answered": self.answered,
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
            bars: self.tasks_held.bars(),
            ticks: self.ticks.clone(),
            pins: self.pins.clone(),
        }
    }
}
