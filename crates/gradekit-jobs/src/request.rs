//! The job-create body (`POST /v1/fine_tuning/jobs`): read, bounded and validated with paths,
//! and the rule that resolves `"auto"` hyperparameters.
//!
//! What can be checked without the store is checked here (shapes, ranges, the reinforcement
//! grader compiled by the engine with errors under `method.reinforcement.grader…`), so that
//! `gradekit validate --job BODY.json` and the server agree; the model registry and the files
//! are checked by the service.
//!
//! **"auto"** (resolved when the training file has been validated, from its example count n):
//!
//! | hyperparameter | auto |
//! |---|---|
//! | `batch_size` | clamp(ceil(0.002 × n), 1, 256) |
//! | `learning_rate_multiplier` | 1.0 (the trainer's base learning rate unchanged) |
//! | `n_epochs` | clamp(ceil(300 / n), 3, 10) |
//! | `beta` (dpo) | 0.1 (TRL's `DPOConfig.beta`) |
//! | `compute_multiplier` (reinforcement) | 1.0 |
//! | `eval_interval` (reinforcement) | 1 |
//! | `eval_samples` (reinforcement) | 1 |
//! | `reasoning_effort` (reinforcement) | `"default"` when absent |

use gradekit_engine::EngineOptions;
use gradekit_model::{json_kind, ConfigError, ConfigErrors, FineTuneMethod};
use serde_json::{json, Map, Value};

/// Largest `suffix`, in characters.
pub const MAX_SUFFIX: usize = 64;
/// Most metadata pairs, longest key and value (characters).
pub const MAX_METADATA_PAIRS: usize = 16;
pub const MAX_METADATA_KEY: usize = 64;
pub const MAX_METADATA_VALUE: usize = 512;
/// Most integrations.
pub const MAX_INTEGRATIONS: usize = 8;
/// Longest id or model name accepted in a body.
pub const MAX_NAME: usize = 256;

const KEYS: [&str; 9] = [
    "model",
    "training_file",
    "validation_file",
    "method",
    "hyperparameters",
    "suffix",
    "seed",
    "metadata",
    "integrations",
];

/// The fine-tuning method's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodType {
    Supervised,
    Dpo,
    Reinforcement,
}

impl MethodType {
    pub fn as_str(self) -> &'static str {
        match self {
            MethodType::Supervised => "supervised",
            MethodType::Dpo => "dpo",
            MethodType::Reinforcement => "reinforcement",
        }
    }
}

/// A valid job-create body.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRequest {
    pub model: String,
    pub training_file: String,
    pub validation_file: Option<String>,
    /// `method` as given; built as `{"type": "supervised", "supervised": {"hyperparameters":
    /// …}}` from the legacy top-level `hyperparameters` (or `{}`) when absent.
    pub method: Value,
    pub method_type: MethodType,
    pub suffix: Option<String>,
    pub seed: Option<i64>,
    pub metadata: Option<Map<String, Value>>,
    pub integrations: Option<Value>,
}

impl JobRequest {
    /// The reinforcement grader JSON, for reinforcement jobs.
    pub fn grader(&self) -> Option<&Value> {
        self.method.pointer("/reinforcement/grader")
    }
}

fn err(errs: &mut ConfigErrors, path: &str, msg: impl Into<String>) {
    errs.push(ConfigError::new(path, msg));
}

fn string_field(
    body: &Map<String, Value>,
    key: &str,
    required: bool,
    errs: &mut ConfigErrors,
) -> Option<String> {
    match body.get(key) {
        None | Some(Value::Null) => {
            if required {
                err(errs, key, format!("missing required parameter `{key}`"));
            }
            None
        }
        Some(Value::String(s)) if s.is_empty() && required => {
            err(errs, key, format!("`{key}` must not be empty"));
            None
        }
        Some(Value::String(s)) if s.chars().count() > MAX_NAME => {
            err(
                errs,
                key,
                format!("`{key}` is longer than {MAX_NAME} characters"),
            );
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            err(
                errs,
                key,
                format!(
                    "invalid type: expected a string, but got {} instead",
                    json_kind(other)
                ),
            );
            None
        }
    }
}

