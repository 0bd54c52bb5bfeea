//! Cluster files: the real nodes of a deployment, their addresses, how they talk (TCP or UDP)
//! and the multicast group, for `faultline node` and `faultline client`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use faultline_sim::runtime::auth::Keyring;
use faultline_sim::runtime::transport::{AddressBook, TransportKind};
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{NodeId, Role, Setup};

use crate::registry::Registry;
use serde::{Deserialize, Serialize};

/// A cluster file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// The protocol every node runs.
    pub protocol: String,
    /// How nodes talk: "tcp" or "udp"; by default what the protocol is built for
    /// (`Protocol::TRANSPORT`).
    #[serde(default)]
    pub transport: Option<TransportKind>,
    /// The multicast group and port, e.g. "239.255.70.1:7400".
    #[serde(default = "default_group")]
    pub multicast: SocketAddr,
    /// The interface multicast is sent and joined on (127.0.0.1 on one host).
    #[serde(default = "default_interface")]
    pub interface: Ipv4Addr,
    /// Protocol settings, as in a scenario's `[config]`.
    #[serde(default)]
    pub config: toml::Table,
    /// Workload of the clients, as in a scenario's `[workload]`.
    #[serde(default)]
    pub workload: toml::Table,
    /// The group secret the nodes' pairwise keys derive from, for protocols that
    /// authenticate senders (the bully group). Every holder of it is trusted; keep it out of
    /// shared repositories. A built-in default lets a loopback example run as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The nodes, in id order.
    pub nodes: Vec<ClusterNode>,
}

/// One node of a cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterNode {
    /// Its name ("s1").
    pub name: String,
    /// Its role, one of the protocol's ("server", "client", "worker"...).
    pub role: String,
    /// Its unicast address.
    pub addr: SocketAddr,
    /// How far ahead (negative: behind) its clock reads, in milliseconds: an offset in what
    /// the node sees as the time, for clock-skew experiments (a scenario's `[clocks]`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skew_ms: i64,
}

fn is_zero(ms: &i64) -> bool {
    *ms == 0
}

fn default_group() -> SocketAddr {
    "239.255.70.1:7400".parse().expect("a valid address")
}

fn default_interface() -> Ipv4Addr {
    Ipv4Addr::LOCALHOST
}

/// A loaded cluster file with its text, for errors that point into it.
pub struct Cluster {
    /// The parsed file.
    pub file: ClusterFile,
    /// The file's name.
    pub path: String,
    /// The file's text.
    pub text: String,
    /// The protocol's roles.
    pub roles: &'static [Role],
    /// How the protocol's nodes talk when the file does not say.
    pub default_transport: TransportKind,
}

