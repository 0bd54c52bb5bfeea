//! Whole-picture tests of the timeline renderer.

use super::*;

fn arrow(from_lane: usize, to_lane: usize, sent_ms: f64, label: &str, dropped: bool) -> Arrow {
    Arrow {
        from_lane,
        to_lane,
        sent_ms,
        recv_ms: sent_ms + 5.0,
        label: label.into(),
        dropped,
        election: false,
    }
}

/// Three servers, a crash and a re-election, `n_heartbeats` heartbeats.
fn small_run(n_heartbeats: usize) -> Timeline {
    let mut messages: Vec<Arrow> = (0..n_heartbeats)
        .map(|i| arrow(2, i % 2, (i / 2) as f64 * 2.0, "HEARTBEAT", i % 17 == 0))
        .collect();
    messages.push(arrow(0, 1, 3_000.0, "ELECTION", false));
    messages.push(arrow(1, 0, 3_010.0, "OK", false));
    messages.push(arrow(1, 0, 3_300.0, "COORDINATOR", false));
    Timeline {
        title: "bully / crash — seed 1".into(),
        end_ms: 10_000.0,
        lanes: vec!["s1".into(), "s2".into(), "s3".into()],
        roles: vec![
            RoleSpan {
                lane: 2,
                from_ms: 0.0,
                to_ms: 2_000.0,
                role: "leader".into(),
                tone: None,
            },
            RoleSpan {
                lane: 1,
                from_ms: 3_300.0,
                to_ms: 10_000.0,
                role: "leader".into(),
                tone: None,
            },
            RoleSpan {
                lane: 0,
                from_ms: 0.0,
                to_ms: 10_000.0,
                role: "follower".into(),
                tone: None,
            },
        ],
        down: vec![LaneSpan {
            lane: 2,
            from_ms: 2_000.0,
            to_ms: 10_000.0,
        }],
        partitions: vec![Span {
            from_ms: 6_000.0,
            to_ms: 7_000.0,
            label: "s1 | s2,s3".into(),
        }],
        loss: vec![Span {
            from_ms: 8_000.0,
            to_ms: 9_000.0,
            label: "10% loss".into(),
        }],
        messages_total: n_heartbeats as u64 + 3,
        messages,
        marks: vec![
            Mark {
                lane: 2,
                at_ms: 2_000.0,
                kind: MarkKind::Crash,
                text: String::new(),
            },
            Mark {
                lane: 1,
                at_ms: 3_300.0,
                kind: MarkKind::Elected,
                text: "s2 leads".into(),
            },
        ],
        elections: vec![Interval {
            from_ms: 3_000.0,
            to_ms: 3_300.0,
            lane: Some(1),
            text: "election 300 ms → s2".into(),
        }],
        recoveries: vec![Interval {
            from_ms: 2_000.0,
            to_ms: 3_300.0,
            lane: Some(1),
            text: "recovered in 1.3 s".into(),
        }],
        ..Timeline::default()
    }
}

fn assert_well_formed(svg: &str) {
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    for bad in ["NaN", "inf"] {
        assert!(!svg.contains(bad), "output contains {bad}");
    }
}

#[test]
fn same_input_same_bytes() {
    let t = small_run(2_000);
    let a = render_timeline(&t);
    let b = render_timeline(&t.clone());
    assert_eq!(a, b);
    assert_well_formed(&a);
}

#[test]
fn draws_what_it_is_given() {
    let svg = render_timeline(&small_run(100));
    for needle in [
        "s1",
        "s2",
        "s3",
        "election 300 ms → s2",
        "recovered in 1.3 s",
        "partition s1 | s2,s3",
        "10% loss",
        "s2 leads",
        "down",
        "HEARTBEAT",
    ] {
        assert!(svg.contains(needle), "missing {needle:?}");
    }
    // Everything given fits the budget, so no sampling note.
    assert!(!svg.contains("showing"));
}

/// `small_run` with Raft's facts: two terms, a commit index and a client's operations.
fn raft_run(n_commits: usize) -> Timeline {
    let mut t = small_run(100);
    t.lanes.push("c1".into());
    t.terms = vec![
        TermSpan {
            term: 1,
            lane: 2,
            from_ms: 0.0,
            to_ms: 2_000.0,
        },
        TermSpan {
            term: 2,
            lane: 1,
            from_ms: 3_300.0,
            to_ms: 10_000.0,
        },
    ];
    t.progress = Some(Progress {
        name: "commit index".into(),
        points: (1..=n_commits)
            .map(|i| (i as f64 * 10_000.0 / n_commits as f64, i as f64))
            .collect(),
    });
    t.ops = [
        OpOutcome::Ok,
        OpOutcome::Ok,
        OpOutcome::Fail,
        OpOutcome::Unknown,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, outcome)| OpMark {
        lane: 3,
        at_ms: 1_000.0 + i as f64 * 500.0,
        outcome,
    })
    .collect();
    t
}

#[test]
fn terms_progress_and_client_operations_are_drawn() {
    let svg = render_timeline(&raft_run(1_144));
    assert_well_formed(&svg);
    for needle in [
        "term 1 · s3",
        "term 2 · s2",
        "commit index",
        "1,144",
        "2 ok · 1 failed · 1 unknown",
        "client op failed",
        "client op unknown (timed out)",
    ] {
        assert!(svg.contains(needle), "missing {needle:?}");
    }
    let plain = render_timeline(&small_run(100));
    for needle in ["terms", "commit index", "client op"] {
        assert!(!plain.contains(needle), "{needle:?} without protocol facts");
    }
}

