//! A chat client: finds the leader, sends its messages one at a time with retries, and
//! delivers everything the servers committed, in order.

use std::collections::BTreeMap;
use std::time::Duration;

use faultline_sim::{Cx, Node, NodeId, Timer, TimerId};
use rand::Rng;

use super::codec::{decode_u64, encode_u64};
use super::config::{BullyConfig, ChatWorkload, TEXT_BYTES_MAX};
use super::event::Event;
use super::msg::{entries_well_formed, Entry, Kind, Msg};
use super::view::View;

/// A chat client's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClientTimer {
    /// Heartbeat, view-timeout and catch-up period.
    Heartbeat,
    /// The next message, or the retry of the outstanding one.
    Chat,
}

impl Timer for ClientTimer {
    fn id(self) -> TimerId {
        match self {
            ClientTimer::Heartbeat => TimerId(1),
            ClientTimer::Chat => TimerId(2),
        }
    }
    fn from_id(id: TimerId) -> Option<Self> {
        match id {
            TimerId(1) => Some(ClientTimer::Heartbeat),
            TimerId(2) => Some(ClientTimer::Chat),
            _ => None,
        }
    }
}

/// What a chat client's callbacks answer through.
type ClientCx<'a> = Cx<'a, Msg, Event, ClientTimer>;
/// Durable key of the last client_seq used, so a restart never reuses one.
const KEY_CLIENT_SEQ: &str = "client_seq";
/// Unanswered tries after which the leader is forgotten and the group probed again.
const TRIES_BEFORE_PROBE: u32 = 3;
/// Most out-of-order committed entries held for delivery; past it they are dropped (and
/// pulled again once the gap is filled).
const PENDING_MAX: usize = 256;

/// The message waiting for its acknowledgement.
#[derive(Clone, Debug)]
struct Outstanding {
    /// Its number.
    client_seq: u64,
    /// Its text, resent as is.
    text: String,
    /// Tries since the leader was last (re)discovered.
    tries: u32,
    /// Delay before the next retry; doubles up to `retry_ms_max`.
    retry_ms: u64,
}

/// A chat client of the bully group.
pub struct ChatClient {
    /// Timing of heartbeats and views.
    cfg: BullyConfig,
    /// What to send.
    work: ChatWorkload,
    /// This client, as the driver says at start.
    me: NodeId,
    /// The group as heard.
    view: View,
    /// The server chats are sent to.
    leader: Option<NodeId>,
    /// The epoch that leader announced (0 if unknown).
    leader_epoch: u64,
    /// A leader that ignored three tries; not followed again during the next retry period.
    avoid: Option<NodeId>,
    /// The last client_seq used (durable).
    last_client_seq: u64,
    /// The message in flight.
    outstanding: Option<Outstanding>,
    /// Whether a NOT_LEADER redirect was already followed since the last retry (bounds a
    /// redirect loop between confused servers to one send per retry).
    redirected: bool,
    /// Highest seq delivered in this incarnation.
    delivered_seq: u64,
    /// Committed entries received ahead of a gap, by seq (at most `PENDING_MAX`).
    pending: BTreeMap<u64, Entry>,
    /// Highest commit point heard of.
    known_commit: u64,
    /// Whether a pull went out since the last heartbeat.
    pulled: bool,
}

impl ChatClient {
    /// A client with the group's configuration and its workload; built up at `on_start`.
    pub fn new(cfg: BullyConfig, work: ChatWorkload) -> ChatClient {
        let view = View::new(NodeId(0), cfg.peer_timeout_ms);
        ChatClient {
            cfg,
            work,
            me: NodeId(0),
            view,
            leader: None,
            leader_epoch: 0,
            avoid: None,
            last_client_seq: 0,
            outstanding: None,
            redirected: false,
            delivered_seq: 0,
            pending: BTreeMap::new(),
            known_commit: 0,
            pulled: false,
        }
    }

    fn set_leader(&mut self, leader: Option<NodeId>, epoch: u64, cx: &mut ClientCx<'_>) {
        self.leader_epoch = epoch;
        if self.leader != leader {
            self.leader = leader;
            cx.leader(leader);
            if let Some(out) = self.outstanding.as_mut() {
                out.tries = 0;
            }
            if leader.is_some() {
                self.send_outstanding(cx);
            }
        }
    }

