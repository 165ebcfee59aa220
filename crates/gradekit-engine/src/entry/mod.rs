//! One reader for every sample entry: what a `/run` body, a `run_batch` entry, a `score` line,
//! an endpoint-grader call and a Python `grade(sample, item)` mean, decided once.
//!
//! Every entry point used to read "`model_sample` or `sample`, `item`, legacy
//! `reference_answer`, nulls" its own way, and they drifted (`"item": null` was `{}` on `/run`
//! and `score` but `null` on `run_batch`). Like pydantic-core's one `Input` abstraction, the
//! edges now only *collect* the raw fields ([`EntryFields`], or a whole object through
//! [`SampleEntry::from_object`]) and the rules live here:
//!
//! - the sample is `model_sample` or `sample` (which keys an entry point accepts is its
//!   [`EntryRules`]): a string is a model output, an object a sample object
//!   (DESIGN.md §4 "Sample"); giving both is an error;
//! - JSON `null` counts as absent, for every field;
//! - `item` wins over the legacy `reference_answer` (→ `{"reference_answer": …}`); neither →
//!   `{}`;
//! - keys the entry point does not know are rejected with their path, or ignored where the
//!   wire is lenient (score lines carry extra columns; Azure's endpoint sends `trace_id`).
//!
//! Reading is two steps, like ripgrep's low and high args: [`SampleEntry`] is the checked
//! shape (cheap, done before the grader is compiled), and [`SampleEntry::into_context`] builds
//! the [`EvalContext`] with only the sample parts the compiled grader observes
//! ([`crate::CompiledGrader::sample_parts`]). Errors are [`EntryError`]s: a stable code, the
//! path of the field (relative to the entry's own path) and a message.
//!
//! Files: the rules of each entry point (`rules.rs`), the error codes (`error.rs`), and the
//! *borrowed* reading (`lean.rs`): a [`LeanContext`] lends the strings a caller already holds
//! (Python objects, Arrow buffers) for what the compiled grader observes, with the same rules
//! applied, instead of building JSON trees per sample. Which JSONL lines are blank, for every
//! reader of JSONL lines, is `blank.rs`.

mod blank;
mod error;
mod lean;
mod rules;

pub use blank::is_blank_line;

pub use error::{EntryError, EntryErrorKind};
pub use lean::{LeanContext, LeanItem, LeanSample, LeanValue};
pub use rules::{EntryRules, SampleKeys};

use crate::context::EvalContext;
use gradekit_model::{
    json_kind as kind, sample_from_object_parts, sample_from_string, ConfigError, ConfigErrorKind,
    ConfigErrors, SampleParts,
};
use serde_json::{Map, Value};

/// The fields of the sample namespace a sample object may set.
pub const SAMPLE_FIELDS: [&str; 5] = [
    "output_text",
    "output_json",
    "output_tools",
    "choices",
    "output_audio",
];

/// The raw fields of an entry as an edge collected them (a field-by-field JSON reader, a
/// Python call). Nothing is interpreted yet: nulls are kept, both sample keys may be set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryFields {
    pub model_sample: Option<Value>,
    pub sample: Option<Value>,
    pub item: Option<Value>,
    pub reference_answer: Option<Value>,
}

/// The sample of an entry, checked for its type.
#[derive(Debug, Clone, PartialEq)]
pub enum EntrySample {
    /// A model output.
    Text(String),
    /// A sample object (an object; its fields are checked when the context is built).
    Object(Map<String, Value>),
}

/// An entry whose shape is checked: a sample and the resolved item.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleEntry {
    pub sample: EntrySample,
    /// The key that held the sample (for error paths); `None` for a sample given positionally
    /// (Python's `grade(sample)`).
    pub sample_key: Option<&'static str>,
    /// `item`, else `{"reference_answer": …}`, else `{}`.
    pub item: Value,
    drop_unknown_sample_fields: bool,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else if key.starts_with('[') {
        format!("{path}{key}")
    } else {
        format!("{path}.{key}")
    }
}

/// `None` for an absent or null field.
fn present(v: Option<Value>) -> Option<Value> {
    v.filter(|v| !v.is_null())
}

