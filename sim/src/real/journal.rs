//! A real node's durable file as the one commit point of a callback (real flavor only).
//!
//! A callback that writes durable state also announces it in the trace ("entry 492 durably
//! written"). The state and the trace are two files: a SIGKILL between writing one and the
//! other leaves them disagreeing, and the checks then see a node restart with state its trace
//! never announced. So the durable file carries a journal: the trace lines of the callback that
//! wrote it, and the trace file's length before they were appended. The durable file is
//! renamed into place first (the commit), the lines appended second; on the next start,
//! [`recover`] appends whatever part of the lines the trace lacks. Whatever instant the kill
//! hit, the trace then agrees with the durable state.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::node::Durable;

/// Starts every durable file written with a journal. A file without it is the older format: a
/// bare [`Durable`] (read with an empty journal).
const MAGIC: &[u8] = b"faultline durable v2\n";

/// The trace lines of the last callback that wrote durable state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// The trace file's length, in bytes, just before the lines were appended.
    pub trace_len: u64,
    /// The lines, each ending with a newline, in trace order.
    pub lines: Vec<String>,
}

impl Journal {
    /// The lines as they are appended to the trace: one buffer, for one write call.
    pub fn bytes(&self) -> Vec<u8> {
        self.lines.concat().into_bytes()
    }
}

/// What a durable file holds, borrowed for writing.
#[derive(Serialize)]
struct StoredRef<'a> {
    durable: &'a Durable,
    journal: &'a Journal,
}

/// What a durable file holds.
#[derive(Deserialize)]
struct Stored {
    durable: Durable,
    journal: Journal,
}

/// Writes `durable` and `journal` atomically (tmp, fsync, rename): a crash mid-write leaves
/// the old file, never half of the new one.
pub fn write(path: &Path, durable: &Durable, journal: &Journal) -> io::Result<()> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend(postcard::to_stdvec(&StoredRef { durable, journal }).map_err(io::Error::other)?);
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_data()?;
    std::fs::rename(tmp, path)
}

/// Reads a durable file, either format; a missing file is an empty store.
pub fn read(path: &Path) -> io::Result<(Durable, Journal)> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(e),
    };
    match bytes.strip_prefix(MAGIC) {
        Some(rest) => {
            let stored: Stored = postcard::from_bytes(rest).map_err(io::Error::other)?;
            Ok((stored.durable, stored.journal))
        }
        None => {
            let durable = postcard::from_bytes(&bytes).map_err(io::Error::other)?;
            Ok((durable, Journal::default()))
        }
    }
}

/// What [`recover`] found in the trace.
#[derive(Debug, PartialEq, Eq)]
pub enum Recovery {
    /// The journal's lines were all in the trace already.
    Complete,
    /// This many bytes of the lines were missing, and are now appended.
    Appended(usize),
    /// The trace holds something else where the lines belong (it was replaced or cut): it is
    /// left alone.
    Mismatch,
}

/// Brings the trace at `trace` up to `journal`: appends the part of its lines that was not
/// written before the crash (all of them, or the end of a torn write), in one write call.
pub fn recover(trace: &Path, journal: &Journal) -> io::Result<Recovery> {
    let want = journal.bytes();
    if want.is_empty() {
        return Ok(Recovery::Complete);
    }
    let have = std::fs::read(trace)?;
    let Some(tail) = usize::try_from(journal.trace_len)
        .ok()
        .and_then(|at| have.get(at..))
    else {
        return Ok(Recovery::Mismatch);
    };
    // Later records follow the lines when they were written in full.
    if tail.starts_with(&want) {
        return Ok(Recovery::Complete);
    }
    // Otherwise the lines were the last thing written, and the kill cut them (or all of them).
    if !want.starts_with(tail) {
        return Ok(Recovery::Mismatch);
    }
    let missing = &want[tail.len()..];
    let mut file = std::fs::OpenOptions::new().append(true).open(trace)?;
    file.write_all(missing)?;
    Ok(Recovery::Appended(missing.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fresh directory for one test.
    fn dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("faultline-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn durable() -> Durable {
        let mut d = Durable::default();
        d.entries.insert("log/492".into(), vec![4, 9, 2]);
        d
    }

    fn journal(trace_len: u64) -> Journal {
        Journal {
            trace_len,
            lines: vec!["{\"a\":1}\n".into(), "{\"b\":2}\n".into()],
        }
    }

    #[test]
    fn durable_and_journal_round_trip() {
        let dir = dir("round-trip");
        let path = dir.join("n.durable");
        write(&path, &durable(), &journal(7)).unwrap();
        assert_eq!(read(&path).unwrap(), (durable(), journal(7)));
    }

    #[test]
    fn old_format_reads_with_an_empty_journal() {
        let dir = dir("old-format");
        let path = dir.join("n.durable");
        std::fs::write(&path, postcard::to_stdvec(&durable()).unwrap()).unwrap();
        assert_eq!(read(&path).unwrap(), (durable(), Journal::default()));
    }

    #[test]
    fn missing_file_is_empty() {
        let dir = dir("missing");
        assert_eq!(read(&dir.join("none.durable")).unwrap(), Default::default());
    }

    #[test]
    fn lines_lost_to_the_kill_are_appended() {
        let dir = dir("lost");
        let trace = dir.join("n.trace.jsonl");
        std::fs::write(&trace, "header\nold\n").unwrap();
        let j = journal(11);
        assert_eq!(recover(&trace, &j).unwrap(), Recovery::Appended(16));
        assert_eq!(
            std::fs::read_to_string(&trace).unwrap(),
            "header\nold\n{\"a\":1}\n{\"b\":2}\n"
        );
        // A second start finds them.
        assert_eq!(recover(&trace, &j).unwrap(), Recovery::Complete);
    }

    #[test]
    fn a_torn_write_is_completed() {
        let dir = dir("torn");
        let trace = dir.join("n.trace.jsonl");
        std::fs::write(&trace, "header\nold\n{\"a\":1}\n{\"b").unwrap();
        assert_eq!(
            recover(&trace, &journal(11)).unwrap(),
            Recovery::Appended(5)
        );
        assert_eq!(
            std::fs::read_to_string(&trace).unwrap(),
            "header\nold\n{\"a\":1}\n{\"b\":2}\n"
        );
    }

    #[test]
    fn lines_already_written_are_not_written_twice() {
        let dir = dir("written");
        let trace = dir.join("n.trace.jsonl");
        // The lines, then records of later callbacks that wrote nothing durable.
        let text = "header\nold\n{\"a\":1}\n{\"b\":2}\nlater\n";
        std::fs::write(&trace, text).unwrap();
        assert_eq!(recover(&trace, &journal(11)).unwrap(), Recovery::Complete);
        assert_eq!(std::fs::read_to_string(&trace).unwrap(), text);
    }

    #[test]
    fn a_trace_that_differs_is_left_alone() {
        let dir = dir("differs");
        let trace = dir.join("n.trace.jsonl");
        for text in ["header\nold\nother\n", "header\n"] {
            std::fs::write(&trace, text).unwrap();
            assert_eq!(recover(&trace, &journal(11)).unwrap(), Recovery::Mismatch);
            assert_eq!(std::fs::read_to_string(&trace).unwrap(), text);
        }
    }
}