    /// Follows a leader claim if it is newer than the current leader's.
    fn consider_leader(&mut self, leader: NodeId, epoch: u64, cx: &mut ClientCx<'_>) {
        if self.avoid == Some(leader) {
            return;
        }
        match self.leader {
            Some(cur) if cur == leader => self.leader_epoch = self.leader_epoch.max(epoch),
            Some(cur) if (epoch, leader) <= (self.leader_epoch, cur) => {}
            _ => self.set_leader(Some(leader), epoch, cx),
        }
    }

    fn send_outstanding(&mut self, cx: &mut ClientCx<'_>) {
        let Some(out) = self.outstanding.as_ref() else {
            return;
        };
        match self.leader {
            Some(leader) => cx.send(
                leader,
                Msg::Chat {
                    client_seq: out.client_seq,
                    text: out.text.clone(),
                },
            ),
            None => cx.multicast(Msg::Probe { kind: Kind::Client }),
        }
    }

    fn on_chat_timer(&mut self, cx: &mut ClientCx<'_>) {
        self.redirected = false;
        // A leader is passed over for one retry period only: long enough to take another
        // that answers the probe, short enough not to shun the only one there is.
        self.avoid = None;
        if let Some(out) = self.outstanding.as_mut() {
            out.tries += 1;
            if out.tries >= TRIES_BEFORE_PROBE {
                out.tries = 0;
                self.avoid = self.leader;
                self.set_leader(None, 0, cx);
                // send_outstanding probes, as no leader is known now.
            }
        } else if self.last_client_seq < u64::from(self.work.messages) {
            let client_seq = self.last_client_seq + 1;
            self.last_client_seq = client_seq;
            cx.durable_put(KEY_CLIENT_SEQ, encode_u64(client_seq));
            let len = self.work.text_bytes.min(TEXT_BYTES_MAX);
            let text: String = (0..len)
                .map(|_| char::from(cx.rng().gen_range(b'a'..=b'z')))
                .collect();
            cx.emit(Event::ChatSent { client_seq });
            self.outstanding = Some(Outstanding {
                client_seq,
                text,
                tries: 0,
                // At least 1ms, so a zero setting cannot spin at one instant.
                retry_ms: self.work.retry_ms_min.max(1),
            });
        } else {
            return;
        }
        self.send_outstanding(cx);
        if let Some(out) = self.outstanding.as_mut() {
            cx.set_timer(ClientTimer::Chat, Duration::from_millis(out.retry_ms));
            out.retry_ms = out
                .retry_ms
                .saturating_mul(2)
                .min(self.work.retry_ms_max.max(1));
        }
    }

