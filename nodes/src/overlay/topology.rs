//! The overlay's topology: each process's role, team, host and neighbours, read from the
//! `[[config.process]]` entries of a scenario or cluster file and checked as a whole, so a
//! wrong one is refused with the file, line and field before anything runs.
//!
//! Requests only go down and across: the leader hands a request to a team leader, a team
//! leader to one of its workers or, when it has none alive, to another team leader. A link
//! that would send a request anywhere else (a worker to a worker, the leader straight to a
//! worker, a team leader back to the leader) makes a cycle no route needs, and is refused.

use std::collections::BTreeMap;

use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{NodeId, Setup};
use serde::{Deserialize, Serialize};

/// One process as the topology file describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessEntry {
    /// Its node name ("A", "l1").
    pub name: String,
    /// Its role, if written: it must be the one the nodes section gives it.
    #[serde(default)]
    pub role: Option<String>,
    /// Its team (team leaders and workers).
    #[serde(default)]
    pub team: Option<String>,
    /// The host it runs on, for people and for LAN runs.
    #[serde(default)]
    pub host: Option<String>,
    /// The processes it may hand requests to, and pings.
    #[serde(default)]
    pub neighbours: Vec<String>,
    /// Where it serves the gRPC API in the real flavor ("127.0.0.1:50151"); see
    /// [`super::grpc`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<String>,
    /// The client node its gRPC server sends requests into the overlay as (its address is
    /// where the answers come back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
}

/// What a process does in the overlay.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Queues clients' requests and routes them by team.
    Leader,
    /// Hands its team's requests to its workers.
    TeamLeader,
    /// Processes requests.
    Worker,
    /// Sends requests (not part of the overlay).
    Client,
}

impl Place {
    /// The place of a node with runtime role `role`.
    pub fn of_role(role: &str) -> Place {
        match role {
            "leader" => Place::Leader,
            "team-leader" => Place::TeamLeader,
            "worker" => Place::Worker,
            _ => Place::Client,
        }
    }
}

/// The checked topology, indexed by node id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    /// The teams' names, sorted: a request names its team by index in this list.
    pub teams: Vec<String>,
    /// Each node's place.
    pub places: Vec<Place>,
    /// Each node's team, as an index into `teams`.
    pub team_of: Vec<Option<u16>>,
    /// Each node's neighbours, in the file's order.
    pub neighbours: Vec<Vec<NodeId>>,
    /// Each node's host, if given.
    pub hosts: Vec<Option<String>>,
    /// The leader.
    pub leader: NodeId,
}

