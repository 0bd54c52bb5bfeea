//! Lock safety from the clients' view: never two exclusive holders, never an exclusive one
//! beside a shared one.
//!
//! A client counts as holding a lock from the return of its successful acquire until the
//! earlier of its release's invoke and its last successful acquire or renew's INVOKE time
//! plus `lease_ms`. This is sound (a correct service never shows an overlap) because the
//! replicas stamp every entry with the proposing leader's clock at proposal, which is the
//! trace's clock (simulated time is global) and never earlier than the invoke of the request
//! that caused it. A grant or renewal applied from an entry stamped `ts >= invoke` holds the
//! lock until `ts + lease_ms` at least: only a later entry stamped past that frees it. A
//! renew that succeeds proves the hold never lapsed in between, and a release takes effect
//! at an entry proposed after its invoke. So the client's interval lies inside the
//! replicas' hold; the replicas' holds of conflicting modes are disjoint in stamps, hence
//! in time, since the next holder's grant entry is stamped after the previous hold ended and
//! its acquire returns after that stamp.

use std::collections::BTreeMap;

use faultline_sim::{Check, Ev, NodeId, Record, Verdict};

use super::checks::ms;
use super::event::Event;
use super::op::{LockMode, Op, Outcome};

/// A time during which a client held a lock (µs, end exclusive).
#[derive(Clone, Debug)]
struct Hold {
    /// The client.
    client: NodeId,
    /// Its mode.
    mode: LockMode,
    /// From its acquire's return.
    start_us: u64,
    /// To the earlier of the release's invoke and the lease's end.
    end_us: u64,
    /// Whether a release ended it (no renewal extends it any more).
    released: bool,
}

/// Mutual exclusion of locks as the clients saw them.
pub(crate) struct LockSafety {
    /// The lease (µs).
    lease_us: u64,
    /// Invoked operations not returned yet: (client, seq) → (invoke time, op).
    invoked: BTreeMap<(NodeId, u64), (u64, Op)>,
    /// Holds by resource, in the order they began.
    holds: BTreeMap<String, Vec<Hold>>,
    /// The latest hold of each (client, resource): its position in `holds`.
    latest: BTreeMap<(NodeId, String), usize>,
}

impl LockSafety {
    pub(crate) fn new(lease_ms: u64) -> LockSafety {
        LockSafety {
            lease_us: lease_ms.saturating_mul(1000),
            invoked: BTreeMap::new(),
            holds: BTreeMap::new(),
            latest: BTreeMap::new(),
        }
    }

    /// The client's current (unreleased) hold of `resource`.
    fn current(&mut self, client: NodeId, resource: &str) -> Option<&mut Hold> {
        let i = *self.latest.get(&(client, resource.to_string()))?;
        self.holds
            .get_mut(resource)?
            .get_mut(i)
            .filter(|h| !h.released)
    }

    fn on_invoke(&mut self, client: NodeId, t_us: u64, op: &Op) {
        if let Op::Release { resource } = op {
            if let Some(h) = self.current(client, resource) {
                h.end_us = h.end_us.min(t_us);
                h.released = true;
            }
        }
    }

    fn on_return(&mut self, client: NodeId, t_us: u64, invoked_us: u64, op: &Op) {
        let lease_end_us = invoked_us.saturating_add(self.lease_us);
        match op {
            Op::Acquire { resource, mode } => {
                let mut mode = *mode;
                if let Some(h) = self.current(client, resource) {
                    if h.end_us > t_us {
                        mode = mode.max(h.mode);
                        h.end_us = t_us;
                    }
                    h.released = true;
                }
                let list = self.holds.entry(resource.clone()).or_default();
                list.push(Hold {
                    client,
                    mode,
                    start_us: t_us,
                    end_us: lease_end_us,
                    released: false,
                });
                self.latest
                    .insert((client, resource.clone()), list.len() - 1);
            }
            Op::Renew { resource } => {
                if let Some(h) = self.current(client, resource) {
                    h.end_us = h.end_us.max(lease_end_us);
                }
            }
            _ => {}
        }
    }

    /// The first conflicting overlap, if any.
    fn conflict(&self) -> Option<String> {
        for (resource, list) in &self.holds {
            for (i, a) in list.iter().enumerate() {
                for b in list.iter().skip(i + 1) {
                    let overlap = a.start_us.max(b.start_us) < a.end_us.min(b.end_us);
                    let exclusive = a.mode == LockMode::Exclusive || b.mode == LockMode::Exclusive;
                    if a.client != b.client && overlap && exclusive {
                        return Some(format!(
                            "{resource}: {} held it {:?} over {}..{}ms and {} {:?} over {}..{}ms",
                            a.client,
                            a.mode,
                            ms(a.start_us),
                            ms(a.end_us),
                            b.client,
                            b.mode,
                            ms(b.start_us),
                            ms(b.end_us)
                        ));
                    }
                }
            }
        }
        None
    }
}

impl Check<Event> for LockSafety {
    fn name(&self) -> &'static str {
        "lock-safety"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        let client = rec.node;
        match &rec.ev {
            Ev::Proto {
                event: Event::Invoke { seq, op },
            } => {
                let op: &Op = op;
                if matches!(
                    op,
                    Op::Acquire { .. } | Op::Renew { .. } | Op::Release { .. }
                ) {
                    self.on_invoke(client, rec.t, op);
                    self.invoked.insert((client, *seq), (rec.t, op.clone()));
                }
            }
            Ev::Proto {
                event: Event::Return { seq, result },
            } => {
                if let Some((invoked_us, op)) = self.invoked.remove(&(client, *seq)) {
                    if matches!(**result, Outcome::Ok { .. }) {
                        self.on_return(client, rec.t, invoked_us, &op);
                    }
                }
            }
            Ev::Crash => self.invoked.retain(|(c, _), _| *c != client),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let name = self.name().to_string();
        match self.conflict() {
            Some(detail) => Verdict::violated(name, detail),
            None => {
                let n: usize = self.holds.values().map(Vec::len).sum();
                Verdict::held(
                    name,
                    n as u64,
                    "lock holds",
                    format!(
                        "{n} lock holds on {} resources, none in conflict",
                        self.holds.len()
                    ),
                )
            }
        }
    }
}
