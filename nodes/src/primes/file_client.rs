//! The client side of the file service, shared by the coordinator (writes) and the workers
//! (reads): one request at a time, sent to the primary it believes in and, when that one
//! stays silent or does not hold the file, to the next server; and a whole-file cache, AFS
//! style, whose entries a server's callback (`Break`) drops.

use std::collections::{BTreeMap, VecDeque};

use faultline_sim::{Cx, NodeId, Timer};

use super::config::CACHE_FILES_MAX;
use super::event::Event;
use super::msg::Msg;
use crate::parts::bully_election::ElectionMsg;

/// What a request asks.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ask {
    /// Read a whole file.
    Read(String),
    /// Store a whole file.
    Write(String, Vec<u64>),
}

/// The request in flight.
#[derive(Clone, Debug)]
struct Pending {
    /// Its number.
    req: u64,
    /// What it asks.
    ask: Ask,
    /// When it was last sent, µs.
    sent_us: u64,
}

/// A cached file.
#[derive(Clone, Debug)]
struct Cached {
    /// Its version.
    version: u64,
    /// Its numbers.
    numbers: Vec<u64>,
}

/// What an answer meant to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nothing the host needs to act on.
    Nothing,
    /// A read finished: the file's numbers.
    Read(String, Vec<u64>),
    /// A write is on every reachable replica.
    Written(String),
}

/// One node's file-service client.
#[derive(Clone, Debug)]
pub(crate) struct FileClient {
    /// The file servers, in id order.
    servers: Vec<NodeId>,
    /// Who it believes is primary.
    primary: Option<NodeId>,
    /// Where the next try goes when no primary is known (an index into `servers`).
    next: usize,
    /// The next request number.
    req_next: u64,
    /// The request in flight.
    pending: Option<Pending>,
    /// Cached files.
    cache: BTreeMap<String, Cached>,
    /// Cached names, oldest first: who goes when the cache is full.
    order: VecDeque<String>,
    /// How long before a request is tried again, µs.
    retry_us: u64,
}

impl FileClient {
    /// A client of `servers`; `now_us` seeds its request numbers, so a restarted client's
    /// numbers do not repeat the ones a server may still answer.
    pub(crate) fn new(servers: Vec<NodeId>, retry_ms: u64, now_us: u64) -> FileClient {
        FileClient {
            servers,
            primary: None,
            next: 0,
            req_next: now_us.saturating_mul(16).max(1),
            pending: None,
            cache: BTreeMap::new(),
            order: VecDeque::new(),
            retry_us: retry_ms.saturating_mul(1000),
        }
    }

    /// The file servers.
    pub(crate) fn servers(&self) -> &[NodeId] {
        &self.servers
    }

    /// Whether a request is in flight.
    pub(crate) fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// The cached copy of `name`: its version and numbers.
    pub(crate) fn cached(&self, name: &str) -> Option<(u64, &[u64])> {
        self.cache
            .get(name)
            .map(|c| (c.version, c.numbers.as_slice()))
    }

    /// Reads `name` (the host calls it on a cache miss).
    pub(crate) fn read<T: Timer>(&mut self, name: &str, cx: &mut Cx<'_, Msg, Event, T>) {
        self.issue(Ask::Read(name.to_string()), cx);
    }

    /// Writes `name`.
    pub(crate) fn write<T: Timer>(
        &mut self,
        name: &str,
        numbers: Vec<u64>,
        cx: &mut Cx<'_, Msg, Event, T>,
    ) {
        self.issue(Ask::Write(name.to_string(), numbers), cx);
    }

    /// Drops the request in flight (its answer is ignored).
    pub(crate) fn cancel(&mut self) {
        self.pending = None;
    }

    fn issue<T: Timer>(&mut self, ask: Ask, cx: &mut Cx<'_, Msg, Event, T>) {
        let req = self.req_next;
        self.req_next += 1;
        self.pending = Some(Pending {
            req,
            ask,
            sent_us: cx.now_us(),
        });
        self.send(cx);
    }

