//! `faultline node`: one real node over real sockets (real flavor).

use std::path::Path;
use std::sync::Arc;

use faultline_nodes::bully::Bully;
use faultline_sim::process::{run_process, ProcessFiles};
use faultline_sim::Header;

use crate::cluster::Cluster;
use crate::seedfile::VERSION;

/// Runs the node named `id` of the cluster file until Ctrl-C.
pub fn run_node(
    kind: &str,
    config: &Path,
    id: &str,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let cluster = Cluster::load(config)?;
    let me = cluster.id(id)?;
    let role = &cluster.file.nodes[me.0 as usize].role;
    let expected = match kind {
        "bully" => "server",
        "chat-client" => "client",
        other => {
            return Err(format!("unknown node kind `{other}` (known: bully, chat-client)").into())
        }
    };
    if role != expected {
        return Err(format!(
            "{}: `{id}` is a {role}, so run it as `faultline node {}`",
            cluster.path,
            if role == "server" {
                "bully"
            } else {
                "chat-client"
            }
        )
        .into());
    }
    if cluster.file.protocol != "bully" {
        return Err(crate::protocols::unknown(
            &cluster.source(),
            "protocol",
            &cluster.file.protocol,
        )
        .into());
    }
    let proto = Bully::new(&cluster.setup(), &cluster.source())?;
    std::fs::create_dir_all(dir)?;
    let files = ProcessFiles {
        trace: dir.join(format!("{id}.trace.jsonl")),
        durable: dir.join(format!("{id}.durable")),
    };
    let header = Header {
        faultline: VERSION.to_string(),
        protocol: cluster.file.protocol.clone(),
        scenario: format!("real:{}", cluster.path),
        seed: 0,
        nodes: cluster.names(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    eprintln!(
        "faultline node: {id} ({role}) on {}, trace {}",
        cluster.file.nodes[me.0 as usize].addr,
        files.trace.display()
    );
    runtime.block_on(run_process(
        Arc::new(proto),
        me,
        cluster.address_book(),
        header,
        files,
    ))?;
    Ok(())
}
