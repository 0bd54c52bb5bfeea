//! Cluster files: the real nodes of a deployment, their addresses, how they talk (TCP or UDP)
//! and the multicast group, for `faultline node` and `faultline client`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use faultline_sim::auth::Keyring;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::transport::{AddressBook, TransportKind};
use faultline_sim::{NodeId, Setup};
use serde::{Deserialize, Serialize};

/// A cluster file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterFile {
    /// The protocol every node runs.
    pub protocol: String,
    /// How nodes talk: "tcp" or "udp"; by default what the protocol is built for (see
    /// [`default_transport`]).
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
    /// "server" or "client".
    pub role: String,
    /// Its unicast address.
    pub addr: SocketAddr,
}

fn default_group() -> SocketAddr {
    "239.255.70.1:7400".parse().expect("a valid address")
}

fn default_interface() -> Ipv4Addr {
    Ipv4Addr::LOCALHOST
}

/// The transport a protocol gets when its cluster file names none: Raft ships log entries
/// and wants them over streams; the bully group is built on multicast datagrams.
pub fn default_transport(protocol: &str) -> TransportKind {
    match protocol {
        "raft" => TransportKind::Tcp,
        _ => TransportKind::Udp,
    }
}

/// A loaded cluster file with its text, for errors that point into it.
pub struct Cluster {
    /// The parsed file.
    pub file: ClusterFile,
    /// The file's name.
    pub path: String,
    /// The file's text.
    pub text: String,
}

impl Cluster {
    /// Reads and validates a cluster file.
    pub fn load(path: &Path) -> Result<Cluster, InputError> {
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
        for (i, node) in file.nodes.iter().enumerate() {
            if node.role != "server" && node.role != "client" {
                return Err(src.error(
                    &format!("nodes[{i}].role"),
                    "must be \"server\" or \"client\"",
                ));
            }
            if file.nodes[..i].iter().any(|n| n.name == node.name) {
                return Err(src.error(
                    &format!("nodes[{i}].name"),
                    format!("`{}` appears twice", node.name),
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
        let ids = |role: &str| {
            self.file
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.role == role)
                .map(|(i, _)| NodeId(i as u16))
                .collect()
        };
        Setup {
            servers: ids("server"),
            clients: ids("client"),
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
        self.file
            .transport
            .unwrap_or_else(|| default_transport(&self.file.protocol))
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
        let cluster = Cluster::load(&path);
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
