//! `faultline client --config cluster.toml WORDS...`: one operation against a real cluster.
//! The cluster file's protocol picks the file that reads the words and talks to it: one file
//! per protocol here (`raft.rs`: `kv`, `lock`, `queue`; `tsp.rs`: `tsp solve FILE.tsp`;
//! `cache.rs`: `cache get|put|invalidate`; `primes.rs`: `primes snapshot`). Each prints the outcome and returns
//! 0 when the operation succeeded, 1 when it was refused or not answered in time.
//!
//! [`run_one_shot`] is what they share: it runs the one-shot client node a protocol file
//! makes, as the only node of a real process on the client's address, and hands back that
//! node's trace.

mod cache;
mod primes;
mod raft;
mod tsp;

use std::path::Path;
use std::sync::Arc;

use faultline_sim::real::process::{run_process, ProcessFiles};
use faultline_sim::runtime::transport::TransportKind;
use faultline_sim::scenario::{InputError, Source};
use faultline_sim::trace::read_jsonl;
use faultline_sim::{BoxNode, Check, Header, NodeId, Protocol, Record, Role, Setup};

use crate::cluster::Cluster;
use crate::registry::Registry;
use crate::seedfile::VERSION;

pub use raft::parse_op;

/// Runs one operation as client `id` (default: the cluster's first client); returns the exit
/// code.
pub fn client_command(
    registry: &Registry,
    config: &Path,
    id: Option<&str>,
    deadline_ms: u64,
    words: &[String],
) -> Result<i32, crate::error::Error> {
    let cluster = Cluster::load(config, registry)?;
    match cluster.file.protocol.as_str() {
        "raft" => raft::client_command(&cluster, id, deadline_ms, words),
        "tsp" => tsp::client_command(&cluster, id, deadline_ms, words),
        "cache" => cache::client_command(&cluster, id, deadline_ms, words),
        "primes" => primes::client_command(&cluster, id, deadline_ms, words),
        other => Err(format!(
            "{}: `faultline client` has no operations for protocol `{other}` (it has them for: raft, tsp, cache, primes)",
            cluster.path
        )
        .into()),
    }
}

/// The client node `id` names, or the cluster's first node with role "client".
pub fn client_node(cluster: &Cluster, id: Option<&str>) -> Result<NodeId, crate::error::Error> {
    let name = match id {
        Some(name) => name.to_string(),
        None => cluster
            .file
            .nodes
            .iter()
            .find(|n| n.role == "client")
            .map(|n| n.name.clone())
            .ok_or_else(|| {
                format!(
                    "{}: no node with role \"client\" to send from; add one or pass --id",
                    cluster.path
                )
            })?,
    };
    let me = cluster.id(&name)?;
    let role = &cluster.file.nodes[me.0 as usize].role;
    if role != "client" {
        return Err(format!(
            "{}: `{name}` is a {role}, and a client sends from a node with role \"client\" (its address is the one replies come to)",
            cluster.path
        )
        .into());
    }
    Ok(me)
}

/// What makes the one-shot client node of protocol `P`.
type MakeNode<P> =
    Box<dyn Fn() -> BoxNode<<P as Protocol>::Msg, <P as Protocol>::Event> + Send + Sync>;

/// A protocol whose only node is a one-shot client of protocol `P` (its messages, events and
/// roles), made by `make`; it exists only for `faultline client`.
struct OneShotOf<P: Protocol> {
    make: MakeNode<P>,
}

impl<P: Protocol> Protocol for OneShotOf<P> {
    type Msg = P::Msg;
    type Event = P::Event;
    const NAME: &'static str = P::NAME;
    const ABOUT: &'static str = "one client operation against a running cluster";
    const ROLES: &'static [Role] = P::ROLES;
    const TRANSPORT: TransportKind = P::TRANSPORT;
    fn new(_: &Setup, src: &Source) -> Result<Self, InputError> {
        Err(src.error(
            "protocol",
            "the one-shot client is built by `faultline client` alone",
        ))
    }
    fn node(&self, _id: NodeId) -> BoxNode<P::Msg, P::Event> {
        (self.make)()
    }
    fn checks(&self) -> Vec<Box<dyn Check<P::Event> + Send>> {
        Vec::new()
    }
}

/// Runs the one-shot client node `make` builds (a client of protocol `P` that stops by
/// itself) as node `me` of `cluster`, a real process on the client's address, and returns
/// the records it traced.
pub fn run_one_shot<P: Protocol>(
    cluster: &Cluster,
    me: NodeId,
    make: impl Fn() -> BoxNode<P::Msg, P::Event> + Send + Sync + 'static,
) -> Result<Vec<Record<P::Event>>, crate::error::Error> {
    let proto = OneShotOf::<P> {
        make: Box::new(make),
    };
    let dir = std::env::temp_dir().join(format!("faultline-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let files = ProcessFiles {
        trace: dir.join("client.trace.jsonl"),
        durable: dir.join("client.durable"),
        keys: None,
        byzantine: None,
        drop_rules: None,
        skew_ms: 0,
        view: None,
        log: None,
    };
    let header = Header {
        faultline: VERSION.to_string(),
        protocol: P::NAME.into(),
        scenario: format!("client:{}", cluster.path),
        seed: 0,
        nodes: cluster.names(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run_process(
        Arc::new(proto),
        me,
        cluster.address_book(),
        header,
        files,
    ))?;
    let text = std::fs::read_to_string(dir.join("client.trace.jsonl"))?;
    let _ = std::fs::remove_dir_all(&dir);
    let (_, records) = read_jsonl::<P::Event>(&text)?;
    Ok(records)
}
