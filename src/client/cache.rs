//! `faultline client` for a cache cluster: `cache get K`, `cache put K V`, `cache invalidate
//! K`, each through one cache node (`--via c2`; default: the first cache node), e.g.
//! `faultline client --config examples/cache-loopback.toml cache put k3 7 --via c2`.

use faultline_nodes::cache::{Answer, Cache, CacheOp, Event, OneShot, Workload};
use faultline_sim::Ev;

use crate::cluster::Cluster;

/// What the words name: the operation, and the cache node to go through (by name).
fn parse(words: &[String]) -> Result<(CacheOp, Option<String>), String> {
    let mut w: Vec<&str> = words.iter().map(String::as_str).collect();
    let mut via = None;
    if let Some(i) = w.iter().position(|x| *x == "--via") {
        let name = w
            .get(i + 1)
            .ok_or("--via needs the name of a cache node (c1, c2, ...)")?;
        via = Some(name.to_string());
        w.drain(i..=i + 1);
    }
    let key = |k: &str| -> Result<u32, String> {
        k.strip_prefix('k')
            .unwrap_or(k)
            .parse()
            .map_err(|_| format!("`{k}` is not a key; keys are k0, k1, ... (or 0, 1, ...)"))
    };
    let op = match w.as_slice() {
        ["cache", "get", k] => CacheOp::Get(key(k)?),
        ["cache", "put", k, v] => {
            let value = v.parse().map_err(|_| {
                format!("`{v}` is not a value; the store holds numbers 0..=18446744073709551615")
            })?;
            CacheOp::Put(key(k)?, value)
        }
        ["cache", "invalidate", k] => CacheOp::Invalidate(key(k)?),
        _ => {
            return Err(format!(
            "cannot read `{}`; operations are: cache get K | cache put K V | cache invalidate K, \
                 each with an optional --via CACHE (keys k0.., values numbers)",
            w.join(" ")
        ))
        }
    };
    Ok((op, via))
}

/// Runs one cache operation as client `id` (default: the cluster's first client); returns
/// the exit code.
pub(super) fn client_command(
    cluster: &Cluster,
    id: Option<&str>,
    deadline_ms: u64,
    words: &[String],
) -> Result<i32, crate::error::Error> {
    let (op, via) = parse(words)?;
    let keys = match cluster.file.workload.get("keys") {
        None => Workload::default().keys,
        Some(v) => v
            .as_integer()
            .and_then(|k| u32::try_from(k).ok())
            .ok_or_else(|| format!("{}: workload.keys must be a number", cluster.path))?,
    };
    let (CacheOp::Get(key) | CacheOp::Put(key, _) | CacheOp::Invalidate(key)) = op;
    if key >= keys {
        // The caches ignore a key past the cluster's keys: refuse it here, at once.
        return Err(format!(
            "k{key} is past the cluster's keys: {} has k0..k{} (workload.keys = {keys})",
            cluster.path,
            keys.saturating_sub(1)
        )
        .into());
    }
    let me = super::client_node(cluster, id)?;
    let caches = cluster.setup().ids("cache");
    let cache = match via {
        Some(name) => {
            let c = cluster.id(&name)?;
            if !caches.contains(&c) {
                return Err(format!(
                    "{}: `{name}` is no cache node; --via names one of: {}",
                    cluster.path,
                    caches
                        .iter()
                        .map(|c| cluster.file.nodes[c.0 as usize].name.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into());
            }
            c
        }
        None => *caches
            .first()
            .ok_or_else(|| format!("{}: no node with role \"cache\"", cluster.path))?,
    };
    let name = cluster.file.nodes[cache.0 as usize].name.clone();
    let addr = cluster.file.nodes[cache.0 as usize].addr;
    if let Err(e) =
        std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(500))
    {
        if e.kind() == std::io::ErrorKind::ConnectionRefused {
            return Err(format!(
                "connection refused by {name} ({addr}); is the cluster running? (`faultline start --config {}`)",
                cluster.path
            )
            .into());
        }
    }
    let records = super::run_one_shot::<Cache>(cluster, me, move || {
        Box::new(OneShot::new(cache, op, deadline_ms))
    })?;
    let answer = records.iter().find_map(|r| match &r.ev {
        Ev::Proto {
            event: Event::Return { answer, .. },
        } => Some(answer.clone()),
        _ => None,
    });
    Ok(match answer.flatten() {
        Some(Answer::Read(Some(value))) => {
            println!("ok {value} (via {name})");
            0
        }
        Some(Answer::Read(None)) => {
            println!("ok absent (via {name})");
            0
        }
        Some(Answer::Written) => {
            println!("ok written to the store (via {name})");
            0
        }
        Some(Answer::Invalidated { held }) => {
            let what = if held {
                "dropped its copy"
            } else {
                "held no copy"
            };
            println!("ok {name} {what}");
            0
        }
        None => {
            println!(
                "unknown: no answer from {name} within {deadline_ms} ms (a put may or may not have been applied)"
            );
            1
        }
    })
}
