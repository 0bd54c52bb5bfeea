//! The history: operations as clients saw them, and their JSON-lines form.

use std::fmt;

use serde_json::{Map, Value};

/// One operation as a client saw it: when it was sent, when (if ever) the reply came, what it
/// asked and what it was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// The client that issued it; a client's operations do not overlap.
    pub client: u64,
    /// When the client sent it, in microseconds.
    pub invoke_us: u64,
    /// When the reply arrived; `None` means no reply (timed out): it may have taken effect at
    /// any time after `invoke_us`, or never.
    pub return_us: Option<u64>,
    /// What was asked.
    pub input: Input,
    /// What the reply said; [`Output::Unknown`] exactly when `return_us` is `None`.
    pub output: Output,
}

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Read a key.
    Get {
        /// The key.
        key: String,
    },
    /// Write a key.
    Put {
        /// The key.
        key: String,
        /// The value written.
        value: String,
    },
    /// Compare-and-set: write `new` if the key holds `expected` (`None` is absent for both).
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold for the write to happen.
        expected: Option<String>,
        /// The value written when it does; `None` removes the key.
        new: Option<String>,
    },
    /// Remove a key.
    Delete {
        /// The key.
        key: String,
    },
    /// Push an element onto the key's list (Jepsen's list-append; absent is the empty list).
    Append {
        /// The key.
        key: String,
        /// The element.
        value: String,
    },
    /// Add to the end of the key's text (porcupine's kv `append`; absent is "").
    Concat {
        /// The key.
        key: String,
        /// The text added.
        value: String,
    },
}

impl Input {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            Input::Get { key }
            | Input::Put { key, .. }
            | Input::Cas { key, .. }
            | Input::Delete { key }
            | Input::Append { key, .. }
            | Input::Concat { key, .. } => key,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Input::Get { .. } => "get",
            Input::Put { .. } => "put",
            Input::Cas { .. } => "cas",
            Input::Delete { .. } => "delete",
            Input::Append { .. } => "append",
            Input::Concat { .. } => "concat",
        }
    }
}

/// What the reply said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// A get's answer; `None` is absent.
    Value(Option<String>),
    /// A get's answer on a key built by appends: its list (empty when absent).
    List(Vec<String>),
    /// A put, delete or compare-and-set took effect.
    Ok,
    /// A compare-and-set found another value and wrote nothing.
    CasFailed,
    /// No reply came; only with `return_us: None`.
    Unknown,
}

/// A history that cannot be read or makes no sense: the line (1-based; for an in-memory
/// history, the op's position, which is its line in [`write_history`]'s output), the field and
/// what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryError {
    /// 1-based line.
    pub line: usize,
    /// The offending field, when one is to blame rather than the whole line.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        if let Some(field) = &self.field {
            write!(f, "field \"{field}\": ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for HistoryError {}

const FIELDS: [&str; 9] = [
    "client",
    "invoke_us",
    "return_us",
    "op",
    "key",
    "value",
    "expected",
    "new",
    "result",
];

/// Reads a JSON-lines history (see the module documentation for the format). Blank lines are
/// skipped; everything else must be one operation.
pub fn parse_history(text: &str) -> Result<Vec<Op>, HistoryError> {
    let mut ops = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let op = parse_line(line).map_err(|(field, message)| HistoryError {
            line: number,
            field,
            message,
        })?;
        check_op(&op).map_err(|(field, message)| HistoryError {
            line: number,
            field: Some(field.to_string()),
            message,
        })?;
        ops.push(op);
    }
    Ok(ops)
}

/// Checks an in-memory history the way [`parse_history`] checks a file: replies consistent with
/// requests, no reply before its request. The error's `line` is the op's 1-based position.
pub fn validate(history: &[Op]) -> Result<(), HistoryError> {
    for (index, op) in history.iter().enumerate() {
        check_op(op).map_err(|(field, message)| HistoryError {
            line: index + 1,
            field: Some(field.to_string()),
            message,
        })?;
    }
    Ok(())
}

