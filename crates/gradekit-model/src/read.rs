//! Small helpers for reading a `serde_json::Value` object field by field, collecting errors
//! with paths and rejecting unknown fields.

use crate::error::{join, ConfigError, ConfigErrorKind, ConfigErrors};
use crate::layout::{Layout, Num};
use serde_json::{Map, Value};

/// A JSON type name as OpenAI's errors spell it ("a string", "an object").
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn type_error(path: &str, expected: &str, got: &Value) -> ConfigError {
    ConfigError::with(
        ConfigErrorKind::InvalidType,
        path,
        format!(
            "invalid type: expected {expected}, but got {} instead",
            kind(got)
        ),
    )
}

/// Reads one JSON object, remembering which keys were looked at so that the rest can be
/// reported as unknown fields.
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
    seen: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, path: &str, errs: &mut ConfigErrors) -> Option<Obj<'a>> {
        match v {
            Value::Object(map) => Some(Obj {
                map,
                path: path.to_string(),
                seen: Vec::new(),
            }),
            other => {
                errs.push(type_error(path, "an object", other));
                None
            }
        }
    }

    pub fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw value of `key`; JSON `null` counts as absent.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.seen.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(v) => Some(v),
        }
    }

    pub fn required(&mut self, key: &'static str, errs: &mut ConfigErrors) -> Option<&'a Value> {
        let v = self.get(key);
        if v.is_none() {
            errs.push(ConfigError::with(
                ConfigErrorKind::MissingField,
                self.at(key),
                "missing required field",
            ));
        }
        v
    }

    pub fn opt_str(&mut self, key: &'static str, errs: &mut ConfigErrors) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                errs.push(type_error(&self.at(key), "a string", other));
                None
            }
        }
    }

    pub fn req_str(&mut self, key: &'static str, errs: &mut ConfigErrors) -> Option<String> {
        match self.required(key, errs)? {
            Value::String(s) => Some(s.clone()),
            other => {
                errs.push(type_error(&self.at(key), "a string", other));
                None
            }
        }
    }

    pub fn opt_num(&mut self, key: &'static str, errs: &mut ConfigErrors) -> Option<Num> {
        match self.get(key)? {
            Value::Number(n) => Some(Num::from(n.clone())),
            other => {
                errs.push(type_error(&self.at(key), "a number", other));
                None
            }
        }
    }

    /// Reports every key that was never asked for; returns how the object was written (the
    /// order of its keys and which were `null`) for the echo.
    pub fn finish(self, errs: &mut ConfigErrors) -> Layout {
        let mut layout = Layout::default();
        for (key, v) in self.map {
            match self.seen.iter().find(|s| *s == key) {
                Some(known) => layout.push(known, v.is_null()),
                None => errs.push(ConfigError::with(
                    ConfigErrorKind::UnknownField,
                    join(&self.path, &display_key(key)),
                    "unknown field",
                )),
            }
        }
        layout
    }
}

/// A map key as it appears in a path: bare when it is a plain identifier, else quoted.
pub fn display_key(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if plain {
        key.to_string()
    } else {
        format!("[{}]", Value::String(key.to_string()))
    }
}

/// Reads an enum value given as a string.
pub(crate) fn enum_str<T: Copy>(
    v: &Value,
    path: &str,
    what: &str,
    table: &[(&str, T)],
    errs: &mut ConfigErrors,
) -> Option<T> {
    let s = match v {
        Value::String(s) => s,
        other => {
            errs.push(type_error(path, "a string", other));
            return None;
        }
    };
    if let Some((_, t)) = table.iter().find(|(name, _)| name == s) {
        return Some(*t);
    }
    let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
    errs.push(ConfigError::with(
        ConfigErrorKind::UnknownValue,
        path,
        format!(
            "unknown {what} {}; expected {}",
            Value::String(s.clone()),
            names.join(", ")
        ),
    ));
    None
}