/// Reads a job-create body; every fault with its path (`method.dpo.hyperparameters.beta`,
/// `metadata.k`, `method.reinforcement.grader.calculate_output`, …).
pub fn parse(body: &Value, engine: &EngineOptions) -> Result<JobRequest, ConfigErrors> {
    let mut errs = ConfigErrors::default();
    let Some(obj) = body.as_object() else {
        err(
            &mut errs,
            "",
            format!(
                "invalid type: expected an object, but got {} instead",
                json_kind(body)
            ),
        );
        return Err(errs);
    };
    for k in obj.keys() {
        if !KEYS.contains(&k.as_str()) {
            err(
                &mut errs,
                k,
                format!("Unrecognized request argument supplied: {k}"),
            );
        }
    }
    let model = string_field(obj, "model", true, &mut errs);
    let training_file = string_field(obj, "training_file", true, &mut errs);
    let validation_file = string_field(obj, "validation_file", false, &mut errs);

    let suffix = string_field(obj, "suffix", false, &mut errs).filter(|s| {
        let ok = s.chars().count() <= MAX_SUFFIX
            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            err(
                &mut errs,
                "suffix",
                format!("`suffix` must be at most {MAX_SUFFIX} characters of letters, digits, '-', '_' and '.'"),
            );
        }
        ok
    });

    let seed = match obj.get("seed") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64().filter(|s| (0..=2_147_483_647).contains(s)) {
            Some(s) => Some(s),
            None => {
                err(
                    &mut errs,
                    "seed",
                    "`seed` must be an integer in [0, 2147483647]",
                );
                None
            }
        },
        Some(other) => {
            err(
                &mut errs,
                "seed",
                format!(
                    "invalid type: expected an integer, but got {} instead",
                    json_kind(other)
                ),
            );
            None
        }
    };

    let metadata = match obj.get("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => {
            if m.len() > MAX_METADATA_PAIRS {
                err(
                    &mut errs,
                    "metadata",
                    format!(
                        "`metadata` has {} pairs; at most {MAX_METADATA_PAIRS} are allowed",
                        m.len()
                    ),
                );
            }
            for (k, v) in m {
                let path = format!("metadata.{k}");
                if k.chars().count() > MAX_METADATA_KEY || k.is_empty() {
                    err(
                        &mut errs,
                        "metadata",
                        format!("metadata keys must be 1 to {MAX_METADATA_KEY} characters"),
                    );
                }
                match v {
                    Value::String(s) if s.chars().count() <= MAX_METADATA_VALUE => {}
                    Value::String(_) => err(
                        &mut errs,
                        &path,
                        format!("metadata values must be at most {MAX_METADATA_VALUE} characters"),
                    ),
                    other => err(
                        &mut errs,
                        &path,
                        format!(
                            "invalid type: expected a string, but got {} instead",
                            json_kind(other)
                        ),
                    ),
                }
            }
            Some(m.clone())
        }
        Some(other) => {
            err(
                &mut errs,
                "metadata",
                format!(
                    "invalid type: expected an object, but got {} instead",
                    json_kind(other)
                ),
            );
            None
        }
    };

    let integrations = match obj.get("integrations") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Array(items)) => {
            if items.len() > MAX_INTEGRATIONS {
                err(
                    &mut errs,
                    "integrations",
                    format!("at most {MAX_INTEGRATIONS} integrations"),
                );
            }
            for (i, it) in items.iter().enumerate() {
                check_integration(it, &format!("integrations[{i}]"), &mut errs);
            }
            Some(v.clone())
        }
        Some(other) => {
            err(
                &mut errs,
                "integrations",
                format!(
                    "invalid type: expected an array, but got {} instead",
                    json_kind(other)
                ),
            );
            None
        }
    };

    let legacy = obj.get("hyperparameters").filter(|v| !v.is_null());
    let (method, method_type) = match (obj.get("method").filter(|v| !v.is_null()), legacy) {
        (Some(_), Some(_)) => {
            err(&mut errs, "hyperparameters", "`hyperparameters` is deprecated and cannot be combined with `method`; put them in method.<type>.hyperparameters");
            (None, None)
        }
        (Some(m), None) => match FineTuneMethod::from_value(m) {
            Ok(parsed) => {
                let t = match parsed {
                    FineTuneMethod::Supervised(_) => MethodType::Supervised,
                    FineTuneMethod::Dpo(_) => MethodType::Dpo,
                    FineTuneMethod::Reinforcement(_) => MethodType::Reinforcement,
                };
                (Some(m.clone()), Some(t))
            }
            Err(e) => {
                errs.0.extend(e.0.into_iter().map(|x| x.prefixed("method")));
                (None, None)
            }
        },
        (None, h) => {
            let m = json!({"type": "supervised", "supervised": {"hyperparameters": h.cloned().unwrap_or_else(|| json!({}))}});
            match FineTuneMethod::from_value(&m) {
                Ok(_) => (Some(m), Some(MethodType::Supervised)),
                Err(e) => {
                    for x in e.0 {
                        let rest = x.path.strip_prefix("supervised.").unwrap_or(&x.path);
                        err(&mut errs, rest, x.message);
                    }
                    (None, None)
                }
            }
        }
    };
    if let (Some(m), Some(MethodType::Reinforcement)) = (&method, method_type) {
        if let Some(g) = m.pointer("/reinforcement/grader") {
            if let Err(e) = gradekit_engine::validate(g, engine) {
                errs.0.extend(
                    e.0.into_iter()
                        .map(|x| x.prefixed("method.reinforcement.grader")),
                );
            }
        }
    }
    match (model, training_file, method, method_type) {
        (Some(model), Some(training_file), Some(method), Some(method_type)) if errs.is_empty() => {
            Ok(JobRequest {
                model,
                training_file,
                validation_file,
                method,
                method_type,
                suffix,
                seed,
                metadata,
                integrations,
            })
        }
        _ => {
            if errs.is_empty() {
                err(&mut errs, "", "invalid request");
            }
            Err(errs)
        }
    }
}

