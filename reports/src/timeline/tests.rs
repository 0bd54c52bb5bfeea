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
    assert!(svg.contains("showing 400 of 10,003 messages"));
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
        traffic: Some(Traffic {
            bucket_ms: nan,
            sent: vec![vec![u64::MAX, 3], vec![], vec![1; 10_000]],
        }),
        marks_total: u64::MAX,
        label_counts: vec![("X".into(), u64::MAX), (String::new(), 0), ("Y".into(), 3)],
        violation: Some(crate::model::Violation {
            at_ms: nan,
            lane: Some(99),
            check: "<&>".into(),
            detail: "\"".repeat(500),
        }),
        op_spans: vec![crate::model::OpSpan {
            lane: 1,
            invoked_ms: nan,
            returned_ms: -1e300,
            outcome: OpOutcome::Ok,
        }],
        seen: vec![crate::model::Seen {
            lane: 42,
            at_ms: 1.0,
        }],
        work: vec![crate::model::WorkBar {
            lane: 0,
            row: 200,
            from_ms: f64::INFINITY,
            to_ms: -5.0,
            text: "<&>".into(),
            hue: crate::model::Hue::Work,
        }],
        ticks: vec![crate::model::Tick {
            lane: usize::MAX,
            at_ms: f64::NAN,
            hue: crate::model::Hue::Refused,
        }],
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

/// A churning run like Raft's churn scenario: five servers crashing, restarting and electing
/// over and over in the first minute, three clients, faults, terms, and far more messages
/// than arrows.
fn churn(n_messages: u64) -> Timeline {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let lanes: Vec<String> = ["s1", "s2", "s3", "s4", "s5", "c1", "c2", "c3"]
        .map(String::from)
        .to_vec();
    let mut t = Timeline {
        title: "raft / churn".into(),
        end_ms: 120_000.0,
        lanes,
        messages_total: n_messages,
        ..Timeline::default()
    };
    let kinds = [
        MarkKind::Crash,
        MarkKind::Restart,
        MarkKind::ElectionStarted,
        MarkKind::Elected,
    ];
    for i in 0..400 {
        let at_ms = next(60_000) as f64;
        let kind = kinds[i % 4];
        let text = if kind == MarkKind::Elected {
            "leader"
        } else {
            ""
        };
        t.marks.push(Mark {
            lane: next(5) as usize,
            at_ms,
            kind,
            text: text.into(),
        });
    }
    for lane in 0..8 {
        let mut at = 0.0;
        while at < 120_000.0 {
            let to = (at + 200.0 + next(8_000) as f64).min(120_000.0);
            let role = if lane >= 5 {
                "client"
            } else {
                ["follower", "candidate", "leader"][next(3) as usize]
            };
            t.roles.push(RoleSpan {
                lane,
                from_ms: at,
                to_ms: to,
                role: role.into(),
                tone: None,
            });
            at = to;
        }
    }
    for i in 0..40 {
        let from_ms = next(60_000) as f64;
        t.recoveries.push(Interval {
            from_ms,
            to_ms: from_ms + next(3_000) as f64,
            lane: None,
            text: format!("crash s{}: recovered in {} ms", i % 5 + 1, next(3_000)),
        });
        if i % 2 == 0 {
            t.elections.push(Interval {
                from_ms,
                to_ms: from_ms + 10.0,
                lane: Some(next(5) as usize),
                text: format!("election {} ms → s{}", next(20), i % 5 + 1),
            });
            t.partitions.push(Span {
                from_ms,
                to_ms: from_ms + next(5_000) as f64,
                label: "s1,s3,c1,c3 | s2,s4,s5,c2".into(),
            });
        }
    }
    for i in 0..1_500 {
        t.ops.push(OpMark {
            lane: 5 + i % 3,
            at_ms: next(120_000) as f64,
            outcome: [OpOutcome::Ok, OpOutcome::Fail, OpOutcome::Unknown][next(3) as usize],
        });
    }
    for term in 1..12 {
        let from_ms = term as f64 * 5_000.0;
        t.terms.push(TermSpan {
            term,
            lane: next(5) as usize,
            from_ms,
            to_ms: from_ms + next(6_000) as f64,
        });
    }
    let mut sent = vec![vec![0; 600]; 8];
    for (lane, buckets) in sent.iter_mut().enumerate() {
        for (i, n) in buckets.iter_mut().enumerate() {
            *n = (n_messages / 4_800) * (1 + (lane + i) as u64 % 3);
        }
    }
    t.traffic = Some(Traffic {
        bucket_ms: 200.0,
        sent,
    });
    t.messages = (0..1_200)
        .map(|i| arrow(i % 5, (i + 1) % 5, (i * 100) as f64, "APPEND", false))
        .collect();
    t
}

#[test]
fn labels_never_overlap() {
    let t = churn(33_280);
    assert_eq!(overlapping_labels(&t), None);
    // And there were labels to overlap: the check looked at something.
    let scene = Scene::new(&t);
    let boxes = scene.label_boxes(&t);
    assert!(boxes.len() > 100, "{} label boxes", boxes.len());
    assert!(
        scene.recoveries.overflow > 0,
        "the recoveries row overflowed"
    );
}

#[test]
fn the_overlap_check_finds_a_label_over_another() {
    let t = churn(33_280);
    let scene = Scene::new(&t);
    let mut boxes = scene.label_boxes(&t);
    assert_eq!(layout::first_overlap(&boxes), None);
    // A label drawn where a mark's label already is, a few pixels off.
    let mark = *boxes.last().unwrap();
    boxes.push(LabelBox {
        owner: usize::MAX,
        x0: mark.x0 + 3.0,
        x1: mark.x1 + 3.0,
        ..mark
    });
    let (a, b) = layout::first_overlap(&boxes).expect("the overlap is found");
    assert!(a == boxes.len() - 1 || b == boxes.len() - 1);
}

#[test]
fn a_churning_run_stays_small_and_counts_what_it_leaves_out() {
    let t = churn(1_000_000);
    let svg = render_timeline(&t);
    std::fs::write(std::env::temp_dir().join("faultline-churn-test.svg"), &svg).ok();
    assert_well_formed(&svg);
    assert!(svg.len() < 300_000, "SVG is {} bytes", svg.len());
    assert!(
        svg.contains("of 1,000,000 messages as arrows"),
        "the sample is stated"
    );
    assert!(svg.contains("counts all it sent"), "the strip is explained");
    // Plotters' group opacity makes renderers slow: none is left.
    assert!(!svg.contains(" opacity="));
}
