//! A gRPC server's way into the overlay: it sends each request to the leader as the
//! process's gateway client node (over faultline's transport, in the overlay's own wire
//! format), resends it until answered as a client does, and hands the one answer back; it
//! asks its own process for metrics the same way. Requests are numbered from the clock, so
//! a restarted gateway never reuses a number the leader still remembers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use faultline_nodes::overlay::{Metrics, Msg, Outcome};
use faultline_sim::real::transport::Transport;
use faultline_sim::runtime::transport::AddressBook;
use faultline_sim::runtime::wire;
use faultline_sim::NodeId;
use tokio::sync::oneshot;

/// Calls a gateway waits on at once; past it a call is refused as exhausted, so a flood of
/// clients cannot grow its memory without bound.
pub const WAITING_MAX: usize = 8192;
/// How long `GetMetrics` waits for its process.
pub const METRICS_WAIT: Duration = Duration::from_secs(2);

/// Who a gateway is and whom it talks to.
pub struct Context {
    /// Its client node.
    pub me: NodeId,
    /// The process it serves.
    pub process: NodeId,
    /// Where requests go.
    pub leader: NodeId,
    /// Every node's name, by id.
    pub names: Vec<String>,
    /// The teams, in the order requests name them.
    pub teams: Vec<String>,
    /// How long it waits before resending a request.
    pub retry_ms: u64,
}

/// Why a call got no answer.
#[derive(Debug, PartialEq, Eq)]
pub enum NoAnswer {
    /// The deadline passed first.
    Deadline,
    /// Too many calls wait already.
    Exhausted,
}

/// One request's answer.
#[derive(Debug)]
pub struct Answer {
    /// How it ended.
    pub outcome: Outcome,
    /// The processes it visited.
    pub path: Vec<NodeId>,
    /// From taking it to its answer.
    pub latency: Duration,
}

/// A gateway: its transport and the calls waiting for answers.
pub struct Gateway {
    /// Who it is.
    pub ctx: Context,
    /// Its socket(s) into the overlay.
    transport: Transport,
    /// The next request or question number.
    next_seq: AtomicU64,
    /// The next datagram id.
    next_id: AtomicU64,
    /// The team of the next request that names none.
    next_team: AtomicU64,
    /// The calls waiting, by number: the answer goes to the sender.
    waiting: Mutex<HashMap<u64, oneshot::Sender<Msg>>>,
}

/// Removes a call from the waiting ones however it ends.
struct Registered<'a> {
    gw: &'a Gateway,
    seq: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.gw.waiting().remove(&self.seq);
    }
}

impl Gateway {
    /// Binds the gateway node's address.
    pub async fn bind(ctx: Context, book: AddressBook) -> std::io::Result<Gateway> {
        let transport = Transport::bind(ctx.me, book).await?;
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros() as u64;
        Ok(Gateway {
            ctx,
            transport,
            next_seq: AtomicU64::new(now_us),
            next_id: AtomicU64::new(now_us),
            next_team: AtomicU64::new(0),
            waiting: Mutex::new(HashMap::new()),
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Msg>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A node's name.
    pub fn name(&self, id: NodeId) -> String {
        (self.ctx.names.get(id.0 as usize).cloned()).unwrap_or_else(|| format!("node{}", id.0))
    }

    /// The team index of `name`; `None` names the teams in turn.
    pub fn team(&self, name: Option<&str>) -> Result<u16, String> {
        match name {
            Some(name) => (self.ctx.teams.iter().position(|t| t == name))
                .map(|t| t as u16)
                .ok_or_else(|| format!("no team `{name}` (teams: {})", self.ctx.teams.join(", "))),
            None => {
                let n = self.ctx.teams.len().max(1) as u64;
                Ok((self.next_team.fetch_add(1, Ordering::Relaxed) % n) as u16)
            }
        }
    }

    fn register(&self) -> Result<(Registered<'_>, oneshot::Receiver<Msg>), NoAnswer> {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let mut waiting = self.waiting();
        if waiting.len() >= WAITING_MAX {
            return Err(NoAnswer::Exhausted);
        }
        waiting.insert(seq, tx);
        Ok((Registered { gw: self, seq }, rx))
    }

    async fn send(&self, to: NodeId, msg: &Msg) {
        let mut out = Vec::with_capacity(64);
        let id = ((self.ctx.me.0 as u64) << 48)
            | (self.next_id.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF_FFFF);
        if wire::encode(self.ctx.me, id, msg, &mut out).is_ok() {
            self.transport.send(to, &out, msg_label(msg)).await;
        }
    }

    /// Has the overlay process a request of team `team` within `deadline`, resending it to
    /// the leader until it answers.
    pub async fn forward(&self, team: u16, deadline: Duration) -> Result<Answer, NoAnswer> {
        let start = Instant::now();
        let (reg, mut rx) = self.register()?;
        let retry = Duration::from_millis(self.ctx.retry_ms);
        loop {
            let left = deadline.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(NoAnswer::Deadline);
            }
            let request = Msg::Request {
                seq: reg.seq,
                team,
                deadline_ms: u32::try_from(left.as_millis()).unwrap_or(u32::MAX),
            };
            self.send(self.ctx.leader, &request).await;
            match tokio::time::timeout(retry.min(left), &mut rx).await {
                Ok(Ok(Msg::Reply { outcome, path, .. })) => {
                    return Ok(Answer {
                        outcome,
                        path,
                        latency: start.elapsed(),
                    })
                }
                Ok(_) => return Err(NoAnswer::Deadline),
                Err(_) => {}
            }
        }
    }

    /// The process's numbers.
    pub async fn metrics(&self) -> Result<Metrics, NoAnswer> {
        let start = Instant::now();
        let (reg, mut rx) = self.register()?;
        let retry = Duration::from_millis(self.ctx.retry_ms);
        while start.elapsed() < METRICS_WAIT {
            self.send(self.ctx.process, &Msg::GetMetrics { seq: reg.seq })
                .await;
            match tokio::time::timeout(retry, &mut rx).await {
                Ok(Ok(Msg::MetricsReply { metrics, .. })) => return Ok(metrics),
                Ok(_) => return Err(NoAnswer::Deadline),
                Err(_) => {}
            }
        }
        Err(NoAnswer::Deadline)
    }

    /// Takes the overlay's answers off the socket for ever, each to its waiting call; what
    /// is not an expected answer from the expected process is dropped.
    pub async fn receive(self: Arc<Self>) -> std::io::Result<()> {
        let mut buf = vec![0u8; wire::DATAGRAM_BYTES_MAX + 1];
        loop {
            let n = self.transport.recv(&mut buf).await?;
            let Ok(env) = wire::decode::<Msg>(&buf[..n]) else {
                continue;
            };
            let seq = match &env.msg {
                Msg::Reply { seq, .. } if env.from == self.ctx.leader => *seq,
                Msg::MetricsReply { seq, .. } if env.from == self.ctx.process => *seq,
                _ => continue,
            };
            if let Some(tx) = self.waiting().remove(&seq) {
                let _ = tx.send(env.msg);
            }
        }
    }
}

fn msg_label(msg: &Msg) -> &'static str {
    faultline_sim::Message::label(msg)
}
