//! Renders a realistic Bully run (5 servers, 2 clients, 20 s: initial election,
//! leader crash and re-election, restart and take-over, a partition and a loss
//! fault) to an SVG, for eyeballing the timeline renderer.
//!
//! `cargo run -p faultline-reports --example timeline_sample -- /tmp/timeline-sample.svg`

use faultline_reports::{
    render_timeline, Arrow, Interval, LaneSpan, Mark, MarkKind, RoleSpan, Span, Timeline,
};

/// xorshift64*: a tiny deterministic generator, so the sample is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

const S: [usize; 5] = [0, 1, 2, 3, 4];
const C1: usize = 5;
const C2: usize = 6;
const PARTITION: (f64, f64) = (14_000.0, 17_000.0);
const LOSS: (f64, f64) = (8_000.0, 10_000.0);

struct Builder {
    rng: Rng,
    t: Timeline,
}

impl Builder {
    /// Sends one message with 2–9 ms latency, dropping it if the network
    /// would: receiver down, across the partition, or unlucky during loss.
    fn send(&mut self, from: usize, to: usize, at: f64, label: &str) {
        let recv = at + self.rng.range(2.0, 9.0);
        let down = |lane: usize, t: f64| lane == 4 && (5_000.0..12_000.0).contains(&t);
        let side = |lane: usize| lane <= 1;
        let partitioned = (PARTITION.0..PARTITION.1).contains(&at)
            && to < 5
            && from < 5
            && side(from) != side(to);
        let lost = (LOSS.0..LOSS.1).contains(&at) && self.rng.range(0.0, 1.0) < 0.1;
        let dropped = down(to, recv) || partitioned || lost;
        self.t.messages.push(Arrow {
            from_lane: from,
            to_lane: to,
            sent_ms: at,
            recv_ms: recv,
            label: label.into(),
            dropped,
            election: false,
        });
    }

    fn role(&mut self, lane: usize, from_ms: f64, to_ms: f64, role: &str) {
        self.t.roles.push(RoleSpan {
            lane,
            from_ms,
            to_ms,
            role: role.into(),
            tone: None,
        });
    }

    fn mark(&mut self, lane: usize, at_ms: f64, kind: MarkKind, text: &str) {
        self.t.marks.push(Mark {
            lane,
            at_ms,
            kind,
            text: text.into(),
        });
    }

    /// Bully election among the servers: `starter` and every higher node it
    /// reaches challenge those above them; `winner` announces itself at `end`.
    fn bully(&mut self, starters: &[(usize, f64)], winner: usize, end: f64) {
        for &(s, at) in starters {
            self.mark(s, at, MarkKind::ElectionStarted, "");
            for hi in s + 1..5 {
                self.send(s, hi, at, "ELECTION");
                let answers = !self.t.messages.last().unwrap().dropped;
                if answers {
                    self.send(hi, s, at + 6.0, "OK");
                }
            }
        }
        for to in S.into_iter().chain([C1, C2]).filter(|&n| n != winner) {
            self.send(winner, to, end, "COORDINATOR");
        }
        self.mark(winner, end, MarkKind::Elected, "elected leader");
    }
}