/// The item of an entry: `item`, else `{"reference_answer": …}`, else `{}` (nulls absent).
pub fn resolve_item(item: Option<Value>, reference_answer: Option<Value>) -> Value {
    match (present(item), present(reference_answer)) {
        (Some(item), _) => item,
        (None, Some(r)) => {
            let mut m = Map::with_capacity(1);
            m.insert("reference_answer".into(), r);
            Value::Object(m)
        }
        (None, None) => Value::Object(Map::new()),
    }
}

impl SampleEntry {
    /// A model output with an item (`None` or null → `{}`).
    pub fn text(text: String, item: Option<Value>) -> SampleEntry {
        SampleEntry {
            sample: EntrySample::Text(text),
            sample_key: None,
            item: resolve_item(item, None),
            drop_unknown_sample_fields: false,
        }
    }

    /// A sample given positionally (Python's `grade(sample, item)`): a string or an object;
    /// anything else is `invalid_sample` at `path`.
    pub fn positional(
        sample: Value,
        item: Option<Value>,
        path: &str,
    ) -> Result<SampleEntry, EntryError> {
        let sample = match sample {
            Value::String(s) => EntrySample::Text(s),
            Value::Object(o) => EntrySample::Object(o),
            other => {
                return Err(EntryError::new(
                    EntryErrorKind::InvalidSample,
                    path,
                    format!(
                        "invalid type: expected a string or a sample object, but got {} instead",
                        kind(&other)
                    ),
                ))
            }
        };
        Ok(SampleEntry {
            sample,
            sample_key: None,
            item: resolve_item(item, None),
            drop_unknown_sample_fields: false,
        })
    }

    /// Interprets collected fields under `rules`; `path` is where the entry sits (`""`,
    /// `samples[3]`). The caller has dealt with unknown keys (see [`Self::from_object`]).
    pub fn from_fields(
        f: EntryFields,
        rules: &EntryRules,
        path: &str,
    ) -> Result<SampleEntry, EntryError> {
        let ms = present(f.model_sample).filter(|_| rules.reads("model_sample"));
        let s = present(f.sample).filter(|_| rules.reads("sample"));
        let (key, sample) = match (ms, s) {
            (Some(_), Some(_)) => {
                return Err(EntryError::new(
                    EntryErrorKind::InvalidSample,
                    path,
                    "give either \"model_sample\" or \"sample\", not both",
                ))
            }
            (Some(v), None) => ("model_sample", v),
            (None, Some(v)) => ("sample", v),
            (None, None) => {
                let (key, message) = rules.missing_message();
                return Err(EntryError::new(
                    EntryErrorKind::MissingSample,
                    join(path, key),
                    message,
                ));
            }
        };
        let sample = match sample {
            Value::String(s) => EntrySample::Text(s),
            Value::Object(o) => EntrySample::Object(o),
            other => {
                return Err(EntryError::new(
                    EntryErrorKind::InvalidSample,
                    join(path, key),
                    format!(
                        "invalid type: expected a string or a sample object, but got {} instead",
                        kind(&other)
                    ),
                ))
            }
        };
        let reference = f.reference_answer;
        Ok(SampleEntry {
            sample,
            sample_key: Some(key),
            item: resolve_item(f.item, reference),
            drop_unknown_sample_fields: rules.drop_unknown_sample_fields,
        })
    }

    /// Reads an entry object under `rules`: its fields, and (when the rules reject them) every
    /// unknown key with its path. Errors come in document order: sample, then unknown keys.
    pub fn from_object(
        v: Value,
        rules: &EntryRules,
        path: &str,
    ) -> Result<SampleEntry, Vec<EntryError>> {
        let Value::Object(m) = v else {
            return Err(vec![EntryError::new(
                EntryErrorKind::NotAnObject,
                path,
                format!(
                    "invalid type: expected an object, but got {} instead",
                    kind(&v)
                ),
            )]);
        };
        let (fields, unknown) = split_fields(m, rules, path);
        match Self::from_fields(fields, rules, path) {
            Ok(e) if unknown.is_empty() => Ok(e),
            Ok(_) => Err(unknown),
            Err(e) => {
                let mut all = vec![e];
                all.extend(unknown);
                Err(all)
            }
        }
    }

