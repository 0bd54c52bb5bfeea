//! A real node process (real flavor only): wall-clock time, a trace file written line by
//! line (so a SIGKILL loses nothing already recorded), durable state in a file.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::auth::Keyring;
use crate::byzantine::Byzantine;
use crate::driver::{self, Host};
use crate::drop_rules::DropRules;
use crate::nemesis::{Arrival, Nemesis};
use crate::node::{Durable, NodeId, ProtoEvent};
use crate::protocol::Protocol;
use crate::trace::{Ev, Header, Record};
use crate::transport::{AddressBook, Transport};

/// The [`Host`] of one real node.
struct ProcessHost {
    /// Process start, for the node's monotonic clock.
    start: Instant,
    /// Microseconds since the Unix epoch at `start`: trace times from several hosts merge.
    unix_start_us: u64,
    /// The trace file, appended one line per record.
    trace: Mutex<File>,
    /// Drop rules: none unless a drop-rules file puts some in force.
    nemesis: Mutex<Nemesis>,
    /// Where the durable state lives.
    durable_path: PathBuf,
    /// Datagram counter; starts from the clock so that ids differ across restarts.
    sent: AtomicU64,
    /// Set on Ctrl-C.
    stop: AtomicBool,
    /// How this node lies, when started as a Byzantine node.
    byzantine: Option<Byzantine>,
}

impl<E: ProtoEvent + Send> Host<E> for ProcessHost {
    /// Wall-clock microseconds since the Unix epoch, so that times in protocol state (Raft
    /// entry stamps, leases) mean the same on every host, up to clock skew.
    fn now_us(&self) -> u64 {
        self.unix_start_us + self.start.elapsed().as_micros() as u64
    }

    fn record(&self, node: NodeId, ev: Ev<E>) {
        let rec = Record {
            t: self.unix_start_us + self.start.elapsed().as_micros() as u64,
            node,
            ev,
        };
        let Ok(mut line) = serde_json::to_vec(&rec) else {
            return;
        };
        line.push(b'\n');
        let mut file = self.trace.lock().unwrap_or_else(|p| p.into_inner());
        // A full disk must not stop the node: the trace is evidence, not state.
        let _ = file.write_all(&line);
    }

    fn arrival(&self, from: NodeId, to: NodeId) -> Arrival {
        self.nemesis
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .arrival(from, to)
    }

    fn byzantine(&self, _node: NodeId) -> Option<Byzantine> {
        self.byzantine
    }

    fn persist(&self, _node: NodeId, durable: &Durable, _keys: &[String]) {
        if let Err(e) = write_durable(&self.durable_path, durable) {
            eprintln!(
                "faultline: cannot persist {}: {e}",
                self.durable_path.display()
            );
        }
    }

    fn next_msg_id(&self, node: NodeId) -> u64 {
        ((node.0 as u64) << 48) | (self.sent.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF_FFFF)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Writes atomically: a crash mid-write leaves the old state, never half of the new one.
fn write_durable(path: &Path, durable: &Durable) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(durable).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_data()?;
    std::fs::rename(tmp, path)
}

fn read_durable(path: &Path) -> Durable {
    match std::fs::read(path) {
        Ok(bytes) => postcard::from_bytes(&bytes).unwrap_or_else(|e| {
            eprintln!(
                "faultline: {} is damaged ({e}); starting empty",
                path.display()
            );
            Durable::default()
        }),
        Err(_) => Durable::default(),
    }
}

/// Where a real node keeps its files.
pub struct ProcessFiles {
    /// The trace, appended to (a restarted node continues its file).
    pub trace: PathBuf,
    /// The durable state.
    pub durable: PathBuf,
    /// Pairwise keys, when the protocol authenticates senders.
    pub keys: Option<Keyring>,
    /// Make this node lie from the start (for Byzantine experiments on real networks).
    pub byzantine: Option<Byzantine>,
    /// A drop-rules file ([`DropRules`]) to follow as it changes, if any.
    pub drop_rules: Option<PathBuf>,
}

/// How often a node looks at its drop-rules file: a fault takes effect within this.
const DROP_RULES_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// Keeps the host's drop rules equal to the file's; never returns. `seen` is the text
/// already in force.
async fn follow_drop_rules(
    path: PathBuf,
    host: Arc<ProcessHost>,
    names: Vec<String>,
    mut seen: String,
) {
    loop {
        tokio::time::sleep(DROP_RULES_POLL).await;
        seen = load_drop_rules(&path, &host, &names, seen);
    }
}

/// Puts the file's rules in force if its text differs from `seen`; returns the text read. A
/// missing file means no rules; a bad one keeps the rules in force, and says why.
fn load_drop_rules(path: &Path, host: &ProcessHost, names: &[String], seen: String) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if text == seen {
        return seen;
    }
    match DropRules::parse(&text) {
        Ok(rules) => rules.apply(
            &mut host.nemesis.lock().unwrap_or_else(|p| p.into_inner()),
            names,
        ),
        Err(e) => eprintln!(
            "faultline: {}: {e}; keeping the rules in force",
            path.display()
        ),
    }
    text
}

/// Runs node `me` of `proto` over real sockets until Ctrl-C.
pub async fn run_process<P: Protocol>(
    proto: Arc<P>,
    me: NodeId,
    book: AddressBook,
    header: Header,
    files: ProcessFiles,
) -> std::io::Result<()> {
    let fresh = !files.trace.exists();
    let mut trace = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files.trace)?;
    if fresh {
        let mut line = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
        line.push(b'\n');
        trace.write_all(&line)?;
    }
    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let restarted = files.durable.exists();
    let host = Arc::new(ProcessHost {
        start: Instant::now(),
        unix_start_us: unix_now.as_micros() as u64,
        trace: Mutex::new(trace),
        nemesis: Mutex::new(Nemesis::new(
            book.nodes.len(),
            0.0,
            ChaCha8Rng::seed_from_u64(0),
        )),
        durable_path: files.durable.clone(),
        sent: AtomicU64::new((unix_now.as_millis() as u64 & 0xFFFF_FFFF) << 12),
        stop: AtomicBool::new(false),
        byzantine: files.byzantine,
    });
    if restarted {
        Host::<P::Event>::record(&*host, me, Ev::Restart);
    }
    let durable = read_durable(&files.durable);
    if !restarted {
        // Marks the store as present, so the next start is known to be a restart.
        write_durable(&files.durable, &durable)?;
    }
    let rng = ChaCha8Rng::seed_from_u64(unix_now.as_nanos() as u64 ^ ((me.0 as u64) << 48));
    let transport = Transport::bind(me, book).await?;
    let stopper = host.clone();
    // The rules in force before the first datagram: a node restarted inside a partition
    // must not reach across it.
    let rules = files.drop_rules.map(|path| {
        let seen = load_drop_rules(&path, &host, &header.nodes, String::new());
        follow_drop_rules(path, host.clone(), header.nodes.clone(), seen)
    });
    let rules = async {
        match rules {
            Some(follow) => follow.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = driver::run(proto.node(me), me, host.clone(), transport, durable, rng, files.keys) => {}
        () = rules => {}
        _ = tokio::signal::ctrl_c() => stopper.stop.store(true, Ordering::Relaxed),
    }
    Ok(())
}