fn sample() -> Timeline {
    let mut b = Builder {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        t: Timeline {
            title: "bully / leader-crash — seed 7 — digest 3fa2c09e…".into(),
            end_ms: 20_000.0,
            lanes: ["s1", "s2", "s3", "s4", "s5", "c1", "c2"]
                .map(String::from)
                .to_vec(),
            ..Timeline::default()
        },
    };

    // Initial election: s1 times out first, everyone above it joins, s5 wins.
    b.bully(
        &[(0, 500.0), (1, 512.0), (2, 514.0), (3, 516.0), (4, 518.0)],
        4,
        900.0,
    );
    // s5 crashes; s2 and s1 notice a second later; s4 wins without s5.
    b.mark(4, 5_000.0, MarkKind::Crash, "crash");
    b.t.down.push(LaneSpan {
        lane: 4,
        from_ms: 5_000.0,
        to_ms: 12_000.0,
    });
    b.bully(
        &[(1, 6_000.0), (0, 6_012.0), (2, 6_020.0), (3, 6_030.0)],
        3,
        6_400.0,
    );
    // s5 restarts, learns it is the highest and takes over.
    b.mark(4, 12_000.0, MarkKind::Restart, "restart");
    b.bully(&[(4, 12_500.0)], 4, 12_800.0);
    // Partition: the minority side keeps trying, succeeds only after the heal.
    b.bully(
        &[(1, 15_000.0), (0, 15_020.0), (1, 16_000.0), (1, 17_050.0)],
        4,
        17_200.0,
    );
    b.mark(0, 17_000.0, MarkKind::Note, "partition heals");

    // Roles.
    for s in S {
        b.role(s, 0.0, 500.0 + 3.0 * s as f64, "follower");
        b.role(s, 500.0 + 3.0 * s as f64, 900.0, "candidate");
    }
    b.role(4, 900.0, 5_000.0, "leader");
    b.role(4, 12_000.0, 12_500.0, "follower");
    b.role(4, 12_500.0, 12_800.0, "candidate");
    b.role(4, 12_800.0, 20_000.0, "leader");
    for s in 0..4 {
        let start = [6_012.0, 6_000.0, 6_020.0, 6_030.0][s];
        b.role(s, 900.0, start, "follower");
        b.role(s, start, 6_400.0, "candidate");
    }
    b.role(3, 6_400.0, 12_800.0, "leader");
    for s in 0..3 {
        b.role(s, 6_400.0, 12_800.0, "follower");
    }
    b.role(3, 12_800.0, 20_000.0, "follower");
    b.role(2, 12_800.0, 20_000.0, "follower");
    b.role(0, 12_800.0, 15_020.0, "follower");
    b.role(1, 12_800.0, 15_000.0, "follower");
    b.role(0, 15_020.0, 17_200.0, "candidate");
    b.role(1, 15_000.0, 17_200.0, "candidate");
    b.role(0, 17_200.0, 20_000.0, "follower");
    b.role(1, 17_200.0, 20_000.0, "follower");
    b.role(C1, 0.0, 20_000.0, "client");
    b.role(C2, 0.0, 20_000.0, "client");

    // Leader heartbeats every 40 ms; clients PUT to whoever they think leads.
    let leader_at = |t: f64| match t {
        t if (900.0..5_000.0).contains(&t) => Some(4),
        t if (6_400.0..12_800.0).contains(&t) => Some(3),
        t if t >= 12_800.0 => Some(4),
        _ => None,
    };
    let mut t = 0.0;
    while t < 20_000.0 {
        if let Some(l) = leader_at(t) {
            for f in S.into_iter().filter(|&f| f != l) {
                b.send(l, f, t, "HEARTBEAT");
            }
        }
        t += 40.0;
    }
    let mut t = 1_000.0;
    while t < 20_000.0 {
        for (c, offset) in [(C1, 0.0), (C2, 150.0)] {
            let at = t + offset;
            // Clients only learn of a new leader from its COORDINATOR message.
            let believed = match at {
                a if a < 6_400.0 => 4,
                a if a < 12_800.0 => 3,
                _ => 4,
            };
            b.send(c, believed, at, "PUT");
            if !b.t.messages.last().unwrap().dropped {
                b.send(believed, c, at + 12.0, "REPLY");
            }
        }
        t += 300.0;
    }

    b.t.partitions.push(Span {
        from_ms: PARTITION.0,
        to_ms: PARTITION.1,
        label: "s1,s2 | s3,s4,s5".into(),
    });
    b.t.loss.push(Span {
        from_ms: LOSS.0,
        to_ms: LOSS.1,
        label: "10% loss".into(),
    });
    let el = |from_ms, to_ms, lane, text: &str| Interval {
        from_ms,
        to_ms,
        lane: Some(lane),
        text: text.into(),
    };
    b.t.elections = vec![
        el(500.0, 900.0, 4, "election 400 ms → s5"),
        el(6_000.0, 6_400.0, 3, "election 400 ms → s4"),
        el(12_500.0, 12_800.0, 4, "election 300 ms → s5"),
        el(15_000.0, 17_200.0, 4, "election 2.2 s → s5 (after heal)"),
    ];
    b.t.recoveries = vec![
        el(5_000.0, 6_400.0, 3, "recovered in 1.4 s after crash s5"),
        el(12_000.0, 12_800.0, 4, "s5 leads again 0.8 s after restart"),
        el(17_000.0, 17_200.0, 4, "s1,s2 rejoin 0.2 s after heal"),
    ];
    // A trace lists messages in send order.
    b.t.messages.sort_by(|x, y| {
        x.sent_ms
            .total_cmp(&y.sent_ms)
            .then(x.from_lane.cmp(&y.from_lane))
            .then(x.to_lane.cmp(&y.to_lane))
    });
    b.t.messages_total = b.t.messages.len() as u64;
    b.t
}

fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "timeline-sample.svg".into());
    let t = sample();
    std::fs::write(&path, render_timeline(&t))?;
    let dropped = t.messages.iter().filter(|m| m.dropped).count();
    println!(
        "wrote {path}: {} messages ({dropped} dropped)",
        t.messages.len()
    );
    Ok(())
}
