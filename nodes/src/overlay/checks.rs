//! The overlay's checks: every request gets exactly one answer; no request goes past the
//! hop bound or visits a process twice; no answer is taken late without being reported;
//! "busy" only when the leader's queue is full.

use std::collections::BTreeMap;

use faultline_sim::check::Cluster;
use faultline_sim::{Check, Ev, NodeId, Record, Verdict};

use super::event::Event;
use super::msg::Key;

/// A random loss rate past which a client may go unanswered through no fault of the
/// overlay's: its resends and the answers are lost too often within one deadline.
const LOSS_EXCUSES: f64 = 0.3;

/// The overlay's checks, for a leader `leader`, a queue bound and a hop bound.
pub fn checks(
    leader: NodeId,
    queue_max: u32,
    hop_max: u32,
    grace_ms: u64,
) -> Vec<Box<dyn Check<Event> + Send>> {
    vec![
        Box::new(ExactlyOneAnswer::new(leader)),
        Box::new(HopsBounded::new(hop_max)),
        Box::new(NoUnreportedLateAnswer::new(grace_ms)),
        Box::new(BusyOnlyWhenFull::new(leader, queue_max)),
    ]
}

/// A request as [`ExactlyOneAnswer`] follows it.
#[derive(Clone, Debug)]
struct Asked {
    /// When the client stops waiting (grace included), in µs.
    deadline_us: u64,
    /// Whether it got its answer.
    answered: bool,
    /// Whether the client reported it late.
    gave_up: bool,
    /// Whether something outside the overlay could keep its answer away: the leader down,
    /// the client cut from it, heavy loss.
    excused: bool,
}

/// Every request gets exactly one answer (a result or a refusal such as "busy"): never two
/// different ones, and never none while the leader was up and reachable all along.
pub struct ExactlyOneAnswer {
    /// The leader.
    leader: NodeId,
    /// Crashes, partitions and loss so far.
    cluster: Cluster,
    /// Every request seen.
    asked: BTreeMap<Key, Asked>,
    /// Requests answered.
    answered: u64,
    /// Requests reported late with an excuse.
    excused_late: u64,
}

impl ExactlyOneAnswer {
    /// The check for an overlay led by `leader`.
    pub fn new(leader: NodeId) -> Self {
        ExactlyOneAnswer {
            leader,
            cluster: Cluster::default(),
            asked: BTreeMap::new(),
            answered: 0,
            excused_late: 0,
        }
    }
}

/// Whether a request of `client` may go unanswered right now: the leader down, the client
/// down or cut from it, heavy loss.
fn excused(cluster: &Cluster, leader: NodeId, client: NodeId) -> bool {
    !cluster.is_up(leader)
        || !cluster.is_up(client)
        || !cluster.linked(client, leader)
        || cluster.loss_rate >= LOSS_EXCUSES
}

