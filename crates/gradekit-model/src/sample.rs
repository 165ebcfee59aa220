//! The `sample` namespace of templates, built from a model output.
//!
//! DESIGN.md §4 "Sample": a plain string becomes `output_text` (and `output_json` when it is
//! valid JSON), `output_tools: []` and one chat-completions choice. An object may set any of
//! the five fields; the missing ones are derived the same way.

use crate::error::{ConfigError, ConfigErrorKind};
use crate::read::type_error;
use serde_json::{json, Map, Value};

const SAMPLE_KEYS: &[&str] = &[
    "output_text",
    "output_json",
    "output_tools",
    "choices",
    "output_audio",
];

fn choices_for(text: &str) -> Value {
    json!([{
        "index": 0,
        "message": {"role": "assistant", "content": text},
        "finish_reason": "stop"
    }])
}

/// Which derived parts of a text sample to build. A grader that can observe only some of them
/// (its templates never name the others) is graded identically on a sample without the rest,
/// and building `choices` and trying `output_json` is most of the cost of a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleParts {
    pub output_json: bool,
    pub output_tools: bool,
    pub choices: bool,
}

impl SampleParts {
    /// Every part: what any grader may see.
    pub const ALL: SampleParts = SampleParts {
        output_json: true,
        output_tools: true,
        choices: true,
    };
    /// `output_text` alone.
    pub const TEXT: SampleParts = SampleParts {
        output_json: false,
        output_tools: false,
        choices: false,
    };

    /// Both sets together.
    pub fn union(self, o: SampleParts) -> SampleParts {
        SampleParts {
            output_json: self.output_json || o.output_json,
            output_tools: self.output_tools || o.output_tools,
            choices: self.choices || o.choices,
        }
    }
}

/// The sample for a `model_sample` string.
pub fn sample_from_text(text: &str) -> Value {
    sample_from_string(text.to_string(), SampleParts::ALL)
}

/// The sample for a `model_sample` string, taking the string, with only `parts` built beside
/// `output_text` (keys keep their usual order).
pub fn sample_from_string(text: String, parts: SampleParts) -> Value {
    let mut m = Map::with_capacity(4);
    let json = if parts.output_json {
        serde_json::from_str::<Value>(&text).ok()
    } else {
        None
    };
    let choices = parts.choices.then(|| choices_for(&text));
    m.insert("output_text".into(), Value::String(text));
    if let Some(v) = json {
        m.insert("output_json".into(), v);
    }
    if parts.output_tools {
        m.insert("output_tools".into(), Value::Array(Vec::new()));
    }
    if let Some(c) = choices {
        m.insert("choices".into(), c);
    }
    Value::Object(m)
}

/// The sample for a sample object (`{"output_text": …, "output_tools": […], …}`). `path` is
/// where the object sits in its document (`sample`), for error messages.
pub fn sample_from_object(v: &Value, path: &str) -> Result<Value, ConfigError> {
    sample_from_object_parts(v, path, SampleParts::ALL)
}

/// [`sample_from_object`], deriving the missing `output_json`, `output_tools` and `choices`
/// only when `parts` asks for them. Fields the object gives are always kept, and the object is
/// validated in full either way.
pub fn sample_from_object_parts(
    v: &Value,
    path: &str,
    parts: SampleParts,
) -> Result<Value, ConfigError> {
    let obj = match v {
        Value::Object(o) => o,
        other => return Err(type_error(path, "an object", other)),
    };
    for key in obj.keys() {
        if !SAMPLE_KEYS.contains(&key.as_str()) {
            return Err(ConfigError::with(
                ConfigErrorKind::UnknownField,
                format!("{path}.{key}"),
                format!(
                    "unknown sample field; expected one of {}",
                    SAMPLE_KEYS.join(", ")
                ),
            ));
        }
    }
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let mut text = match get("output_text") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(type_error(
                &format!("{path}.output_text"),
                "a string",
                other,
            ))
        }
    };
    if let Some(c) = get("choices") {
        if !c.is_array() {
            return Err(type_error(&format!("{path}.choices"), "an array", c));
        }
        if text.is_none() {
            text = c
                .pointer("/0/message/content")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
    }
    if let Some(t) = get("output_tools") {
        if !t.is_array() {
            return Err(type_error(&format!("{path}.output_tools"), "an array", t));
        }
    }
    if let Some(a) = get("output_audio") {
        if !a.is_object() {
            return Err(type_error(&format!("{path}.output_audio"), "an object", a));
        }
    }
    let mut m = Map::with_capacity(5);
    if let Some(t) = &text {
        m.insert("output_text".into(), Value::String(t.clone()));
    }
    match get("output_json") {
        Some(j) => {
            m.insert("output_json".into(), j.clone());
        }
        None if parts.output_json => {
            if let Some(j) = text
                .as_deref()
                .and_then(|t| serde_json::from_str::<Value>(t).ok())
            {
                m.insert("output_json".into(), j);
            }
        }
        None => {}
    }
    match get("output_tools") {
        Some(t) => {
            m.insert("output_tools".into(), t.clone());
        }
        None if parts.output_tools => {
            m.insert("output_tools".into(), Value::Array(Vec::new()));
        }
        None => {}
    }
    match (get("choices"), &text) {
        (Some(c), _) => {
            m.insert("choices".into(), c.clone());
        }
        (None, Some(t)) if parts.choices => {
            m.insert("choices".into(), choices_for(t));
        }
        (None, _) => {}
    }
    if let Some(a) = get("output_audio") {
        m.insert("output_audio".into(), a.clone());
    }
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sample_has_json_when_valid() {
        let s = sample_from_text("{\"a\": 1}");
        assert_eq!(s["output_json"]["a"], json!(1));
        assert_eq!(s["choices"][0]["message"]["content"], json!("{\"a\": 1}"));
        assert!(sample_from_text("not json").get("output_json").is_none());
    }

    #[test]
    fn object_sample_derives_text_from_choices() {
        let s = sample_from_object(
            &json!({"choices": [{"message": {"content": "hi"}}]}),
            "sample",
        )
        .expect("valid");
        assert_eq!(s["output_text"], json!("hi"));
        let e = sample_from_object(&json!({"output_txt": "x"}), "sample").expect_err("typo");
        assert_eq!(e.path, "sample.output_txt");
    }
}
