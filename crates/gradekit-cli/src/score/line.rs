//! One input line of `score`: parse it into what to grade, or into an error line.
//!
//! This file only reads the bytes (strict JSON, duplicate keys rejected, field by field): what
//! the fields mean — which key holds the sample, nulls, the legacy `reference_answer` — is the
//! engine's one entry reader (`gradekit_engine::SampleEntry`, rules `SCORE_LINE`), so a line
//! grades exactly like the same entry on `/run` or `run_batch`. Error codes are the engine's
//! [`EntryErrorKind`].

use super::strict::Line;
use gradekit_engine::{EntryErrorKind, EntryFields, EntryRules, EvalContext, SampleEntry};
use gradekit_model::json_kind as kind;
use gradekit_model::SampleParts;
use serde_json::Value;

/// What one non-blank input line became.
pub enum Parsed {
    Grade {
        id: Option<Value>,
        ctx: EvalContext,
    },
    Invalid {
        id: Option<Value>,
        code: &'static str,
        message: String,
    },
}

/// True when the line is empty or holds only whitespace (such lines produce no output): the
/// engine's rule for every JSONL reader, Python's `str.isspace()` ([`gradekit_engine::is_blank_line`]).
#[inline]
pub fn is_blank(bytes: &[u8]) -> bool {
    gradekit_engine::is_blank_line(bytes)
}

/// A hint for the two faults people meet most in generated JSONL.
fn json_hint(bytes: &[u8], e: &serde_json::Error) -> &'static str {
    if e.is_eof() {
        return " (the line ends early: a truncated file or a cut-off write?)";
    }
    let bom = crate::io::bom_hint(bytes);
    if !bom.is_empty() {
        return bom;
    }
    // serde_json reports the column of the offending byte (1-based) on a one-line input.
    let at = bytes
        .get(e.column().saturating_sub(1)..)
        .unwrap_or_default();
    let at = at.strip_prefix(b"-").unwrap_or(at);
    if at.starts_with(b"NaN") || at.starts_with(b"Infinity") {
        return " (NaN and Infinity are not JSON numbers; write null or a string)";
    }
    ""
}

fn invalid(id: Option<Value>, kind: EntryErrorKind, message: String) -> Parsed {
    Parsed::Invalid {
        id,
        code: kind.code(),
        message,
    }
}

/// Parses one line. `sample_key`: take the sample text from `line[K]` and the whole line as
/// the item. `parts`: what to build of a text sample beside `output_text` (the grader's
/// [`gradekit_engine::CompiledGrader::sample_parts`], or `SampleParts::ALL`).
pub fn parse(bytes: &[u8], sample_key: Option<&str>, parts: SampleParts) -> Parsed {
    if let Some(key) = sample_key {
        return match strict_parse::<super::strict::Strict>(bytes) {
            Ok(v) => with_sample_key(v.0, key, parts),
            Err((code, message)) => invalid(None, code, message),
        };
    }
    match strict_parse::<Line>(bytes) {
        Ok(Line::Object(f)) => classify(f.id, f.entry, parts),
        Ok(Line::Other(v)) => invalid(
            None,
            EntryErrorKind::NotAnObject,
            format!("line is {}, not a JSON object", kind(&v)),
        ),
        Err((code, message)) => invalid(None, code, message),
    }
}

/// Parses the line as `T`, or gives the error code and message for invalid UTF-8 or JSON.
fn strict_parse<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, (EntryErrorKind, String)> {
    // A successful parse implies valid UTF-8 (serde_json checks every string, and everything
    // else must be ASCII), so the separate UTF-8 check runs only to classify a failure.
    serde_json::from_slice::<T>(bytes).map_err(|e| {
        if let Err(u) = std::str::from_utf8(bytes) {
            return (
                EntryErrorKind::InvalidUtf8,
                format!(
                    "line is not valid UTF-8 (first bad byte at offset {})",
                    u.valid_up_to()
                ),
            );
        }
        (
            EntryErrorKind::InvalidJson,
            format!(
                "line is not valid JSON: {} at column {}{}",
                crate::io::strip_position(&e.to_string()),
                e.column(),
                json_hint(bytes, &e)
            ),
        )
    })
}

/// `--sample-key K`: the text from `line[K]`, the whole line as the item.
fn with_sample_key(value: Value, key: &str, parts: SampleParts) -> Parsed {
    let Value::Object(obj) = value else {
        return invalid(
            None,
            EntryErrorKind::NotAnObject,
            format!("line is {}, not a JSON object", kind(&value)),
        );
    };
    let id = obj.get("id").cloned();
    match obj.get(key) {
        Some(Value::String(s)) => {
            let text = s.clone();
            Parsed::Grade {
                id,
                ctx: EvalContext::from_string(text, Some(Value::Object(obj)), parts),
            }
        }
        None => invalid(
            id,
            EntryErrorKind::MissingSample,
            format!("line has no {key:?} field (the --sample-key)"),
        ),
        // Null counts as missing (as for `model_sample`), but the message says what is there.
        Some(Value::Null) => invalid(
            id,
            EntryErrorKind::MissingSample,
            format!("{key:?} is null, expected a string (the --sample-key)"),
        ),
        Some(other) => invalid(
            id,
            EntryErrorKind::InvalidSample,
            format!("{key:?} is {}, expected a string", kind(other)),
        ),
    }
}