impl Topology {
    /// Checks `entries` against the nodes of `setup`; errors point into `src`.
    pub fn build(
        setup: &Setup,
        entries: &[ProcessEntry],
        src: &Source,
    ) -> Result<Topology, InputError> {
        let n = setup.names.len();
        let places: Vec<Place> = (0..n)
            .map(|i| Place::of_role(setup.role_of(NodeId(i as u16))))
            .collect();
        let id_of = |name: &str| setup.names.iter().position(|x| x == name);
        let mut entry_of: Vec<Option<usize>> = vec![None; n];
        let mut leader: Option<(NodeId, usize)> = None;
        let mut team_leader: BTreeMap<String, usize> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            let at = |field: &str| format!("config.process[{i}].{field}");
            let Some(id) = id_of(&e.name) else {
                return Err(src.error(
                    &at("name"),
                    format!(
                        "no node is named `{}` (nodes: {})",
                        e.name,
                        setup.names.join(", ")
                    ),
                ));
            };
            let place = places[id];
            if place == Place::Client {
                return Err(src.error(
                    &at("name"),
                    format!("`{}` is a client, not a process of the overlay", e.name),
                ));
            }
            if let Some(first) = entry_of[id] {
                return Err(src.error(
                    &at("name"),
                    format!(
                        "`{}` is described twice (first as process[{first}])",
                        e.name
                    ),
                ));
            }
            entry_of[id] = Some(i);
            if let Some(role) = &e.role {
                if role != setup.role_of(NodeId(id as u16)) {
                    return Err(src.error(
                        &at("role"),
                        format!(
                            "`{}` is a {} in the nodes section, not a {role}",
                            e.name,
                            setup.role_of(NodeId(id as u16))
                        ),
                    ));
                }
            }
            match place {
                Place::Leader => {
                    if let Some((other, _)) = leader {
                        return Err(src.error(
                            &at("role"),
                            format!(
                                "two leaders: `{}` and `{}`; the overlay has one",
                                setup.names[other.0 as usize], e.name
                            ),
                        ));
                    }
                    leader = Some((NodeId(id as u16), i));
                }
                Place::TeamLeader | Place::Worker => {
                    let Some(team) = e.team.as_deref().filter(|t| !t.is_empty()) else {
                        return Err(src.error(&at("team"), format!("`{}` needs a team", e.name)));
                    };
                    if place == Place::TeamLeader {
                        if let Some(other) = team_leader.insert(team.to_string(), id) {
                            return Err(src.error(
                                &at("team"),
                                format!(
                                    "team `{team}` has two team leaders: `{}` and `{}`",
                                    setup.names[other], e.name
                                ),
                            ));
                        }
                    }
                }
                Place::Client => {}
            }
        }
        for (id, place) in places.iter().enumerate() {
            if *place != Place::Client && entry_of[id].is_none() {
                return Err(src.error(
                    "config.process",
                    format!("process `{}` has no entry in the topology", setup.names[id]),
                ));
            }
        }
        let Some((leader, _)) = leader else {
            return Err(src.error("config.process", "the topology has no leader"));
        };
        let teams: Vec<String> = team_leader.keys().cloned().collect();
        let mut team_of = vec![None; n];
        let mut neighbours = vec![Vec::new(); n];
        let mut hosts = vec![None; n];
        for (i, e) in entries.iter().enumerate() {
            let at = |field: &str| format!("config.process[{i}].{field}");
            let id = id_of(&e.name).expect("checked above");
            hosts[id] = e.host.clone();
            if let Some(team) = &e.team {
                match teams.iter().position(|t| t == team) {
                    Some(t) => team_of[id] = Some(t as u16),
                    None if places[id] == Place::Worker => {
                        return Err(src.error(
                            &at("team"),
                            format!(
                                "worker `{}` is in team `{team}`, which has no team leader",
                                e.name
                            ),
                        ))
                    }
                    None => {}
                }
            }
            for name in &e.neighbours {
                let Some(nb) = id_of(name).filter(|nb| places[*nb] != Place::Client) else {
                    return Err(src.error(
                        &at("neighbours"),
                        format!("unknown neighbour `{name}` of `{}`", e.name),
                    ));
                };
                if nb == id {
                    return Err(src.error(&at("neighbours"), format!("`{}` lists itself", e.name)));
                }
                let allowed = matches!(
                    (places[id], places[nb]),
                    (Place::Leader, Place::TeamLeader)
                        | (Place::TeamLeader, Place::TeamLeader)
                        | (Place::TeamLeader, Place::Worker)
                        | (Place::Worker, Place::TeamLeader)
                        | (Place::TeamLeader, Place::Leader)
                );
                if !allowed {
                    return Err(src.error(
                        &at("neighbours"),
                        format!(
                            "`{}` -> `{name}` makes a cycle the routing cannot break: requests go from the leader to team leaders, between team leaders, and from a team leader to its workers",
                            e.name
                        ),
                    ));
                }
                let nb = NodeId(nb as u16);
                if !neighbours[id].contains(&nb) {
                    neighbours[id].push(nb);
                }
            }
        }
        // Second pass: links that need both ends' teams.
        for (i, e) in entries.iter().enumerate() {
            let id = id_of(&e.name).expect("checked above");
            let at = |field: &str| format!("config.process[{i}].{field}");
            match places[id] {
                Place::TeamLeader => {
                    for nb in &neighbours[id] {
                        if places[nb.0 as usize] == Place::Worker
                            && team_of[nb.0 as usize] != team_of[id]
                        {
                            return Err(src.error(
                                &at("neighbours"),
                                format!(
                                    "team leader `{}` lists `{}`, a worker of another team",
                                    e.name, setup.names[nb.0 as usize]
                                ),
                            ));
                        }
                    }
                    if !neighbours[leader.0 as usize].contains(&NodeId(id as u16)) {
                        return Err(src.error(
                            &at("name"),
                            format!(
                                "team leader `{}` is not among the leader's neighbours: its team is unreachable",
                                e.name
                            ),
                        ));
                    }
                }
                Place::Worker => {
                    let tl = team_leader[e.team.as_deref().unwrap_or_default()];
                    if !neighbours[tl].contains(&NodeId(id as u16)) {
                        return Err(src.error(
                            &at("team"),
                            format!(
                                "worker `{}` has no team leader: `{}` (team leader of its team) does not list it among its neighbours",
                                e.name, setup.names[tl]
                            ),
                        ));
                    }
                }
                Place::Leader | Place::Client => {}
            }
        }
        Ok(Topology {
            teams,
            places,
            team_of,
            neighbours,
            hosts,
            leader,
        })
    }

    /// The place of `id` (a client for an id it does not know).
    pub fn place(&self, id: NodeId) -> Place {
        self.places
            .get(id.0 as usize)
            .copied()
            .unwrap_or(Place::Client)
    }

    /// The neighbours of `id`.
    pub fn neighbours(&self, id: NodeId) -> &[NodeId] {
        self.neighbours
            .get(id.0 as usize)
            .map_or(&[], |v| v.as_slice())
    }

    /// The team leader of team `team`.
    pub fn team_leader(&self, team: u16) -> Option<NodeId> {
        (0..self.places.len())
            .find(|i| self.places[*i] == Place::TeamLeader && self.team_of[*i] == Some(team))
            .map(|i| NodeId(i as u16))
    }
}
