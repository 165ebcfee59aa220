//! Bodies of the run and validate endpoints.

use crate::error::{ConfigError, ConfigErrors};
use crate::read::{type_error, Obj};
use crate::sample::{sample_from_object, sample_from_text};
use serde_json::{Map, Value};

/// A `/fine_tuning/alpha/graders/run` request with its sample and item resolved. The grader
/// stays raw JSON: compiling it is the engine's job (it reports its own errors with paths).
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    pub grader: Value,
    /// The `sample` namespace (see [`sample_from_text`]).
    pub sample: Value,
    /// The `item` namespace: `item`, else `{"reference_answer": …}`, else `{}`.
    pub item: Value,
}

impl RunRequest {
    /// Reads `{grader, model_sample, item?, reference_answer?}`. `model_sample` is a string
    /// on OpenAI's wire; an object is accepted too and read as a sample object.
    pub fn from_value(v: &Value) -> Result<RunRequest, ConfigErrors> {
        let mut errs = ConfigErrors::default();
        let Some(mut o) = Obj::new(v, "", &mut errs) else {
            return Err(errs);
        };
        let grader = o.required("grader", &mut errs).cloned();
        let sample = match o.required("model_sample", &mut errs) {
            Some(Value::String(s)) => Some(sample_from_text(s)),
            Some(obj @ Value::Object(_)) => match sample_from_object(obj, "model_sample") {
                Ok(s) => Some(s),
                Err(e) => {
                    errs.push(e);
                    None
                }
            },
            Some(other) => {
                errs.push(type_error("model_sample", "a string", other));
                None
            }
            None => None,
        };
        let item = o.get("item").cloned();
        let reference = o.get("reference_answer").cloned();
        o.finish(&mut errs);
        let item = match (item, reference) {
            (Some(item), _) => item,
            (None, Some(r)) => {
                let mut m = Map::new();
                m.insert("reference_answer".into(), r);
                Value::Object(m)
            }
            (None, None) => Value::Object(Map::new()),
        };
        match (grader, sample) {
            (Some(grader), Some(sample)) if errs.is_empty() => Ok(RunRequest {
                grader,
                sample,
                item,
            }),
            _ => {
                if errs.is_empty() {
                    errs.push(ConfigError::new("", "invalid run request"));
                }
                Err(errs)
            }
        }
    }
}

/// A `/fine_tuning/alpha/graders/validate` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidateRequest {
    pub grader: Value,
}

impl ValidateRequest {
    pub fn from_value(v: &Value) -> Result<ValidateRequest, ConfigErrors> {
        let mut errs = ConfigErrors::default();
        let Some(mut o) = Obj::new(v, "", &mut errs) else {
            return Err(errs);
        };
        let grader = o.required("grader", &mut errs).cloned();
        o.finish(&mut errs);
        match grader {
            Some(grader) if errs.is_empty() => Ok(ValidateRequest { grader }),
            _ => Err(errs),
        }
    }
}
