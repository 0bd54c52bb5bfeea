//! Mutual exclusion, for any protocol that reports lock facts: never two holders of one
//! resource at once, and every request granted once faults have healed.
//!
//! The protocol maps its events to [`LockFact`]s (`fn(&E) -> Option<LockFact>`); the
//! record's node is the one that requested, acquired or released. A crash ends the node's
//! hold and forgets its requests (a crashed node holds nothing and wants nothing); a
//! restarted node asks again. Acquiring a resource one already holds is a violation too:
//! a critical section is entered once per exit.
//!
//! Liveness (with [`MutualExclusion::grant_within_ms`]) is judged at the end, and only when
//! no partition and no loss is in force then (crashed nodes may stay down: the others must
//! not wait for them): a request of an up node that has waited longer than the bound since
//! both it was made and the last fault changed is a violation.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Check, Cluster, Verdict};
use crate::node::NodeId;
use crate::trace::{Ev, Record};

/// What a protocol reports about a lock; the record's node is who did it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockFact {
    /// The node asked for the resource.
    Request {
        /// The resource.
        resource: String,
    },
    /// The node entered the critical section of the resource.
    Acquire {
        /// The resource.
        resource: String,
    },
    /// The node left it.
    Release {
        /// The resource.
        resource: String,
    },
}

/// Never two holders at once; every request granted after faults heal.
pub struct MutualExclusion<E> {
    /// The protocol's mapping from its events to lock facts.
    map: fn(&E) -> Option<LockFact>,
    /// The liveness bound (µs); `None` judges safety only.
    grant_within_us: Option<u64>,
    /// Who is up, which links are cut.
    cluster: Cluster,
    /// Each held resource's holder and since when (µs).
    holders: BTreeMap<String, (NodeId, u64)>,
    /// Requests not granted yet, (node, resource) -> when made (µs).
    pending: BTreeMap<(NodeId, String), u64>,
    /// Nodes that acquired something.
    holders_seen: BTreeSet<NodeId>,
    /// Request facts seen.
    requests: u64,
    /// Acquisitions judged against the current holder.
    acquisitions: u64,
    /// Releases by the holder.
    releases: u64,
    /// Releases by a node that did not hold the resource (harmless, counted).
    releases_stray: u64,
    /// Holds ended by the holder's crash.
    holds_crashed: u64,
    /// Pending requests judged for liveness at the end.
    pending_judged: u64,
}

impl<E> MutualExclusion<E> {
    /// Safety only, over the facts `map` finds in the protocol's events.
    pub fn new(map: fn(&E) -> Option<LockFact>) -> MutualExclusion<E> {
        MutualExclusion {
            map,
            grant_within_us: None,
            cluster: Cluster::default(),
            holders: BTreeMap::new(),
            pending: BTreeMap::new(),
            holders_seen: BTreeSet::new(),
            requests: 0,
            acquisitions: 0,
            releases: 0,
            releases_stray: 0,
            holds_crashed: 0,
            pending_judged: 0,
        }
    }

    /// Also judges liveness: a request must be granted within `ms` of the later of its
    /// making and the last fault change.
    pub fn grant_within_ms(mut self, ms: u64) -> MutualExclusion<E> {
        self.grant_within_us = Some(ms.saturating_mul(1000));
        self
    }

    /// How much it judged: acquisitions checked for overlap, plus requests still pending
    /// that were judged for liveness at the end.
    pub fn judged(&self) -> u64 {
        self.acquisitions + self.pending_judged
    }

    fn on_fact(&mut self, node: NodeId, t: u64, fact: LockFact) -> Result<(), String> {
        match fact {
            LockFact::Request { resource } => {
                self.requests += 1;
                self.pending.entry((node, resource)).or_insert(t);
            }
            LockFact::Acquire { resource } => {
                self.acquisitions += 1;
                self.holders_seen.insert(node);
                if let Some((holder, since)) = self.holders.get(&resource) {
                    return Err(if *holder == node {
                        format!(
                            "{node} acquired {resource:?} again while holding it since {} ms",
                            since / 1000
                        )
                    } else {
                        format!(
                            "{node} acquired {resource:?} while {holder} held it (since {} ms)",
                            since / 1000
                        )
                    });
                }
                self.pending.remove(&(node, resource.clone()));
                self.holders.insert(resource, (node, t));
            }
            LockFact::Release { resource } => {
                if self.holders.get(&resource).is_some_and(|(h, _)| *h == node) {
                    self.holders.remove(&resource);
                    self.releases += 1;
                } else {
                    self.releases_stray += 1;
                }
            }
        }
        Ok(())
    }