/// What a line with these fields becomes: the engine's entry reader decides.
fn classify(id: Option<Value>, fields: EntryFields, parts: SampleParts) -> Parsed {
    let read = SampleEntry::from_fields(fields, &EntryRules::SCORE_LINE, "")
        .and_then(|e| e.into_context(parts, ""));
    match read {
        Ok(ctx) => Parsed::Grade { id, ctx },
        Err(e) => invalid(id, e.kind, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(line: &str) -> String {
        match parse(line.as_bytes(), None, SampleParts::ALL) {
            Parsed::Invalid { code, message, .. } => format!("{code}: {message}"),
            Parsed::Grade { .. } => "graded".into(),
        }
    }

    #[test]
    fn common_faults_get_a_hint() {
        let nan = message(r#"{"item": {"x": NaN}, "model_sample": "a"}"#);
        assert!(
            nan.starts_with("invalid_json:") && nan.contains("NaN and Infinity"),
            "{nan}"
        );
        let inf = message(r#"{"item": {"x": -Infinity}, "model_sample": "a"}"#);
        assert!(inf.contains("NaN and Infinity"), "{inf}");
        let cut = message(r#"{"item": {"x": 1}, "model_sa"#);
        assert!(cut.contains("ends early"), "{cut}");
        let plain = message(r#"{"item": {"x": 1}, "model_sample": "a",}"#);
        assert!(
            plain.starts_with("invalid_json:") && !plain.contains('('),
            "{plain}"
        );
    }

    /// `--sample-key K`: a missing K and a null K are both a missing sample, each message
    /// saying which it is; another type names it.
    #[test]
    fn sample_key_faults_say_what_the_field_holds() {
        let with_key = |line: &str| match parse(line.as_bytes(), Some("text"), SampleParts::ALL) {
            Parsed::Invalid { code, message, .. } => format!("{code}: {message}"),
            Parsed::Grade { .. } => "graded".into(),
        };
        assert_eq!(
            with_key(r#"{"a": 1}"#),
            r#"missing_sample: line has no "text" field (the --sample-key)"#
        );
        assert_eq!(
            with_key(r#"{"text": null}"#),
            r#"missing_sample: "text" is null, expected a string (the --sample-key)"#
        );
        assert_eq!(
            with_key(r#"{"text": [1]}"#),
            r#"invalid_sample: "text" is an array, expected a string"#
        );
        assert_eq!(with_key(r#"{"text": "t"}"#), "graded");
    }

    #[test]
    fn a_text_sample_gets_only_the_parts_asked_for() {
        let line = br#"{"model_sample": "{\"a\": 1}"}"#;
        let Parsed::Grade { ctx, .. } = parse(line, None, SampleParts::TEXT) else {
            panic!("not graded")
        };
        assert_eq!(ctx.sample, serde_json::json!({"output_text": "{\"a\": 1}"}));
        let Parsed::Grade { ctx, .. } = parse(line, None, SampleParts::ALL) else {
            panic!("not graded")
        };
        assert_eq!(ctx.sample["output_json"], serde_json::json!({"a": 1}));
        assert_eq!(
            ctx.sample["choices"][0]["message"]["content"],
            serde_json::json!("{\"a\": 1}")
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// id and the entry fields.
    type Fields = (Option<Value>, EntryFields);

    /// The reading of a line by way of a whole `serde_json::Value` (how `score` read lines
    /// before the field-by-field reader): the oracle for the fast path.
    fn oracle(bytes: &[u8]) -> Result<Fields, String> {
        let v: Value = serde_json::from_slice::<super::super::strict::Strict>(bytes)
            .map_err(|_| "invalid".to_string())?
            .0;
        let Value::Object(m) = v else {
            return Err("not_an_object".into());
        };
        let get = |k: &str| m.get(k).cloned();
        let entry = EntryFields {
            model_sample: get("model_sample"),
            sample: get("sample"),
            item: get("item"),
            reference_answer: get("reference_answer"),
        };
        Ok((get("id"), entry))
    }

    fn summary(p: &Parsed) -> String {
        match p {
            Parsed::Grade { id, ctx } => format!("grade {id:?} {:?} {:?}", ctx.sample, ctx.item),
            Parsed::Invalid { id, code, .. } => format!("invalid {id:?} {code}"),
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            "[a-z\u{e9}\"\\\\ ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(("[a-c]", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A line as text: known and unknown keys, sometimes repeated, in any order.
    fn line_text() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("id"),
            Just("item"),
            Just("model_sample"),
            Just("sample"),
            Just("reference_answer"),
            Just("x"),
            Just("y"),
        ];
        prop::collection::vec((key, json_value()), 0..6).prop_map(|kv| {
            let body: Vec<String> = kv
                .into_iter()
                .map(|(k, v)| format!("{}: {v}", Value::String(k.into())))
                .collect();
            format!("{{{}}}", body.join(", "))
        })
    }

    proptest! {
        #[test]
        fn field_reader_agrees_with_the_whole_value_reading(text in line_text()) {
            let fast = parse(text.as_bytes(), None, SampleParts::ALL);
            match oracle(text.as_bytes()) {
                Err(_) => prop_assert!(
                    matches!(&fast, Parsed::Invalid { code: "invalid_json", .. }),
                    "{text}: {}", summary(&fast)
                ),
                Ok((id, entry)) => {
                    let want = classify(id, entry, SampleParts::ALL);
                    prop_assert_eq!(summary(&fast), summary(&want), "{}", text);
                }
            }
        }

        #[test]
        fn any_bytes_give_a_row_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse(&bytes, None, SampleParts::ALL);
            let _ = parse(&bytes, Some("k"), SampleParts::TEXT);
        }
    }
}