    /// Builds the context, with only `parts` of a text sample derived beside `output_text`
    /// (given sample-object fields are always kept). `path` is where the entry sits, as given
    /// to [`Self::from_fields`].
    pub fn into_context(self, parts: SampleParts, path: &str) -> Result<EvalContext, EntryError> {
        let sample = match self.sample {
            EntrySample::Text(t) => sample_from_string(t, parts),
            EntrySample::Object(mut o) => {
                if self.drop_unknown_sample_fields {
                    o.retain(|k, _| SAMPLE_FIELDS.contains(&k.as_str()));
                }
                let at = match self.sample_key {
                    Some(k) => join(path, k),
                    None => path.to_string(),
                };
                sample_from_object_parts(&Value::Object(o), &at, parts).map_err(|e| {
                    EntryError::new(EntryErrorKind::InvalidSample, e.path, e.message)
                })?
            }
        };
        Ok(EvalContext::new(sample, self.item))
    }
}

/// Splits an entry object into the fields the reader interprets and, when `rules` reject them,
/// the unknown keys as errors (`own_keys` are dropped: their entry point reads them).
fn split_fields(
    m: Map<String, Value>,
    rules: &EntryRules,
    path: &str,
) -> (EntryFields, Vec<EntryError>) {
    let mut f = EntryFields::default();
    let mut unknown = Vec::new();
    for (k, v) in m {
        let slot = match k.as_str() {
            "model_sample" if rules.reads("model_sample") => &mut f.model_sample,
            "sample" if rules.reads("sample") => &mut f.sample,
            "item" => &mut f.item,
            "reference_answer" if rules.reads("reference_answer") => &mut f.reference_answer,
            other if rules.own_keys.contains(&other) => continue,
            _ => {
                if rules.reject_unknown {
                    let at = join(path, &gradekit_model::display_key(&k));
                    unknown.push(EntryError::new(
                        EntryErrorKind::UnknownField,
                        at,
                        "unknown field",
                    ));
                }
                continue;
            }
        };
        *slot = Some(v);
    }
    (f, unknown)
}

/// Reads one entry object and builds its context: [`SampleEntry::from_object`] then
/// [`SampleEntry::into_context`].
pub fn read_entry(
    v: Value,
    rules: &EntryRules,
    path: &str,
    parts: SampleParts,
) -> Result<EvalContext, Vec<EntryError>> {
    SampleEntry::from_object(v, rules, path)?
        .into_context(parts, path)
        .map_err(|e| vec![e])
}

/// A `/fine_tuning/alpha/graders/run` body `{grader, model_sample, item?, reference_answer?}`:
/// the grader stays raw JSON (compiling it is [`crate::compile_for_run`]'s job, with its own
/// errors) and the sample is checked, not yet built.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub grader: Value,
    pub entry: SampleEntry,
}

impl RunRequest {
    /// Reads a run body, reporting every fault with its path (`grader` first).
    pub fn from_value(v: Value) -> Result<RunRequest, ConfigErrors> {
        let Value::Object(mut m) = v else {
            return Err(ConfigError::with(
                ConfigErrorKind::InvalidType,
                "",
                format!(
                    "invalid type: expected an object, but got {} instead",
                    kind(&v)
                ),
            )
            .into());
        };
        let grader = present(m.remove("grader"));
        let entry = SampleEntry::from_object(Value::Object(m), &EntryRules::RUN_REQUEST, "");
        match (grader, entry) {
            (Some(grader), Ok(entry)) => Ok(RunRequest { grader, entry }),
            (grader, entry) => {
                let mut errs = ConfigErrors::default();
                if grader.is_none() {
                    errs.push(ConfigError::with(
                        ConfigErrorKind::MissingField,
                        "grader",
                        "missing required field",
                    ));
                }
                for e in entry.err().unwrap_or_default() {
                    errs.push(e.into());
                }
                Err(errs)
            }
        }
    }