impl Check<Event> for ExactlyOneAnswer {
    fn name(&self) -> &'static str {
        "exactly-one-answer"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        if self.cluster.observe(rec) {
            for (key, a) in self.asked.iter_mut() {
                if !a.answered && !a.gave_up {
                    a.excused |= excused(&self.cluster, self.leader, key.client);
                }
            }
            return Ok(());
        }
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        let client = rec.node;
        match event {
            Event::Issued {
                seq, deadline_ms, ..
            } => {
                let key = Key { client, seq: *seq };
                let excused = excused(&self.cluster, self.leader, client);
                let asked = Asked {
                    deadline_us: rec.t + u64::from(*deadline_ms) * 1000,
                    answered: false,
                    gave_up: false,
                    excused,
                };
                if self.asked.insert(key, asked).is_some() {
                    return Err(format!("{client} issued request {seq} twice"));
                }
            }
            Event::Answered { seq, .. } => {
                let key = Key { client, seq: *seq };
                let Some(a) = self.asked.get_mut(&key) else {
                    return Err(format!(
                        "{client} took an answer to request {seq}, which it never issued"
                    ));
                };
                if a.answered || a.gave_up {
                    return Err(format!("{client} took a second answer to request {seq}"));
                }
                a.answered = true;
                self.answered += 1;
            }
            Event::GaveUp { seq } => {
                let key = Key { client, seq: *seq };
                let Some(a) = self.asked.get_mut(&key) else {
                    return Ok(());
                };
                a.gave_up = true;
                if !a.excused {
                    return Err(format!(
                        "request {seq} of {client} got no answer by its deadline, though the leader {} was up and reachable all along: the overlay lost it",
                        self.leader
                    ));
                }
                self.excused_late += 1;
            }
            Event::Conflict { seq, first, second } => {
                let key = Key { client, seq: *seq };
                if !self.asked.get(&key).is_some_and(|a| a.excused) {
                    return Err(format!(
                        "request {seq} of {client} was answered twice, differently: {} then {}",
                        first.name(),
                        second.name()
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        // A request whose client still waited at the end is not judged; one past its
        // deadline with neither an answer nor a report is lost.
        let lost: Vec<String> = (self.asked.iter())
            .filter(|(_, a)| {
                !a.answered && !a.gave_up && !a.excused && a.deadline_us + 1_000_000 < end_us
            })
            .map(|(k, _)| format!("{}#{}", k.client, k.seq))
            .take(5)
            .collect();
        if !lost.is_empty() {
            return Verdict::violated(
                self.name(),
                format!(
                    "requests neither answered nor reported late: {}",
                    lost.join(", ")
                ),
            );
        }
        Verdict::held(
            self.name(),
            self.answered,
            "requests",
            format!(
                "{} requests answered once each; {} went unanswered while the leader was down or cut off, and were reported late",
                self.answered, self.excused_late
            ),
        )
    }
}

/// No request goes past the hop bound or visits a process twice.
pub struct HopsBounded {
    /// Most processes a path may hold.
    hop_max: u32,
    /// Hops judged.
    hops: u64,
    /// The longest path seen.
    longest: usize,
}

impl HopsBounded {
    /// The check for paths of at most `hop_max` processes.
    pub fn new(hop_max: u32) -> Self {
        HopsBounded {
            hop_max,
            hops: 0,
            longest: 0,
        }
    }
}

impl Check<Event> for HopsBounded {
    fn name(&self) -> &'static str {
        "hops-bounded"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let Ev::Proto {
            event: Event::Hop { key, path },
        } = &rec.ev
        else {
            return Ok(());
        };
        self.hops += 1;
        self.longest = self.longest.max(path.len());
        for (i, n) in path.iter().enumerate() {
            if path[..i].contains(n) {
                return Err(format!(
                    "request {}#{} visits {n} twice: path {path:?}",
                    key.client, key.seq
                ));
            }
        }
        if path.len() > self.hop_max as usize {
            return Err(format!(
                "request {}#{} went {} hops, past the bound of {}: path {path:?}",
                key.client,
                key.seq,
                path.len(),
                self.hop_max
            ));
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.hops,
            "hops",
            format!(
                "{} hops, no process visited twice, longest path {} of at most {}",
                self.hops, self.longest, self.hop_max
            ),
        )
    }
}

/// No answer is taken past the client's deadline without being reported late: an answer
/// either comes in time (grace included), or the client reports the request late and
/// what comes after is reported, not taken.
pub struct NoUnreportedLateAnswer {
    /// What a client allows past its deadline, in µs.
    grace_us: u64,
    /// Each waiting request's deadline, in µs.
    deadlines: BTreeMap<Key, u64>,
    /// Answers judged.
    judged: u64,
    /// Requests reported late.
    reported: u64,
}

impl NoUnreportedLateAnswer {
    /// The check for clients that allow `grace_ms` past their deadline.
    pub fn new(grace_ms: u64) -> Self {
        NoUnreportedLateAnswer {
            grace_us: grace_ms * 1000,
            deadlines: BTreeMap::new(),
            judged: 0,
            reported: 0,
        }
    }
}

impl Check<Event> for NoUnreportedLateAnswer {
    fn name(&self) -> &'static str {
        "no-unreported-late-answer"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        let client = rec.node;
        match event {
            Event::Issued {
                seq, deadline_ms, ..
            } => {
                let key = Key { client, seq: *seq };
                self.deadlines
                    .insert(key, rec.t + u64::from(*deadline_ms) * 1000);
            }
            Event::Answered { seq, .. } => {
                let key = Key { client, seq: *seq };
                if let Some(deadline) = self.deadlines.remove(&key) {
                    self.judged += 1;
                    if rec.t > deadline + self.grace_us {
                        return Err(format!(
                            "{client} took an answer to request {seq} {} ms past its deadline without reporting it late",
                            (rec.t - deadline) / 1000
                        ));
                    }
                }
            }
            Event::GaveUp { seq } => {
                self.deadlines.remove(&Key { client, seq: *seq });
                self.reported += 1;
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.judged,
            "answers",
            format!(
                "{} answers within their deadline, {} requests reported late",
                self.judged, self.reported
            ),
        )
    }
}

/// The leader answers "busy" only when its queue is full, and never queues past its bound.
/// The queue's length is followed from the leader's own queue events, so a wrong length in
/// one of them is caught too.
pub struct BusyOnlyWhenFull {
    /// The leader.
    leader: NodeId,
    /// The queue's bound.
    queue_max: u32,
    /// The queue's length, as followed.
    len: u32,
    /// Admissions and refusals judged.
    judged: u64,
    /// Refusals as busy.
    busy: u64,
    /// The longest the queue was.
    peak: u32,
}

impl BusyOnlyWhenFull {
    /// The check for leader `leader` with a queue of `queue_max`.
    pub fn new(leader: NodeId, queue_max: u32) -> Self {
        BusyOnlyWhenFull {
            leader,
            queue_max,
            len: 0,
            judged: 0,
            busy: 0,
            peak: 0,
        }
    }
}

impl Check<Event> for BusyOnlyWhenFull {
    fn name(&self) -> &'static str {
        "busy-only-when-full"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        if rec.node != self.leader {
            return Ok(());
        }
        let event = match &rec.ev {
            // A crash empties the queue.
            Ev::Crash => {
                self.len = 0;
                return Ok(());
            }
            Ev::Proto { event } => event,
            _ => return Ok(()),
        };
        match event {
            Event::Queued { key, len } => {
                self.judged += 1;
                self.len += 1;
                self.peak = self.peak.max(self.len);
                if self.len > self.queue_max {
                    return Err(format!(
                        "the leader queued {}#{} past its bound: {} of {}",
                        key.client, key.seq, self.len, self.queue_max
                    ));
                }
                if *len != self.len {
                    return Err(format!(
                        "the leader says its queue holds {len}, but {} were queued",
                        self.len
                    ));
                }
            }
            Event::Dequeued { len, .. } => {
                self.len = self.len.saturating_sub(1);
                if *len != self.len {
                    return Err(format!(
                        "the leader says its queue holds {len}, but {} are left",
                        self.len
                    ));
                }
            }
            Event::Busy { key, .. } => {
                self.judged += 1;
                self.busy += 1;
                if self.len < self.queue_max {
                    return Err(format!(
                        "the leader answered {}#{} busy with its queue at {} of {}",
                        key.client, key.seq, self.len, self.queue_max
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        Verdict::held(
            self.name(),
            self.judged,
            "admissions",
            format!(
                "{} admissions, {} busy answers, all with the queue full; queue peak {} of {}",
                self.judged, self.busy, self.peak, self.queue_max
            ),
        )
    }
}
