//! `faultline node`: one real node over real sockets (real flavor).

use std::path::Path;
use std::sync::Arc;

use faultline_nodes::bully::Bully;
use faultline_nodes::raft::Raft;
use faultline_sim::process::{run_process, ProcessFiles};
use faultline_sim::transport::AddressBook;
use faultline_sim::{Header, Protocol};

use crate::cluster::Cluster;
use crate::seedfile::VERSION;

/// The kinds of real node: (kind, protocol, role in the cluster file).
const KINDS: &[(&str, &str, &str)] = &[
    ("bully", "bully", "server"),
    ("chat-client", "bully", "client"),
    ("raft", "raft", "server"),
    ("raft-client", "raft", "client"),
];

/// The `faultline node` kind that runs a node of `role` ("server", "client") in `protocol`.
pub fn kind_of(protocol: &str, role: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|k| k.1 == protocol && k.2 == role)
        .map(|k| k.0)
}

/// Runs the node named `id` of the cluster file until Ctrl-C; `drop_rules` names a
/// drop-rules file to follow ([`faultline_sim::drop_rules`]).
pub fn run_node(
    kind: &str,
    config: &Path,
    id: &str,
    dir: &Path,
    drop_rules: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let cluster = Cluster::load(config)?;
    let me = cluster.id(id)?;
    let known = || KINDS.iter().map(|k| k.0).collect::<Vec<_>>().join(", ");
    let &(_, protocol, expected_role) = KINDS
        .iter()
        .find(|k| k.0 == kind)
        .ok_or_else(|| format!("unknown node kind `{kind}` (known: {})", known()))?;
    if cluster.file.protocol != protocol {
        return Err(format!(
            "{}: the cluster runs `{}`, not `{protocol}`",
            cluster.path, cluster.file.protocol
        )
        .into());
    }
    let role = &cluster.file.nodes[me.0 as usize].role;
    if role != expected_role {
        let right = KINDS
            .iter()
            .find(|k| k.1 == protocol && k.2 == role)
            .map_or("?", |k| k.0);
        return Err(format!(
            "{}: `{id}` is a {role}, so run it as `faultline node {right}`",
            cluster.path
        )
        .into());
    }
    let src = cluster.source();
    match protocol {
        "bully" => serve(
            Bully::new(&cluster.setup(), &src)?,
            &cluster,
            me,
            id,
            dir,
            drop_rules,
        ),
        "raft" => serve(
            Raft::new(&cluster.setup(), &src)?,
            &cluster,
            me,
            id,
            dir,
            drop_rules,
        ),
        other => Err(crate::protocols::unknown(&src, "protocol", other).into()),
    }
}

fn serve<P: Protocol>(
    proto: P,
    cluster: &Cluster,
    me: faultline_sim::NodeId,
    id: &str,
    dir: &Path,
    drop_rules: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let files = ProcessFiles {
        trace: dir.join(format!("{id}.trace.jsonl")),
        durable: dir.join(format!("{id}.durable")),
        keys: proto.authenticates().then(|| cluster.keyring(me)),
        byzantine: None,
        drop_rules: drop_rules.map(Path::to_path_buf),
    };
    let header = Header {
        faultline: VERSION.to_string(),
        protocol: cluster.file.protocol.clone(),
        scenario: format!("real:{}", cluster.path),
        seed: 0,
        nodes: cluster.names(),
    };
    let book: AddressBook = cluster.address_book();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    eprintln!(
        "faultline node: {id} ({}) on {} over {:?}, trace {}",
        cluster.file.nodes[me.0 as usize].role,
        cluster.file.nodes[me.0 as usize].addr,
        book.kind,
        files.trace.display()
    );
    runtime.block_on(run_process(Arc::new(proto), me, book, header, files))?;
    Ok(())
}