    /// Where a request goes now.
    fn target(&self) -> Option<NodeId> {
        self.primary.or_else(|| {
            self.servers
                .get(self.next % self.servers.len().max(1))
                .copied()
        })
    }

    /// The next server, after one failed us.
    fn rotate(&mut self) {
        self.primary = None;
        self.next = self.next.wrapping_add(1);
    }

    fn send<T: Timer>(&mut self, cx: &mut Cx<'_, Msg, Event, T>) {
        let to = self.target();
        let (Some(p), Some(to)) = (&mut self.pending, to) else {
            return;
        };
        p.sent_us = cx.now_us();
        let msg = match &p.ask {
            Ask::Read(name) => Msg::Read {
                req: p.req,
                name: name.clone(),
            },
            Ask::Write(name, numbers) => Msg::Write {
                req: p.req,
                name: name.clone(),
                numbers: numbers.clone(),
            },
        };
        cx.send(to, msg);
    }

    /// Retries a request that went unanswered.
    pub(crate) fn tick<T: Timer>(&mut self, cx: &mut Cx<'_, Msg, Event, T>) {
        let due = self
            .pending
            .as_ref()
            .is_some_and(|p| cx.now_us() >= p.sent_us.saturating_add(self.retry_us));
        if due {
            self.rotate();
            self.send(cx);
        }
    }

    /// A file-service message; messages of other kinds are `Nothing` here.
    pub(crate) fn on_message<T: Timer>(
        &mut self,
        from: NodeId,
        msg: &Msg,
        cx: &mut Cx<'_, Msg, Event, T>,
    ) -> Outcome {
        if !self.servers.contains(&from) {
            return Outcome::Nothing;
        }
        let req_now = self.pending.as_ref().map(|p| p.req);
        match msg {
            Msg::Election(ElectionMsg::Coordinator { .. }) => self.primary = Some(from),
            Msg::Break { name } => self.on_break(name, cx),
            Msg::Data {
                req,
                name,
                version,
                numbers,
            } if Some(*req) == req_now => {
                let wanted =
                    matches!(&self.pending, Some(Pending { ask: Ask::Read(n), .. }) if n == name);
                if wanted {
                    self.pending = None;
                    self.store(name, *version, numbers.clone());
                    return Outcome::Read(name.clone(), numbers.clone());
                }
            }
            Msg::WriteAck { req } if Some(*req) == req_now => {
                if let Some(Pending {
                    ask: Ask::Write(name, _),
                    ..
                }) = self.pending.take()
                {
                    return Outcome::Written(name);
                }
            }
            Msg::NotFound { req } if Some(*req) == req_now => {
                // Another replica may hold it (a server that restarted and has not caught
                // up): the retry goes there.
                if self.primary == Some(from) {
                    self.primary = None;
                }
                self.next = self.next.wrapping_add(1);
            }
            Msg::NotPrimary { req, primary } if Some(*req) == req_now => match primary {
                Some(p) if *p != from && self.servers.contains(p) => {
                    self.primary = Some(*p);
                    self.send(cx);
                }
                _ => self.rotate(),
            },
            _ => {}
        }
        Outcome::Nothing
    }

    /// The callback: the cached copy of `name` is stale.
    fn on_break<T: Timer>(&mut self, name: &str, cx: &mut Cx<'_, Msg, Event, T>) {
        if self.cache.remove(name).is_some() {
            self.order.retain(|n| n != name);
            cx.emit(Event::CacheBroken {
                name: name.to_string(),
            });
        }
    }

    /// Caches a file, dropping the oldest past the bound.
    fn store(&mut self, name: &str, version: u64, numbers: Vec<u64>) {
        if self
            .cache
            .insert(name.to_string(), Cached { version, numbers })
            .is_none()
        {
            self.order.push_back(name.to_string());
        }
        while self.order.len() > CACHE_FILES_MAX {
            if let Some(old) = self.order.pop_front() {
                self.cache.remove(&old);
            }
        }
        debug_assert_eq!(self.order.len(), self.cache.len());
    }
}