    fn on_heartbeat_timer(&mut self, cx: &mut ClientCx<'_>) {
        cx.set_timer(
            ClientTimer::Heartbeat,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
        cx.multicast(self.heartbeat());
        let gone = self.view.expire(cx);
        for suspect in self.view.suspects(cx.now_us()) {
            cx.send(suspect, Msg::Probe { kind: Kind::Client });
        }
        if self.leader.is_some_and(|l| gone.contains(&l)) {
            self.set_leader(None, 0, cx);
        }
        self.pulled = false;
        if self.delivered_seq < self.known_commit {
            self.pull(cx);
        }
    }

    fn heartbeat(&self) -> Msg {
        Msg::Heartbeat {
            kind: Kind::Client,
            leader: self.leader,
            epoch: self.leader_epoch,
            commit: self.delivered_seq,
        }
    }

    fn on_server_heartbeat(
        &mut self,
        from: NodeId,
        leader: Option<NodeId>,
        epoch: u64,
        commit: u64,
        cx: &mut ClientCx<'_>,
    ) {
        if leader == Some(from) {
            self.consider_leader(from, epoch, cx);
            if self.leader == Some(from) {
                self.known_commit = self.known_commit.max(commit);
            }
        } else if self.leader == Some(from) {
            // It stepped down: go where it went.
            match leader {
                Some(next) if self.avoid != Some(next) => self.set_leader(Some(next), 0, cx),
                _ => self.set_leader(None, 0, cx),
            }
        }
    }

    fn on_not_leader(&mut self, from: NodeId, leader: Option<NodeId>, cx: &mut ClientCx<'_>) {
        match leader {
            Some(next) if next != from && self.avoid != Some(next) => self.redirect(next, cx),
            _ if self.leader == Some(from) => self.set_leader(None, 0, cx),
            _ => {}
        }
    }

    fn redirect(&mut self, next: NodeId, cx: &mut ClientCx<'_>) {
        if self.leader != Some(next) && !self.redirected {
            self.redirected = true;
            self.set_leader(Some(next), 0, cx);
        }
    }

    fn on_ack(&mut self, client_seq: u64, seq: u64, cx: &mut ClientCx<'_>) {
        if self
            .outstanding
            .as_ref()
            .is_none_or(|out| out.client_seq != client_seq)
        {
            return; // A duplicate, or for a message abandoned by a restart.
        }
        self.outstanding = None;
        self.avoid = None;
        cx.emit(Event::ChatAcked { client_seq, seq });
        cx.set_timer(
            ClientTimer::Chat,
            Duration::from_millis(self.work.interval_ms),
        );
    }

    fn on_publish(&mut self, entries: Vec<Entry>, cx: &mut ClientCx<'_>) {
        let Some(first) = entries.first().map(|e| e.seq) else {
            return;
        };
        if !entries_well_formed(&entries, first, 0, u64::MAX) {
            return;
        }
        let before = self.delivered_seq;
        for entry in entries {
            self.known_commit = self.known_commit.max(entry.seq);
            let next = entry.seq == self.delivered_seq + 1;
            if entry.seq > self.delivered_seq && (next || self.pending.len() < PENDING_MAX) {
                self.pending.insert(entry.seq, entry);
            }
        }
        while let Some(entry) = self.pending.remove(&(self.delivered_seq + 1)) {
            self.delivered_seq = entry.seq;
            if !entry.is_noop() {
                cx.emit(Event::Delivered {
                    seq: entry.seq,
                    origin: entry.origin,
                    client_seq: entry.client_seq,
                });
            }
        }
        self.pending = self.pending.split_off(&(self.delivered_seq + 1));
        // Progress clocks the next pull; a gap without progress waits for the heartbeat.
        if self.delivered_seq < self.known_commit && (self.delivered_seq > before || !self.pulled) {
            self.pull(cx);
        }
    }

    fn pull(&mut self, cx: &mut ClientCx<'_>) {
        let target = self.leader.or_else(|| self.view.servers().first().copied());
        if let Some(target) = target {
            self.pulled = true;
            cx.send(
                target,
                Msg::Pull {
                    from_seq: self.delivered_seq + 1,
                },
            );
        }
    }
}

impl Node for ChatClient {
    type Msg = Msg;
    type Event = Event;
    type Timer = ClientTimer;

    fn on_start(&mut self, cx: &mut ClientCx<'_>) {
        *self = ChatClient::new(self.cfg.clone(), self.work.clone());
        self.me = cx.me();
        self.view = View::new(self.me, self.cfg.peer_timeout_ms);
        self.last_client_seq = cx
            .durable_get(KEY_CLIENT_SEQ)
            .and_then(decode_u64)
            .unwrap_or(0);
        cx.role("client");
        cx.leader(None);
        self.view.report(cx);
        cx.multicast(Msg::Probe { kind: Kind::Client });
        cx.set_timer(
            ClientTimer::Heartbeat,
            Duration::from_millis(self.cfg.heartbeat_ms),
        );
        if self.last_client_seq < u64::from(self.work.messages) {
            cx.set_timer(ClientTimer::Chat, Duration::from_millis(self.work.start_ms));
        }
    }

    fn on_message(&mut self, from: NodeId, msg: Msg, cx: &mut ClientCx<'_>) {
        if from == self.me {
            return;
        }
        self.view.heard(from, msg.sender_kind(), cx);
        match msg {
            Msg::Heartbeat {
                kind: Kind::Server,
                leader,
                epoch,
                commit,
            } => self.on_server_heartbeat(from, leader, epoch, commit, cx),
            Msg::Hello {
                leader: Some(leader),
                epoch,
            } => self.consider_leader(leader, epoch, cx),
            Msg::Coordinator { epoch } => self.consider_leader(from, epoch, cx),
            Msg::NotLeader { leader } => self.on_not_leader(from, leader, cx),
            Msg::ChatAck { client_seq, seq } => self.on_ack(client_seq, seq, cx),
            Msg::Publish { entries } => self.on_publish(entries, cx),
            Msg::Leave => self.view.leave(from, cx),
            // A newcomer, or a member that missed our heartbeats: here we are.
            Msg::Probe { .. } => cx.send(from, self.heartbeat()),
            _ => {}
        }
    }

    fn on_timer(&mut self, timer: ClientTimer, cx: &mut ClientCx<'_>) {
        match timer {
            ClientTimer::Heartbeat => self.on_heartbeat_timer(cx),
            ClientTimer::Chat => self.on_chat_timer(cx),
        }
    }
}