    /// The context for `grader` (built with only the parts it observes).
    pub fn context(self, parts: SampleParts) -> Result<(Value, EvalContext), ConfigErrors> {
        let ctx = self.entry.into_context(parts, "")?;
        Ok((self.grader, ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value, rules: &EntryRules) -> Result<EvalContext, Vec<String>> {
        read_entry(v, rules, "e", SampleParts::ALL)
            .map_err(|es| es.iter().map(|e| format!("{} {e}", e.code())).collect())
    }

    #[test]
    fn null_counts_as_absent_everywhere() {
        for rules in [
            EntryRules::RUN_REQUEST,
            EntryRules::BATCH_ENTRY,
            EntryRules::SCORE_LINE,
        ] {
            let c = read(json!({"model_sample": "x", "item": null}), &rules).expect("valid");
            assert_eq!(c.item, json!({}));
            let c = read(
                json!({"model_sample": "x", "item": null, "reference_answer": "r"}),
                &rules,
            )
            .expect("valid");
            assert_eq!(c.item, json!({"reference_answer": "r"}));
            let c = read(
                json!({"model_sample": "x", "reference_answer": null}),
                &rules,
            )
            .expect("valid");
            assert_eq!(c.item, json!({}));
        }
        let c = read(json!({"sample": "x", "item": null}), &EntryRules::ENDPOINT).expect("ok");
        assert_eq!(c.item, json!({}));
        let e = read(json!({"model_sample": null}), &EntryRules::BATCH_ENTRY).expect_err("none");
        assert_eq!(e[0].split(' ').next(), Some("missing_sample"));
    }

    #[test]
    fn item_wins_over_reference_answer() {
        let c = read(
            json!({"model_sample": "x", "item": {"a": 1}, "reference_answer": "r"}),
            &EntryRules::RUN_REQUEST,
        )
        .expect("valid");
        assert_eq!(c.item, json!({"a": 1}));
    }

    #[test]
    fn faults_have_codes_and_paths() {
        let cases = [
            (json!({"model_sample": 3}), "invalid_sample e.model_sample:"),
            (
                json!({"sample": "a", "model_sample": "b"}),
                "invalid_sample e:",
            ),
            (json!({"item": {}}), "missing_sample e.model_sample:"),
            (
                json!({"sample": {"output_txt": "a"}}),
                "invalid_sample e.sample.output_txt:",
            ),
            (
                json!({"sample": "a", "x y": 1}),
                "unknown_field e[\"x y\"]:",
            ),
            (json!([1]), "not_an_object e:"),
        ];
        for (v, want) in cases {
            let got = read(v.clone(), &EntryRules::BATCH_ENTRY).expect_err("invalid");
            assert!(got[0].starts_with(want), "{v}: {got:?}");
        }
        // /run takes only model_sample: `sample` is an unknown field there.
        let got = read(json!({"sample": "a"}), &EntryRules::RUN_REQUEST).expect_err("invalid");
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].starts_with("unknown_field e.sample"), "{got:?}");
    }

    #[test]
    fn lenient_rules_ignore_and_drop() {
        let c = read(
            json!({"sample": {"output_text": "a", "extra": 1}, "trace_id": "t",
                   "reference_answer": "r"}),
            &EntryRules::ENDPOINT,
        )
        .expect("lenient");
        assert_eq!(c.sample["output_text"], "a");
        assert!(c.sample.get("extra").is_none());
        assert_eq!(c.item, json!({"reference_answer": "r"}));
        let c = read(
            json!({"model_sample": "a", "x": 1, "id": 2}),
            &EntryRules::SCORE_LINE,
        )
        .expect("extra columns are data");
        assert_eq!(c.sample["output_text"], "a");
    }

    #[test]
    fn codes_round_trip() {
        for k in EntryErrorKind::ALL {
            assert_eq!(EntryErrorKind::from_code(k.code()), Some(k));
        }
    }

    #[test]
    fn run_request_reports_every_fault() {
        let errs =
            RunRequest::from_value(json!({"model_sample": 1, "itme": {}})).expect_err("invalid");
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["grader", "model_sample", "itme"]);
    }
}
