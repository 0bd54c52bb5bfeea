//! Protocol events as JSON, byte for byte as serde_json writes them, for the shapes events
//! have: structs and enum variants of numbers, strings, booleans and options.
//!
//! A Raft trace has a protocol event for every few datagrams, and serde_json took about 750
//! instructions for one of two or three numbers: each field name and variant name was
//! checked for characters to escape, and each piece went through `io::Write`. Names are
//! `&'static str`, checked once here and then known by their address ([`Labels`]); numbers
//! are written by itoa, as serde_json writes them. Anything else (a float, a sequence, a map)
//! is not written here: [`write_event`] says so, and the caller has serde_json write the
//! whole event.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

use super::decimal::number;
use super::json_string::{string, Labels};

/// Appends `event` as serde_json writes it, and returns true; or returns false, leaving `out`
/// as it was, when the event has a shape this writer leaves to serde_json.
pub fn write_event<T: Serialize + ?Sized>(
    event: &T,
    names: &mut Labels,
    out: &mut Vec<u8>,
) -> bool {
    let mark = out.len();
    let mut writer = EventWriter {
        out: &mut *out,
        names,
    };
    if event.serialize(&mut writer).is_ok() {
        return true;
    }
    out.truncate(mark);
    false
}

/// The serializer: where the text goes, and the names it knows.
struct EventWriter<'a> {
    /// The line being written.
    out: &'a mut Vec<u8>,
    /// Field and variant names known to need no escaping.
    names: &'a mut Labels,
}

impl EventWriter<'_> {
    /// A field or variant name, as a JSON string.
    fn name(&mut self, name: &'static str) {
        self.names.write_static(name, self.out);
    }

    /// An integer, as serde_json (itoa) writes it.
    fn integer<I: itoa::Integer>(&mut self, n: I) {
        let mut buffer = itoa::Buffer::new();
        self.out.extend_from_slice(buffer.format(n).as_bytes());
    }
}

/// An event of a shape left to serde_json (also the error an event's own `Serialize` may
/// raise: serde_json then raises it again, and the line is left out).
#[derive(Debug)]
pub struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event shape left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

/// The fields of a struct or of a struct variant being written.
struct Fields<'b, 'a> {
    /// The writer.
    writer: &'b mut EventWriter<'a>,
    /// No field written yet: the next needs no comma.
    first: bool,
    /// A struct variant: its object is closed, then the object around it, keyed by the
    /// variant's name.
    variant: bool,
}

impl Fields<'_, '_> {
    fn field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        if !self.first {
            self.writer.out.push(b',');
        }
        self.first = false;
        self.writer.name(key);
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn close(self) {
        self.writer.out.push(b'}');
        if self.variant {
            self.writer.out.push(b'}');
        }
    }
}

impl ser::SerializeStruct for Fields<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

impl ser::SerializeStructVariant for Fields<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.field(key, value)
    }

    fn end(self) -> Result<(), Unsupported> {
        self.close();
        Ok(())
    }
}

impl<'b, 'a> ser::Serializer for &'b mut EventWriter<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Impossible<(), Unsupported>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Fields<'b, 'a>;
    type SerializeStructVariant = Fields<'b, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.integer(v);
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.integer(v);
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.integer(v);
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.integer(v);
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        // Indexes and terms mostly: the trace writer's own digits, with no call to `memcpy`
        // (the same text as itoa's).
        if v < 100_000_000 {
            number(v, self.out);
        } else {
            self.integer(v);
        }
        Ok(())
    }

    fn serialize_f32(self, _v: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_f64(self, _v: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        string(v.encode_utf8(&mut [0; 4]), self.out);
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        string(v, self.out);
        Ok(())
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.name(variant);
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.out.push(b'{');
        self.name(variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        self.out.push(b'{');
        Ok(Fields {
            writer: self,
            first: true,
            variant: false,
        })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        self.out.push(b'{');
        self.name(variant);
        self.out.extend_from_slice(b":{");
        Ok(Fields {
            writer: self,
            first: true,
            variant: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Event {
        Appended {
            index: u64,
            term: u64,
            chain: u64,
        },
        Empty {},
        Unit,
        Newtype(Inner),
        Signed {
            delta: i64,
            small: i8,
        },
        Text {
            note: String,
            c: char,
            flag: bool,
        },
        Maybe {
            some: Option<u32>,
            none: Option<u32>,
        },
        #[serde(rename = "we\"ird")]
        Weird {
            #[serde(rename = "a\\b")]
            x: u8,
        },
        Skipped {
            #[serde(skip_serializing_if = "Option::is_none")]
            gone: Option<u8>,
            kept: u8,
        },
        Boxed {
            inner: Box<Inner>,
        },
        // Left to serde_json.
        Float {
            ratio: f64,
        },
        List {
            items: Vec<u8>,
        },
        Map {
            map: BTreeMap<String, u8>,
        },
        Pair(u8, u8),
    }

    #[derive(Serialize)]
    struct Inner {
        id: u16,
        unit: (),
        name: &'static str,
        empty: Empty,
    }

    #[derive(Serialize)]
    struct Empty;

    #[derive(Serialize)]
    #[serde(tag = "type")]
    enum Tagged {
        One { n: u8 },
    }

    fn inner() -> Inner {
        Inner {
            id: 65535,
            unit: (),
            name: "tab\there \"q\" é",
            empty: Empty,
        }
    }

    /// Writes `event` after some text, and checks it against serde_json; returns whether it
    /// was written here.
    fn check<T: Serialize>(event: &T, names: &mut Labels) -> bool {
        let mut out = b"before,".to_vec();
        let written = write_event(event, names, &mut out);
        let expected = [b"before,".to_vec(), serde_json::to_vec(event).unwrap()].concat();
        if written {
            assert_eq!(
                String::from_utf8(out).unwrap(),
                String::from_utf8(expected).unwrap()
            );
        } else {
            assert_eq!(out, b"before,", "a refused event leaves nothing");
        }
        written
    }

    #[test]
    fn events_are_written_as_serde_json_writes_them_or_left_to_it() {
        let mut names = Labels::default();
        for _ in 0..3 {
            for event in [
                Event::Appended {
                    index: 0,
                    term: 7,
                    chain: u64::MAX,
                },
                Event::Empty {},
                Event::Unit,
                Event::Newtype(inner()),
                Event::Signed {
                    delta: i64::MIN,
                    small: -3,
                },
                Event::Text {
                    note: "a\u{1}b\\c".into(),
                    c: '"',
                    flag: true,
                },
                Event::Maybe {
                    some: Some(4),
                    none: None,
                },
                Event::Weird { x: 1 },
                Event::Skipped {
                    gone: None,
                    kept: 2,
                },
                Event::Skipped {
                    gone: Some(1),
                    kept: 2,
                },
                Event::Boxed {
                    inner: Box::new(inner()),
                },
            ] {
                assert!(check(&event, &mut names));
            }
            for event in [
                Event::Float { ratio: 0.5 },
                Event::List { items: vec![1, 2] },
                Event::Map {
                    map: [("k".to_string(), 1)].into(),
                },
                Event::Pair(1, 2),
            ] {
                assert!(!check(&event, &mut names));
            }
            assert!(check(&Tagged::One { n: 3 }, &mut names));
            assert!(check(&Some(Event::Unit), &mut names));
            assert!(check(&"just a string", &mut names));
            assert!(!check(&serde_json::json!({"a": 1}), &mut names));
        }
    }
}
