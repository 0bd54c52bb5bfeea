//! The one driver: feeds a [`Node`] from its transport and timers, carries out what it asked
//! for, and records everything. It compiles in both flavors; only [`Transport`] and the
//! [`Host`] it is given differ between the simulator and a real process.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rand_chacha::ChaCha8Rng;

use crate::node::{Action, Cx, Durable, Effects, Message, Node, NodeId, Note, TimerId};
use crate::trace::{DropReason, Ev};
use crate::transport::Transport;
use crate::wire;

/// What a driver needs from the world it runs in (the simulator's shared state, or a real
/// process's trace file and drop rules).
pub trait Host<E>: Send + Sync + 'static {
    /// Microseconds since the run started.
    fn now_us(&self) -> u64;
    /// Appends an event to the trace.
    fn record(&self, node: NodeId, ev: Ev<E>);
    /// Decides whether a datagram from `from` reaches `to` (partitions, loss).
    fn arrival(&self, from: NodeId, to: NodeId) -> Option<DropReason>;
    /// Keeps the node's durable state where a crash cannot reach it; `keys` were written
    /// since the last call (a host may copy just those).
    fn persist(&self, node: NodeId, durable: &Durable, keys: &[String]);
    /// A datagram id unique across the whole run, restarts included.
    fn next_msg_id(&self, node: NodeId) -> u64;
    /// The run is over: the driver returns.
    fn stopped(&self) -> bool;
}

/// The driver's one wake-up for its next timer.
///
/// madsim's `Sleep` registers a fresh timer every time it is polled before its deadline, and
/// `select!` polls it after every datagram: each datagram would leave a timer behind that
/// later fires for nothing. The alarm polls the inner sleep once per deadline; later polls
/// for the same deadline only check the clock.
struct Alarm {
    /// The underlying sleep.
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// The deadline a timer is registered for.
    armed: Option<tokio::time::Instant>,
}

impl Alarm {
    fn new(deadline: tokio::time::Instant) -> Alarm {
        Alarm {
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            armed: None,
        }
    }

    fn set(&mut self, deadline: tokio::time::Instant) {
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
    }

    fn poll_ring(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.sleep.deadline();
        if tokio::time::Instant::now() >= deadline {
            self.armed = None;
            return Poll::Ready(());
        }
        if self.armed == Some(deadline) {
            return Poll::Pending;
        }
        self.armed = Some(deadline);
        self.sleep.as_mut().poll(cx)
    }
}

/// Pending timers, ordered by deadline then id so that equal deadlines fire deterministically.
#[derive(Default)]
struct Timers {
    /// Deadline of each pending timer.
    by_id: BTreeMap<TimerId, u64>,
    /// The same timers ordered by (deadline, id).
    by_deadline: BTreeSet<(u64, TimerId)>,
}

impl Timers {
    fn set(&mut self, timer: TimerId, deadline_us: u64) {
        if let Some(old) = self.by_id.insert(timer, deadline_us) {
            self.by_deadline.remove(&(old, timer));
        }
        self.by_deadline.insert((deadline_us, timer));
    }

    fn cancel(&mut self, timer: TimerId) {
        if let Some(old) = self.by_id.remove(&timer) {
            self.by_deadline.remove(&(old, timer));
        }
    }

    fn next_deadline(&self) -> Option<u64> {
        self.by_deadline.first().map(|(d, _)| *d)
    }

    fn pop_due(&mut self, now_us: u64) -> Option<TimerId> {
        let &(deadline, timer) = self.by_deadline.first()?;
        if deadline > now_us {
            return None;
        }
        self.by_deadline.pop_first();
        self.by_id.remove(&timer);
        Some(timer)
    }
}

