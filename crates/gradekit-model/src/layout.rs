//! How a config object was written, beyond what it means: the order of its keys, the keys
//! given as `null`, and numbers as written.
//!
//! `/validate` answers with the grader *as given* (DESIGN.md §4), and the generated name is a
//! hash of that echo. The typed tree is the single source of both, so it keeps what the wire
//! shows and grading ignores: every config object carries a [`Layout`] recorded by the reader,
//! and every config number is a [`Num`] that remembers `1` from `1.0`. [`Layout::write`] lays
//! the typed fields out again in the order given, with the given nulls, so that reading the
//! echo gives back an equal tree (the round-trip property tests of the engine prove it).
//!
//! A tree built in Rust (no layout) echoes its fields in declaration order.

use serde::{Serialize, Serializer};
use serde_json::{Map, Number, Value};

/// The keys of one config object in the order given; `null` marks a key given as `null`
/// (which reads as absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    keys: Vec<(&'static str, bool)>,
}

impl Layout {
    pub(crate) fn push(&mut self, key: &'static str, null: bool) {
        self.keys.push((key, null));
    }

    /// The object for `fields` (the present fields, in declaration order): keys in the order
    /// given, keys given as null written `null`, then any field the layout does not know (set
    /// in Rust after reading) in declaration order.
    pub fn write(&self, fields: Vec<(&'static str, Value)>) -> Value {
        let mut fields: Vec<Option<(&'static str, Value)>> = fields.into_iter().map(Some).collect();
        let mut out = Map::with_capacity(fields.len());
        for &(key, null) in &self.keys {
            let given = fields
                .iter_mut()
                .find(|f| f.as_ref().is_some_and(|(k, _)| *k == key))
                .and_then(Option::take);
            match given {
                Some((k, v)) => {
                    out.insert(k.to_string(), v);
                }
                None if null => {
                    out.insert(key.to_string(), Value::Null);
                }
                None => {}
            }
        }
        for (k, v) in fields.into_iter().flatten() {
            out.insert(k.to_string(), v);
        }
        Value::Object(out)
    }
}

/// A number of a grader config as written (`1` stays `1`, `1.0` stays `1.0`); graders read
/// it as `f64` through [`Num::get`].
#[derive(Debug, Clone, PartialEq)]
pub struct Num(Number);

impl Num {
    /// The value as `f64`, as graders use it.
    pub fn get(&self) -> f64 {
        // Without serde_json's `arbitrary_precision` every `Number` has an `f64` value.
        self.0.as_f64().unwrap_or(f64::NAN)
    }

    /// A number written as a float; `None` for NaN and infinities, which JSON cannot hold.
    pub fn from_f64(x: f64) -> Option<Num> {
        Number::from_f64(x).map(Num)
    }

    /// The number as the wire writes it.
    pub fn as_number(&self) -> &Number {
        &self.0
    }
}

impl From<Number> for Num {
    fn from(n: Number) -> Num {
        Num(n)
    }
}

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// `(key, value)` when the optional field is set.
pub(crate) fn opt<T: Into<Value>>(
    key: &'static str,
    v: Option<T>,
) -> Option<(&'static str, Value)> {
    v.map(|v| (key, v.into()))
}

impl From<Num> for Value {
    fn from(n: Num) -> Value {
        Value::Number(n.0)
    }
}

impl From<&Num> for Value {
    fn from(n: &Num) -> Value {
        Value::Number(n.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn write_keeps_the_given_order_and_nulls_and_appends_new_fields() {
        let mut l = Layout::default();
        l.push("b", false);
        l.push("n", true);
        l.push("a", false);
        let v = l.write(vec![("a", json!(1)), ("b", json!(2)), ("c", json!(3))]);
        assert_eq!(v.to_string(), r#"{"b":2,"n":null,"a":1,"c":3}"#);
        // A layout key the tree no longer has is left out.
        let v = l.write(vec![("c", json!(3))]);
        assert_eq!(v.to_string(), r#"{"n":null,"c":3}"#);
    }

    #[test]
    fn numbers_keep_their_written_form() {
        let one: Num = Number::from(1u64).into();
        let one_f = Num::from_f64(1.0).expect("finite");
        assert_eq!(one.get(), one_f.get());
        assert_ne!(one, one_f);
        assert_eq!(Value::from(&one).to_string(), "1");
        assert_eq!(Value::from(&one_f).to_string(), "1.0");
        assert!(Num::from_f64(f64::NAN).is_none());
    }
}
