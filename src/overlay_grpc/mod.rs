//! The overlay's gRPC API (`proto/overlay.proto`) in the real flavor: every overlay process
//! whose topology entry has a `grpc` address serves `Forward` and `GetMetrics` there with
//! tonic, beside its node. Between processes the overlay keeps using faultline's transport;
//! the gRPC server is the entry for outside clients: [`gateway`] hands each request to the
//! overlay as a client would and waits for its one answer, within the client's deadline.

pub mod gateway;
pub mod service;

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use faultline_nodes::overlay::Overlay;

use crate::node::NodeRequest;

/// The code `tonic-build` generated from `proto/overlay.proto`: messages, client and server.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("overlay");
}

/// What runs beside a node until the node stops.
pub type Sidecar = Pin<Box<dyn Future<Output = std::io::Result<()>>>>;

/// The names of the gateway nodes a cluster's `[config]` gives its processes (the overlay's
/// `[[config.process]]` `gateway` fields): they run inside their processes, so `faultline
/// start` does not start them on their own.
pub fn gateways(config: &toml::Table) -> Vec<String> {
    let Some(toml::Value::Array(processes)) = config.get("process") else {
        return Vec::new();
    };
    (processes.iter())
        .filter_map(|p| p.get("gateway")?.as_str().map(str::to_string))
        .collect()
}

/// The process whose gRPC gateway node `req` is, if it is one: it runs inside that process
/// and is not started on its own.
pub fn gateway_of(proto: &dyn Any, req: &NodeRequest) -> Option<String> {
    let overlay = proto.downcast_ref::<Overlay>()?;
    let endpoint = overlay.grpc().iter().find(|e| e.gateway == req.me)?;
    req.cluster
        .names()
        .get(endpoint.process.0 as usize)
        .cloned()
}

/// The gRPC server node `req` serves beside itself, if it is an overlay process with a
/// `grpc` address: its address and the future that serves it.
pub fn sidecar(proto: &dyn Any, req: &NodeRequest) -> Option<(SocketAddr, Sidecar)> {
    let overlay = proto.downcast_ref::<Overlay>()?;
    let endpoint = *overlay.grpc().iter().find(|e| e.process == req.me)?;
    let topo = overlay.topology();
    let ctx = gateway::Context {
        me: endpoint.gateway,
        process: endpoint.process,
        leader: topo.leader,
        names: req.cluster.names(),
        teams: topo.teams.clone(),
        retry_ms: overlay.config().retry_ms.max(20),
    };
    let book = req.cluster.address_book();
    let addr = endpoint.addr;
    let fut = async move {
        let gw = Arc::new(gateway::Gateway::bind(ctx, book).await?);
        let receive = gw.clone().receive();
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot serve gRPC on {addr}: {e}"))
        })?;
        let incoming = tonic::transport::server::TcpIncoming::from_listener(listener, true, None)
            .map_err(std::io::Error::other)?;
        let server = tonic::transport::Server::builder()
            .add_service(pb::overlay_server::OverlayServer::new(
                service::Service::new(gw),
            ))
            .serve_with_incoming(incoming);
        tokio::select! {
            r = receive => r,
            r = server => r.map_err(std::io::Error::other),
        }
    };
    Some((addr, Box::pin(fut)))
}