fn check_integration(v: &Value, path: &str, errs: &mut ConfigErrors) {
    let Some(o) = v.as_object() else {
        err(
            errs,
            path,
            format!(
                "invalid type: expected an object, but got {} instead",
                json_kind(v)
            ),
        );
        return;
    };
    for k in o.keys() {
        if k != "type" && k != "wandb" {
            err(
                errs,
                &format!("{path}.{k}"),
                format!("Unrecognized argument: {k}"),
            );
        }
    }
    if o.get("type").and_then(Value::as_str) != Some("wandb") {
        err(
            errs,
            &format!("{path}.type"),
            "the only integration type is \"wandb\"",
        );
    }
    let Some(w) = o.get("wandb").and_then(Value::as_object) else {
        err(
            errs,
            &format!("{path}.wandb"),
            "missing required object `wandb`",
        );
        return;
    };
    for (k, v) in w {
        let at = format!("{path}.wandb.{k}");
        let ok = match k.as_str() {
            "project" => v
                .as_str()
                .is_some_and(|s| !s.is_empty() && s.len() <= MAX_NAME),
            "entity" | "name" => v.is_null() || v.as_str().is_some_and(|s| s.len() <= MAX_NAME),
            "tags" => v.as_array().is_some_and(|t| {
                t.len() <= 64 && t.iter().all(|x| x.as_str().is_some_and(|s| s.len() <= 64))
            }),
            _ => {
                err(errs, &at, format!("Unrecognized argument: {k}"));
                continue;
            }
        };
        if !ok {
            err(errs, &at, "invalid value");
        }
    }
    if !w.contains_key("project") {
        err(
            errs,
            &format!("{path}.wandb.project"),
            "missing required parameter `project`",
        );
    }
}

/// Hyperparameters of each method, in the order they are echoed.
fn keys_of(t: MethodType) -> &'static [&'static str] {
    match t {
        MethodType::Supervised => &["batch_size", "learning_rate_multiplier", "n_epochs"],
        MethodType::Dpo => &["batch_size", "learning_rate_multiplier", "n_epochs", "beta"],
        MethodType::Reinforcement => &[
            "batch_size",
            "learning_rate_multiplier",
            "n_epochs",
            "compute_multiplier",
            "eval_interval",
            "eval_samples",
            "reasoning_effort",
        ],
    }
}

/// The value "auto" resolves to for `n` training examples (module docs).
fn auto_value(key: &str, n: i64) -> Value {
    let n = n.max(1) as f64;
    match key {
        "batch_size" => json!(((0.002 * n).ceil() as i64).clamp(1, 256)),
        "learning_rate_multiplier" => json!(1.0),
        "n_epochs" => json!(((300.0 / n).ceil() as i64).clamp(3, 10)),
        "beta" => json!(0.1),
        "compute_multiplier" => json!(1.0),
        "eval_interval" | "eval_samples" => json!(1),
        "reasoning_effort" => json!("default"),
        _ => Value::Null,
    }
}

