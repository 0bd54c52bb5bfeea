//! Builds a run's timeline record by record, while the run goes on, in bounded memory: a run
//! of any length can draw its picture without keeping its trace.
//!
//! What grows with the run is bounded here: arrows and marks are even samples
//! ([`Thinned`]), the sends awaiting their delivery are few and capped, role and down spans
//! too short to see are merged when there are too many, and traffic is counted in a fixed
//! number of time buckets that widen as the run goes on.

use std::borrow::Cow;
use std::collections::BTreeMap;

use faultline_reports::{
    Arrow, Interval, LaneSpan, Mark, MarkKind, RoleSpan, Span, Timeline, Traffic,
};
use faultline_sim::{kind_of, Cluster, Ev, MsgKind, Record, Tone, WORLD};

use super::human_ms;
use super::thinned::Thinned;
use crate::summary::{groups, Summary};

/// Most arrows kept per class (election traffic, the rest); the renderer draws fewer still.
pub const ARROWS_MAX: usize = 600;
/// Most marks kept per kind.
pub const MARKS_PER_KIND_MAX: usize = 100;
/// Most sends remembered while their deliveries are awaited; the oldest go first.
pub const SENDS_MAX: usize = 4096;
/// Most spans kept per list (roles, down, partitions, loss) before short ones are merged.
pub const SPANS_MAX: usize = 1024;
/// Time buckets the traffic is counted in: about one per few pixels of the picture.
pub const TRAFFIC_BUCKETS: usize = 600;
/// Most distinct message labels counted; more (from a hostile trace) count as one.
pub const LABELS_MAX: usize = 64;
/// Borrowed labels remembered by address, each at the slot its address hashes to: twice
/// the labels of a protocol (a send's label and its deliveries' are the same text at two
/// addresses), with room to spare.
const LABEL_SLOTS: usize = 64;
/// Bits of the filter that tells, before searching, that a send is not remembered.
const SENT_FILTER_BITS: u32 = 1 << 16;
/// Pixels of the plot: a span shorter than the run over this is thinner than a pixel.
const PLOT_PIXELS: f64 = 1200.0;

/// The two classes of arrows, sampled apart so that election traffic is never crowded out.
const ELECTION: usize = 0;
/// Everything else.
const ROUTINE: usize = 1;

/// A send whose deliveries may be drawn.
#[derive(Clone, Copy, Debug)]
struct Sent {
    /// The sender's lane.
    lane: usize,
    /// When it was sent, in ms.
    at_ms: f64,
    /// Its number among the sends of its class.
    ordinal: u64,
    /// Its class: [`ELECTION`] or [`ROUTINE`].
    class: usize,
}

/// One message label: how many arrived or were lost (one per receiver: what arrows show),
/// and their class.
#[derive(Debug)]
struct LabelStat {
    /// The label, as the trace has it (borrowed from the protocol, nothing to allocate).
    label: Cow<'static, str>,
    /// Deliveries and drops of messages with it.
    sent: u64,
    /// [`ELECTION`] or [`ROUTINE`], from the protocol's kinds.
    class: usize,
}

/// Messages counted per sender lane in time buckets that double in width as the run grows.
#[derive(Debug)]
struct TrafficCount {
    /// Width of a bucket in µs.
    bucket_us: u64,
    /// Per lane, [`TRAFFIC_BUCKETS`] counts.
    sent: Vec<Vec<u64>>,
}

impl TrafficCount {
    /// Counts a message sent by `lane` at `t` µs.
    fn count(&mut self, lane: usize, t: u64) {
        while t / self.bucket_us >= TRAFFIC_BUCKETS as u64 {
            // Pairs merge into one bucket twice as wide: memory stays the same.
            for lane in &mut self.sent {
                for i in 0..TRAFFIC_BUCKETS / 2 {
                    lane[i] = lane[2 * i] + lane[2 * i + 1];
                }
                lane[TRAFFIC_BUCKETS / 2..].fill(0);
            }
            self.bucket_us = self.bucket_us.saturating_mul(2);
        }
        self.sent[lane][(t / self.bucket_us) as usize] += 1;
    }
}

