//! The trace as JSON lines, written as records arrive: `{"t":..,"node":..,"ev":..}`.
//!
//! Datagrams and timers are nearly every line of a trace, and serde spent a tenth of a run
//! on them (escaping labels alone was 11%); they are written by hand here, byte for byte
//! as serde_json writes them, so [`super::read_jsonl`] and every reader of trace files
//! keep working. Protocol events come next (a Raft trace has one for every few datagrams):
//! their line is written by hand around the event, which serde writes; the flattened record
//! cost serde as much again as the event itself. The rare other events still go through
//! serde whole. Numbers and labels repeat from line to line, and a [`LineWriter`] remembers
//! what it can of them ([`Decimals`], [`Labels`]); protocol events of the usual shapes are
//! written by [`write_event`], the others by serde_json.

use std::io::{self, Write};

use super::decimal::Decimals;
use super::event_json::write_event;
use super::json_string::Labels;
use super::{DropReason, Ev, Header, Record};
use crate::node::ProtoEvent;
use crate::trace::sink::RecordSink;

/// Lines gathered before they are written out: one write call per this many bytes.
const FLUSH_BYTES: usize = 256 * 1024;

/// Appends `rec` as one JSON line, newline included, exactly as `serde_json` writes it: a
/// line on its own (a real node's), by a writer that remembers nothing yet.
pub fn write_line<E: ProtoEvent>(rec: &Record<E>, out: &mut Vec<u8>) {
    LineWriter::default().write(rec, out);
}

/// Writes trace lines, remembering from one line to the next the start of the latest line,
/// the numbers' leading digits and the labels that need no escaping.
#[derive(Default)]
pub struct LineWriter {
    /// The start of the latest line written by hand.
    start: LineStart,
    /// Times, node ids, message ids, timers.
    numbers: Decimals,
    /// Message labels, and the names of protocol events' fields and variants.
    labels: Labels,
}

/// The start of a line, `{"t":..,"node":`: most lines have the time of the line before
/// (a node's sends and events in one callback), and copy it.
struct LineStart {
    /// The time it has.
    t: u64,
    /// Its text: at most 33 bytes (a time of twenty digits).
    text: [u8; 40],
    /// How many bytes of `text` it is; 0 before the first line.
    len: usize,
}

impl Default for LineStart {
    fn default() -> Self {
        LineStart {
            t: 0,
            text: [0; 40],
            len: 0,
        }
    }
}

impl LineWriter {
    /// Appends `{"t":..,"node":` for time `t`.
    fn start(&mut self, t: u64, out: &mut Vec<u8>) {
        let start = &mut self.start;
        let len = out.len();
        if start.t == t && start.len > 0 {
            // A fixed-size append cut to size: a slice of variable length called `memcpy`.
            out.extend_from_slice(&start.text);
            out.truncate(len + start.len);
            return;
        }
        out.extend_from_slice(b"{\"t\":");
        self.numbers.write(t, out);
        out.extend_from_slice(b",\"node\":");
        let written = &out[len..];
        start.t = t;
        start.len = written.len();
        start.text[..written.len()].copy_from_slice(written);
    }

    /// Appends `rec` as one JSON line, newline included, exactly as `serde_json` writes it.
    pub fn write<E: ProtoEvent>(&mut self, rec: &Record<E>, out: &mut Vec<u8>) {
        let fast = matches!(
            rec.ev,
            Ev::Send { .. }
                | Ev::Deliver { .. }
                | Ev::Drop { .. }
                | Ev::Timer { .. }
                | Ev::Proto { .. }
        );
        if !fast {
            // Encoding a record we built ourselves fails only if a protocol event's Serialize
            // does; the line is then left out rather than half written.
            let mark = out.len();
            if serde_json::to_writer(&mut *out, rec).is_err() {
                out.truncate(mark);
                return;
            }
            out.push(b'\n');
            return;
        }
        let mark = out.len();
        self.start(rec.t, out);
        self.numbers.write(rec.node.0.into(), out);
        match &rec.ev {
            Ev::Send { to, id, label } => {
                out.extend_from_slice(b",\"ev\":\"send\",\"to\":");
                match to {
                    Some(to) => self.numbers.write(to.0.into(), out),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(b",\"id\":");
                self.numbers.write(*id, out);
                out.extend_from_slice(b",\"label\":");
                self.labels.write(label, out);
            }
            Ev::Deliver { from, id, label } => {
                out.extend_from_slice(b",\"ev\":\"deliver\",\"from\":");
                self.numbers.write(from.0.into(), out);
                out.extend_from_slice(b",\"id\":");
                self.numbers.write(*id, out);
                out.extend_from_slice(b",\"label\":");
                self.labels.write(label, out);
            }
            Ev::Drop {
                from,
                to,
                id,
                label,
                reason,
            } => {
                out.extend_from_slice(b",\"ev\":\"drop\",\"from\":");
                self.numbers.write(from.0.into(), out);
                out.extend_from_slice(b",\"to\":");
                self.numbers.write(to.0.into(), out);
                out.extend_from_slice(b",\"id\":");
                self.numbers.write(*id, out);
                out.extend_from_slice(b",\"label\":");
                self.labels.write(label, out);
                out.extend_from_slice(b",\"reason\":\"");
                out.extend_from_slice(reason_name(*reason).as_bytes());
                out.push(b'"');
            }
            Ev::Timer { timer } => {
                out.extend_from_slice(b",\"ev\":\"timer\",\"timer\":");
                self.numbers.write((*timer).into(), out);
            }
            Ev::Proto { event } => {
                out.extend_from_slice(b",\"ev\":\"proto\",\"event\":");
                // As for a whole line by serde: an event that fails to encode leaves no line.
                if !write_event(event, &mut self.labels, out)
                    && serde_json::to_writer(&mut *out, event).is_err()
                {
                    out.truncate(mark);
                    return;
                }
            }
            _ => unreachable!("only the events matched above take this path"),
        }
        out.extend_from_slice(b"}\n");
    }
}

/// The name serde gives a drop reason (`snake_case`).
fn reason_name(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Partition => "partition",
        DropReason::Loss => "loss",
        DropReason::Down => "down",
        DropReason::NoRoute => "no_route",
        DropReason::Forged => "forged",
        DropReason::Closed => "closed",
    }
}