/// The method with every hyperparameter of its type present: given values kept as given,
/// `"auto"` and absent ones resolved for `n_examples` (or left `"auto"` when `None`: before
/// the files are validated). Also returns the top-level `hyperparameters` object.
pub fn resolve(method: &Value, t: MethodType, n_examples: Option<i64>) -> (Value, Value) {
    let mut m = method.clone();
    let key = t.as_str();
    let mut resolved = Map::new();
    {
        let given = method
            .pointer(&format!("/{key}/hyperparameters"))
            .and_then(Value::as_object);
        for k in keys_of(t) {
            let v = given.and_then(|g| g.get(*k)).filter(|v| !v.is_null());
            let out = match (v, n_examples) {
                (Some(Value::String(s)), Some(n)) if s == "auto" => auto_value(k, n),
                (Some(v), _) => v.clone(),
                (None, Some(n)) => auto_value(k, n),
                (None, None) if *k == "reasoning_effort" => continue,
                (None, None) => json!("auto"),
            };
            resolved.insert((*k).to_string(), out);
        }
    }
    let top = json!({
        "batch_size": resolved.get("batch_size").cloned().unwrap_or(json!("auto")),
        "learning_rate_multiplier": resolved.get("learning_rate_multiplier").cloned().unwrap_or(json!("auto")),
        "n_epochs": resolved.get("n_epochs").cloned().unwrap_or(json!("auto")),
    });
    if let Some(o) = m.as_object_mut() {
        let inner = o.entry(key).or_insert_with(|| json!({}));
        if !inner.is_object() {
            *inner = json!({});
        }
        if let Some(io) = inner.as_object_mut() {
            io.insert("hyperparameters".into(), Value::Object(resolved));
        }
    }
    (m, top)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn opts() -> EngineOptions {
        EngineOptions::default()
    }

    #[test]
    fn minimal_body_is_supervised() {
        let r = parse(&json!({"model": "m", "training_file": "file-a"}), &opts()).unwrap();
        assert_eq!(r.method_type, MethodType::Supervised);
        assert_eq!(
            r.method,
            json!({"type": "supervised", "supervised": {"hyperparameters": {}}})
        );
    }

    #[test]
    fn faults_carry_their_paths() {
        let body = json!({"model": 3, "training_file": "file-a", "bogus": 1,
            "metadata": {"k": 1}, "suffix": "a:b",
            "method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 5}}}});
        let e = parse(&body, &opts()).unwrap_err();
        let paths: Vec<&str> = e.0.iter().map(|x| x.path.as_str()).collect();
        for p in [
            "bogus",
            "model",
            "metadata.k",
            "suffix",
            "method.dpo.hyperparameters.beta",
        ] {
            assert!(paths.contains(&p), "{p} in {paths:?}");
        }
    }

    #[test]
    fn the_grader_is_compiled() {
        let body = json!({"model": "m", "training_file": "file-a", "method": {"type": "reinforcement",
            "reinforcement": {"grader": {"type": "multi", "calculate_output": "a +", "graders": {
                "a": {"type": "string_check", "name": "a", "input": "x", "reference": "y", "operation": "eq"}}}}}});
        let e = parse(&body, &opts()).unwrap_err();
        assert_eq!(e.0[0].path, "method.reinforcement.grader.calculate_output");
    }

    #[test]
    fn legacy_hyperparameters_name_their_path() {
        let e = parse(
            &json!({"model": "m", "training_file": "f", "hyperparameters": {"n_epochs": 0}}),
            &opts(),
        )
        .unwrap_err();
        assert_eq!(e.0[0].path, "hyperparameters.n_epochs");
    }

    #[test]
    fn auto_resolves_and_given_values_stay() {
        let m =
            json!({"type": "dpo", "dpo": {"hyperparameters": {"batch_size": 4, "beta": "auto"}}});
        let (r, top) = resolve(&m, MethodType::Dpo, Some(1000));
        assert_eq!(
            r["dpo"]["hyperparameters"],
            json!({"batch_size": 4, "learning_rate_multiplier": 1.0, "n_epochs": 3, "beta": 0.1})
        );
        assert_eq!(
            top,
            json!({"batch_size": 4, "learning_rate_multiplier": 1.0, "n_epochs": 3})
        );
        let (r, _) = resolve(&m, MethodType::Dpo, None);
        assert_eq!(r["dpo"]["hyperparameters"]["n_epochs"], "auto");
        let (_, top) = resolve(
            &json!({"type": "supervised"}),
            MethodType::Supervised,
            Some(10),
        );
        assert_eq!(
            top,
            json!({"batch_size": 1, "learning_rate_multiplier": 1.0, "n_epochs": 10})
        );
    }
}
