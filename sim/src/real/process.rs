//! A real node process (real flavor only): wall-clock time, a trace file written line by
//! line (so a SIGKILL loses nothing already recorded), durable state in a file that also
//! journals the trace lines of the callback that wrote it ([`crate::real::journal`]).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::faults::byzantine::Byzantine;
use crate::faults::drop_rules::DropRules;
use crate::faults::nemesis::{Arrival, Nemesis};
use crate::node::{Durable, NodeId, ProtoEvent};
use crate::protocol::{Protocol, ViewFile};
use crate::real::journal::{self, Journal, Recovery};
use crate::runtime::auth::Keyring;
use crate::runtime::driver::{self, Host};
use crate::runtime::node_clock::NodeClock;
use crate::runtime::transport::{AddressBook, Transport};
use crate::trace::{Ev, Header, Record};

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
    /// Its clock's offset (a real clock's drift is its own: none is added).
    skew_ms: i64,
    /// The file kept as a view of the durable state, and where.
    view: Option<(PathBuf, ViewFile)>,
    /// A hash of the view's bytes as last written: a commit that leaves them as they are
    /// (a durable write the view does not show) does not rewrite the file.
    view_written: Mutex<Option<u64>>,
    /// What to print to the log for an event.
    log: Option<LogLine>,
}

/// What a real node prints to its log for a protocol event (its type erased):
/// [`Protocol::log_line`].
pub type LogLine = Arc<dyn Fn(&dyn std::any::Any) -> Option<String> + Send + Sync>;

/// The [`LogLine`] of protocol `P`.
pub fn log_line_of<P: Protocol>() -> LogLine {
    Arc::new(|event: &dyn std::any::Any| event.downcast_ref::<P::Event>().and_then(P::log_line))
}

impl<E: ProtoEvent + Send> Host<E> for ProcessHost {
    /// Wall-clock microseconds since the Unix epoch, so that times in protocol state (Raft
    /// entry stamps, leases) mean the same on every host, up to clock skew.
    fn now_us(&self) -> u64 {
        self.unix_start_us + self.start.elapsed().as_micros() as u64
    }

    fn record(&self, node: NodeId, ev: Ev<E>) {
        self.log(&ev);
        let Some(line) = self.line(node, ev) else {
            return;
        };
        let mut file = self.trace.lock().unwrap_or_else(|p| p.into_inner());
        // A full disk must not stop the node: the trace is evidence, not state.
        let _ = file.write_all(line.as_bytes());
    }

    fn clock(&self, _node: NodeId) -> NodeClock {
        NodeClock {
            skew_ms: self.skew_ms,
            drift_ppm: 0,
        }
    }

    fn arrival(&self, from: NodeId, to: NodeId, label: &str) -> Arrival {
        self.nemesis
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .arrival(from, to, label)
    }

    fn byzantine(&self, _node: NodeId) -> Option<Byzantine> {
        self.byzantine
    }

    /// The durable file is the commit point: it is written with the records' trace lines,
    /// which are appended to the trace only after it is in place. A SIGKILL between the two
    /// loses nothing: the next start appends what the trace lacks ([`journal::recover`]).
    fn commit(&self, node: NodeId, durable: &Durable, records: Vec<Ev<E>>) {
        let lines = records
            .into_iter()
            .filter_map(|ev| {
                self.log(&ev);
                self.line(node, ev)
            })
            .collect();
        // Held throughout, so that no other line lands between the journal's offset and it.
        let mut file = self.trace.lock().unwrap_or_else(|p| p.into_inner());
        // The file is opened for appending: its length is where the lines will go.
        let trace_len = file.metadata().map_or(0, |m| m.len());
        let journal = Journal { trace_len, lines };
        self.write_durable(durable, &journal);
        let _ = file.write_all(&journal.bytes());
        drop(file);
        self.write_view(durable);
    }

