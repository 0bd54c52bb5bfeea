//! Unit tests of single nodes: feed a message or a timer, look at what they asked for.

use std::time::Duration;

use faultline_sim::testkit::{self, events, multicast, sent};
use faultline_sim::{Action, Node, NodeId, Note, Timer};

use super::*;

/// A server's surroundings.
type Bench = testkit::Bench<Msg, Event, ServerTimer>;
/// A chat client's surroundings.
type ClientBench = testkit::Bench<Msg, Event, ClientTimer>;

fn n(id: u16) -> NodeId {
    NodeId(id)
}

fn server_hb(leader: Option<u16>, epoch: u64, commit: u64) -> Msg {
    Msg::Heartbeat {
        kind: Kind::Server,
        leader: leader.map(n),
        epoch,
        commit,
    }
}

fn cfg(total: usize, bugs: &[&str]) -> BullyConfig {
    let names: Vec<String> = bugs.iter().map(|b| b.to_string()).collect();
    BullyConfig {
        servers_total: total,
        bugs: Bugs::from_names(&names).unwrap(),
        ..Default::default()
    }
}

/// Server 5, alone or with lower `followers` that answer its sync: a serving leader of epoch 1.
fn leader(total: usize, bugs: &[&str], followers: &[u16]) -> (Server, Bench) {
    let mut s = Server::new(cfg(total, bugs));
    let mut b = Bench::new(5);
    b.run(|cx| s.on_start(cx));
    for &f in followers {
        b.run(|cx| s.on_message(n(f), server_hb(None, 0, 0), cx));
    }
    b.advance_ms(500);
    let out = b.run(|cx| s.on_timer(ServerTimer::Discovery, cx));
    assert!(out.1.contains(&Note::ElectionStarted));
    assert!(multicast(&out).contains(&Msg::Coordinator { epoch: 1 }));
    for &f in followers {
        assert_eq!(sent(&out, f), vec![Msg::Sync { epoch: 1 }]);
        b.run(|cx| {
            s.on_message(
                n(f),
                Msg::SyncOk {
                    epoch: 1,
                    last_epoch: 0,
                    last_seq: 0,
                },
                cx,
            )
        });
    }
    (s, b)
}

#[test]
fn server_start_probes_and_arms_timers() {
    let mut s = Server::new(cfg(3, &[]));
    let mut b = Bench::new(2);
    let out = b.run(|cx| s.on_start(cx));
    assert_eq!(multicast(&out), vec![Msg::Probe { kind: Kind::Server }]);
    assert!(out.0.contains(&Action::SetTimer(
        ServerTimer::Heartbeat.id(),
        Duration::from_millis(200)
    )));
    assert!(out.0.contains(&Action::SetTimer(
        ServerTimer::Discovery.id(),
        Duration::from_millis(500)
    )));
    assert!(out.1.contains(&Note::Role("follower".into())));
    assert!(events(&out).contains(&Event::View {
        members: vec![n(2)]
    }));
    // A heartbeat from a newcomer grows the view.
    let out = b.run(|cx| s.on_message(n(4), server_hb(None, 0, 0), cx));
    assert_eq!(
        events(&out),
        vec![
            Event::ViewJoin { node: n(4) },
            Event::View {
                members: vec![n(2), n(4)]
            }
        ]
    );
    // A probe is answered with a heartbeat and a hello.
    let out = b.run(|cx| s.on_message(n(7), Msg::Probe { kind: Kind::Client }, cx));
    let hello = Msg::Hello {
        leader: None,
        epoch: 0,
    };
    assert_eq!(sent(&out, 7), vec![server_hb(None, 0, 0), hello]);
    // A member silent for half the timeout is probed directly.
    b.advance_ms(600);
    let out = b.run(|cx| s.on_timer(ServerTimer::Heartbeat, cx));
    assert!(sent(&out, 4).contains(&Msg::Probe { kind: Kind::Server }));
}

#[test]
fn lone_server_leads_and_orders_chats() {
    let (mut s, mut b) = leader(1, &[], &[]);
    let out = b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 1,
                text: "hi".into(),
            },
            cx,
        )
    });
    assert_eq!(
        sent(&out, 9),
        vec![Msg::ChatAck {
            client_seq: 1,
            seq: 2
        }]
    );
    assert!(events(&out).contains(&Event::Delivered {
        seq: 2,
        origin: n(9),
        client_seq: 1
    }));
    assert!(multicast(&out)
        .iter()
        .any(|m| matches!(m, Msg::Publish { .. })));
    // A retry of a committed chat is acknowledged again, not appended again.
    let out = b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 1,
                text: "hi".into(),
            },
            cx,
        )
    });
    assert_eq!(
        sent(&out, 9),
        vec![Msg::ChatAck {
            client_seq: 1,
            seq: 2
        }]
    );
    assert!(events(&out).is_empty());
}