/// Writes a history as JSON lines that [`parse_history`] reads back unchanged.
pub fn write_history(history: &[Op]) -> String {
    let mut out = Vec::new();
    for op in history {
        op.write_json_line(&mut out);
        out.push(b'\n');
    }
    // JSON written from Rust strings is UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

impl Op {
    /// The op as one JSON line (no newline), fields in the documented order.
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::new();
        self.write_json_line(&mut line);
        // JSON written from Rust strings is UTF-8.
        String::from_utf8(line).unwrap_or_default()
    }

    /// Appends [`Op::to_json_line`] to `out`, piece by piece: building it from `format!`s
    /// and `serde_json::Value`s cost 5,000 instructions a line, most of writing a report's
    /// `history.jsonl`.
    fn write_json_line(&self, out: &mut Vec<u8>) {
        let number = |out: &mut Vec<u8>, n: u64| {
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        };
        // A JSON string, escaped as serde_json escapes it (writing into memory cannot fail).
        let text = |out: &mut Vec<u8>, s: &str| {
            let _ = serde_json::to_writer(&mut *out, s);
        };
        let maybe = |out: &mut Vec<u8>, s: &Option<String>| match s {
            Some(s) => text(out, s),
            None => out.extend_from_slice(b"null"),
        };
        out.extend_from_slice(b"{\"client\":");
        number(out, self.client);
        out.extend_from_slice(b",\"invoke_us\":");
        number(out, self.invoke_us);
        out.extend_from_slice(b",\"return_us\":");
        match self.return_us {
            Some(t) => number(out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"op\":\"");
        out.extend_from_slice(self.input.name().as_bytes());
        out.extend_from_slice(b"\",\"key\":");
        text(out, self.input.key());
        match &self.input {
            Input::Put { value, .. }
            | Input::Append { value, .. }
            | Input::Concat { value, .. } => {
                out.extend_from_slice(b",\"value\":");
                text(out, value);
            }
            Input::Cas { expected, new, .. } => {
                out.extend_from_slice(b",\"expected\":");
                maybe(out, expected);
                out.extend_from_slice(b",\"new\":");
                maybe(out, new);
            }
            Input::Get { .. } | Input::Delete { .. } => {}
        }
        // The reply, as [`result_json`] writes it.
        out.extend_from_slice(b",\"result\":");
        match &self.output {
            Output::Value(value) => {
                out.extend_from_slice(b"{\"value\":");
                maybe(out, value);
                out.push(b'}');
            }
            Output::List(items) => {
                out.extend_from_slice(b"{\"value\":");
                let _ = serde_json::to_writer(&mut *out, items);
                out.push(b'}');
            }
            Output::Ok => out.extend_from_slice(b"\"ok\""),
            Output::CasFailed => out.extend_from_slice(b"\"failed\""),
            Output::Unknown => out.extend_from_slice(b"\"unknown\""),
        }
        out.push(b'}');
    }
}

/// The `result` field's JSON for a reply.
fn result_json(output: &Output) -> String {
    match output {
        Output::Value(value) => {
            let value = value.as_deref().map_or(Value::Null, Value::from);
            format!("{{\"value\":{value}}}")
        }
        Output::List(items) => format!("{{\"value\":{}}}", Value::from(items.clone())),
        Output::Ok => "\"ok\"".to_string(),
        Output::CasFailed => "\"failed\"".to_string(),
        Output::Unknown => "\"unknown\"".to_string(),
    }
}

/// What a get may return, for error messages.
const GET_RESULT: &str = "{\"value\": string, null or list of strings} or \"unknown\"";

/// The strings of a JSON array, or `None` if something else is in it.
fn string_list(items: &[Value]) -> Option<Vec<String>> {
    items
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A problem with one line: the field to blame, if any, and the message.
type LineError = (Option<String>, String);

fn parse_line(line: &str) -> Result<Op, LineError> {
    let value: Value =
        serde_json::from_str(line).map_err(|e| (None, format!("not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err((None, format!("expected a JSON object, got {value}")));
    };
    // A misspelt field would otherwise read as a missing one, which hides the typo.
    if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err((
            Some(unknown.clone()),
            format!("unknown field (expected {})", FIELDS.join(", ")),
        ));
    }
    let client = u64_field(&fields, "client")?;
    let invoke_us = u64_field(&fields, "invoke_us")?;
    let return_us = match required(&fields, "return_us")? {
        Value::Null => None,
        other => Some(as_u64(other).map_err(|m| (Some("return_us".into()), m))?),
    };
    let op_name = match required(&fields, "op")? {
        Value::String(s) => s.as_str(),
        other => return Err((Some("op".into()), format!("expected a string, got {other}"))),
    };
    let key = string_field(&fields, "key")?;
    let allowed: &[&str] = match op_name {
        "get" | "delete" => &[],
        "put" | "append" | "concat" => &["value"],
        "cas" => &["expected", "new"],
        other => {
            return Err((
                Some("op".into()),
                format!(
                "unknown operation \"{other}\" (expected get, put, cas, delete, append or concat)"
            ),
            ))
        }
    };
    for extra in ["value", "expected", "new"] {
        if fields.contains_key(extra) && !allowed.contains(&extra) {
            return Err((Some(extra.into()), format!("not used by {op_name}")));
        }
    }
    let result = required(&fields, "result")?;
    let bad_result = |expected: &str| {
        Err((
            Some("result".into()),
            format!("a {op_name} returns {expected}, got {result}"),
        ))
    };
    let (input, output) = match op_name {
        "get" => {
            let output = match result {
                Value::String(s) if s == "unknown" => Output::Unknown,
                Value::Object(inner) if inner.len() == 1 => match inner.get("value") {
                    Some(Value::String(s)) => Output::Value(Some(s.clone())),
                    Some(Value::Null) => Output::Value(None),
                    Some(Value::Array(items)) => match string_list(items) {
                        Some(items) => Output::List(items),
                        None => return bad_result(GET_RESULT),
                    },
                    _ => return bad_result(GET_RESULT),
                },
                _ => return bad_result(GET_RESULT),
            };
            (Input::Get { key }, output)
        }
        "put" | "delete" | "append" | "concat" => {
            let output = match result.as_str() {
                Some("ok") => Output::Ok,
                Some("unknown") => Output::Unknown,
                _ => return bad_result("\"ok\" or \"unknown\""),
            };
            let input = match op_name {
                "delete" => Input::Delete { key },
                "put" => Input::Put {
                    key,
                    value: string_field(&fields, "value")?,
                },
                "append" => Input::Append {
                    key,
                    value: string_field(&fields, "value")?,
                },
                _ => Input::Concat {
                    key,
                    value: string_field(&fields, "value")?,
                },
            };
            (input, output)
        }
        _ => {
            let output = match result.as_str() {
                Some("ok") => Output::Ok,
                Some("failed") => Output::CasFailed,
                Some("unknown") => Output::Unknown,
                _ => return bad_result("\"ok\", \"failed\" or \"unknown\""),
            };
            let expected = nullable_string_field(&fields, "expected")?;
            let new = nullable_string_field(&fields, "new")?;
            (Input::Cas { key, expected, new }, output)
        }
    };
    Ok(Op {
        client,
        invoke_us,
        return_us,
        input,
        output,
    })
}

fn required<'a>(
    fields: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a Value, LineError> {
    fields
        .get(name)
        .ok_or_else(|| (Some(name.into()), "missing".to_string()))
}

fn as_u64(value: &Value) -> Result<u64, String> {
    value
        .as_u64()
        .ok_or_else(|| format!("expected a non-negative integer, got {value}"))
}

fn u64_field(fields: &Map<String, Value>, name: &'static str) -> Result<u64, LineError> {
    as_u64(required(fields, name)?).map_err(|m| (Some(name.into()), m))
}

fn string_field(fields: &Map<String, Value>, name: &'static str) -> Result<String, LineError> {
    match required(fields, name)? {
        Value::String(s) => Ok(s.clone()),
        other => Err((Some(name.into()), format!("expected a string, got {other}"))),
    }
}

fn nullable_string_field(
    fields: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, LineError> {
    match required(fields, name)? {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Null => Ok(None),
        other => Err((
            Some(name.into()),
            format!("expected a string or null, got {other}"),
        )),
    }
}

/// The rules a parsed line already obeys by construction, checked for histories built in code.
fn check_op(op: &Op) -> Result<(), (&'static str, String)> {
    let fits = matches!(
        (&op.input, &op.output),
        (_, Output::Unknown)
            | (Input::Get { .. }, Output::Value(_) | Output::List(_))
            | (
                Input::Put { .. }
                    | Input::Delete { .. }
                    | Input::Append { .. }
                    | Input::Concat { .. },
                Output::Ok
            )
            | (Input::Cas { .. }, Output::Ok | Output::CasFailed)
    );
    if !fits {
        return Err((
            "result",
            format!(
                "a {} cannot return {}",
                op.input.name(),
                result_json(&op.output)
            ),
        ));
    }
    match (op.return_us, &op.output) {
        (Some(_), Output::Unknown) => Err((
            "result",
            "\"unknown\" needs \"return_us\": null (an op that returned has a known result)"
                .to_string(),
        )),
        (None, output) if *output != Output::Unknown => Err((
            "return_us",
            "null (no reply) needs \"result\": \"unknown\"".to_string(),
        )),
        (Some(ret), _) if ret < op.invoke_us => Err((
            "return_us",
            format!("{ret} is before invoke_us {}", op.invoke_us),
        )),
        _ => Ok(()),
    }
}
