//! The bully group as a runtime [`Protocol`]: which node runs at each id, and its checks.

use faultline_sim::protocol::chart::OpOutcome;
use faultline_sim::protocol::client_op::ClientStep;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{
    BoxNode, Bug, Check, Fact, NodeId, Protocol, Role, Setup, SERVERS_AND_CLIENTS,
};

use super::bugs::Bugs;
use super::checks::{checks, ChecksConfig};
use super::client::ChatClient;
use super::config::{BullyConfig, ChatWorkload};
use super::event::Event;
use super::msg::Msg;
use super::server::Server;

/// The bully group of a run: servers at the setup's server ids, chat clients at the rest.
pub struct Bully {
    /// Timing and size, shared by every node.
    cfg: BullyConfig,
    /// What clients send.
    workload: ChatWorkload,
    /// Bounds of the checks.
    checks: ChecksConfig,
    /// Server ids.
    servers: Vec<NodeId>,
    /// Client ids.
    clients: Vec<NodeId>,
}

impl Bully {
    /// A group from checked parts (tests build one directly).
    pub fn from_parts(
        cfg: BullyConfig,
        workload: ChatWorkload,
        checks: ChecksConfig,
        servers: &[NodeId],
        clients: &[NodeId],
    ) -> Bully {
        Bully {
            cfg,
            workload,
            checks,
            servers: servers.to_vec(),
            clients: clients.to_vec(),
        }
    }
}

impl Protocol for Bully {
    type Msg = Msg;
    type Event = Event;
    const NAME: &'static str = "bully";
    const ABOUT: &'static str =
        "a multicast group: discovery, group view, heartbeats, bully election, chat clients";
    const ROLES: &'static [Role] = SERVERS_AND_CLIENTS;
    const BUGS: &'static [Bug] = Bugs::ALL;

    /// Reads the `[config]`, `[workload]` and `[checks]` sections; errors point into `src`.
    fn new(setup: &Setup, src: &Source) -> Result<Bully, InputError> {
        let mut cfg: BullyConfig = src.section("config", &setup.config)?;
        let servers = setup.ids("server");
        cfg.servers_total = servers.len();
        cfg.bugs = Bugs::from_names(&setup.bugs).map_err(|message| src.error("bugs", message))?;
        for (field, value) in [
            ("config.heartbeat_ms", cfg.heartbeat_ms),
            ("config.peer_timeout_ms", cfg.peer_timeout_ms),
            ("config.election_timeout_ms", cfg.election_timeout_ms),
        ] {
            if value == 0 {
                return Err(src.error(field, "must be at least 1 ms"));
            }
        }
        if cfg.peer_timeout_ms <= cfg.heartbeat_ms {
            return Err(src.error(
                "config.peer_timeout_ms",
                "must be longer than heartbeat_ms, or every peer times out",
            ));
        }
        let workload: ChatWorkload = src.section("workload", &setup.workload)?;
        let checks: ChecksConfig = src.section("checks", &setup.checks)?;
        Ok(Bully::from_parts(
            cfg,
            workload,
            checks,
            &servers,
            &setup.ids("client"),
        ))
    }

    fn node(&self, id: NodeId) -> BoxNode<Msg, Event> {
        if self.clients.contains(&id) {
            Box::new(ChatClient::new(self.cfg.clone(), self.workload.clone()))
        } else {
            Box::new(Server::new(self.cfg.clone()))
        }
    }

    /// The group authenticates senders: a member cannot speak for another (issue: Byzantine
    /// forgery of a COORDINATOR from a higher id).
    fn authenticates(&self) -> bool {
        true
    }

    fn checks(&self) -> Vec<Box<dyn Check<Event> + Send>> {
        checks(&self.servers, &self.clients, &self.checks)
    }

    fn fact(event: &Event) -> Option<Fact> {
        event.fact()
    }

    /// A chat is an operation: sent, acknowledged once committed (or refused by the leader),
    /// and delivered to every client.
    fn client_op(event: &Event) -> Option<ClientStep> {
        Some(match *event {
            Event::ChatSent { client_seq } => ClientStep::Invoke { op: client_seq },
            Event::ChatAcked { client_seq, .. } => ClientStep::Return {
                client: None,
                op: client_seq,
                outcome: OpOutcome::Ok,
            },
            Event::ChatRefused {
                origin, client_seq, ..
            } => ClientStep::Return {
                client: Some(origin),
                op: client_seq,
                outcome: OpOutcome::Fail,
            },
            Event::Delivered {
                origin, client_seq, ..
            } => ClientStep::Seen {
                client: origin,
                op: client_seq,
            },
            _ => return None,
        })
    }
}