#[test]
fn no_dedup_bug_appends_a_retry_twice() {
    let (mut s, mut b) = leader(1, &["no-dedup"], &[]);
    b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 1,
                text: "hi".into(),
            },
            cx,
        )
    });
    let out = b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 1,
                text: "hi".into(),
            },
            cx,
        )
    });
    assert!(events(&out).contains(&Event::Delivered {
        seq: 3,
        origin: n(9),
        client_seq: 1
    }));
}

#[test]
fn chat_is_acknowledged_only_after_a_majority_stored_it() {
    let (mut s, mut b) = leader(3, &[], &[1]);
    let out = b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 1,
                text: "hi".into(),
            },
            cx,
        )
    });
    assert!(sent(&out, 9).is_empty(), "no ack before the quorum");
    let append = sent(&out, 1);
    let Some(Msg::Append {
        epoch: 1,
        prev_seq: 0,
        entries,
        ..
    }) = append.first()
    else {
        panic!("expected an append, got {append:?}")
    };
    assert_eq!(entries.len(), 2, "the no-op and the chat");
    let out = b.run(|cx| {
        s.on_message(
            n(1),
            Msg::AppendOk {
                epoch: 1,
                ok: true,
                last_seq: 2,
            },
            cx,
        )
    });
    assert_eq!(
        sent(&out, 9),
        vec![Msg::ChatAck {
            client_seq: 1,
            seq: 2
        }]
    );
    // While it is uncommitted, a retry waits.
    let out = b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 2,
                text: "yo".into(),
            },
            cx,
        )
    });
    assert!(sent(&out, 9).is_empty());
    let out = b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 2,
                text: "yo".into(),
            },
            cx,
        )
    });
    assert!(sent(&out, 9).is_empty());
    assert!(
        sent(&out, 1).is_empty(),
        "a waiting retry is not appended again"
    );
}

#[test]
fn ack_before_quorum_bug_acknowledges_at_once() {
    let (mut s, mut b) = leader(3, &["ack-before-quorum"], &[1]);
    let out = b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 1,
                text: "hi".into(),
            },
            cx,
        )
    });
    assert_eq!(
        sent(&out, 9),
        vec![Msg::ChatAck {
            client_seq: 1,
            seq: 2
        }]
    );
}

#[test]
fn leader_backs_off_on_mismatch() {
    let (mut s, mut b) = leader(3, &[], &[1]);
    b.run(|cx| {
        s.on_message(
            n(9),
            Msg::Chat {
                client_seq: 1,
                text: "hi".into(),
            },
            cx,
        )
    });
    let out = b.run(|cx| {
        s.on_message(
            n(1),
            Msg::AppendOk {
                epoch: 1,
                ok: false,
                last_seq: 0,
            },
            cx,
        )
    });
    let Some(Msg::Append { prev_seq: 0, .. }) = sent(&out, 1).first().cloned() else {
        panic!("expected a resend from seq 1")
    };
    // A higher epoch from a follower makes the leader re-elect.
    let out = b.run(|cx| {
        s.on_message(
            n(1),
            Msg::AppendOk {
                epoch: 9,
                ok: false,
                last_seq: 0,
            },
            cx,
        )
    });
    assert!(out.1.contains(&Note::ElectionStarted));
    assert!(multicast(&out).contains(&Msg::Coordinator { epoch: 10 }));
}

