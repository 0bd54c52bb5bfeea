//! Histories recorded by Jepsen and Knossos, read into [`Op`]s: EDN op maps (a Jepsen test's
//! `history.edn`, one map per line, or a Knossos history, one vector of maps) and Jepsen's log
//! lines (`INFO  jepsen.util - 0 :invoke :read nil`, tab-separated, as in porcupine's etcd test
//! data).
//!
//! Each event is `{:process P, :type T, :f F, :value V}` (other fields are ignored):
//! - `:type :invoke` starts an op of process P; `:ok` completes it as told, `:info` leaves its
//!   outcome unknown (it may or may not have taken effect), `:fail` means it did not happen and
//!   drops it. An op still open at the end is unknown too.
//! - `:f` is `:read`/`:write`/`:cas` (a register; a cas `:value` is `[expected new]`) or
//!   porcupine's kv `:get`/`:put`/`:append` with a `:key`, where `:append` adds to a string
//!   and `""` is a missing key. An `:append` of a non-string value is Jepsen's list-append
//!   (a read then returns a vector). Ops without `:key` all go to the key `register`.
//! - Events of a process that is not an integer (`:nemesis`) are skipped.
//! - Times are the events' positions: Jepsen records events in real-time order.

use std::collections::BTreeMap;

use super::edn::{self, Edn, Value};
use super::history::{HistoryError, Input, Op, Output};

/// The key of a history whose ops name none: a single register.
pub const REGISTER_KEY: &str = "register";

/// How a history file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// faultline's JSON lines (see the module documentation).
    Jsonl,
    /// EDN op maps: Jepsen's `history.edn` or a Knossos history.
    Edn,
    /// Jepsen's log lines.
    JepsenLog,
}

impl Format {
    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Edn => "edn",
            Format::JepsenLog => "jepsen-log",
        }
    }

    /// The format named `name` on the command line.
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Jsonl, Format::Edn, Format::JepsenLog]
            .into_iter()
            .find(|f| f.name() == name)
    }

    /// Guesses the format from the first line that says anything: a JSON object, EDN, or a
    /// log line naming `jepsen.util`. Anything else is taken as JSON lines, whose reader then
    /// says what is wrong.
    pub fn detect(text: &str) -> Format {
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.contains("jepsen.util") {
                return Format::JepsenLog;
            }
            let after_brace = line.strip_prefix('{').map(str::trim_start);
            if after_brace.is_some_and(|rest| rest.starts_with('"') || rest.starts_with('}')) {
                return Format::Jsonl;
            }
            if line.starts_with(['{', '[', '(', ';', '#']) {
                return Format::Edn;
            }
            return Format::Jsonl;
        }
        Format::Jsonl
    }
}

/// One event of a process.
struct Event {
    /// The line it is on.
    line: usize,
    /// The process.
    process: u64,
    /// `invoke`, `ok`, `fail` or `info`.
    kind: String,
    /// The operation's name.
    f: String,
    /// The key, if the event names one.
    key: Option<String>,
    /// The value.
    value: Value,
}

/// An error at `line` in `field`.
fn error(line: usize, field: &str, message: impl Into<String>) -> HistoryError {
    HistoryError {
        line,
        field: Some(field.to_string()),
        message: message.into(),
    }
}

/// Reads an EDN history: top-level op maps, or one vector (or list) of them.
pub(super) fn parse_edn(text: &str) -> Result<Vec<Op>, HistoryError> {
    let values = edn::parse_all(text).map_err(|e| HistoryError {
        line: e.line,
        field: None,
        message: format!("malformed EDN: {}", e.message),
    })?;
    let items = match <[Edn; 1]>::try_from(values) {
        Ok(
            [Edn {
                value: Value::Vector(items),
                ..
            }],
        ) => items,
        Ok([single]) => vec![single],
        Err(values) => values,
    };
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        if let Some(event) = edn_event(item)? {
            events.push(event);
        }
    }
    to_ops(events)
}

