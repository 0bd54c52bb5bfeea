//! Unit tests of the cache's checks (each shown to fail on what it forbids) and of the
//! embedded replica's plumbing.

use faultline_sim::{Check, Ev, NodeId, Record};

use super::checks::{AckedStored, Linearizable, RingMoves, SingleWriter};
use super::event::{Event, Why};
use super::msg::{Answer, St};

fn rec(t_ms: u64, node: u16, event: Event) -> Record<Event> {
    Record {
        t: t_ms * 1000,
        node: NodeId(node),
        ev: Ev::Proto { event },
    }
}

fn line(t_ms: u64, node: u16, key: u32, state: St) -> Record<Event> {
    rec(
        t_ms,
        node,
        Event::Line {
            key,
            state,
            why: Why::Grant,
        },
    )
}

fn feed(check: &mut dyn Check<Event>, recs: &[Record<Event>]) -> Result<(), String> {
    recs.iter().try_for_each(|r| check.observe(r))
}

#[test]
fn single_writer_allows_readers_and_one_owner_with_sharers() {
    let mut c = SingleWriter::default();
    let recs = [
        line(1, 3, 0, St::S),
        line(2, 4, 0, St::S),
        line(3, 4, 0, St::I),
        line(4, 3, 0, St::I),
        line(5, 5, 0, St::M),
        line(6, 5, 0, St::O),
        line(7, 3, 0, St::S),
    ];
    assert_eq!(feed(&mut c, &recs), Ok(()));
    assert!(c.finish(10_000).ok);
}

#[test]
fn single_writer_fails_on_a_writer_beside_a_reader() {
    let mut c = SingleWriter::default();
    let err = feed(&mut c, &[line(1, 3, 7, St::S), line(2, 4, 7, St::M)]).unwrap_err();
    assert!(err.contains("k7"), "{err}");
    // Two owners fail as well.
    let mut c = SingleWriter::default();
    assert!(feed(&mut c, &[line(1, 3, 7, St::O), line(2, 4, 7, St::O)]).is_err());
}

#[test]
fn a_crash_drops_the_crashed_cache_s_entries() {
    let mut c = SingleWriter::default();
    let crash = Record {
        t: 2000,
        node: NodeId(3),
        ev: Ev::Crash,
    };
    assert_eq!(
        feed(&mut c, &[line(1, 3, 1, St::M), crash, line(3, 4, 1, St::M)]),
        Ok(())
    );
}

fn invoke(t: u64, client: u16, op: u64, key: u32, value: Option<u64>) -> Record<Event> {
    rec(t, client, Event::Invoke { op, key, value })
}

fn ret(t: u64, client: u16, op: u64, answer: Option<Answer>) -> Record<Event> {
    rec(t, client, Event::Return { op, answer })
}

#[test]
fn linearizable_fails_on_a_stale_read() {
    let history = [
        invoke(1, 9, 1, 0, Some(5)),
        ret(2, 9, 1, Some(Answer::Written)),
        invoke(3, 10, 1, 0, None),
        ret(4, 10, 1, Some(Answer::Read(None))),
    ];
    let mut c = Linearizable::default();
    feed(&mut c, &history).unwrap();
    let v = c.finish(10_000);
    assert!(!v.ok && v.detail.contains("k0"), "{v:?}");
    // The same read seeing the write passes.
    let mut c = Linearizable::default();
    let mut good = history.clone();
    good[3] = ret(4, 10, 1, Some(Answer::Read(Some(5))));
    feed(&mut c, &good).unwrap();
    assert!(c.finish(10_000).ok);
}

#[test]
fn acked_is_stored_fails_on_an_ack_before_the_store() {
    let mut c = AckedStored::default();
    let stored = rec(2, 3, Event::Stored { key: 0, value: 5 });
    let ok = [
        invoke(1, 9, 1, 0, Some(5)),
        stored,
        ret(3, 9, 1, Some(Answer::Written)),
    ];
    assert_eq!(feed(&mut c, &ok), Ok(()));
    assert_eq!(c.finish(10_000).judged, 1);
    let mut c = AckedStored::default();
    let bad = [
        invoke(1, 9, 1, 0, Some(6)),
        ret(3, 9, 1, Some(Answer::Written)),
    ];
    assert!(feed(&mut c, &bad).is_err());
}

fn ring_changed(moved: u32) -> Record<Event> {
    rec(
        5,
        3,
        Event::RingChanged {
            epoch: 1,
            members: 4,
            members_before: 3,
            moved,
            keys: 32,
        },
    )
}

#[test]
fn ring_moves_fails_past_its_share_and_slack() {
    let mut c = RingMoves::new(4);
    assert_eq!(feed(&mut c, &[ring_changed(12)]), Ok(()));
    assert!(c.finish(10_000).ok);
    let mut c = RingMoves::new(4);
    assert!(feed(&mut c, &[ring_changed(13)]).is_err());
}
