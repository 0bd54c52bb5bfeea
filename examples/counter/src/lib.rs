//! A durable counter: clients send increments to a server, which applies each once, keeps the
//! total in its durable store and acknowledges it. Its check: after a crash and restart the
//! server never has fewer increments than it acknowledged. Its planted bug, `lazy-flush`:
//! the server writes its durable state only every fourth increment, so a crash loses
//! acknowledged ones, which the check catches.
//!
//! Everything here uses only faultline's public API: a `Node` per role, a `Protocol` that
//! names them, a `Check`.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline::sim::scenario::{InputError, Source};
use faultline::sim::{
    BoxNode, Check, Cx, Ev, Message, MsgKind, NoTimer, Node, NodeId, Protocol, Record, Role, Setup,
    Verdict,
};
use serde::{Deserialize, Serialize};

/// What travels between clients and the server.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Msg {
    /// Add one; `seq` numbers the client's increments, so a retry is recognised.
    Inc { seq: u64 },
    /// The server has applied (and, bugs aside, persisted) the client's increment `seq`.
    Ack { seq: u64 },
}

impl Message for Msg {
    const KINDS: &'static [(&'static str, MsgKind)] =
        &[("INC", MsgKind::Client), ("ACK", MsgKind::Client)];
    fn label(&self) -> &'static str {
        match self {
            Msg::Inc { .. } => "INC",
            Msg::Ack { .. } => "ACK",
        }
    }
}

/// What the nodes report, for the check.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Event {
    /// A client saw its increment `seq` acknowledged.
    Acked { seq: u64 },
    /// The server started with this many increments applied (0 on a first start).
    Restored { total: u64 },
}

faultline::sim::planted_bugs! {
    /// Known-wrong variants of the counter.
    pub struct Bugs {
        /// The server writes its durable state only every fourth increment.
        lazy_flush = "lazy-flush",
    }
}

/// The durable state: the total and each client's last applied increment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    /// Increments applied.
    total: u64,
    /// Each client's highest applied `seq`.
    last: BTreeMap<u16, u64>,
}

/// The durable key the server keeps its state under.
const STATE: &str = "state";

/// The server.
pub struct Server {
    /// What it has applied.
    state: State,
    /// Increments applied since the last durable write.
    unflushed: u64,
    /// Planted bugs.
    bugs: Bugs,
}

impl Node for Server {
    type Msg = Msg;
    type Event = Event;
    type Timer = NoTimer;

    fn on_start(&mut self, cx: &mut Cx<'_, Msg, Event, NoTimer>) {
        // A corrupt store is an empty one: a node must survive bad bytes.
        self.state = cx
            .durable_get(STATE)
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or_default();
        cx.role("leader");
        cx.emit(Event::Restored {
            total: self.state.total,
        });
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut Cx<'_, Msg, Event, NoTimer>) {
        let Msg::Inc { seq } = msg else { return };
        let last = self.state.last.entry(from.0).or_default();
        if seq > *last {
            *last = seq;
            self.state.total += 1;
            self.unflushed += 1;
            if !self.bugs.lazy_flush || self.unflushed >= 4 {
                let bytes = serde_json::to_vec(&self.state).expect("plain data serializes");
                cx.durable_put(STATE, bytes);
                self.unflushed = 0;
            }
        }
        if seq <= *self.state.last.get(&from.0).unwrap_or(&0) {
            cx.send(from, Msg::Ack { seq });
        }
    }

    fn on_timer(&mut self, timer: NoTimer, _: &mut Cx<'_, Msg, Event, NoTimer>) {
        match timer {}
    }
}

faultline::sim::timers! {
    /// The client's timers.
    pub enum ClientTimer {
        /// Send (or resend) the current increment.
        Send = 1,
    }
}

/// What a client's callbacks answer through.
type ClientCx<'a> = Cx<'a, Msg, Event, ClientTimer>;

/// A client: `ops` increments, one at a time, each resent until acknowledged.
pub struct Client {
    /// The server.
    server: NodeId,
    /// Increments to make.
    ops: u64,
    /// The increment in flight (1-based); `ops + 1` when done.
    seq: u64,
    /// How long to wait for an acknowledgement before resending.
    retry: Duration,
}