/// A set of message ids that may answer "maybe" for an id it does not hold, never "no" for
/// one it does: one bit per hash of an id.
#[derive(Debug)]
struct SentFilter {
    /// [`SENT_FILTER_BITS`] bits.
    bits: Vec<u64>,
}

impl SentFilter {
    fn new() -> Self {
        SentFilter {
            bits: vec![0; SENT_FILTER_BITS as usize / 64],
        }
    }

    /// The word and bit of `id`.
    fn slot(id: u64) -> (usize, u64) {
        // Fibonacci hashing: ids differ in their low bits and in the sender's high bits.
        let h =
            (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SENT_FILTER_BITS.ilog2())) as usize;
        (h / 64, 1 << (h % 64))
    }

    fn insert(&mut self, id: u64) {
        let (word, bit) = Self::slot(id);
        self.bits[word] |= bit;
    }

    /// False only if `id` was never inserted since the last rebuild.
    fn may_hold(&self, id: u64) -> bool {
        let (word, bit) = Self::slot(id);
        self.bits[word] & bit != 0
    }

    /// Holds exactly `ids` again, forgetting the ids let go.
    fn rebuild<'a>(&mut self, ids: impl Iterator<Item = &'a u64>) {
        self.bits.fill(0);
        for &id in ids {
            self.insert(id);
        }
    }
}

/// Builds a [`Timeline`] from records fed one at a time.
pub struct TimelineBuilder {
    /// Node names, one lane each.
    names: Vec<String>,
    /// The protocol's message kinds, to tell election traffic.
    kinds: &'static [(&'static str, MsgKind)],
    /// How the protocol's roles are drawn.
    states: &'static [(&'static str, Tone)],
    /// Per lane, the role it plays and since when.
    role_since: Vec<Option<(f64, String)>>,
    /// Per lane, since when it is down.
    down_since: Vec<Option<f64>>,
    /// The partition in force, since when, and its groups.
    partition_since: Option<(f64, String)>,
    /// The loss fault in force: since when, and its rate.
    loss_since: Option<(f64, f64)>,
    /// Network windows open (per-kind loss, delay, reordering): since when, and how many.
    network_since: Option<(f64, u32)>,
    /// Sends whose deliveries would be drawn, by message id; at most [`SENDS_MAX`].
    sends: BTreeMap<u64, Sent>,
    /// A bit per hash of the ids in `sends` (and of some forgotten since): most deliveries
    /// are of sends the sample never took, and a clear bit says so without searching.
    sent_filter: SentFilter,
    /// Crashed nodes and cut links, for the partition's groups.
    cluster: Cluster,
    /// Sends seen per class: the next send's ordinal.
    ordinals: [u64; 2],
    /// Arrows per class, sampled, with their record's number (to restore the trace's order).
    arrows: [Thinned<(u64, Arrow)>; 2],
    /// Marks seen per kind: the next mark's ordinal.
    mark_ordinals: [u64; 5],
    /// Marks per kind, sampled, with their record's number.
    marks: [Thinned<(u64, Mark)>; 5],
    /// Finished role spans.
    roles: Vec<RoleSpan>,
    /// Finished down spans.
    down: Vec<LaneSpan>,
    /// Finished partitions.
    partitions: Vec<Span>,
    /// Finished loss faults.
    loss: Vec<Span>,
    /// All messages, counted.
    traffic: TrafficCount,
    /// Messages per label, at most [`LABELS_MAX`] labels, in order of first sight.
    labels: Vec<LabelStat>,
    /// Labels the protocol lends (`Cow::Borrowed`) seen lately, by address and length, with
    /// their index in `labels`, at the slot their address hashes to: a lookup without
    /// comparing bytes or searching. (A scan of the eight latest was a fifth of the builder's
    /// cost.)
    label_slots: Box<[(usize, usize, usize); LABEL_SLOTS]>,
    /// Messages sent by a node with a lane.
    messages_total: u64,
    /// Marks seen.
    marks_total: u64,
    /// The latest record's time, in ms.
    now_ms: f64,
    /// Records seen.
    records: u64,
}

/// Index of a mark kind in the per-kind arrays.
fn kind_index(kind: MarkKind) -> usize {
    match kind {
        MarkKind::Crash => 0,
        MarkKind::Restart => 1,
        MarkKind::ElectionStarted => 2,
        MarkKind::Elected => 3,
        MarkKind::Note => 4,
    }
}