    fn next_msg_id(&self, node: NodeId) -> u64 {
        ((node.0 as u64) << 48) | (self.sent.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF_FFFF)
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

impl ProcessHost {
    /// One trace line for `ev`, stamped now, newline included; `None` if it cannot be encoded.
    fn line<E: ProtoEvent>(&self, node: NodeId, ev: Ev<E>) -> Option<String> {
        let rec = Record {
            t: self.unix_start_us + self.start.elapsed().as_micros() as u64,
            node,
            ev,
        };
        let mut line = Vec::with_capacity(128);
        crate::trace::jsonl::write_line(&rec, &mut line);
        if line.is_empty() {
            return None;
        }
        // JSON written from Rust strings is UTF-8.
        String::from_utf8(line).ok()
    }

    /// Prints `ev` to the log if the protocol wants it there, with the UTC time of day.
    fn log<E: ProtoEvent>(&self, ev: &Ev<E>) {
        let (Some(log), Ev::Proto { event }) = (&self.log, ev) else {
            return;
        };
        if let Some(text) = log(event) {
            let ms = (self.unix_start_us + self.start.elapsed().as_micros() as u64) / 1000;
            let (h, m, s) = (ms / 3_600_000 % 24, ms / 60_000 % 60, ms / 1000 % 60);
            eprintln!("{h:02}:{m:02}:{s:02}.{:03} {text}", ms % 1000);
        }
    }

    /// Brings the view file up to `durable`, atomically (tmp, fsync, rename): a reader sees
    /// the old file or the new, never half. A failure is reported, and the node goes on.
    fn write_view(&self, durable: &Durable) {
        let Some((path, view)) = &self.view else {
            return;
        };
        let Some(bytes) = (view.render)(durable) else {
            return;
        };
        let hash = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            bytes.hash(&mut h);
            h.finish()
        };
        let mut written = self.view_written.lock().unwrap_or_else(|p| p.into_inner());
        if *written == Some(hash) {
            return;
        }
        match write_atomically(path, &bytes) {
            Ok(()) => *written = Some(hash),
            Err(e) => eprintln!("faultline: cannot write {}: {e}", path.display()),
        }
    }

    /// Writes the durable file; a failure is reported, and the node goes on.
    fn write_durable(&self, durable: &Durable, journal: &Journal) {
        if let Err(e) = journal::write(&self.durable_path, durable, journal) {
            eprintln!(
                "faultline: cannot persist {}: {e}",
                self.durable_path.display()
            );
        }
    }
}

/// Writes `bytes` to `path` through a fsynced temporary file renamed into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    std::fs::rename(tmp, path)
}

/// Reads the durable file; a damaged one is reported and read as empty.
fn read_durable(path: &Path) -> (Durable, Journal) {
    journal::read(path).unwrap_or_else(|e| {
        eprintln!(
            "faultline: {} is damaged ({e}); starting empty",
            path.display()
        );
        Default::default()
    })
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
    /// How far ahead (negative: behind) the node's clock reads, in milliseconds: what
    /// `Cx::now` shows it, for clock-skew experiments; the trace keeps the true time.
    pub skew_ms: i64,
    /// A file to keep as a view of the durable state ([`Protocol::view_file`]), and where.
    pub view: Option<(PathBuf, ViewFile)>,
    /// What to print to the log for an event ([`log_line_of`]).
    pub log: Option<LogLine>,
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

/// Opens node `me`'s files (`nodes` in the run; `unix_now`: the start's wall-clock time) and
/// reads what survived the last run. On a restart the trace is first brought up to the
/// durable file's journal, then gets its `Restart` record: it then says everything the
/// durable state holds, whatever instant the last run was killed at.
fn start_host<E: ProtoEvent + Send>(
    me: NodeId,
    nodes: usize,
    header: &Header,
    files: &ProcessFiles,
    unix_now: std::time::Duration,
) -> std::io::Result<(Arc<ProcessHost>, Durable)> {
    let fresh = !files.trace.exists();
    let mut trace = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&files.trace)?;
    if fresh {
        let mut line = serde_json::to_vec(header).map_err(std::io::Error::other)?;
        line.push(b'\n');
        trace.write_all(&line)?;
    }
    let restarted = files.durable.exists();
    let (durable, journal) = read_durable(&files.durable);
    if let Recovery::Mismatch = journal::recover(&files.trace, &journal)? {
        eprintln!(
            "faultline: {} does not hold the last lines journaled in {}; left as it is",
            files.trace.display(),
            files.durable.display()
        );
    }
    let host = Arc::new(ProcessHost {
        start: Instant::now(),
        unix_start_us: unix_now.as_micros() as u64,
        trace: Mutex::new(trace),
        nemesis: Mutex::new(Nemesis::new(nodes, 0.0, unix_now.as_nanos() as u64)),
        durable_path: files.durable.clone(),
        sent: AtomicU64::new((unix_now.as_millis() as u64 & 0xFFFF_FFFF) << 12),
        stop: AtomicBool::new(false),
        byzantine: files.byzantine,
        skew_ms: files.skew_ms,
        view: files.view.clone(),
        view_written: Mutex::new(None),
        log: files.log.clone(),
    });
    // A kill between the durable file and the view left the view behind: catch it up.
    host.write_view(&durable);
    if restarted {
        Host::<E>::record(&*host, me, Ev::Restart);
    } else {
        // Marks the store as present, so the next start is known to be a restart.
        journal::write(&files.durable, &durable, &journal)?;
    }
    Ok((host, durable))
}