#[test]
fn lower_server_asks_higher_then_follows_its_coordinator() {
    let mut s = Server::new(cfg(3, &[]));
    let mut b = Bench::new(1);
    b.run(|cx| s.on_start(cx));
    b.run(|cx| s.on_message(n(4), server_hb(None, 0, 0), cx));
    b.advance_ms(500);
    let out = b.run(|cx| s.on_timer(ServerTimer::Discovery, cx));
    // One live server above: it waits a step for that one to win first.
    assert_eq!(sent(&out, 4), vec![]);
    assert!(out.0.contains(&Action::SetTimer(
        ServerTimer::Election.id(),
        Duration::from_millis(100)
    )));
    b.advance_ms(100);
    let out = b.run(|cx| s.on_timer(ServerTimer::Election, cx));
    assert_eq!(sent(&out, 4), vec![Msg::Election]);
    assert!(out.1.contains(&Note::Role("candidate".into())));
    let out = b.run(|cx| s.on_message(n(4), Msg::Ok, cx));
    assert!(out.0.contains(&Action::SetTimer(
        ServerTimer::Election.id(),
        Duration::from_millis(400)
    )));
    let out = b.run(|cx| s.on_message(n(4), Msg::Coordinator { epoch: 1 }, cx));
    assert!(out.1.contains(&Note::Leader(Some(n(4)))));
    assert!(out.1.contains(&Note::Role("follower".into())));
    assert!(events(&out).contains(&Event::EpochAdopted {
        epoch: 1,
        leader: n(4)
    }));
    // A coordinator re-announcing an epoch not newer than ours is told so.
    let out = b.run(|cx| s.on_message(n(6), Msg::Coordinator { epoch: 1 }, cx));
    assert_eq!(sent(&out, 6), vec![Msg::Stale { epoch: 1 }]);
    // Without an OK, the election timeout makes the candidate win.
    let mut s = Server::new(cfg(3, &[]));
    let mut b = Bench::new(1);
    b.run(|cx| s.on_start(cx));
    b.run(|cx| s.on_message(n(4), server_hb(None, 0, 0), cx));
    b.run(|cx| s.on_timer(ServerTimer::Discovery, cx));
    b.run(|cx| s.on_timer(ServerTimer::Election, cx));
    let out = b.run(|cx| s.on_timer(ServerTimer::Election, cx));
    assert!(multicast(&out).contains(&Msg::Coordinator { epoch: 1 }));
    assert!(out.1.contains(&Note::Role("leader".into())));
}

#[test]
fn higher_server_answers_election_and_takes_over() {
    let mut s = Server::new(cfg(3, &[]));
    let mut b = Bench::new(4);
    b.run(|cx| s.on_start(cx));
    let out = b.run(|cx| s.on_message(n(1), Msg::Election, cx));
    assert_eq!(sent(&out, 1), vec![Msg::Ok, Msg::Sync { epoch: 1 }]);
    assert!(multicast(&out).contains(&Msg::Coordinator { epoch: 1 }));
    // Already leading: an election only re-announces, to the asker alone.
    let out = b.run(|cx| s.on_message(n(2), Msg::Election, cx));
    assert_eq!(sent(&out, 2), vec![Msg::Ok, Msg::Coordinator { epoch: 1 }]);
    assert_eq!(multicast(&out), vec![]);
    assert!(!out.1.contains(&Note::ElectionStarted));
}

#[test]
fn lower_coordinator_is_challenged_unless_the_bug_is_on() {
    for (bugs, follows) in [(&[][..], false), (&["accept-lower-coordinator"][..], true)] {
        let mut s = Server::new(cfg(3, bugs));
        let mut b = Bench::new(4);
        b.run(|cx| s.on_start(cx));
        b.run(|cx| s.on_message(n(2), server_hb(Some(2), 3, 0), cx));
        let out = b.run(|cx| s.on_message(n(2), Msg::Coordinator { epoch: 3 }, cx));
        assert_eq!(
            out.1.contains(&Note::Leader(Some(n(2)))),
            follows,
            "bugs {bugs:?}"
        );
        b.advance_ms(500);
        let out = b.run(|cx| s.on_timer(ServerTimer::Discovery, cx));
        assert_eq!(
            out.1.contains(&Note::ElectionStarted),
            !follows,
            "bugs {bugs:?}"
        );
        if !follows {
            assert!(multicast(&out).contains(&Msg::Coordinator { epoch: 4 }));
        }
    }
}

#[test]
fn follower_times_out_its_leader() {
    let mut s = Server::new(cfg(3, &[]));
    let mut b = Bench::new(1);
    b.run(|cx| s.on_start(cx));
    b.run(|cx| s.on_message(n(4), Msg::Coordinator { epoch: 1 }, cx));
    b.advance_ms(500);
    b.run(|cx| s.on_timer(ServerTimer::Discovery, cx));
    b.run(|cx| s.on_message(n(4), server_hb(Some(4), 1, 0), cx));
    b.advance_ms(800);
    let out = b.run(|cx| s.on_timer(ServerTimer::Heartbeat, cx));
    assert!(!out.1.contains(&Note::ElectionStarted));
    b.advance_ms(400);
    let out = b.run(|cx| s.on_timer(ServerTimer::Heartbeat, cx));
    assert!(out.1.contains(&Note::ElectionStarted));
    assert!(out.1.contains(&Note::Leader(None)));
}