/// The event an op map describes, or `None` for a nemesis's.
fn edn_event(item: Edn) -> Result<Option<Event>, HistoryError> {
    let line = item.line;
    let Value::Map(pairs) = item.value else {
        return Err(HistoryError {
            line,
            field: None,
            message: format!("expected an op map like {{:type :invoke, :f :read, :value nil, :process 0}}, got {}", item.value),
        });
    };
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| matches!(&k.value, Value::Keyword(n) if n == name))
            .map(|(_, v)| v.value.clone())
    };
    let required =
        |name: &str| get(name).ok_or_else(|| error(line, &format!(":{name}"), "missing"));
    let process = match required("process")? {
        Value::Int(p) if p >= 0 => p as u64,
        Value::Int(p) => return Err(error(line, ":process", format!("negative process {p}"))),
        // The nemesis and other non-client processes do no register operations.
        Value::Keyword(_) | Value::Symbol(_) | Value::Str(_) => return Ok(None),
        other => {
            return Err(error(
                line,
                ":process",
                format!("expected an integer, got {other}"),
            ))
        }
    };
    let kind = match required("type")? {
        Value::Keyword(k) => k,
        other => {
            return Err(error(
                line,
                ":type",
                format!("expected a keyword, got {other}"),
            ))
        }
    };
    let f = match required("f")? {
        Value::Keyword(k) => k,
        other => {
            return Err(error(
                line,
                ":f",
                format!("expected a keyword, got {other}"),
            ))
        }
    };
    let key = match get("key") {
        None => None,
        Some(Value::Str(s)) => Some(s),
        Some(Value::Int(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(error(
                line,
                ":key",
                format!("expected a string or an integer, got {other}"),
            ))
        }
    };
    let value = get("value").unwrap_or(Value::Nil);
    Ok(Some(Event {
        line,
        process,
        kind,
        f,
        key,
        value,
    }))
}

/// Reads Jepsen log lines; lines that are not `jepsen.util` op lines are skipped.
pub(super) fn parse_log(text: &str) -> Result<Vec<Op>, HistoryError> {
    let mut events = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let Some(at) = raw.find("jepsen.util - ") else {
            continue;
        };
        let rest = &raw[at + "jepsen.util - ".len()..];
        // Fields are separated by tabs or runs of spaces; the value is the rest of the line.
        let mut fields = Vec::new();
        let mut rest = rest.trim_start();
        while fields.len() < 3 && !rest.is_empty() {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            fields.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
        let value_text = rest.trim();
        let [process, kind, f] = fields[..] else {
            return Err(HistoryError {
                line,
                field: None,
                message: "expected `<process> :<type> :<f> <value>` after `jepsen.util - `".into(),
            });
        };
        let Some(kind) = kind.strip_prefix(':') else {
            return Err(error(
                line,
                "type",
                format!("expected a keyword, got `{kind}`"),
            ));
        };
        let Some(f) = f.strip_prefix(':') else {
            return Err(error(line, "f", format!("expected a keyword, got `{f}`")));
        };
        let Ok(process) = process.parse::<u64>() else {
            // Nemesis lines (`:nemesis :info :start nil`) do no register operations.
            if process.starts_with(':') {
                continue;
            }
            return Err(error(
                line,
                "process",
                format!("expected an integer, got `{process}`"),
            ));
        };
        // The value may be any EDN; when it is not (free text after a :fail), keep it whole.
        let value = match edn::parse_all(value_text) {
            Ok(values) if values.len() == 1 => values[0].value.clone(),
            Ok(values) if values.is_empty() => Value::Nil,
            _ => Value::Symbol(value_text.to_string()),
        };
        events.push(Event {
            line,
            process,
            kind: kind.to_string(),
            f: f.to_string(),
            key: None,
            value,
        });
    }
    to_ops(events)
}

