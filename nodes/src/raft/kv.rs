//! The key-value store: get, put, compare-and-set, delete.

use std::collections::BTreeMap;

use super::codec::{Reader, Writer};
use super::config::{KV_KEYS_MAX, NAME_BYTES_MAX, VALUE_BYTES_MAX};
use super::op::{Op, Outcome, Refusal, Value};

/// The keys and their values; at most `KV_KEYS_MAX` keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Kv {
    /// Values by key.
    map: BTreeMap<String, String>,
}

impl Kv {
    /// The value of `key`, as a read answers it.
    pub(crate) fn read(&self, key: &str) -> Outcome {
        Outcome::ok(Value::Read {
            value: self.map.get(key).cloned(),
        })
    }

    /// Applies a kv operation (anything else is answered `Fail(TooLarge)`, never sent here).
    pub(crate) fn apply(&mut self, op: &Op) -> Outcome {
        match op {
            Op::Get { key } => self.read(key),
            Op::Put { key, value } => self.write(key, value),
            Op::Cas { key, expected, new } => {
                if self.map.get(key) == expected.as_ref() {
                    self.write(key, new)
                } else {
                    Outcome::fail(Refusal::Mismatch)
                }
            }
            Op::Delete { key } => {
                self.map.remove(key);
                Outcome::ok(Value::Done)
            }
            _ => Outcome::fail(Refusal::TooLarge),
        }
    }

    fn write(&mut self, key: &str, value: &str) -> Outcome {
        if !self.map.contains_key(key) && self.map.len() >= KV_KEYS_MAX {
            return Outcome::fail(Refusal::Full);
        }
        self.map.insert(key.to_string(), value.to_string());
        Outcome::ok(Value::Done)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.len(self.map.len());
        for (k, v) in &self.map {
            w.str(k);
            w.str(v);
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Kv> {
        let mut kv = Kv::default();
        for _ in 0..r.len(KV_KEYS_MAX)? {
            let key = r.str(NAME_BYTES_MAX)?;
            let value = r.str(VALUE_BYTES_MAX)?;
            kv.map.insert(key, value);
        }
        Some(kv)
    }
}