impl Cluster {
    /// Reads and validates a cluster file.
    pub fn load(path: &Path, registry: &Registry) -> Result<Cluster, InputError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| InputError {
            file: name.clone(),
            line: None,
            field: String::new(),
            message: format!("cannot read: {e}"),
        })?;
        let src = Source {
            file: &name,
            text: &text,
        };
        let file: ClusterFile = src.parse()?;
        let entry = registry.find(&file.protocol, &src, "protocol")?;
        let roles = entry.roles();
        for (i, node) in file.nodes.iter().enumerate() {
            if !roles.iter().any(|r| r.name == node.role) {
                let names: Vec<String> = roles.iter().map(|r| format!("\"{}\"", r.name)).collect();
                return Err(src.error(
                    &format!("nodes[{i}].role"),
                    format!(
                        "{} has no role `{}`: use {}",
                        file.protocol,
                        node.role,
                        names.join(" or ")
                    ),
                ));
            }
            if file.nodes[..i].iter().any(|n| n.name == node.name) {
                return Err(src.error(
                    &format!("nodes[{i}].name"),
                    format!("`{}` appears twice", node.name),
                ));
            }
            if let Some(other) = file.nodes[..i].iter().find(|n| n.addr == node.addr) {
                return Err(src.error(
                    &format!("nodes[{i}].addr"),
                    format!("{} is {}'s address already", node.addr, other.name),
                ));
            }
        }
        for role in roles {
            let count = file.nodes.iter().filter(|n| n.role == role.name).count();
            if count < role.min as usize {
                return Err(src.error(
                    "nodes",
                    format!(
                        "{} needs at least {} {} node(s), the file has {count}",
                        file.protocol, role.min, role.name
                    ),
                ));
            }
        }
        if !file.multicast.ip().is_multicast() {
            return Err(src.error(
                "multicast",
                format!("{} is not a multicast address", file.multicast),
            ));
        }
        Ok(Cluster {
            file,
            path: name,
            text,
            roles,
            default_transport: entry.transport(),
        })
    }

    /// The `Source` for protocol sections.
    pub fn source(&self) -> Source<'_> {
        Source {
            file: &self.path,
            text: &self.text,
        }
    }

    /// The id of a node name, or an error naming the known ones.
    pub fn id(&self, name: &str) -> Result<NodeId, InputError> {
        self.file
            .nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| NodeId(i as u16))
            .ok_or_else(|| InputError {
                file: self.path.clone(),
                line: None,
                field: "nodes".into(),
                message: format!(
                    "no node named `{name}` (nodes are {})",
                    self.file
                        .nodes
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    }

    /// The protocol setup this cluster describes.
    pub fn setup(&self) -> Setup {
        Setup {
            names: self.names(),
            roles: (self.file.nodes.iter())
                .map(|n| {
                    self.roles
                        .iter()
                        .find(|r| r.name == n.role)
                        .map_or("", |r| r.name)
                })
                .collect(),
            config: self.file.config.clone(),
            workload: self.file.workload.clone(),
            checks: toml::Table::new(),
            bugs: Vec::new(),
        }
    }

    /// Where everyone listens.
    pub fn address_book(&self) -> AddressBook {
        AddressBook {
            nodes: self.file.nodes.iter().map(|n| n.addr).collect(),
            group: self.file.multicast,
            interface: self.file.interface,
            kind: self.transport(),
        }
    }

    /// The pairwise keys of node `me`, derived from the cluster's secret.
    pub fn keyring(&self, me: NodeId) -> Keyring {
        let secret = self
            .file
            .secret
            .as_deref()
            .unwrap_or("faultline default secret");
        let secret = Keyring::secret("faultline cluster keys", secret.as_bytes());
        Keyring::derive(&secret, me, self.file.nodes.len() as u16)
    }

    /// How this cluster's nodes talk.
    pub fn transport(&self) -> TransportKind {
        self.file.transport.unwrap_or(self.default_transport)
    }

    /// Node names in id order.
    pub fn names(&self) -> Vec<String> {
        self.file.nodes.iter().map(|n| n.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Cluster, InputError> {
        let dir = std::env::temp_dir().join(format!("faultline-cluster-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{:x}.toml", digest(text)));
        std::fs::write(&path, text).unwrap();
        let cluster = Cluster::load(&path, &Registry::builtin());
        let _ = std::fs::remove_file(&path);
        cluster
    }

    fn digest(text: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        h.finish()
    }

    const NODE: &str = "[[nodes]]\nname = \"s1\"\nrole = \"server\"\naddr = \"127.0.0.1:7501\"\n";

    #[test]
    fn the_transport_defaults_to_what_the_protocol_is_built_for() {
        let raft = load(&format!("protocol = \"raft\"\n{NODE}")).unwrap();
        assert_eq!(raft.address_book().kind, TransportKind::Tcp);
        let bully = load(&format!("protocol = \"bully\"\n{NODE}")).unwrap();
        assert_eq!(bully.address_book().kind, TransportKind::Udp);
    }

    #[test]
    fn a_named_transport_wins_and_a_wrong_one_is_refused() {
        let raft = load(&format!("protocol = \"raft\"\ntransport = \"udp\"\n{NODE}")).unwrap();
        assert_eq!(raft.address_book().kind, TransportKind::Udp);
        let bully = load(&format!(
            "protocol = \"bully\"\ntransport = \"tcp\"\n{NODE}"
        ))
        .unwrap();
        assert_eq!(bully.address_book().kind, TransportKind::Tcp);
        let Err(e) = load(&format!(
            "protocol = \"raft\"\ntransport = \"quic\"\n{NODE}"
        )) else {
            panic!("quic accepted");
        };
        assert!(e.to_string().contains("transport"), "{e}");
    }
}
