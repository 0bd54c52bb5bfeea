//! A reader for the part of EDN (Clojure's data notation) that Jepsen and Knossos histories
//! use: maps, vectors, lists, sets, keywords, symbols, strings, integers, floats, `nil`,
//! booleans, characters, tagged values (`#inst "..."`), comments and `#_` discards. Each value
//! remembers the line it starts on, so an error can name it.

use std::fmt;

/// A value and the 1-based line it starts on.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Edn {
    /// Where it starts.
    pub(super) line: usize,
    /// What it is.
    pub(super) value: Value,
}

/// An EDN value.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Any other number, as written.
    Number(String),
    /// A string or a character.
    Str(String),
    /// A keyword, without its colon.
    Keyword(String),
    /// A symbol.
    Symbol(String),
    /// `[...]` or `(...)`.
    Vector(Vec<Edn>),
    /// `{...}`, in the order written.
    Map(Vec<(Edn, Edn)>),
    /// `#{...}`.
    Set(Vec<Edn>),
    /// `#tag value`.
    Tagged(String, Box<Edn>),
}

impl fmt::Display for Value {
    /// Writes the value back as EDN (maps and collections in full).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = |f: &mut fmt::Formatter<'_>, open: &str, items: &[Edn], close: &str| {
            write!(f, "{open}")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " ")?;
                }
                write!(f, "{}", item.value)?;
            }
            write!(f, "{close}")
        };
        match self {
            Value::Nil => write!(f, "nil"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Number(n) | Value::Symbol(n) => write!(f, "{n}"),
            Value::Str(s) => write!(f, "{}", serde_json::Value::from(s.as_str())),
            Value::Keyword(k) => write!(f, ":{k}"),
            Value::Vector(items) => seq(f, "[", items, "]"),
            Value::Set(items) => seq(f, "#{", items, "}"),
            Value::Map(pairs) => {
                write!(f, "{{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{} {}", k.value, v.value)?;
                }
                write!(f, "}}")
            }
            Value::Tagged(tag, value) => write!(f, "#{tag} {}", value.value),
        }
    }
}

/// A syntax error: the 1-based line and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SyntaxError {
    /// Where.
    pub(super) line: usize,
    /// What.
    pub(super) message: String,
}

/// How deep collections may nest: a hostile file must not overflow the stack.
const DEPTH_MAX: usize = 64;

/// Reads every top-level value in `text`.
pub(super) fn parse_all(text: &str) -> Result<Vec<Edn>, SyntaxError> {
    let mut reader = Reader {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut values = Vec::new();
    while let Some(value) = reader.next_value(0)? {
        values.push(value);
    }
    Ok(values)
}

/// The reader's position in the text.
struct Reader {
    /// The text.
    chars: Vec<char>,
    /// The next character.
    pos: usize,
    /// The line of the next character.
    line: usize,
}

impl Reader {
    fn error<T>(&self, message: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            line: self.line,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Skips whitespace (commas included) and comments.
    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ',' {
                self.bump();
            } else if c == ';' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    /// The next value, or `None` at the end of the text (or at a closing delimiter, which the
    /// caller handles).
    fn next_value(&mut self, depth: usize) -> Result<Option<Edn>, SyntaxError> {
        loop {
            self.skip_blank();
            let Some(c) = self.peek() else {
                return Ok(None);
            };
            if depth > DEPTH_MAX {
                return self.error(format!("nested deeper than {DEPTH_MAX}"));
            }
            let line = self.line;
            let value = match c {
                ']' | ')' | '}' => {
                    if depth == 0 {
                        return self.error(format!("unexpected `{c}`"));
                    }
                    return Ok(None);
                }
                '[' | '(' => {
                    self.bump();
                    let close = if c == '[' { ']' } else { ')' };
                    Value::Vector(self.items(close, depth)?)
                }
                '{' => {
                    self.bump();
                    let items = self.items('}', depth)?;
                    if items.len() % 2 == 1 {
                        return Err(SyntaxError {
                            line,
                            message: "a map needs an even number of forms".into(),
                        });
                    }
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    let mut items = items.into_iter();
                    while let (Some(k), Some(v)) = (items.next(), items.next()) {
                        pairs.push((k, v));
                    }
                    Value::Map(pairs)
                }
                '"' => {
                    self.bump();
                    Value::Str(self.string(line)?)
                }
                '\\' => {
                    self.bump();
                    let token = self.token();
                    let ch = match token.as_str() {
                        "newline" => "\n".to_string(),
                        "space" => " ".to_string(),
                        "tab" => "\t".to_string(),
                        t if t.chars().count() == 1 => t.to_string(),
                        "" => match self.bump() {
                            Some(c) => c.to_string(),
                            None => return self.error("a character literal ends the text"),
                        },
                        t => return self.error(format!("unknown character literal `\\{t}`")),
                    };
                    Value::Str(ch)
                }
                '#' => {
                    self.bump();
                    match self.peek() {
                        Some('{') => {
                            self.bump();
                            Value::Set(self.items('}', depth)?)
                        }
                        Some('_') => {
                            self.bump();
                            if self.next_value(depth + 1)?.is_none() {
                                return self.error("`#_` with nothing to discard");
                            }
                            continue;
                        }
                        _ => {
                            let tag = self.token();
                            if tag.is_empty() {
                                return self.error("`#` without a tag");
                            }
                            let Some(inner) = self.next_value(depth + 1)? else {
                                return self.error(format!("tag `#{tag}` without a value"));
                            };
                            Value::Tagged(tag, Box::new(inner))
                        }
                    }
                }
                ':' => {
                    self.bump();
                    let name = self.token();
                    if name.is_empty() {
                        return self.error("`:` without a keyword name");
                    }
                    Value::Keyword(name)
                }
                _ => {
                    let token = self.token();
                    if token.is_empty() {
                        return self.error(format!("unexpected character `{c}`"));
                    }
                    atom(token)
                }
            };
            return Ok(Some(Edn { line, value }));
        }
    }

    /// The values up to `close`, which it consumes.
    fn items(&mut self, close: char, depth: usize) -> Result<Vec<Edn>, SyntaxError> {
        let start = self.line;
        let mut items = Vec::new();
        loop {
            match self.next_value(depth + 1)? {
                Some(item) => items.push(item),
                None => match self.peek() {
                    Some(c) if c == close => {
                        self.bump();
                        return Ok(items);
                    }
                    Some(c) => return self.error(format!("expected `{close}`, found `{c}`")),
                    None => {
                        return self.error(format!(
                            "the text ends before the `{close}` closing what opens on line {start}"
                        ))
                    }
                },
            }
        }
    }

    /// A string's body after its opening quote, through the closing quote.
    fn string(&mut self, start: usize) -> Result<String, SyntaxError> {
        let mut out = String::new();
        loop {
            let Some(c) = self.bump() else {
                return self.error(format!("the string opened on line {start} never closes"));
            };
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let escaped = match self.bump() {
                        Some('n') => '\n',
                        Some('t') => '\t',
                        Some('r') => '\r',
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('u') => {
                            let hex: String = (0..4).filter_map(|_| self.bump()).collect();
                            match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                                Some(c) => c,
                                None => return self.error(format!("bad escape `\\u{hex}`")),
                            }
                        }
                        other => {
                            return self.error(format!(
                                "bad escape `\\{}`",
                                other.map_or(String::new(), String::from)
                            ))
                        }
                    };
                    out.push(escaped);
                }
                c => out.push(c),
            }
        }
    }

    /// The symbol-like characters from here.
    fn token(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || ",()[]{}\"';".contains(c) {
                break;
            }
            out.push(c);
            self.bump();
        }
        out
    }
}

