//! Where each process serves the overlay's gRPC API (`proto/overlay.proto`) in the real
//! flavor: the `grpc` and `gateway` fields of its `[[config.process]]` entry, checked with
//! the file's line and field. The simulator ignores them: there, simulated clients send the
//! same requests as overlay messages.
//!
//! `grpc` is the address the process's gRPC server listens on; `gateway` names the client
//! node (in the nodes section) the server sends requests into the overlay as, so the
//! overlay's answers come back to the gateway's own address.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use faultline_sim::scenario::{InputError, Source};
use faultline_sim::{NodeId, Setup};

use super::topology::ProcessEntry;

/// One process's gRPC endpoint.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GrpcEndpoint {
    /// The overlay process that serves it.
    pub process: NodeId,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The client node its requests enter the overlay as.
    pub gateway: NodeId,
}

/// The gRPC endpoints the entries declare, checked: an address that does not parse, one
/// used twice, a gateway that is not a client node or serves two processes, or one field
/// without the other, is refused.
pub fn endpoints(
    setup: &Setup,
    entries: &[ProcessEntry],
    src: &Source,
) -> Result<Vec<GrpcEndpoint>, InputError> {
    let mut out = Vec::new();
    let mut addrs: BTreeMap<SocketAddr, usize> = BTreeMap::new();
    let mut gateways: BTreeMap<NodeId, usize> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        let at = |field: &str| format!("config.process[{i}].{field}");
        let (grpc, gateway) = match (&e.grpc, &e.gateway) {
            (None, None) => continue,
            (Some(g), Some(w)) => (g, w),
            (Some(_), None) => {
                return Err(src.error(
                    &at("gateway"),
                    "a process serving gRPC needs a gateway: the client node its requests enter the overlay as",
                ))
            }
            (None, Some(_)) => {
                return Err(src.error(
                    &at("grpc"),
                    "a gateway without a gRPC address serves nothing; add `grpc = \"HOST:PORT\"`",
                ))
            }
        };
        let addr: SocketAddr = grpc.parse().map_err(|_| {
            src.error(
                &at("grpc"),
                format!("`{grpc}` is not an address such as \"127.0.0.1:50151\""),
            )
        })?;
        if let Some(first) = addrs.insert(addr, i) {
            return Err(src.error(
                &at("grpc"),
                format!("{addr} is already process[{first}]'s gRPC address"),
            ));
        }
        let Some(g) = setup.names.iter().position(|n| n == gateway) else {
            return Err(src.error(
                &at("gateway"),
                format!("no node is named `{gateway}` (add it to the nodes as a client)"),
            ));
        };
        let g = NodeId(g as u16);
        if setup.role_of(g) != "client" {
            return Err(src.error(
                &at("gateway"),
                format!(
                    "`{gateway}` is a {}; a gateway is a node with role \"client\"",
                    setup.role_of(g)
                ),
            ));
        }
        if let Some(first) = gateways.insert(g, i) {
            return Err(src.error(
                &at("gateway"),
                format!("`{gateway}` is already process[{first}]'s gateway"),
            ));
        }
        let Some(p) = setup.names.iter().position(|n| *n == e.name) else {
            continue; // the topology refuses it with its own message
        };
        out.push(GrpcEndpoint {
            process: NodeId(p as u16),
            addr,
            gateway: g,
        });
    }
    Ok(out)
}