#[test]
fn follower_matches_logs_and_rejects_old_epochs() {
    let mut s = Server::new(cfg(3, &[]));
    let mut b = Bench::new(1);
    b.run(|cx| s.on_start(cx));
    b.run(|cx| s.on_message(n(4), Msg::Coordinator { epoch: 2 }, cx));
    let entry = |seq, epoch, cs: u64| Entry {
        epoch,
        seq,
        origin: n(9),
        client_seq: cs,
        text: "x".into(),
    };
    let append = |prev_seq, prev_epoch, entries, commit| Msg::Append {
        epoch: 2,
        prev_seq,
        prev_epoch,
        entries,
        commit,
    };
    // A gap is refused with where to resume.
    let out = b.run(|cx| s.on_message(n(4), append(3, 2, vec![], 0), cx));
    assert_eq!(
        sent(&out, 4),
        vec![Msg::AppendOk {
            epoch: 2,
            ok: false,
            last_seq: 0
        }]
    );
    let out = b.run(|cx| {
        s.on_message(
            n(4),
            append(0, 0, vec![entry(1, 2, 0), entry(2, 2, 1)], 2),
            cx,
        )
    });
    assert_eq!(
        sent(&out, 4),
        vec![Msg::AppendOk {
            epoch: 2,
            ok: true,
            last_seq: 2
        }]
    );
    assert_eq!(
        events(&out),
        vec![Event::Delivered {
            seq: 2,
            origin: n(9),
            client_seq: 1
        }]
    );
    // The same batch again changes nothing and delivers nothing twice.
    let out = b.run(|cx| {
        s.on_message(
            n(4),
            append(0, 0, vec![entry(1, 2, 0), entry(2, 2, 1)], 2),
            cx,
        )
    });
    assert!(events(&out).is_empty());
    // A mismatching previous epoch is refused.
    let out = b.run(|cx| s.on_message(n(4), append(2, 1, vec![], 2), cx));
    assert!(matches!(
        sent(&out, 4)[..],
        [Msg::AppendOk { ok: false, .. }]
    ));
    // An older epoch is told it is stale.
    let out = b.run(|cx| {
        s.on_message(
            n(3),
            Msg::Append {
                epoch: 1,
                prev_seq: 0,
                prev_epoch: 0,
                entries: vec![],
                commit: 0,
            },
            cx,
        )
    });
    assert_eq!(sent(&out, 3), vec![Msg::Stale { epoch: 2 }]);
    let out = b.run(|cx| s.on_message(n(3), Msg::Sync { epoch: 1 }, cx));
    assert_eq!(sent(&out, 3), vec![Msg::Stale { epoch: 2 }]);
    // The log and epoch survive a restart; the commit point does not.
    let out = b.run(|cx| s.on_start(cx));
    assert!(events(&out)
        .iter()
        .all(|e| !matches!(e, Event::Delivered { .. })));
    let out = b.run(|cx| s.on_message(n(4), Msg::Sync { epoch: 2 }, cx));
    assert_eq!(
        sent(&out, 4),
        vec![Msg::SyncOk {
            epoch: 2,
            last_epoch: 2,
            last_seq: 2
        }]
    );
    let out = b.run(|cx| s.on_message(n(4), append(2, 2, vec![], 2), cx));
    assert_eq!(
        events(&out),
        vec![Event::Delivered {
            seq: 2,
            origin: n(9),
            client_seq: 1
        }]
    );
}