impl TimelineBuilder {
    /// A timeline of nodes `names` (indexed by id) of a protocol whose messages have the
    /// kinds `kinds` and whose roles are drawn as `states` say.
    pub fn new(
        names: Vec<String>,
        kinds: &'static [(&'static str, MsgKind)],
        states: &'static [(&'static str, Tone)],
    ) -> Self {
        let lanes = names.len();
        TimelineBuilder {
            role_since: vec![None; lanes],
            down_since: vec![None; lanes],
            partition_since: None,
            loss_since: None,
            network_since: None,
            sends: BTreeMap::new(),
            sent_filter: SentFilter::new(),
            cluster: Cluster::default(),
            ordinals: [0; 2],
            arrows: [Thinned::new(ARROWS_MAX), Thinned::new(ARROWS_MAX)],
            mark_ordinals: [0; 5],
            marks: std::array::from_fn(|_| Thinned::new(MARKS_PER_KIND_MAX)),
            roles: Vec::new(),
            down: Vec::new(),
            partitions: Vec::new(),
            loss: Vec::new(),
            traffic: TrafficCount {
                bucket_us: 1000,
                sent: vec![vec![0; TRAFFIC_BUCKETS]; lanes],
            },
            labels: Vec::new(),
            label_slots: Box::new([(0, 0, 0); LABEL_SLOTS]),
            messages_total: 0,
            marks_total: 0,
            now_ms: 0.0,
            records: 0,
            names,
            kinds,
            states,
        }
    }

    fn tone(&self, role: &str) -> Option<Tone> {
        self.states
            .iter()
            .find(|(r, _)| *r == role)
            .map(|(_, t)| *t)
    }

    /// Takes one record into account.
    pub fn observe<E>(&mut self, rec: &Record<E>) {
        let lanes = self.names.len();
        let lane = rec.node.0 as usize;
        let at = rec.t as f64 / 1000.0;
        self.now_ms = self.now_ms.max(at);
        let seq = self.records;
        self.records += 1;
        if matches!(
            rec.ev,
            Ev::Crash | Ev::Restart | Ev::Partition { .. } | Ev::Heal { .. } | Ev::Loss { .. }
        ) {
            self.cluster.observe(rec);
        }
        match &rec.ev {
            Ev::Send { id, label, .. } if lane < lanes => {
                self.messages_total += 1;
                self.traffic.count(lane, rec.t);
                let class = self.label_stat(label).class;
                let ordinal = self.ordinals[class];
                self.ordinals[class] += 1;
                if self.arrows[class].admits(ordinal) {
                    let sent = Sent {
                        lane,
                        at_ms: at,
                        ordinal,
                        class,
                    };
                    self.sends.insert(*id, sent);
                    self.sent_filter.insert(*id);
                    if self.sends.len() > SENDS_MAX {
                        self.sends.pop_first();
                    }
                }
            }
            Ev::Deliver { id, label, .. } | Ev::Drop { id, label, .. } if lane < lanes => {
                self.label_stat(label).sent += 1;
                if !self.sent_filter.may_hold(*id) {
                    return;
                }
                let Some(&sent) = self.sends.get(id) else {
                    return;
                };
                let sample = &mut self.arrows[sent.class];
                if !sample.admits(sent.ordinal) {
                    self.sends.remove(id);
                    return;
                }
                let stride = sample.stride();
                sample.offer(
                    sent.ordinal,
                    (
                        seq,
                        Arrow {
                            from_lane: sent.lane,
                            to_lane: lane,
                            sent_ms: sent.at_ms,
                            recv_ms: at,
                            label: label.to_string(),
                            dropped: matches!(rec.ev, Ev::Drop { .. }),
                            election: sent.class == ELECTION,
                        },
                    ),
                );
                if sample.stride() != stride {
                    // Sends the sample no longer admits will never be drawn.
                    let arrows = &self.arrows;
                    self.sends.retain(|_, s| arrows[s.class].admits(s.ordinal));
                    self.sent_filter.rebuild(self.sends.keys());
                }
            }
            Ev::Role { role } if lane < lanes => {
                self.end_role(lane, at);
                if self.tone(role) == Some(Tone::Lead) {
                    self.mark(seq, lane, at, MarkKind::Elected, "leader");
                }
                self.role_since[lane] = Some((at, role.clone()));
            }
            Ev::ElectionStarted if lane < lanes => {
                self.mark(seq, lane, at, MarkKind::ElectionStarted, "");
            }
            Ev::Crash if lane < lanes => {
                self.end_role(lane, at);
                self.down_since[lane] = Some(at);
                self.mark(seq, lane, at, MarkKind::Crash, "crash");
            }
            Ev::Restart if lane < lanes => {
                if let Some(from_ms) = self.down_since[lane].take() {
                    self.down.push(LaneSpan {
                        lane,
                        from_ms,
                        to_ms: at,
                    });
                    let now = self.now_ms;
                    compact(
                        &mut self.down,
                        now,
                        |d| d.lane,
                        |d| (d.from_ms, d.to_ms),
                        |d, to| d.to_ms = to,
                    );
                }
                self.mark(seq, lane, at, MarkKind::Restart, "restart");
            }
            Ev::Partition { .. } | Ev::Heal { .. } if rec.node == WORLD => {
                if let Some((from_ms, label)) = self.partition_since.take() {
                    self.partitions.push(Span {
                        from_ms,
                        to_ms: at,
                        label,
                    });
                    let now = self.now_ms;
                    compact(
                        &mut self.partitions,
                        now,
                        |_| 0,
                        |s| (s.from_ms, s.to_ms),
                        |s, to| s.to_ms = to,
                    );
                }
                if !self.cluster.cut.is_empty() {
                    self.partition_since = Some((at, groups(&self.cluster, &self.names)));
                }
            }
            Ev::Loss { rate } => {
                if let Some((from_ms, r)) = self.loss_since.take() {
                    self.loss.push(Span {
                        from_ms,
                        to_ms: at,
                        label: loss_label(r),
                    });
                    let now = self.now_ms;
                    compact(
                        &mut self.loss,
                        now,
                        |_| 0,
                        |s| (s.from_ms, s.to_ms),
                        |s, to| s.to_ms = to,
                    );
                }
                if *rate > 0.0 {
                    self.loss_since = Some((at, *rate));
                }
            }
            Ev::Network { windows } => {
                if let Some((from_ms, open)) = self.network_since.take() {
                    self.loss.push(Span {
                        from_ms,
                        to_ms: at,
                        label: network_label(open),
                    });
                }
                if *windows > 0 {
                    self.network_since = Some((at, *windows));
                }
            }
            Ev::Pause if lane < lanes => self.mark(seq, lane, at, MarkKind::Note, "paused"),
            Ev::Resume if lane < lanes => self.mark(seq, lane, at, MarkKind::Note, "resumed"),
            Ev::Submit { .. } if lane < lanes => {
                self.mark(seq, lane, at, MarkKind::Note, "submitted")
            }
            _ => {}
        }
    }

    /// The entry of `label` in the label counts, added if new; the protocol's labels are few
    /// and short, so a scan beats a map, and each label's kind is looked up once.
    #[allow(
        clippy::ptr_arg,
        reason = "a label borrowed from the protocol is kept without copying it"
    )]
    fn label_stat(&mut self, label: &Cow<'static, str>) -> &mut LabelStat {
        // The trace borrows the protocol's labels: the same pointer is the same label,
        // without comparing bytes.
        let same = |a: &str, b: &str| a.len() == b.len() && (a.as_ptr() == b.as_ptr() || a == b);
        // Only a borrowed label's address names it for good: an owned one's may be reused.
        let key = match label {
            Cow::Borrowed(s) if !s.is_empty() => Some((s.as_ptr() as usize, s.len())),
            _ => None,
        };
        // Fibonacci hashing of the address.
        let slot = |ptr: usize| {
            ((ptr as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (u64::BITS - LABEL_SLOTS.ilog2()))
                as usize
        };
        if let Some((ptr, len)) = key {
            let (p, l, i) = self.label_slots[slot(ptr)];
            if (p, l) == (ptr, len) {
                return &mut self.labels[i];
            }
        }
        let i = match self.labels.iter().position(|s| same(&s.label, label)) {
            Some(i) => i,
            None => {
                let (label, class) = if self.labels.len() + 1 < LABELS_MAX {
                    let class = if kind_of(self.kinds, label) == MsgKind::Election {
                        ELECTION
                    } else {
                        ROUTINE
                    };
                    (label.clone(), class)
                } else {
                    // A hostile trace's endless labels share one entry.
                    (Cow::Borrowed("(other labels)"), ROUTINE)
                };
                match self.labels.iter().position(|s| s.label == label) {
                    Some(i) => i,
                    None => {
                        self.labels.push(LabelStat {
                            label,
                            sent: 0,
                            class,
                        });
                        self.labels.len() - 1
                    }
                }
            }
        };
        if let Some((ptr, len)) = key {
            self.label_slots[slot(ptr)] = (ptr, len, i);
        }
        &mut self.labels[i]
    }

    /// Ends lane's current role span at `at`, if it has one.
    fn end_role(&mut self, lane: usize, at: f64) {
        let Some((from_ms, role)) = self.role_since[lane].take() else {
            return;
        };
        let tone = self.tone(&role);
        self.roles.push(RoleSpan {
            lane,
            from_ms,
            to_ms: at,
            role,
            tone,
        });
        let now = self.now_ms;
        compact(
            &mut self.roles,
            now,
            |r| r.lane,
            |r| (r.from_ms, r.to_ms),
            |r, to| r.to_ms = to,
        );
    }

    /// A point event, kept if its kind's sample admits it.
    fn mark(&mut self, seq: u64, lane: usize, at_ms: f64, kind: MarkKind, text: &str) {
        self.marks_total += 1;
        let k = kind_index(kind);
        let ordinal = self.mark_ordinals[k];
        self.mark_ordinals[k] += 1;
        if self.marks[k].admits(ordinal) {
            let mark = Mark {
                lane,
                at_ms,
                kind,
                text: text.to_string(),
            };
            self.marks[k].offer(ordinal, (seq, mark));
        }
    }

    /// Sizes of what the builder holds: sends awaited, arrows, marks, spans. For tests that
    /// hold it to its bounds.
    pub fn held(&self) -> [usize; 4] {
        [
            self.sends.len(),
            self.arrows.iter().map(Thinned::len).sum(),
            self.marks.iter().map(Thinned::len).sum(),
            self.roles.len() + self.down.len() + self.partitions.len() + self.loss.len(),
        ]
    }

    /// The timeline of the run `summary` sums up: spans still open end with the run.
    pub fn finish(mut self, summary: &Summary) -> Timeline {
        let end_ms = summary.end_ms;
        for lane in 0..self.names.len() {
            self.end_role(lane, end_ms);
            if let Some(from_ms) = self.down_since[lane].take() {
                self.down.push(LaneSpan {
                    lane,
                    from_ms,
                    to_ms: end_ms,
                });
            }
        }
        if let Some((from_ms, label)) = self.partition_since.take() {
            self.partitions.push(Span {
                from_ms,
                to_ms: end_ms,
                label,
            });
        }
        if let Some((from_ms, r)) = self.loss_since.take() {
            self.loss.push(Span {
                from_ms,
                to_ms: end_ms,
                label: loss_label(r),
            });
        }
        if let Some((from_ms, open)) = self.network_since.take() {
            self.loss.push(Span {
                from_ms,
                to_ms: end_ms,
                label: network_label(open),
            });
        }
        let names = &self.names;
        let elections = summary
            .elections
            .iter()
            .map(|e| Interval {
                from_ms: e.started_ms,
                to_ms: e.decided_ms,
                lane: names.iter().position(|n| *n == e.leader),
                text: format!(
                    "election {:.0} ms → {}",
                    e.decided_ms - e.started_ms,
                    e.leader
                ),
            })
            .collect();
        let recoveries = summary
            .recoveries
            .iter()
            .map(|r| {
                let (to_ms, text) = match r.recovered_ms {
                    Some(took) => (
                        r.at_ms + took,
                        format!("{}: recovered in {}", r.fault, human_ms(took)),
                    ),
                    None => (end_ms, format!("{}: not recovered", r.fault)),
                };
                Interval {
                    from_ms: r.at_ms,
                    to_ms,
                    lane: None,
                    text,
                }
            })
            .collect();
        let [election, routine] = self.arrows;
        // In the trace's order, as if nothing had been left out.
        let mut messages: Vec<(u64, Arrow)> =
            election.into_items().chain(routine.into_items()).collect();
        messages.sort_unstable_by_key(|(seq, _)| *seq);
        let mut marks: Vec<(u64, Mark)> = self
            .marks
            .into_iter()
            .flat_map(Thinned::into_items)
            .collect();
        marks.sort_unstable_by_key(|(seq, _)| *seq);
        Timeline {
            title: format!(
                "{} / {} — seed {} — {} — digest {}",
                summary.protocol, summary.scenario, summary.seed, summary.verdict, summary.digest
            ),
            end_ms,
            lanes: self.names,
            roles: self.roles,
            down: self.down,
            partitions: self.partitions,
            loss: self.loss,
            messages: messages.into_iter().map(|(_, a)| a).collect(),
            marks: marks.into_iter().map(|(_, m)| m).collect(),
            elections,
            recoveries,
            messages_total: self.messages_total,
            label_counts: (self.labels.into_iter())
                .map(|s| (s.label.into_owned(), s.sent))
                .collect(),
            marks_total: self.marks_total,
            traffic: Some(Traffic {
                bucket_ms: self.traffic.bucket_us as f64 / 1000.0,
                sent: self.traffic.sent,
            }),
            ..Timeline::default()
        }
    }
}

