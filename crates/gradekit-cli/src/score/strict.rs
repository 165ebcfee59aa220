//! JSON parsing that rejects duplicate object keys at any depth. serde_json keeps the last of
//! two equal keys silently; for a dataset line that is almost always a bug in the producer, and
//! grading it would mean grading a value the user may not have meant.

use gradekit_engine::EntryFields;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use std::fmt;

/// A `serde_json::Value` that refuses duplicate keys while it is read.
pub struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            match out.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(v);
                }
                Entry::Occupied(slot) => {
                    return Err(de::Error::custom(format!("duplicate key {:?}", slot.key())));
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// A `score` input line read without `--sample-key`: the four fields `score` uses come straight
/// from the parser, without a map for the line itself. Other keys are still read (so a
/// duplicate key inside them is caught) and dropped; a duplicate top-level key is an error too.
#[allow(clippy::large_enum_variant)] // built once per line and taken apart at once; boxing would add an allocation per line
pub enum Line {
    Object(LineFields),
    /// Valid JSON that is not an object.
    Other(Value),
}

/// The fields of a line: its `id` and the raw entry fields the engine's entry reader
/// interprets (other keys are data columns, skipped).
#[derive(Default)]
pub struct LineFields {
    pub id: Option<Value>,
    pub entry: EntryFields,
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LineVisitor)
    }
}

enum Key {
    Id,
    Item,
    ModelSample,
    Sample,
    ReferenceAnswer,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "id" => Key::Id,
                    "item" => Key::Item,
                    "model_sample" => Key::ModelSample,
                    "sample" => Key::Sample,
                    "reference_answer" => Key::ReferenceAnswer,
                    other => Key::Other(other.to_string()),
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Line;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line, A::Error> {
        let mut f = LineFields::default();
        let mut others: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            let (slot, name) = match key {
                Key::Id => (&mut f.id, "id"),
                Key::Item => (&mut f.entry.item, "item"),
                Key::ModelSample => (&mut f.entry.model_sample, "model_sample"),
                Key::Sample => (&mut f.entry.sample, "sample"),
                Key::ReferenceAnswer => (&mut f.entry.reference_answer, "reference_answer"),
                Key::Other(k) => {
                    let Strict(_) = map.next_value()?;
                    if others.contains(&k) {
                        return Err(de::Error::custom(format!("duplicate key {k:?}")));
                    }
                    others.push(k);
                    continue;
                }
            };
            let Strict(v) = map.next_value()?;
            if slot.is_some() {
                return Err(de::Error::custom(format!("duplicate key {name:?}")));
            }
            *slot = Some(v);
        }
        Ok(Line::Object(f))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Line, A::Error> {
        StrictVisitor.visit_seq(seq).map(Line::Other)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Line, E> {
        Ok(Line::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Line, E> {
        Ok(Line::Other(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Line, E> {
        Ok(Line::Other(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Line, E> {
        StrictVisitor.visit_f64(v).map(Line::Other)
    }
    fn visit_str<E>(self, v: &str) -> Result<Line, E> {
        Ok(Line::Other(Value::String(v.to_string())))
    }
    fn visit_unit<E>(self) -> Result<Line, E> {
        Ok(Line::Other(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::Strict;

    #[test]
    fn lines_take_their_fields_and_reject_duplicates_anywhere() {
        use super::Line;
        let Line::Object(f) = serde_json::from_str::<Line>(
            r#"{"x": {"y": [1]}, "id": 3, "item": {"a": 1}, "model_sample": "t", "z": null}"#,
        )
        .expect("valid") else {
            panic!("not an object")
        };
        assert_eq!(f.id, Some(serde_json::json!(3)));
        assert_eq!(f.entry.item, Some(serde_json::json!({"a": 1})));
        assert_eq!(f.entry.model_sample, Some(serde_json::json!("t")));
        assert!(f.entry.sample.is_none());
        for dup in [
            r#"{"id": 1, "id": 2}"#,
            r#"{"item": {}, "model_sample": "a", "item": {}}"#,
            r#"{"x": 1, "x": 1}"#,
            r#"{"x": {"b": 1, "b": 2}}"#,
            r#"{"item": {"b": 1, "b": 2}}"#,
        ] {
            let e = serde_json::from_str::<Line>(dup).err().expect(dup);
            assert!(e.to_string().contains("duplicate key"), "{dup}: {e}");
        }
        assert!(matches!(
            serde_json::from_str::<Line>("[1, {}]").expect("valid"),
            Line::Other(serde_json::Value::Array(_))
        ));
        assert!(serde_json::from_str::<Line>("[{\"a\": 1, \"a\": 1}]").is_err());
        assert!(serde_json::from_str::<Line>("\"s\"").is_ok());
    }

    #[test]
    fn duplicates_are_rejected_at_any_depth() {
        assert!(serde_json::from_str::<Strict>(r#"{"a": 1, "a": 2}"#).is_err());
        assert!(serde_json::from_str::<Strict>(r#"{"x": [{"b": 1, "b": 1}]}"#).is_err());
        let Strict(v) = serde_json::from_str(r#"{"a": [1, 2.5, "s", null, true], "b": {"c": -3}}"#)
            .expect("valid");
        assert_eq!(v["a"][1], serde_json::json!(2.5));
        assert_eq!(v["b"]["c"], serde_json::json!(-3));
    }
}
