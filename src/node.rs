//! `faultline node`: one node of a cluster file as a real process over real sockets (real
//! flavor). The cluster file names the protocol and each node's role, so the command needs
//! only the file and the node's name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use faultline_sim::real::process::{log_line_of, run_process, ProcessFiles};
use faultline_sim::runtime::transport::AddressBook;
use faultline_sim::{Header, NodeId, Protocol};

use crate::cluster::Cluster;
use crate::registry::{Entry, Registry};
use crate::seedfile::VERSION;

/// A node to run, with its cluster and protocol found.
pub struct NodeRequest {
    /// The protocol the cluster runs.
    pub protocol: Arc<dyn Entry>,
    /// The cluster file.
    pub cluster: Cluster,
    /// The node's id.
    pub me: NodeId,
    /// The node's name.
    pub id: String,
    /// Where it writes its trace and keeps its durable state.
    pub dir: PathBuf,
    /// A drop-rules file to follow ([`faultline_sim::faults::drop_rules`]).
    pub drop_rules: Option<PathBuf>,
}

impl NodeRequest {
    /// Loads the cluster file and finds node `id` and its protocol; `protocol`, when given,
    /// must be the file's.
    pub fn load(
        registry: &Registry,
        protocol: Option<&str>,
        config: &Path,
        id: &str,
        dir: Option<&Path>,
        drop_rules: Option<&Path>,
    ) -> Result<NodeRequest, crate::error::Error> {
        let cluster = Cluster::load(config, registry)?;
        let me = cluster.id(id)?;
        if let Some(asked) = protocol.filter(|p| *p != cluster.file.protocol) {
            return Err(format!(
                "{}: the cluster runs `{}`, not `{asked}`",
                cluster.path, cluster.file.protocol
            )
            .into());
        }
        let entry = registry.find(&cluster.file.protocol, &cluster.source(), "protocol")?;
        let dir = match dir {
            Some(dir) => dir.to_path_buf(),
            None => crate::data_dir::default_for(config),
        };
        Ok(NodeRequest {
            protocol: entry,
            cluster,
            me,
            id: id.to_string(),
            dir,
            drop_rules: drop_rules.map(Path::to_path_buf),
        })
    }
}

/// Runs the node of `req` as protocol `proto` until Ctrl-C.
pub fn serve<P: Protocol>(proto: P, req: &NodeRequest) -> Result<(), crate::error::Error> {
    let (cluster, me, id) = (&req.cluster, req.me, &req.id);
    if let Some(process) = crate::overlay_grpc::gateway_of(&proto, req) {
        return Err(format!(
            "{}: `{id}` is the gRPC gateway of process `{process}` and runs inside it; start `{process}`",
            cluster.path
        )
        .into());
    }
    crate::data_dir::claim(&req.dir, &cluster.file.protocol, Path::new(&cluster.path))?;
    let files = ProcessFiles {
        trace: req.dir.join(format!("{id}.trace.jsonl")),
        durable: req.dir.join(format!("{id}.durable")),
        keys: proto.authenticates().then(|| cluster.keyring(me)),
        byzantine: None,
        drop_rules: req.drop_rules.clone(),
        skew_ms: cluster.file.nodes[me.0 as usize].skew_ms,
        view: proto.view_file(me).map(|v| (req.dir.join(v.name), v)),
        log: Some(log_line_of::<P>()),
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
    let node = &cluster.file.nodes[me.0 as usize];
    eprintln!(
        "faultline node: {id} ({} of {}) on {} over {:?}, trace {}",
        node.role,
        P::NAME,
        node.addr,
        book.kind,
        files.trace.display()
    );
    if let Some((path, _)) = &files.view {
        eprintln!("faultline node: {id} keeps {}", path.display());
    }
    let sidecar = crate::overlay_grpc::sidecar(&proto, req);
    if let Some((addr, _)) = &sidecar {
        eprintln!("faultline node: {id} serves gRPC on {addr}");
    }
    let node = run_process(Arc::new(proto), me, book, header, files);
    runtime.block_on(async {
        match sidecar {
            // The gRPC server lives as long as the node; either failing ends the process.
            Some((_, serve)) => tokio::select! {
                r = node => r,
                r = serve => r,
            },
            None => node.await,
        }
    })?;
    Ok(())
}

/// `faultline node --config CONFIG --id ID --dir DIR` as a child of this process that dies
/// with it (PDEATHSIG: a parent killed by SIGKILL leaves no node behind), its stdin closed;
/// the caller directs its output and spawns it.
pub fn child_command(
    config: &Path,
    id: &str,
    dir: &Path,
) -> std::io::Result<std::process::Command> {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args(["node", "--config"])
        .arg(config)
        .args(["--id", id, "--dir"])
        .arg(dir)
        .stdin(std::process::Stdio::null());
    // SAFETY: between fork and exec the child only makes one system call.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(command)
}