/// "network window", "2 network windows".
fn network_label(open: u32) -> String {
    if open == 1 {
        "network window".to_string()
    } else {
        format!("{open} network windows")
    }
}

/// "10% loss".
fn loss_label(rate: f64) -> String {
    format!("{:.0}% loss", rate * 100.0)
}

/// Keeps `spans` (in time order per lane) within [`SPANS_MAX`]: when there are more, a span
/// too short to see at the run's length so far (`now_ms`) is merged into the one before it on
/// its lane, if the gap between them is too short to see as well; the threshold doubles until
/// half the budget is free.
fn compact<T>(
    spans: &mut Vec<T>,
    now_ms: f64,
    lane: impl Fn(&T) -> usize,
    extent: impl Fn(&T) -> (f64, f64),
    set_end: impl Fn(&mut T, f64),
) {
    if spans.len() <= SPANS_MAX {
        return;
    }
    let mut min_ms = now_ms / PLOT_PIXELS;
    while spans.len() > SPANS_MAX / 2 && min_ms <= 2.0 * now_ms.max(1.0) {
        let mut kept: Vec<T> = Vec::with_capacity(spans.len());
        // Per lane, the index in `kept` of its latest span.
        let mut last: BTreeMap<usize, usize> = BTreeMap::new();
        for s in spans.drain(..) {
            let (from, to) = extent(&s);
            if let Some(&i) = last.get(&lane(&s)) {
                let (_, prev_to) = extent(&kept[i]);
                if to - from < min_ms && from - prev_to < min_ms {
                    set_end(&mut kept[i], to);
                    continue;
                }
            }
            last.insert(lane(&s), kept.len());
            kept.push(s);
        }
        *spans = kept;
        min_ms *= 2.0;
    }
}

