//! The checks of an embedded protocol, run inside the protocol that embeds it: a cache whose
//! store is a Raft group is judged by Raft's safety checks too. Each record goes to the inner
//! check as the embedded protocol would have traced it: the runtime's events as they are,
//! the protocol's own events through a mapping, the rest not at all.

use super::{Check, Verdict};
use crate::Record;

/// A check of protocol events `I` judging a run of protocol events `O`.
pub struct Embedded<O, I> {
    /// The embedded protocol's check.
    inner: Box<dyn Check<I> + Send>,
    /// The embedded protocol's event inside an event of the run, if it is one.
    pick: fn(&O) -> Option<&I>,
}

impl<O, I> Embedded<O, I> {
    /// `inner`, fed the events `pick` finds.
    pub fn new(inner: Box<dyn Check<I> + Send>, pick: fn(&O) -> Option<&I>) -> Self {
        Embedded { inner, pick }
    }
}

impl<O, I: Clone> Check<O> for Embedded<O, I> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn observe(&mut self, rec: &Record<O>) -> Result<(), String> {
        let pick = self.pick;
        let Some(ev) = rec.ev.embedded(|e| pick(e).cloned()) else {
            return Ok(());
        };
        self.inner.observe(&Record {
            t: rec.t,
            node: rec.node,
            ev,
        })
    }

    fn sees_traffic(&self) -> bool {
        self.inner.sees_traffic()
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        self.inner.finish(end_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ev, NodeId};

    /// Counts the events it sees; fails on a 7.
    struct Sevens(u64);

    impl Check<u8> for Sevens {
        fn name(&self) -> &str {
            "sevens"
        }
        fn observe(&mut self, rec: &Record<u8>) -> Result<(), String> {
            self.0 += 1;
            match rec.ev {
                Ev::Proto { event: 7 } => Err("a seven".into()),
                _ => Ok(()),
            }
        }
        fn finish(&mut self, _end_us: u64) -> Verdict {
            Verdict::held("sevens", self.0, "events", format!("{} seen", self.0))
        }
    }

    #[test]
    fn only_the_embedded_protocols_events_and_the_runtimes_reach_the_inner_check() {
        fn pick(e: &Result<u8, String>) -> Option<&u8> {
            e.as_ref().ok()
        }
        let mut check = Embedded::new(Box::new(Sevens(0)), pick);
        let rec = |ev| Record {
            t: 1,
            node: NodeId(0),
            ev,
        };
        assert_eq!(check.name(), "sevens");
        check.observe(&rec(Ev::Proto { event: Ok(1) })).unwrap();
        check
            .observe(&rec(Ev::Proto {
                event: Err("outer".into()),
            }))
            .unwrap();
        check.observe(&rec(Ev::Crash)).unwrap();
        assert!(check.observe(&rec(Ev::Proto { event: Ok(7) })).is_err());
        assert_eq!(check.finish(2).detail, "3 seen", "1, the crash and the 7");
    }
}