/// A value as the history's text: strings as they are, anything else as EDN.
fn text(value: &Value) -> String {
    match value {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `nil` as `None`, anything else as its text.
fn maybe_text(value: &Value) -> Option<String> {
    (*value != Value::Nil).then(|| text(value))
}

/// An op started by an invocation, awaiting its completion.
struct Open {
    /// The invocation's line.
    line: usize,
    /// Its time.
    invoke_us: u64,
    /// Its operation name.
    f: String,
    /// Its key.
    key: Option<String>,
    /// Its value.
    value: Value,
}

/// Pairs invocations with completions.
fn to_ops(events: Vec<Event>) -> Result<Vec<Op>, HistoryError> {
    let mut open: BTreeMap<u64, Open> = BTreeMap::new();
    let mut ops = Vec::new();
    for (position, event) in events.into_iter().enumerate() {
        let time = position as u64 + 1;
        let line = event.line;
        if event.kind == "invoke" {
            if let Some(previous) = open.get(&event.process) {
                return Err(error(
                    line,
                    ":process",
                    format!(
                        "process {} invokes again while its op from line {} is still open",
                        event.process, previous.line
                    ),
                ));
            }
            // Check the operation now, so the error points at the invocation.
            invocation(line, &event.f, event.key.clone(), &event.value)?;
            open.insert(
                event.process,
                Open {
                    line,
                    invoke_us: time,
                    f: event.f,
                    key: event.key,
                    value: event.value,
                },
            );
            continue;
        }
        if !matches!(event.kind.as_str(), "ok" | "fail" | "info") {
            return Err(error(
                line,
                ":type",
                format!(
                    "unknown type :{} (expected :invoke, :ok, :fail or :info)",
                    event.kind
                ),
            ));
        }
        let Some(started) = open.remove(&event.process) else {
            return Err(error(
                line,
                ":process",
                format!("process {} completes an op it never invoked", event.process),
            ));
        };
        if started.f != event.f {
            return Err(error(
                line,
                ":f",
                format!(
                    "completes :{} but process {} invoked :{} on line {}",
                    event.f, event.process, started.f, started.line
                ),
            ));
        }
        let input = invocation(
            started.line,
            &started.f,
            started.key.clone(),
            &started.value,
        )?;
        let kv = started.key.is_some();
        let (return_us, output) = match event.kind.as_str() {
            // It did not happen.
            "fail" => continue,
            "info" => (None, Output::Unknown),
            _ => (Some(time), completion(line, &input, kv, &event.value)?),
        };
        ops.push(Op {
            client: event.process,
            invoke_us: started.invoke_us,
            return_us,
            input,
            output,
        });
    }
    for (process, started) in open {
        let input = invocation(started.line, &started.f, started.key, &started.value)?;
        ops.push(Op {
            client: process,
            invoke_us: started.invoke_us,
            return_us: None,
            input,
            output: Output::Unknown,
        });
    }
    ops.sort_by_key(|op| op.invoke_us);
    Ok(ops)
}

/// What an invocation asks for.
fn invocation(
    line: usize,
    f: &str,
    key: Option<String>,
    value: &Value,
) -> Result<Input, HistoryError> {
    // Porcupine's kv names its keys, and a missing key there reads as "".
    let kv = key.is_some();
    let key = key.unwrap_or_else(|| REGISTER_KEY.to_string());
    Ok(match f {
        "read" | "get" => Input::Get { key },
        "write" | "put" => match maybe_text(value) {
            Some(v) if kv && v.is_empty() => Input::Delete { key },
            Some(value) => Input::Put { key, value },
            None => Input::Delete { key },
        },
        "cas" => match value {
            Value::Vector(pair) if pair.len() == 2 => Input::Cas {
                key,
                expected: maybe_text(&pair[0].value),
                new: maybe_text(&pair[1].value),
            },
            other => {
                return Err(error(
                    line,
                    ":value",
                    format!("a cas takes [expected new], got {other}"),
                ))
            }
        },
        "append" => match value {
            Value::Str(s) => Input::Concat {
                key,
                value: s.clone(),
            },
            Value::Nil => return Err(error(line, ":value", "an append needs a value, got nil")),
            other => Input::Append {
                key,
                value: text(other),
            },
        },
        other => {
            return Err(error(
                line,
                ":f",
                format!(
                "unknown operation :{other} (expected :read, :write, :cas, :get, :put or :append)"
            ),
            ))
        }
    })
}

/// What an `:ok` completion of `input` says.
fn completion(line: usize, input: &Input, kv: bool, value: &Value) -> Result<Output, HistoryError> {
    Ok(match input {
        Input::Get { .. } => match value {
            Value::Vector(items) | Value::Set(items) => {
                Output::List(items.iter().map(|i| text(&i.value)).collect())
            }
            Value::Str(s) if s.is_empty() && kv => Output::Value(None),
            Value::Map(_) => {
                return Err(error(
                    line,
                    ":value",
                    format!("a read returns a value or a list, got {value}"),
                ))
            }
            other => Output::Value(maybe_text(other)),
        },
        _ => Output::Ok,
    })
}
