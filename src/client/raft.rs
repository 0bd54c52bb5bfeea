//! `faultline client` for a Raft cluster: `kv`, `lock` and `queue` operations, e.g.
//! `faultline client --config cluster.toml kv put K V`.

use faultline_nodes::raft::{
    Event, LockMode, OneShot, Op, Outcome, Raft, NAME_BYTES_MAX, VALUE_BYTES_MAX,
};
use faultline_sim::{Ev, NodeId};

use crate::cluster::Cluster;

/// The operation named by the command line's words.
pub fn parse_op(words: &[String]) -> Result<Op, String> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let absent = |v: &str| (v != "-").then(|| v.to_string());
    Ok(match w.as_slice() {
        ["kv", "get", key] => Op::Get { key: key.to_string() },
        ["kv", "put", key, value] => Op::Put { key: key.to_string(), value: value.to_string() },
        ["kv", "cas", key, expected, new] => Op::Cas { key: key.to_string(), expected: absent(expected), new: new.to_string() },
        ["kv", "delete", key] => Op::Delete { key: key.to_string() },
        ["lock", "acquire", resource] => Op::Acquire { resource: resource.to_string(), mode: LockMode::Exclusive },
        ["lock", "acquire", resource, "--shared"] => Op::Acquire { resource: resource.to_string(), mode: LockMode::Shared },
        ["lock", "renew", resource] => Op::Renew { resource: resource.to_string() },
        ["lock", "release", resource] => Op::Release { resource: resource.to_string() },
        ["queue", "enqueue", queue, body] => Op::Enqueue { queue: queue.to_string(), body: body.to_string() },
        ["queue", "dequeue", queue] => Op::Dequeue { queue: queue.to_string() },
        ["queue", "ack", queue, id] => {
            let id = id.parse().map_err(|_| format!("queue ack: `{id}` is not a message id"))?;
            Op::Ack { queue: queue.to_string(), id }
        }
        _ => {
            return Err(format!(
                "cannot read `{}`; operations are: kv get K | kv put K V | kv cas K EXPECTED NEW (- for absent) | \
                 kv delete K | lock acquire R [--shared] | lock renew R | lock release R | \
                 queue enqueue Q BODY | queue dequeue Q | queue ack Q ID",
                w.join(" ")
            ))
        }
    })
}

/// Runs one Raft operation as client `id` (default: the cluster's first client); returns the
/// exit code.
pub(super) fn client_command(
    cluster: &Cluster,
    id: Option<&str>,
    deadline_ms: u64,
    words: &[String],
) -> Result<i32, crate::error::Error> {
    let op = parse_op(words)?;
    if !op.within_bounds() {
        // Refused here, at once: a request past the bounds is refused by every server, and
        // one past a datagram's size could not even be sent.
        return Err(format!(
            "the operation is too large: names (keys, resources, queues) hold at most {NAME_BYTES_MAX} bytes \
             and values at most {VALUE_BYTES_MAX} bytes"
        )
        .into());
    }
    let me = super::client_node(cluster, id)?;
    let servers = cluster.setup().ids("server");
    if cluster.address_book().kind == faultline_sim::runtime::transport::TransportKind::Tcp {
        refuse_when_nothing_listens(cluster, &servers)?;
    }
    let records = super::run_one_shot::<Raft>(cluster, me, move || {
        Box::new(OneShot::new(servers.clone(), op.clone(), deadline_ms))
    })?;
    let result = records.iter().find_map(|r| match &r.ev {
        Ev::Proto {
            event: Event::Return { result, .. },
        } => Some(result.clone()),
        _ => None,
    });
    Ok(match result.map(|r| *r) {
        Some(Outcome::Ok { value }) => {
            println!("ok {}", serde_json::to_string(&value)?);
            0
        }
        Some(Outcome::Fail { reason }) => {
            println!("refused {}", serde_json::to_string(&reason)?);
            1
        }
        _ => {
            println!(
                "unknown: no answer within {deadline_ms} ms (it may or may not have been applied)"
            );
            1
        }
    })
}

/// Fails fast when no server accepts a connection: otherwise the operation would wait out
/// its whole deadline and end "unknown" although it certainly was not applied.
fn refuse_when_nothing_listens(cluster: &Cluster, servers: &[NodeId]) -> Result<(), String> {
    let mut tried = Vec::new();
    for &server in servers {
        let node = &cluster.file.nodes[server.0 as usize];
        let addr = node.addr;
        match std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                tried.push(format!("{} ({addr})", node.name));
            }
            // Accepted, or an answer other than a refusal (a timeout, no route): the server
            // may be there; the operation will tell.
            _ => return Ok(()),
        }
    }
    Err(format!(
        "connection refused by every server: {}; is the cluster running? (start each with `faultline node --config {} --id NAME`)",
        tried.join(", "),
        cluster.path
    ))
}