/// A bare token: `nil`, a boolean, a number or a symbol.
fn atom(token: String) -> Value {
    match token.as_str() {
        "nil" => return Value::Nil,
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    let first = token.chars().next().unwrap_or(' ');
    let second = token.chars().nth(1).unwrap_or(' ');
    let numeric = first.is_ascii_digit() || ("+-".contains(first) && second.is_ascii_digit());
    if !numeric {
        return Value::Symbol(token);
    }
    let digits = token.strip_suffix('N').unwrap_or(&token);
    match digits.parse::<i64>() {
        Ok(n) => Value::Int(n),
        Err(_) => Value::Number(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<Value> {
        parse_all(text)
            .unwrap()
            .into_iter()
            .map(|e| e.value)
            .collect()
    }

    #[test]
    fn reads_jepsen_op_maps() {
        let values = read(
            "{:type :invoke, :f :cas, :value [1 2], :process 0, :time 12}\n\
             ; a comment\n{:type :info :f :read :value nil :process :nemesis :error #_x \"a\\\"b\"}",
        );
        assert_eq!(values.len(), 2);
        assert_eq!(
            values[0].to_string(),
            "{:type :invoke, :f :cas, :value [1 2], :process 0, :time 12}"
        );
        let Value::Map(pairs) = &values[1] else {
            panic!("{}", values[1])
        };
        assert_eq!(pairs[3].1.value, Value::Keyword("nemesis".into()));
        assert_eq!(pairs[4].1.value, Value::Str("a\"b".into()));
        assert_eq!(
            read("#{1 -2} #inst \"2020\" 1.5 \\a sym (1)")
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>(),
            ["#{1 -2}", "#inst \"2020\"", "1.5", "\"a\"", "sym", "[1]"]
        );
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, message) in [
            ("[{:a 1}\n{:b}]", 2, "even number"),
            ("[{:a 1}\n", 2, "closing what opens on line 1"),
            ("\n\n\"abc", 3, "never closes"),
            ("{:a 1}\n]", 2, "unexpected `]`"),
            ("[1 2}", 1, "expected `]`"),
            ("#", 1, "without a tag"),
        ] {
            let err = parse_all(text).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err:?}");
            assert!(err.message.contains(message), "{text:?}: {err:?}");
        }
        // Deep nesting is an error, not a stack overflow.
        let deep = "[".repeat(10_000);
        assert!(parse_all(&deep).unwrap_err().message.contains("nested"));
    }
}