    /// The first request that waited too long at `end_us`, if liveness is judged.
    fn starved(&mut self, end_us: u64) -> Option<String> {
        let bound = self.grant_within_us?;
        let mut first = None;
        for ((node, resource), since) in &self.pending {
            if !self.cluster.is_up(*node) {
                continue;
            }
            self.pending_judged += 1;
            let from = (*since).max(self.cluster.last_change_us);
            let waited = end_us.saturating_sub(from);
            if waited > bound && first.is_none() {
                first = Some(format!(
                    "{node}'s request for {resource:?} (made at {} ms) was not granted \
                     {} ms after the later of it and the last fault change ({} ms)",
                    since / 1000,
                    waited / 1000,
                    self.cluster.last_change_us / 1000,
                ));
            }
        }
        first
    }
}

impl<E> Check<E> for MutualExclusion<E> {
    fn name(&self) -> &'static str {
        "mutual-exclusion"
    }

    fn observe(&mut self, rec: &Record<E>) -> Result<(), String> {
        if self.cluster.observe(rec) {
            if matches!(rec.ev, Ev::Crash) {
                let before = self.holders.len();
                self.holders.retain(|_, (holder, _)| *holder != rec.node);
                self.holds_crashed += (before - self.holders.len()) as u64;
                self.pending.retain(|(node, _), _| *node != rec.node);
            }
            return Ok(());
        }
        let Ev::Proto { event } = &rec.ev else {
            return Ok(());
        };
        match (self.map)(event) {
            Some(fact) => self.on_fact(rec.node, rec.t, fact),
            None => Ok(()),
        }
    }

    fn finish(&mut self, end_us: u64) -> Verdict {
        let name = self.name().to_string();
        let faults_in_force = !self.cluster.cut.is_empty() || self.cluster.loss_rate > 0.0;
        let starved = if faults_in_force {
            None
        } else {
            self.starved(end_us)
        };
        if let Some(detail) = starved {
            return Verdict::violated(name, detail);
        }
        let liveness = match self.grant_within_us {
            None => "liveness not asked".to_string(),
            Some(_) if faults_in_force => {
                "liveness not judged: a partition or loss was in force at the end".to_string()
            }
            Some(us) => format!(
                "{} requests pending at the end, none waiting past {} ms",
                self.pending_judged,
                us / 1000
            ),
        };
        Verdict::held(
            name,
            self.judged(),
            "acquisitions and waits",
            format!(
                "{} acquisitions by {} nodes, never two holders at once; {} requests, \
                 {} releases ({} stray), {} holds ended by a crash; {liveness}",
                self.acquisitions,
                self.holders_seen.len(),
                self.requests,
                self.releases,
                self.releases_stray,
                self.holds_crashed,
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::judge;
    use crate::trace::WORLD;

    /// A protocol's events, some of them lock facts.
    #[derive(Clone, Debug)]
    enum Event {
        Want,
        Enter,
        Leave,
        Other,
    }

    fn lock_fact(e: &Event) -> Option<LockFact> {
        let resource = "tour".to_string();
        match e {
            Event::Want => Some(LockFact::Request { resource }),
            Event::Enter => Some(LockFact::Acquire { resource }),
            Event::Leave => Some(LockFact::Release { resource }),
            Event::Other => None,
        }
    }

    fn at(t_ms: u64, node: u16, ev: Ev<Event>) -> Record<Event> {
        Record {
            t: t_ms * 1000,
            node: NodeId(node),
            ev,
        }
    }

    fn proto(t_ms: u64, node: u16, event: Event) -> Record<Event> {
        at(t_ms, node, Ev::Proto { event })
    }

    fn run(records: &[Record<Event>], end_ms: u64) -> Verdict {
        let mut checks: Vec<Box<dyn Check<Event> + Send>> = vec![Box::new(
            MutualExclusion::new(lock_fact).grant_within_ms(1000),
        )];
        judge(&mut checks, records, end_ms * 1000).remove(0)
    }

    #[test]
    fn turns_taken_one_after_another_pass() {
        let records = vec![
            proto(0, 0, Event::Want),
            proto(1, 1, Event::Want),
            proto(2, 0, Event::Enter),
            proto(3, 0, Event::Other),
            proto(5, 0, Event::Leave),
            proto(6, 1, Event::Enter),
            // A crashed holder stops holding: the next one may enter.
            at(7, 1, Ev::Crash),
            proto(8, 2, Event::Want),
            proto(9, 2, Event::Enter),
            proto(10, 2, Event::Leave),
        ];
        let v = run(&records, 5000);
        assert!(v.ok, "{}", v.detail);
        assert!(
            v.detail.starts_with("3 acquisitions by 3 nodes"),
            "{}",
            v.detail
        );
        assert!(
            v.detail.contains("1 holds ended by a crash"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn two_holders_at_once_fail() {
        let records = vec![
            proto(2, 0, Event::Enter),
            proto(4, 1, Event::Enter),
            proto(5, 0, Event::Leave),
        ];
        let v = run(&records, 10);
        assert!(!v.ok);
        assert_eq!(
            v.detail,
            r#"at 0.004 s: #1 acquired "tour" while #0 held it (since 2 ms)"#
        );
    }

    #[test]
    fn entering_twice_without_leaving_fails() {
        let records = vec![proto(2, 0, Event::Enter), proto(4, 0, Event::Enter)];
        let v = run(&records, 10);
        assert!(!v.ok && v.detail.contains("again"), "{}", v.detail);
    }

    #[test]
    fn a_request_left_waiting_after_faults_healed_fails() {
        let records = vec![
            proto(0, 0, Event::Enter),
            proto(1, 1, Event::Want),
            at(
                100,
                WORLD.0,
                Ev::Partition {
                    links: vec![(NodeId(0), NodeId(1))],
                },
            ),
            at(
                200,
                WORLD.0,
                Ev::Heal {
                    links: vec![(NodeId(0), NodeId(1))],
                },
            ),
        ];
        // Within the bound of the heal: still fine.
        let v = run(&records, 1100);
        assert!(v.ok, "{}", v.detail);
        assert!(v.detail.contains("1 requests pending"), "{}", v.detail);
        // Past it: starved.
        let v = run(&records, 1300);
        assert!(!v.ok);
        assert!(
            v.detail.contains("#1's request for \"tour\""),
            "{}",
            v.detail
        );
    }

    #[test]
    fn liveness_is_not_judged_while_a_fault_lasts_or_for_a_crashed_requester() {
        let mut records = vec![
            proto(0, 0, Event::Enter),
            proto(1, 1, Event::Want),
            at(
                100,
                WORLD.0,
                Ev::Partition {
                    links: vec![(NodeId(0), NodeId(1))],
                },
            ),
        ];
        let v = run(&records, 5000);
        assert!(
            v.ok && v.detail.contains("liveness not judged"),
            "{}",
            v.detail
        );
        records.push(at(
            200,
            WORLD.0,
            Ev::Heal {
                links: vec![(NodeId(0), NodeId(1))],
            },
        ));
        records.push(at(300, 1, Ev::Crash));
        let v = run(&records, 5000);
        assert!(v.ok, "{}", v.detail);
        assert!(v.detail.contains("0 requests pending"), "{}", v.detail);
    }

    #[test]
    fn a_run_without_lock_facts_is_vacuous() {
        let records = vec![proto(0, 0, Event::Other), at(1, 0, Ev::Crash)];
        let v = run(&records, 10);
        assert!(!v.ok && v.vacuous, "{v:?}");
        assert!(v.detail.starts_with("0 acquisitions"), "{}", v.detail);
        let mut check = MutualExclusion::new(lock_fact);
        for rec in &records {
            check.observe(rec).unwrap();
        }
        assert_eq!(check.judged(), 0);
    }
}