/// Runs `node` until the host stops. `durable` is what survived the last crash.
pub async fn run<N, H>(
    mut node: N,
    me: NodeId,
    host: Arc<H>,
    transport: Transport,
    mut durable: Durable,
    mut rng: ChaCha8Rng,
) where
    N: Node,
    H: Host<N::Event>,
{
    // The host's clock may count from anywhere (the run's start, or the Unix epoch on a real
    // node); timer deadlines are placed relative to this moment.
    let started = tokio::time::Instant::now();
    let started_us = host.now_us();
    let at = |us: u64| started + Duration::from_micros(us.saturating_sub(started_us));
    let mut timers = Timers::default();
    let mut effects: Effects<N::Msg, N::Event> = Effects::default();
    let mut out = Vec::with_capacity(512);
    let mut buf = vec![0u8; wire::DATAGRAM_BYTES_MAX + 1];

    let now = host.now_us();
    node.on_start(&mut Cx::new(me, now, &mut rng, &mut durable, &mut effects));
    if apply(
        me,
        &host,
        &transport,
        &mut timers,
        &mut effects,
        &mut durable,
        &mut out,
        now,
    )
    .await
    {
        return;
    }

    let far = Duration::from_secs(24 * 3600);
    let mut alarm = Alarm::new(started + far);
    loop {
        if host.stopped() {
            return;
        }
        alarm.set(timers.next_deadline().map_or(started + far, at));
        // `biased`: an unbiased select! polls branches in an order drawn from a random source
        // outside the seed, which breaks determinism; timers first, so a flood of datagrams
        // cannot starve them.
        tokio::select! {
            biased;
            () = std::future::poll_fn(|cx| alarm.poll_ring(cx)) => {
                let now = host.now_us();
                while let Some(timer) = timers.pop_due(now) {
                    host.record(me, Ev::Timer { timer: timer.0 });
                    node.on_timer(timer, &mut Cx::new(me, now, &mut rng, &mut durable, &mut effects));
                    if apply(me, &host, &transport, &mut timers, &mut effects, &mut durable, &mut out, now).await {
                        return;
                    }
                }
            }
            received = transport.recv(&mut buf) => {
                if let Ok(len) = received {
                    if deliver(&mut node, me, &host, &transport, &mut timers, &mut effects, &mut durable, &mut rng, &mut out, &buf[..len]).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Checks, decodes and hands one datagram to the node; a bad one is traced and dropped.
/// Returns true when the node asked to stop.
#[allow(clippy::too_many_arguments)]
async fn deliver<N: Node, H: Host<N::Event>>(
    node: &mut N,
    me: NodeId,
    host: &Arc<H>,
    transport: &Transport,
    timers: &mut Timers,
    effects: &mut Effects<N::Msg, N::Event>,
    durable: &mut Durable,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<u8>,
    datagram: &[u8],
) -> bool {
    let now = host.now_us();
    let env = match wire::decode::<N::Msg>(datagram) {
        Err(_) => {
            let bytes = datagram.len() as u32;
            host.record(me, Ev::Corrupt { bytes });
            return false;
        }
        // Our own multicast, looped back by the kernel in the real flavor.
        Ok(env) if env.from == me => return false,
        Ok(env) => env,
    };
    let label = env.msg.label().into();
    if let Some(reason) = host.arrival(env.from, me) {
        host.record(
            me,
            Ev::Drop {
                from: env.from,
                to: me,
                id: env.id,
                label,
                reason,
            },
        );
        return false;
    }
    host.record(
        me,
        Ev::Deliver {
            from: env.from,
            id: env.id,
            label,
        },
    );
    node.on_message(
        env.from,
        env.msg,
        &mut Cx::new(me, now, rng, durable, effects),
    );
    apply(me, host, transport, timers, effects, durable, out, now).await
}

/// Carries out what one callback asked for, in the order it asked.
#[allow(clippy::too_many_arguments)]
async fn apply<M: Message, E, H: Host<E>>(
    me: NodeId,
    host: &Arc<H>,
    transport: &Transport,
    timers: &mut Timers,
    effects: &mut Effects<M, E>,
    durable: &mut Durable,
    out: &mut Vec<u8>,
    now_us: u64,
) -> bool {
    // Durable state first: what the node persisted must survive a crash that follows a send.
    if !effects.durable_keys.is_empty() {
        host.persist(me, durable, &effects.durable_keys);
    }
    for note in effects.notes.drain(..) {
        let ev = match note {
            Note::Role(role) => Ev::Role { role },
            Note::ElectionStarted => Ev::ElectionStarted,
            Note::Leader(leader) => Ev::Leader { leader },
            Note::Proto(event) => Ev::Proto { event },
        };
        host.record(me, ev);
    }
    for action in effects.actions.drain(..) {
        match action {
            Action::SetTimer(timer, after) => timers.set(timer, now_us + after.as_micros() as u64),
            Action::CancelTimer(timer) => timers.cancel(timer),
            Action::Send(to, msg) => {
                let id = host.next_msg_id(me);
                if wire::encode(me, id, &msg, out).is_err() {
                    host.record(me, Ev::Corrupt { bytes: 0 });
                    continue;
                }
                let label = msg.label().into();
                if transport.send(to, out).await {
                    host.record(
                        me,
                        Ev::Send {
                            to: Some(to),
                            id,
                            label,
                        },
                    );
                } else {
                    host.record(
                        me,
                        Ev::Drop {
                            from: me,
                            to,
                            id,
                            label,
                            reason: DropReason::NoRoute,
                        },
                    );
                }
            }
            Action::Multicast(msg) => {
                let id = host.next_msg_id(me);
                if wire::encode(me, id, &msg, out).is_err() {
                    host.record(me, Ev::Corrupt { bytes: 0 });
                    continue;
                }
                transport.multicast(out).await;
                host.record(
                    me,
                    Ev::Send {
                        to: None,
                        id,
                        label: msg.label().into(),
                    },
                );
            }
        }
    }
    let stop = effects.stop;
    effects.clear();
    stop
}