/// Writes a trace file as the run goes: the header at once, then each record as it comes,
/// in large writes. An I/O error stops the writing and is kept for [`JsonlWriter::finish`],
/// so a run is never interrupted by its own trace.
pub struct JsonlWriter<W: Write> {
    /// Where the lines go.
    out: W,
    /// Lines not yet written out.
    pending: Vec<u8>,
    /// What repeats from line to line.
    lines: LineWriter,
    /// Records written (or pending) so far, the header not counted.
    records: u64,
    /// The first write error; nothing is written after it.
    error: Option<io::Error>,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer that has written the header line to `out`.
    pub fn new(header: &Header, mut out: W) -> io::Result<Self> {
        let mut line = serde_json::to_vec(header).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
        Ok(JsonlWriter {
            out,
            pending: Vec::with_capacity(FLUSH_BYTES + 4096),
            lines: LineWriter::default(),
            records: 0,
            error: None,
        })
    }

    /// Appends one record.
    pub fn write<E: ProtoEvent>(&mut self, rec: &Record<E>) {
        if self.error.is_some() {
            return;
        }
        self.lines.write(rec, &mut self.pending);
        self.records += 1;
        if self.pending.len() >= FLUSH_BYTES {
            self.flush_pending();
        }
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn flush_pending(&mut self) {
        if let Err(e) = self.out.write_all(&self.pending) {
            self.error = Some(e);
        }
        self.pending.clear();
    }

    /// Writes out what is pending and flushes; returns the destination, or the first error.
    pub fn finish(mut self) -> io::Result<W> {
        if self.error.is_none() {
            self.flush_pending();
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<E: ProtoEvent, W: Write + Send> RecordSink<E> for JsonlWriter<W> {
    fn record(&mut self, rec: &Record<E>) {
        self.write(rec);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::node::NodeId;
    use crate::trace::{read_jsonl, WORLD};

    fn rec(t: u64, node: u16, ev: Ev<u8>) -> Record<u8> {
        Record {
            t,
            node: NodeId(node),
            ev,
        }
    }

    /// One of every event the hand-written path takes, and a few it does not.
    fn sample(label: &'static str) -> Vec<Record<u8>> {
        let label = Cow::Borrowed(label);
        vec![
            rec(
                0,
                1,
                Ev::Send {
                    to: None,
                    id: 281474976710657,
                    label: label.clone(),
                },
            ),
            rec(
                u64::MAX,
                65534,
                Ev::Send {
                    to: Some(NodeId(3)),
                    id: 0,
                    label: label.clone(),
                },
            ),
            rec(
                17,
                2,
                Ev::Deliver {
                    from: NodeId(0),
                    id: 9,
                    label: label.clone(),
                },
            ),
            rec(
                18,
                2,
                Ev::Drop {
                    from: NodeId(0),
                    to: NodeId(2),
                    id: 10,
                    label: label.clone(),
                    reason: DropReason::NoRoute,
                },
            ),
            rec(19, 4, Ev::Timer { timer: u32::MAX }),
            rec(20, 4, Ev::Crash),
            rec(21, WORLD.0, Ev::Loss { rate: 0.25 }),
            rec(22, 4, Ev::Proto { event: 7 }),
            rec(23, 0, Ev::Proto { event: 255 }),
        ]
    }

    /// What serde_json writes, which the fast path must equal byte for byte.
    fn by_serde(records: &[Record<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            serde_json::to_writer(&mut out, r).unwrap();
            out.push(b'\n');
        }
        out
    }

    fn by_hand(records: &[Record<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            write_line(r, &mut out);
        }
        out
    }

    #[test]
    fn lines_equal_serde_json_byte_for_byte() {
        let records = sample("APPEND_ENTRIES");
        assert_eq!(
            String::from_utf8(by_hand(&records)).unwrap(),
            String::from_utf8(by_serde(&records)).unwrap()
        );
        for reason in [
            DropReason::Partition,
            DropReason::Loss,
            DropReason::Down,
            DropReason::NoRoute,
            DropReason::Forged,
            DropReason::Closed,
        ] {
            let r = [rec(
                1,
                1,
                Ev::Drop {
                    from: NodeId(1),
                    to: NodeId(2),
                    id: 3,
                    label: "x".into(),
                    reason,
                },
            )];
            assert_eq!(by_hand(&r), by_serde(&r), "{reason:?}");
        }
    }

    #[test]
    fn protocol_events_are_written_as_serde_json_writes_them() {
        let event = serde_json::json!({
            "appended": {"index": 12, "term": 3, "note": "a \"quoted\" \\ tab\t é"},
            "list": [1, -2, 3.5, null, true],
        });
        let records = vec![
            Record {
                t: 5,
                node: NodeId(2),
                ev: Ev::Proto {
                    event: event.clone(),
                },
            },
            Record {
                t: u64::MAX,
                node: WORLD,
                ev: Ev::Proto {
                    event: serde_json::json!("just a string"),
                },
            },
        ];
        let mut by_hand = Vec::new();
        let mut by_serde = Vec::new();
        for r in &records {
            write_line(r, &mut by_hand);
            serde_json::to_writer(&mut by_serde, r).unwrap();
            by_serde.push(b'\n');
        }
        assert_eq!(
            String::from_utf8(by_hand).unwrap(),
            String::from_utf8(by_serde).unwrap()
        );
    }

    #[test]
    fn an_event_that_cannot_be_encoded_leaves_no_line() {
        use std::collections::BTreeMap;
        // JSON keys are strings: serde_json refuses a map keyed by pairs.
        let bad: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        let mut out = b"before\n".to_vec();
        write_line(
            &Record {
                t: 1,
                node: NodeId(1),
                ev: Ev::Proto { event: bad },
            },
            &mut out,
        );
        assert_eq!(out, b"before\n");
    }

    #[test]
    fn a_label_with_a_quote_or_control_character_is_escaped() {
        for label in [
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "nul\u{0}",
            "é→ ok",
        ] {
            let records = sample(label);
            let text = by_hand(&records);
            assert_eq!(text, by_serde(&records), "{label:?}");
            // And it reads back to the same records.
            let mut file = b"{\"faultline\":\"t\",\"protocol\":\"p\",\"scenario\":\"s\",\"seed\":1,\"nodes\":[]}\n".to_vec();
            file.extend(text);
            let (_, back) = read_jsonl::<u8>(std::str::from_utf8(&file).unwrap()).unwrap();
            assert_eq!(back, records, "{label:?}");
        }
        // A quote left raw would end the string early: the line would not parse.
        let mut raw = Vec::new();
        write_line(&sample("a\"b")[0], &mut raw);
        assert!(String::from_utf8(raw)
            .unwrap()
            .contains(r#""label":"a\"b""#));
    }

    #[test]
    fn the_writer_writes_the_header_then_every_record_and_reads_back() {
        let header = Header {
            faultline: "test".into(),
            protocol: "p".into(),
            scenario: "s".into(),
            seed: 3,
            nodes: vec!["a".into(), "b".into()],
        };
        let records: Vec<Record<u8>> = (0..20_000)
            .flat_map(|i| sample(["PING", "VOTE"][i % 2]))
            .collect();
        let mut writer = JsonlWriter::new(&header, Vec::new()).unwrap();
        for r in &records {
            RecordSink::record(&mut writer, r);
        }
        assert_eq!(writer.records(), records.len() as u64);
        let bytes = writer.finish().unwrap();
        let (h, back) = read_jsonl::<u8>(std::str::from_utf8(&bytes).unwrap()).unwrap();
        assert_eq!(h, header);
        assert_eq!(back, records);
    }

    /// A destination that fails after `left` bytes.
    struct Full {
        left: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.left {
                return Err(io::Error::other("disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_is_kept_for_finish() {
        let header = Header {
            faultline: "test".into(),
            protocol: "p".into(),
            scenario: "s".into(),
            seed: 3,
            nodes: vec![],
        };
        let mut writer = JsonlWriter::new(&header, Full { left: 1000 }).unwrap();
        for r in sample("PING").iter().cycle().take(100_000) {
            writer.write(r);
        }
        assert!(writer.finish().is_err());
    }
}