/// The timeline of a finished run from its whole trace.
pub fn timeline<E>(
    records: &[Record<E>],
    summary: &Summary,
    kinds: &'static [(&'static str, MsgKind)],
    states: &'static [(&'static str, Tone)],
) -> Timeline {
    let mut b = TimelineBuilder::new(summary.nodes.clone(), kinds, states);
    for rec in records {
        b.observe(rec);
    }
    b.finish(summary)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use faultline_sim::NodeId;

    use super::*;
    use crate::summary::Messages;

    const KINDS: &[(&str, MsgKind)] = &[("VOTE", MsgKind::Election), ("HB", MsgKind::Heartbeat)];
    const STATES: &[(&str, Tone)] = &[("leader", Tone::Lead), ("follower", Tone::Follow)];

    fn summary(n: usize, end_ms: f64) -> Summary {
        Summary {
            scenario: "synthetic".into(),
            protocol: "test".into(),
            seed: 1,
            bugs: Vec::new(),
            digest: "0".into(),
            verdict: "pass".into(),
            end_ms,
            nodes: (1..=n).map(|i| format!("s{i}")).collect(),
            checks: Vec::new(),
            elections: Vec::new(),
            recoveries: Vec::new(),
            messages: Messages::default(),
            events: 0,
            details: None,
            resolved: Vec::new(),
            vacuous: Vec::new(),
        }
    }

    fn rec(t: u64, node: u16, ev: Ev<()>) -> Record<()> {
        Record {
            t,
            node: NodeId(node),
            ev,
        }
    }

    /// A million messages among five nodes: multicast heartbeats, votes, drops, some
    /// deliveries that never come, crashes and role changes every few seconds.
    fn feed(b: &mut TimelineBuilder, n_messages: u64, mut check: impl FnMut(&TimelineBuilder)) {
        let label = |i: u64| Cow::Borrowed(if i.is_multiple_of(50) { "VOTE" } else { "HB" });
        for i in 0..n_messages {
            let t = i * 120;
            let from = (i % 5) as u16;
            b.observe(&rec(
                t,
                from,
                Ev::Send {
                    to: None,
                    id: i,
                    label: label(i),
                },
            ));
            // Every 7th message is never delivered: the builder must not wait for it forever.
            if !i.is_multiple_of(7) {
                for to in (0..5).filter(|&to| to != from) {
                    let ev = if i.is_multiple_of(13) {
                        Ev::Drop {
                            from: NodeId(from),
                            to: NodeId(to),
                            id: i,
                            label: label(i),
                            reason: faultline_sim::DropReason::Loss,
                        }
                    } else {
                        Ev::Deliver {
                            from: NodeId(from),
                            id: i,
                            label: label(i),
                        }
                    };
                    b.observe(&rec(t + 5_000, to, ev));
                }
            }
            if i.is_multiple_of(10_000) {
                let node = (i / 10_000 % 5) as u16;
                b.observe(&rec(t, node, Ev::Crash));
                b.observe(&rec(t + 1_000, node, Ev::Restart));
                let role = if i.is_multiple_of(20_000) {
                    "leader"
                } else {
                    "follower"
                };
                b.observe(&rec(t + 1_000, node, Ev::Role { role: role.into() }));
                b.observe(&rec(t + 1_000, node, Ev::ElectionStarted));
            }
            if i.is_multiple_of(1_000) {
                check(b);
            }
        }
    }

    #[test]
    fn pauses_are_marked_and_network_windows_are_bands() {
        let mut b = TimelineBuilder::new(summary(3, 0.0).nodes, KINDS, STATES);
        b.observe(&rec(1_000_000, 1, Ev::Pause));
        b.observe(&rec(2_000_000, 1, Ev::Resume));
        b.observe(&rec(3_000_000, WORLD.0, Ev::Network { windows: 1 }));
        b.observe(&rec(4_000_000, WORLD.0, Ev::Network { windows: 2 }));
        b.observe(&rec(5_000_000, WORLD.0, Ev::Network { windows: 0 }));
        b.observe(&rec(6_000_000, WORLD.0, Ev::Network { windows: 1 }));
        let t = b.finish(&summary(3, 8_000.0));
        let marks: Vec<(usize, f64, &str)> = (t.marks.iter())
            .map(|m| (m.lane, m.at_ms, m.text.as_str()))
            .collect();
        assert_eq!(marks, vec![(1, 1_000.0, "paused"), (1, 2_000.0, "resumed")]);
        let bands: Vec<(f64, f64, &str)> = (t.loss.iter())
            .map(|s| (s.from_ms, s.to_ms, s.label.as_str()))
            .collect();
        assert_eq!(
            bands,
            vec![
                (3_000.0, 4_000.0, "network window"),
                (4_000.0, 5_000.0, "2 network windows"),
                (6_000.0, 8_000.0, "network window"),
            ]
        );
    }

    #[test]
    fn a_million_messages_stay_within_the_budget() {
        let mut b = TimelineBuilder::new(summary(5, 0.0).nodes, KINDS, STATES);
        let mut peak = [0; 4];
        feed(&mut b, 1_000_000, |b| {
            let held = b.held();
            for (p, h) in peak.iter_mut().zip(held) {
                *p = (*p).max(h);
            }
        });
        let [sends, arrows, marks, spans] = peak;
        assert!(sends <= SENDS_MAX, "{sends} sends awaited");
        assert!(arrows <= 2 * ARROWS_MAX, "{arrows} arrows");
        assert!(marks <= 5 * MARKS_PER_KIND_MAX, "{marks} marks");
        assert!(spans <= 4 * SPANS_MAX + 4, "{spans} spans");
        assert!(b.traffic.sent.iter().all(|l| l.len() == TRAFFIC_BUCKETS));

        let t = b.finish(&summary(5, 120_000.0));
        assert_eq!(t.messages_total, 1_000_000);
        assert!(t.messages.len() <= 2 * ARROWS_MAX);
        assert!(
            t.messages.iter().any(|m| m.election),
            "election traffic is kept"
        );
        assert!(t.messages.iter().any(|m| m.dropped), "drops are kept");
        let counted: u64 = t.traffic.as_ref().unwrap().sent.iter().flatten().sum();
        assert_eq!(counted, 1_000_000, "the strip counts every message");
        // Four receivers each for the six sevenths of the messages that are delivered.
        let hb = t.label_counts.iter().find(|(l, _)| l == "HB").unwrap().1;
        let vote = t.label_counts.iter().find(|(l, _)| l == "VOTE").unwrap().1;
        assert_eq!(hb + vote, 4 * (1_000_000 - 1_000_000_u64.div_ceil(7)));
        // A crash, a restart and an election start every 10,000 messages, a leader every 20,000.
        assert_eq!(t.marks_total, 350);

        let svg = faultline_reports::render_timeline(&t);
        assert!(svg.len() < 300_000, "SVG is {} bytes", svg.len());
        // The header counts what arrows would be: a message per receiver.
        assert!(
            svg.contains("of 3,428,568 messages as arrows"),
            "the sample is stated"
        );
        assert_eq!(faultline_reports::overlapping_labels(&t), None);
    }

    #[test]
    fn the_sent_filter_never_denies_an_id_it_holds() {
        let mut f = SentFilter::new();
        let ids: Vec<u64> = (0..3_000u64).map(|i| ((i % 5) << 48) | (i * 7)).collect();
        for &id in &ids {
            f.insert(id);
        }
        assert!(ids.iter().all(|&id| f.may_hold(id)));
        // It does deny most others, or it would save nothing.
        let denied = (1..=10_000u64)
            .map(|i| (9 << 48) | i)
            .filter(|&id| !f.may_hold(id))
            .count();
        assert!(denied > 9_000, "{denied} of 10000 denied");
        // A rebuild forgets what it is not given.
        f.rebuild(ids[..10].iter());
        assert!(ids[..10].iter().all(|&id| f.may_hold(id)));
        assert!(ids[10..].iter().filter(|&&id| f.may_hold(id)).count() < 100);
    }

    #[test]
    fn the_whole_trace_and_the_builder_agree() {
        let mut records = Vec::new();
        for i in 0..2_000u64 {
            records.push(rec(
                i * 10,
                (i % 3) as u16,
                Ev::Send {
                    to: None,
                    id: i,
                    label: Cow::Borrowed("HB"),
                },
            ));
            records.push(rec(
                i * 10 + 3,
                ((i + 1) % 3) as u16,
                Ev::Deliver {
                    from: NodeId((i % 3) as u16),
                    id: i,
                    label: Cow::Borrowed("HB"),
                },
            ));
        }
        let s = summary(3, 20.0);
        let whole = timeline(&records, &s, KINDS, STATES);
        let mut b = TimelineBuilder::new(s.nodes.clone(), KINDS, STATES);
        records.iter().for_each(|r| b.observe(r));
        assert_eq!(b.finish(&s), whole);
        assert_eq!(whole.messages_total, 2_000);
        assert!(whole.messages.len() <= ARROWS_MAX && whole.messages.len() >= ARROWS_MAX / 2);
        // Ordinal 0 is a multiple of every stride: the sample starts at the start.
        assert_eq!(whole.messages[0].sent_ms, 0.0);
    }
}