#[test]
fn a_long_progress_line_stays_small() {
    let few = render_timeline(&raft_run(100)).len();
    let many = render_timeline(&raft_run(1_000_000)).len();
    // One corner per pixel column at most: the plot is about 1,200 pixels wide.
    assert!(many < few + 40_000, "{few} bytes, then {many} bytes");
}

#[test]
fn many_messages_are_sampled_and_bounded() {
    let svg = render_timeline(&small_run(10_000));
    assert_well_formed(&svg);
    assert!(svg.len() < 1_500_000, "SVG is {} bytes", svg.len());
    assert!(svg.contains("showing 600 of 10,003 messages"));
    // Election traffic survives sampling.
    assert!(svg.contains("COORDINATOR (1)"));
}

#[test]
fn a_sampled_trace_says_so() {
    let mut t = small_run(10);
    t.messages_total = 1_000_000;
    assert!(render_timeline(&t).contains("of 1,000,000 messages"));
}

#[test]
fn degenerate_inputs_do_not_panic() {
    assert_well_formed(&render_timeline(&Timeline::default()));

    for end_ms in [
        0.0,
        -5.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e-9,
        1e300,
    ] {
        let mut t = small_run(50);
        t.end_ms = end_ms;
        assert_well_formed(&render_timeline(&t));
    }

    let nan = f64::NAN;
    let garbage = Timeline {
        title: "<&>\"' ".repeat(100),
        end_ms: nan,
        lanes: vec![
            String::new(),
            "a-very-long-node-name-that-does-not-fit".into(),
        ],
        roles: vec![
            RoleSpan {
                lane: 9,
                from_ms: 0.0,
                to_ms: 1.0,
                role: "leader".into(),
                tone: None,
            },
            RoleSpan {
                lane: 0,
                from_ms: nan,
                to_ms: nan,
                role: String::new(),
                tone: None,
            },
            RoleSpan {
                lane: 1,
                from_ms: 5.0,
                to_ms: -5.0,
                role: "weird".into(),
                tone: None,
            },
            RoleSpan {
                lane: 1,
                from_ms: -1e300,
                to_ms: 1e300,
                role: "follower".into(),
                tone: None,
            },
        ],
        down: vec![
            LaneSpan {
                lane: 7,
                from_ms: 0.0,
                to_ms: 1.0,
            },
            LaneSpan {
                lane: 0,
                from_ms: nan,
                to_ms: 3.0,
            },
        ],
        partitions: vec![
            Span {
                from_ms: nan,
                to_ms: 1.0,
                label: String::new(),
            },
            Span {
                from_ms: 2.0,
                to_ms: 1.0,
                label: "x".into(),
            },
        ],
        loss: vec![Span {
            from_ms: 0.0,
            to_ms: f64::INFINITY,
            label: String::new(),
        }],
        messages: vec![
            arrow(0, 5, 1.0, "X", false),
            arrow(0, 1, nan, "X", false),
            Arrow {
                recv_ms: nan,
                ..arrow(1, 0, 1.0, "", true)
            },
            Arrow {
                recv_ms: -3.0,
                ..arrow(1, 1, 1.0, "OK", false)
            },
        ],
        marks: vec![
            Mark {
                lane: 3,
                at_ms: 0.0,
                kind: MarkKind::Crash,
                text: String::new(),
            },
            Mark {
                lane: 0,
                at_ms: nan,
                kind: MarkKind::Note,
                text: String::new(),
            },
        ],
        elections: vec![Interval {
            from_ms: nan,
            to_ms: 1.0,
            lane: Some(99),
            text: "e".into(),
        }],
        recoveries: vec![Interval {
            from_ms: 0.0,
            to_ms: nan,
            lane: None,
            text: String::new(),
        }],
        messages_total: u64::MAX,
        terms: vec![
            TermSpan {
                term: u64::MAX,
                lane: 7,
                from_ms: 0.0,
                to_ms: 1.0,
            },
            TermSpan {
                term: 2,
                lane: 1,
                from_ms: nan,
                to_ms: -1.0,
            },
            TermSpan {
                term: 3,
                lane: 0,
                from_ms: -1e300,
                to_ms: 1e300,
            },
        ],
        progress: Some(Progress {
            name: "x".repeat(200),
            points: vec![
                (nan, 1.0),
                (1.0, nan),
                (2.0, -5.0),
                (3.0, 1e300),
                (-1.0, 7.0),
            ],
        }),
        ops: vec![
            OpMark {
                lane: 99,
                at_ms: 1.0,
                outcome: OpOutcome::Fail,
            },
            OpMark {
                lane: 1,
                at_ms: nan,
                outcome: OpOutcome::Unknown,
            },
        ],
    };
    assert_well_formed(&render_timeline(&garbage));

    let no_lanes = Timeline {
        lanes: vec![],
        ..small_run(20)
    };
    assert_well_formed(&render_timeline(&no_lanes));
}

#[test]
fn thousands_separators() {
    assert_eq!(scene::thousands(0), "0");
    assert_eq!(scene::thousands(999), "999");
    assert_eq!(scene::thousands(1_000), "1,000");
    assert_eq!(scene::thousands(12_345_678), "12,345,678");
}
