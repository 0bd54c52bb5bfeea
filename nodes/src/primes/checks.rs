//! The farm's checks: the output is exactly the primes of the datasets (and survives a
//! coordinator restart), every snapshot is a consistent cut; with the generic exactly-once
//! check over the tasks.

use std::collections::BTreeSet;
use std::sync::Arc;

use faultline_sim::check::{Cluster, ExactlyOnce};
use faultline_sim::{Check, Ev, NodeId, Record, Verdict};

use super::event::{task_fact, Event};
use super::snapshot_requests::SnapshotRequests;

/// The output equals the primes of every dataset, computed sequentially: nothing extra at
/// any time, nothing lost at a restart, and nothing missing at the end whenever the
/// coordinator, a worker and a file server are up then.
pub struct FarmOutput {
    /// The sequential answer.
    expected: Arc<BTreeSet<u64>>,
    /// Tasks in all.
    tasks: u64,
    /// The output as counted so far.
    output: BTreeSet<u64>,
    /// Tasks counted.
    counted: u64,
    /// Coordinator restarts judged.
    restarts: u64,
    /// The coordinator.
    coordinator: NodeId,
    /// The workers.
    workers: Vec<NodeId>,
    /// The file servers.
    servers: Vec<NodeId>,
    /// Who is up.
    cluster: Cluster,
}

impl FarmOutput {
    /// The check for a run whose datasets hold `expected` primes in `tasks` tasks.
    pub fn new(
        expected: Arc<BTreeSet<u64>>,
        tasks: u64,
        coordinator: NodeId,
        workers: Vec<NodeId>,
        servers: Vec<NodeId>,
    ) -> FarmOutput {
        FarmOutput {
            expected,
            tasks,
            output: BTreeSet::new(),
            counted: 0,
            restarts: 0,
            coordinator,
            workers,
            servers,
            cluster: Cluster::default(),
        }
    }
}

impl Check<Event> for FarmOutput {
    fn name(&self) -> &'static str {
        "primes-output"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        self.cluster.observe(rec);
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        match event {
            Event::Counted { task, primes } => {
                self.counted += 1;
                for p in primes {
                    if !self.expected.contains(p) {
                        return Err(format!("task {task} put {p} in the output, which is not a prime of any dataset"));
                    }
                    if !self.output.insert(*p) {
                        return Err(format!("task {task} put {p} in the output a second time"));
                    }
                }
            }
            Event::Restored { done, primes }
                if rec.node == self.coordinator && self.counted > 0 =>
            {
                self.restarts += 1;
                if *primes < self.output.len() as u64 || *done < self.counted {
                    return Err(format!(
                        "the coordinator restarted with {done} tasks and {primes} primes, but {} tasks and {} primes were in its output",
                        self.counted,
                        self.output.len()
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let up = |ids: &[NodeId]| ids.iter().any(|n| self.cluster.is_up(*n));
        let survivors =
            self.cluster.is_up(self.coordinator) && up(&self.workers) && up(&self.servers);
        if !survivors {
            return Verdict::held(
                self.name(),
                self.output.len() as u64,
                "primes",
                format!("{} primes, all right; completeness not judged (no coordinator, worker or file server up at the end)", self.output.len()),
            );
        }
        if self.counted < self.tasks || self.output.len() < self.expected.len() {
            let missing: Vec<String> = self
                .expected
                .difference(&self.output)
                .take(5)
                .map(u64::to_string)
                .collect();
            return Verdict::violated(
                self.name(),
                format!(
                    "{} of {} tasks counted; {} of {} primes in the output (missing e.g. {})",
                    self.counted,
                    self.tasks,
                    self.output.len(),
                    self.expected.len(),
                    missing.join(", ")
                ),
            );
        }
        Verdict::held(
            self.name(),
            self.expected.len() as u64,
            "primes",
            format!(
                "output = the sequential answer: {} primes from {} tasks; {} coordinator restarts kept it",
                self.output.len(),
                self.tasks,
                self.restarts
            ),
        )
    }
}

/// Every snapshot is a consistent cut: each task is in exactly one place (the queue, a
/// worker, a message in flight, done), and on every channel what was sent before the cut
/// was received before it or recorded in flight.
#[derive(Default)]
pub struct SnapshotCut {
    /// Snapshots judged.
    judged: u64,
    /// Channels verified.
    channels: u64,
}

/// Where a task was, counted over a snapshot's lists.
fn misplaced(total: u64, lists: [&[u64]; 4]) -> Option<String> {
    let mut seen = vec![0u32; total as usize];
    for list in lists {
        for t in list {
            match seen.get_mut(*t as usize) {
                Some(n) => *n += 1,
                None => return Some(format!("task {t} does not exist ({total} tasks)")),
            }
        }
    }
    let missing: Vec<usize> = (0..seen.len()).filter(|i| seen[*i] == 0).collect();
    let twice: Vec<usize> = (0..seen.len()).filter(|i| seen[*i] > 1).collect();
    if missing.is_empty() && twice.is_empty() {
        return None;
    }
    Some(format!(
        "tasks missing from the cut: {missing:?}; tasks in it twice: {twice:?}"
    ))
}

impl Check<Event> for SnapshotCut {
    fn name(&self) -> &'static str {
        "snapshot-cut"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let Ev::Proto {
            event:
                Event::Snapshot {
                    seq,
                    total,
                    pending,
                    working,
                    in_flight,
                    done,
                    channel_error,
                    channels,
                },
        } = &rec.ev
        else {
            return Ok(());
        };
        self.judged += 1;
        self.channels += channels;
        if let Some(e) = channel_error {
            return Err(format!("snapshot {seq}: {e}"));
        }
        let sum = (pending.len() + working.len() + in_flight.len() + done.len()) as u64;
        if let Some(why) = misplaced(*total, [pending, working, in_flight, done]) {
            return Err(format!(
                "snapshot {seq}: pending {} + working {} + in flight {} + done {} = {sum}, of {total} tasks: {why}",
                pending.len(),
                working.len(),
                in_flight.len(),
                done.len()
            ));
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.judged,
            "snapshots",
            format!(
                "{} snapshots were consistent cuts ({} channels balanced)",
                self.judged, self.channels
            ),
        )
    }
}

/// The farm's checks.
pub fn checks(
    expected: Arc<BTreeSet<u64>>,
    tasks: u64,
    coordinator: NodeId,
    workers: Vec<NodeId>,
    servers: Vec<NodeId>,
    snapshot_requests: bool,
) -> Vec<Box<dyn Check<Event> + Send>> {
    // Safety checks first: a run stops at its first violation, and the output check then
    // also finds the (cut short) run incomplete; the list's order is the order failures
    // are named in.
    let mut checks: Vec<Box<dyn Check<Event> + Send>> = vec![
        Box::new(SnapshotCut::default()),
        Box::new(ExactlyOnce::new(task_fact)),
        Box::new(FarmOutput::new(
            expected,
            tasks,
            coordinator,
            workers,
            servers,
        )),
    ];
    // Judged only where clients ask: elsewhere it would judge nothing.
    if snapshot_requests {
        checks.push(Box::new(SnapshotRequests::new(coordinator)));
    }
    checks
}