/// Runs node `me` of `proto` over real sockets until Ctrl-C.
pub async fn run_process<P: Protocol>(
    proto: Arc<P>,
    me: NodeId,
    book: AddressBook,
    header: Header,
    files: ProcessFiles,
) -> std::io::Result<()> {
    let unix_now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (host, durable) = start_host::<P::Event>(me, book.nodes.len(), &header, &files, unix_now)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Node 0's files in a fresh directory for one test.
    fn files(name: &str) -> ProcessFiles {
        let dir =
            std::env::temp_dir().join(format!("faultline-process-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ProcessFiles {
            trace: dir.join("a.trace.jsonl"),
            durable: dir.join("a.durable"),
            keys: None,
            byzantine: None,
            drop_rules: None,
            skew_ms: 0,
            view: None,
            log: None,
        }
    }

    fn start(files: &ProcessFiles) -> Arc<ProcessHost> {
        let header = Header {
            faultline: "test".into(),
            protocol: "test".into(),
            scenario: "test".into(),
            seed: 0,
            nodes: vec!["a".into()],
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        start_host::<u32>(NodeId(0), 1, &header, files, now)
            .unwrap()
            .0
    }

    /// A callback that writes entry 492 and says so in the trace.
    fn commit_492(host: &ProcessHost) {
        let mut durable = Durable::default();
        durable.entries.insert("log/492".into(), vec![4, 9, 2]);
        let records = vec![Ev::Proto { event: 492 }, Ev::Proto { event: 493 }];
        Host::<u32>::commit(host, NodeId(0), &durable, records);
    }

    fn trace(files: &ProcessFiles) -> String {
        std::fs::read_to_string(&files.trace).unwrap()
    }

    /// The trace's lines after `before`, each as a record.
    fn records_after(files: &ProcessFiles, before: &str) -> Vec<Record<u32>> {
        let text = trace(files);
        let rest = text
            .strip_prefix(before)
            .expect("the trace kept what it had");
        rest.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn a_kill_between_the_durable_file_and_the_trace_loses_no_line() {
        let files = files("kill");
        let host = start(&files);
        Host::<u32>::record(&*host, NodeId(0), Ev::Proto { event: 1 });
        commit_492(&host);
        let committed = trace(&files);
        drop(host);
        // What a SIGKILL after the rename but before the append leaves.
        let (durable, journal) = journal::read(&files.durable).unwrap();
        assert!(durable.entries.contains_key("log/492"));
        assert_eq!(journal.lines.len(), 2);
        let cut = &committed[..journal.trace_len as usize];
        assert!(!cut.contains("492"));
        std::fs::write(&files.trace, cut).unwrap();

        drop(start(&files));
        let after = records_after(&files, cut);
        let evs: Vec<_> = after.iter().map(|r| r.ev.clone()).collect();
        assert_eq!(
            evs,
            [
                Ev::Proto { event: 492 },
                Ev::Proto { event: 493 },
                Ev::Restart
            ]
        );
        // The recovered lines are the ones the node wrote, times included.
        assert!(trace(&files).starts_with(&committed));
    }

    #[test]
    fn a_clean_stop_appends_nothing_twice() {
        let files = files("clean");
        let host = start(&files);
        commit_492(&host);
        // A later callback that wrote nothing durable.
        Host::<u32>::record(&*host, NodeId(0), Ev::Proto { event: 7 });
        let before = trace(&files);
        drop(host);

        drop(start(&files));
        let after = records_after(&files, &before);
        let evs: Vec<_> = after.iter().map(|r| r.ev.clone()).collect();
        assert_eq!(evs, [Ev::Restart]);
    }
}
