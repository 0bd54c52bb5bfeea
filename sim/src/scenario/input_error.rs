//! Bad input, said so a person can fix it: the file, the line and the field's dotted path
//! (`faults[2].node`), found in the TOML text itself.

use std::fmt;

/// Bad input: which file, where, which field, what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct InputError {
    /// The file.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The field's dotted path (`network.latency_ms`, `faults[2].node`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: ", self.file, line)?,
            None => write!(f, "{}: ", self.file)?,
        }
        if !self.field.is_empty() {
            write!(f, "field `{}`: ", self.field)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(shown) = self.line.and_then(|line| self.excerpt(line)) {
            write!(f, "\n{shown}")?;
        }
        Ok(())
    }
}

impl InputError {
    /// The offending line of the file with a caret under the field, as compilers show it;
    /// `None` when the file cannot be read again (it is gone, or was not a file).
    fn excerpt(&self, line: usize) -> Option<String> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        Some(excerpt(&text, line, &self.field))
    }
}

/// Line `line` (1-based) of `text`, numbered, with carets under the field's key (the last
/// part of its dotted path) or under the whole line.
pub(crate) fn excerpt(text: &str, line: usize, field: &str) -> String {
    let Some(source) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let key = field
        .rsplit('.')
        .next()
        .unwrap_or("")
        .split('[')
        .next()
        .unwrap_or("");
    let (start, width) = match source.find(key).filter(|_| !key.is_empty()) {
        Some(at) => (at, key.len()),
        None => {
            let start = source.len() - source.trim_start().len();
            (start, source.trim().len().max(1))
        }
    };
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    format!(
        "{gutter} |\n{number} | {source}\n{gutter} | {}{}",
        " ".repeat(source[..start].chars().count()),
        "^".repeat(source[start..start + width].chars().count().max(1))
    )
}

impl std::error::Error for InputError {}

/// The text of a TOML file, for errors that point into it.
pub struct Source<'a> {
    /// The file's name as the user gave it.
    pub file: &'a str,
    /// Its text.
    pub text: &'a str,
}

impl Source<'_> {
    /// An error about the field at `path` (dotted, with `[i]` for array items).
    pub fn error(&self, path: &str, message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_string(),
            line: locate(self.text, path).map(|(line, _)| line),
            field: path.to_string(),
            message: message.into(),
        }
    }

    /// Deserializes one section (`[workload]`) of the file into a protocol's own type.
    pub fn section<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        table: &toml::Table,
    ) -> Result<T, InputError> {
        let value = toml::Value::Table(table.clone());
        serde_path_to_error::deserialize(value).map_err(|err| {
            let inner_path = err.path().to_string();
            let message = err.inner().to_string().trim().to_string();
            let mut path = if inner_path == "." {
                name.to_string()
            } else {
                format!("{name}.{inner_path}")
            };
            if let Some(key) = unknown_field(&message) {
                if !path.ends_with(&key) {
                    path = format!("{path}.{key}");
                }
            }
            self.error(&path, message)
        })
    }

    /// Deserializes the whole text, turning serde's error into an [`InputError`].
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, InputError> {
        let de = toml::Deserializer::new(self.text);
        serde_path_to_error::deserialize(de).map_err(|err| {
            let mut path = err.path().to_string();
            let inner = err.into_inner();
            let message = inner.message().to_string();
            // serde names an unknown key only in its message; put it in the path.
            if path == "." {
                path.clear();
            }
            if let Some(key) = unknown_field(&message) {
                if !path.ends_with(&key) {
                    path = if path.is_empty() {
                        key
                    } else {
                        format!("{path}.{key}")
                    };
                }
            }
            // The key itself is the best place to point at; toml's span is the fallback.
            let line = match locate(self.text, &path) {
                Some((line, true)) => Some(line),
                found => inner
                    .span()
                    .map(|span| line_of(self.text, span.start))
                    .or(found.map(|f| f.0)),
            };
            InputError {
                file: self.file.to_string(),
                line,
                field: path,
                message,
            }
        })
    }
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

/// Finds the line of the item at a dotted path, or of its nearest parent found; the flag
/// says whether the whole path was found.
fn locate(text: &str, path: &str) -> Option<(usize, bool)> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item: &toml_edit::Item = doc.as_item();
    let mut best = None;
    let mut whole = true;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        let (key, index) = match seg.find('[') {
            Some(i) => (&seg[..i], seg[i + 1..seg.len() - 1].parse::<usize>().ok()),
            None => (seg, None),
        };
        let Some(next) = item.get(key) else {
            whole = false;
            break;
        };
        item = next;
        if let Some(span) = key_span(item) {
            best = Some(line_of(text, span));
        }
        if let Some(i) = index {
            let Some(next) = item.get(i) else {
                whole = false;
                break;
            };
            item = next;
            if let Some(span) = key_span(item) {
                best = Some(line_of(text, span));
            }
        }
    }
    best.map(|line| (line, whole))
}

fn key_span(item: &toml_edit::Item) -> Option<usize> {
    match item {
        toml_edit::Item::Value(v) => v.span().map(|s| s.start),
        toml_edit::Item::Table(t) => t.span().map(|s| s.start),
        toml_edit::Item::ArrayOfTables(a) => a.span().map(|s| s.start),
        toml_edit::Item::None => None,
    }
}

#[cfg(test)]
mod excerpt_tests {
    use super::excerpt;

    #[test]
    fn the_caret_sits_under_the_field_or_the_whole_line() {
        let text = "name = \"x\"\n[network]\nlatency_msec = [1, 10]\n";
        assert_eq!(
            excerpt(text, 3, "network.latency_msec"),
            "  |\n3 | latency_msec = [1, 10]\n  | ^^^^^^^^^^^^"
        );
        assert_eq!(
            excerpt(text, 2, "faults[0]"),
            "  |\n2 | [network]\n  | ^^^^^^^^^"
        );
    }
}