#[test]
fn new_leader_fetches_a_more_up_to_date_log() {
    let mut s = Server::new(cfg(3, &[]));
    let mut b = Bench::new(5);
    b.run(|cx| s.on_start(cx));
    b.run(|cx| s.on_message(n(1), server_hb(None, 0, 0), cx));
    b.run(|cx| s.on_timer(ServerTimer::Discovery, cx));
    let out = b.run(|cx| {
        s.on_message(
            n(1),
            Msg::SyncOk {
                epoch: 1,
                last_epoch: 0,
                last_seq: 0,
            },
            cx,
        )
    });
    assert!(events(&out).contains(&Event::Synced {
        epoch: 1,
        noop_seq: 1
    }));
    // Re-elected at epoch 2 with a follower that holds more.
    let out = b.run(|cx| s.on_message(n(1), Msg::Stale { epoch: 1 }, cx));
    assert!(multicast(&out).contains(&Msg::Coordinator { epoch: 2 }));
    let out = b.run(|cx| {
        s.on_message(
            n(1),
            Msg::SyncOk {
                epoch: 2,
                last_epoch: 1,
                last_seq: 3,
            },
            cx,
        )
    });
    assert_eq!(
        sent(&out, 1),
        vec![Msg::Fetch {
            epoch: 2,
            from_seq: 1
        }]
    );
    let theirs = |seq, cs: u64| Entry {
        epoch: 1,
        seq,
        origin: n(9),
        client_seq: cs,
        text: "t".into(),
    };
    let entries = vec![theirs(1, 0), theirs(2, 1), theirs(3, 2)];
    let out = b.run(|cx| s.on_message(n(1), Msg::Entries { epoch: 2, entries }, cx));
    assert!(events(&out).contains(&Event::Synced {
        epoch: 2,
        noop_seq: 4
    }));
    let out = b.run(|cx| {
        s.on_message(
            n(1),
            Msg::AppendOk {
                epoch: 2,
                ok: true,
                last_seq: 4,
            },
            cx,
        )
    });
    let delivered: Vec<u64> = events(&out)
        .iter()
        .filter_map(|e| match e {
            Event::Delivered { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, vec![2, 3]);
}

#[test]
fn hostile_messages_do_not_panic() {
    let (mut s, mut b) = leader(3, &[], &[1]);
    let big = Entry {
        epoch: 1,
        seq: 1,
        origin: n(9),
        client_seq: 1,
        text: "x".repeat(300),
    };
    let many: Vec<Entry> = (1..=100)
        .map(|seq| Entry {
            epoch: 1,
            seq,
            origin: n(9),
            client_seq: seq,
            text: String::new(),
        })
        .collect();
    let hostile = vec![
        Msg::Append {
            epoch: u64::MAX,
            prev_seq: u64::MAX,
            prev_epoch: 0,
            entries: vec![],
            commit: u64::MAX,
        },
        Msg::Append {
            epoch: 1,
            prev_seq: 0,
            prev_epoch: 0,
            entries: many.clone(),
            commit: 5,
        },
        Msg::Append {
            epoch: 1,
            prev_seq: 0,
            prev_epoch: 0,
            entries: vec![big.clone()],
            commit: 5,
        },
        Msg::Entries {
            epoch: 1,
            entries: many.clone(),
        },
        Msg::Fetch {
            epoch: 1,
            from_seq: u64::MAX,
        },
        Msg::Pull { from_seq: u64::MAX },
        Msg::Pull { from_seq: 0 },
        Msg::SyncOk {
            epoch: 1,
            last_epoch: u64::MAX,
            last_seq: u64::MAX,
        },
        Msg::AppendOk {
            epoch: 1,
            ok: true,
            last_seq: u64::MAX,
        },
        Msg::AppendOk {
            epoch: 1,
            ok: false,
            last_seq: u64::MAX,
        },
        Msg::Coordinator { epoch: u64::MAX },
        Msg::Stale { epoch: u64::MAX },
        Msg::Publish { entries: many },
        Msg::Chat {
            client_seq: 0,
            text: String::new(),
        },
        Msg::Chat {
            client_seq: 3,
            text: "y".repeat(300),
        },
        Msg::Leave,
    ];
    for msg in hostile {
        for from in [1, 2, 5, 9, u16::MAX] {
            b.run(|cx| s.on_message(n(from), msg.clone(), cx));
            b.run(|cx| s.on_timer(ServerTimer::Heartbeat, cx));
        }
    }
    let mut c = ChatClient::new(
        cfg(3, &[]),
        ChatWorkload {
            messages: 2,
            ..Default::default()
        },
    );
    let mut cb = ClientBench::new(9);
    cb.run(|cx| c.on_start(cx));
    let odd = vec![
        Msg::Publish { entries: vec![big] },
        Msg::Publish { entries: vec![] },
        Msg::ChatAck {
            client_seq: u64::MAX,
            seq: 0,
        },
        Msg::NotLeader { leader: Some(n(9)) },
        server_hb(Some(4), u64::MAX, u64::MAX),
    ];
    for msg in odd {
        cb.run(|cx| c.on_message(n(4), msg.clone(), cx));
        cb.run(|cx| c.on_timer(ClientTimer::Heartbeat, cx));
        cb.run(|cx| c.on_timer(ClientTimer::Chat, cx));
    }
}

#[test]
fn client_sends_retries_with_backoff_and_rediscovers() {
    let work = ChatWorkload {
        messages: 2,
        ..Default::default()
    };
    let mut c = ChatClient::new(cfg(3, &[]), work);
    let mut b = ClientBench::new(9);
    let out = b.run(|cx| c.on_start(cx));
    assert_eq!(multicast(&out), vec![Msg::Probe { kind: Kind::Client }]);
    assert!(out.0.contains(&Action::SetTimer(
        ClientTimer::Chat.id(),
        Duration::from_millis(1500)
    )));
    let out = b.run(|cx| {
        c.on_message(
            n(4),
            Msg::Hello {
                leader: Some(n(4)),
                epoch: 1,
            },
            cx,
        )
    });
    assert!(out.1.contains(&Note::Leader(Some(n(4)))));
    let out = b.run(|cx| c.on_timer(ClientTimer::Chat, cx));
    assert_eq!(events(&out), vec![Event::ChatSent { client_seq: 1 }]);
    assert!(matches!(
        sent(&out, 4)[..],
        [Msg::Chat { client_seq: 1, .. }]
    ));
    assert!(out.0.contains(&Action::SetTimer(
        ClientTimer::Chat.id(),
        Duration::from_millis(200)
    )));
    let out = b.run(|cx| c.on_timer(ClientTimer::Chat, cx));
    assert!(matches!(
        sent(&out, 4)[..],
        [Msg::Chat { client_seq: 1, .. }]
    ));
    assert!(out.0.contains(&Action::SetTimer(
        ClientTimer::Chat.id(),
        Duration::from_millis(400)
    )));
    b.run(|cx| c.on_timer(ClientTimer::Chat, cx));
    // The third unanswered retry forgets the leader and probes.
    let out = b.run(|cx| c.on_timer(ClientTimer::Chat, cx));
    assert!(out.1.contains(&Note::Leader(None)));
    assert_eq!(multicast(&out), vec![Msg::Probe { kind: Kind::Client }]);
    assert!(out.0.contains(&Action::SetTimer(
        ClientTimer::Chat.id(),
        Duration::from_millis(1600)
    )));
    // The forgotten leader is passed over once; another is taken and tried at once.
    let out = b.run(|cx| {
        c.on_message(
            n(4),
            Msg::Hello {
                leader: Some(n(4)),
                epoch: 1,
            },
            cx,
        )
    });
    assert!(out.1.is_empty());
    let out = b.run(|cx| c.on_message(n(3), Msg::Coordinator { epoch: 2 }, cx));
    assert!(matches!(
        sent(&out, 3)[..],
        [Msg::Chat { client_seq: 1, .. }]
    ));
    let out = b.run(|cx| {
        c.on_message(
            n(3),
            Msg::ChatAck {
                client_seq: 1,
                seq: 5,
            },
            cx,
        )
    });
    assert_eq!(
        events(&out),
        vec![Event::ChatAcked {
            client_seq: 1,
            seq: 5
        }]
    );
    assert!(out.0.contains(&Action::SetTimer(
        ClientTimer::Chat.id(),
        Duration::from_millis(300)
    )));
    let out = b.run(|cx| {
        c.on_message(
            n(3),
            Msg::ChatAck {
                client_seq: 1,
                seq: 5,
            },
            cx,
        )
    });
    assert!(events(&out).is_empty(), "acknowledged once");
    // A restarted client never reuses a client_seq.
    b.run(|cx| c.on_timer(ClientTimer::Chat, cx));
    b.run(|cx| c.on_start(cx));
    let out = b.run(|cx| c.on_timer(ClientTimer::Chat, cx));
    assert!(events(&out).is_empty(), "both messages were used");
}

#[test]
fn client_delivers_in_order_and_pulls_gaps() {
    let mut c = ChatClient::new(cfg(3, &[]), ChatWorkload::default());
    let mut b = ClientBench::new(9);
    b.run(|cx| c.on_start(cx));
    let e = |seq, cs: u64| Entry {
        epoch: 1,
        seq,
        origin: n(8),
        client_seq: cs,
        text: "z".into(),
    };
    b.run(|cx| c.on_message(n(4), server_hb(Some(4), 1, 0), cx));
    let out = b.run(|cx| {
        c.on_message(
            n(4),
            Msg::Publish {
                entries: vec![e(3, 2)],
            },
            cx,
        )
    });
    assert!(events(&out).is_empty());
    assert_eq!(sent(&out, 4), vec![Msg::Pull { from_seq: 1 }]);
    let out = b.run(|cx| {
        c.on_message(
            n(4),
            Msg::Publish {
                entries: vec![e(1, 0), e(2, 1)],
            },
            cx,
        )
    });
    assert_eq!(
        events(&out),
        vec![
            Event::Delivered {
                seq: 2,
                origin: n(8),
                client_seq: 1
            },
            Event::Delivered {
                seq: 3,
                origin: n(8),
                client_seq: 2
            },
        ]
    );
    let out = b.run(|cx| {
        c.on_message(
            n(4),
            Msg::Publish {
                entries: vec![e(3, 2)],
            },
            cx,
        )
    });
    assert!(events(&out).is_empty(), "no second delivery");
    // A heartbeat commit beyond what was delivered is pulled at the next tick.
    b.run(|cx| c.on_message(n(4), server_hb(Some(4), 1, 7), cx));
    let out = b.run(|cx| c.on_timer(ClientTimer::Heartbeat, cx));
    assert_eq!(sent(&out, 4), vec![Msg::Pull { from_seq: 4 }]);
}

#[test]
fn bug_names_parse_and_unknown_ones_are_listed() {
    let names = vec!["no-dedup".to_string(), "ack-before-quorum".to_string()];
    let bugs = Bugs::from_names(&names).unwrap();
    assert!(bugs.no_dedup && bugs.ack_before_quorum && !bugs.accept_lower_coordinator);
    assert_eq!(bugs.names(), vec!["ack-before-quorum", "no-dedup"]);
    let err = Bugs::from_names(&["nope".to_string()]).unwrap_err();
    for name in Bugs::NAMES {
        assert!(err.contains(name), "{err}");
    }
    assert_eq!(Bugs::from_names(&[]), Ok(Bugs::default()));
}

#[test]
fn labels_are_short_and_uppercase() {
    use faultline_sim::Message;
    let msgs = [
        Msg::Leave,
        Msg::Ok,
        Msg::Probe { kind: Kind::Client },
        Msg::Publish { entries: vec![] },
        Msg::AppendOk {
            epoch: 0,
            ok: true,
            last_seq: 0,
        },
    ];
    let labels: Vec<&str> = msgs.iter().map(|m| m.label()).collect();
    assert_eq!(labels, vec!["LEAVE", "OK", "PROBE", "PUBLISH", "APPEND_OK"]);
}

#[test]
fn lies_about_counters_at_their_end_saturate_instead_of_panicking() {
    // Found by the fuzzer: `client_seq + cx.bump()` overflowed on a chat numbered u64::MAX.
    use faultline_sim::faults::byzantine::Lie;
    use faultline_sim::testkit::twist;
    let chat = Msg::Chat {
        client_seq: u64::MAX,
        text: "hi".into(),
    };
    let lie = twist(&chat, Lie::Forge);
    assert!(matches!(
        lie,
        Some(Msg::Chat {
            client_seq: u64::MAX,
            ..
        })
    ));
    let coord = Msg::Coordinator { epoch: u64::MAX };
    let lie = twist(&coord, Lie::Forge);
    assert_eq!(lie, Some(Msg::Coordinator { epoch: u64::MAX }));
}

#[test]
fn a_reworded_chat_is_cut_on_a_character_boundary() {
    // Found by the fuzzer: truncating a hostile multi-byte text one byte past the bound
    // panicked mid-character.
    use faultline_sim::faults::byzantine::Lie;
    use faultline_sim::testkit::twist;
    let text = format!("x{}", "é".repeat(TEXT_BYTES_MAX / 2));
    let entry = Entry {
        epoch: 1,
        seq: 1,
        origin: n(9),
        client_seq: 1,
        text,
    };
    let publish = Msg::Publish {
        entries: vec![entry],
    };
    let Some(Msg::Publish { entries }) = twist(&publish, Lie::Forge) else {
        panic!("a publish is always reworded");
    };
    assert_eq!(entries[0].text.len(), TEXT_BYTES_MAX - 1);
}