impl Node for Client {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut ClientCx<'_>) {
        cx.role("client");
        self.seq = 1;
        cx.set_timer(ClientTimer::Send, Duration::from_millis(10));
    }

    fn on_message(&mut self, _: NodeId, msg: Msg, cx: &mut ClientCx<'_>) {
        if let Msg::Ack { seq } = msg {
            if seq == self.seq && seq <= self.ops {
                cx.emit(Event::Acked { seq });
                self.seq += 1;
                cx.set_timer(ClientTimer::Send, Duration::from_millis(5));
            }
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut ClientCx<'_>) {
        let ClientTimer::Send = timer;
        if self.seq <= self.ops {
            cx.send(self.server, Msg::Inc { seq: self.seq });
            cx.set_timer(ClientTimer::Send, self.retry);
        }
    }
}

/// The `[workload]` of a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Increments per client.
    #[serde(default = "default_ops")]
    pub ops: u64,
    /// Milliseconds before a client resends.
    #[serde(default = "default_retry_ms")]
    pub retry_ms: u64,
}

fn default_ops() -> u64 {
    50
}

fn default_retry_ms() -> u64 {
    100
}

/// The counter as faultline runs it.
pub struct Counter {
    /// The setup: who is who.
    setup: Setup,
    /// The workload.
    workload: Workload,
    /// Planted bugs.
    bugs: Bugs,
}

impl Protocol for Counter {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "counter";
    const ABOUT: &'static str = "a durable counter: one server, clients that increment it";
    const ROLES: &'static [Role] = &[
        Role {
            name: "server",
            count_key: "servers",
            prefix: "s",
            min: 1,
            fault_target: true,
            about: "keeps the count",
        },
        Role {
            name: "client",
            count_key: "clients",
            prefix: "c",
            min: 1,
            fault_target: false,
            about: "increments it",
        },
    ];
    const BUGS: &'static [faultline::sim::Bug] = Bugs::ALL;

    fn new(setup: &Setup, src: &Source) -> Result<Counter, InputError> {
        let workload: Workload = src.section("workload", &setup.workload)?;
        if workload.retry_ms == 0 {
            return Err(src.error("workload.retry_ms", "must be at least 1"));
        }
        let bugs = Bugs::from_names(&setup.bugs).map_err(|e| src.error("bugs", e))?;
        Ok(Counter {
            setup: setup.clone(),
            workload,
            bugs,
        })
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        if self.setup.role_of(id) == "server" {
            Box::new(Server {
                state: State::default(),
                unflushed: 0,
                bugs: self.bugs,
            })
        } else {
            Box::new(Client {
                server: self.setup.ids("server")[0],
                ops: self.workload.ops,
                seq: 1,
                retry: Duration::from_millis(self.workload.retry_ms),
            })
        }
    }

    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        vec![Box::new(NothingAckedIsLost::default())]
    }
}

/// The counter's check: a restarted server holds at least every increment acknowledged
/// before it started.
#[derive(Default)]
pub struct NothingAckedIsLost {
    /// Increments acknowledged so far.
    acked: u64,
    /// Restarts judged.
    restarts: u64,
}

impl Check<Event> for NothingAckedIsLost {
    fn name(&self) -> &'static str {
        "nothing-acked-is-lost"
    }

    fn observe(&mut self, rec: &Record<Event>) -> Result<(), String> {
        match &rec.ev {
            Ev::Proto {
                event: Event::Acked { .. },
            } => self.acked += 1,
            Ev::Proto {
                event: Event::Restored { total },
            } if self.acked > 0 => {
                self.restarts += 1;
                if *total < self.acked {
                    return Err(format!(
                        "the server restarted with {total} increments, but {} were acknowledged",
                        self.acked
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, _end_us: u64) -> Verdict {
        let detail = if self.restarts == 0 {
            format!(
                "no restart after any of {} acknowledged increments",
                self.acked
            )
        } else {
            format!(
                "{} restarts held every acknowledged increment ({} in all)",
                self.restarts, self.acked
            )
        };
        // Only a restart puts acknowledged increments to the test.
        Verdict::held(self.name(), self.restarts, "restarts", detail)
    }
}
