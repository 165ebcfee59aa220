//! What one sample is graded against.

use gradekit_model::{sample_from_object_parts, sample_from_string, ConfigError, SampleParts};
use gradekit_template::Context;
use serde_json::{Map, Value};

/// The `sample` and `item` namespaces of one grading call.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    pub sample: Value,
    pub item: Value,
}

/// A sample object that could not be read (unknown field, wrong type).
pub type SampleError = ConfigError;

impl EvalContext {
    /// From a ready `sample` namespace object (see `gradekit_model::sample_from_text`).
    pub fn new(sample: Value, item: Value) -> Self {
        EvalContext { sample, item }
    }

    /// From a model output string and an optional item (`None` → `{}`).
    pub fn from_text(model_sample: &str, item: Option<Value>) -> Self {
        Self::from_string(model_sample.to_string(), item, SampleParts::ALL)
    }

    /// From a model output string (taken), building only `parts` of the sample beside
    /// `output_text` (see `CompiledGrader::sample_parts`).
    pub fn from_string(model_sample: String, item: Option<Value>, parts: SampleParts) -> Self {
        EvalContext {
            sample: sample_from_string(model_sample, parts),
            item: item.unwrap_or_else(|| Value::Object(Map::new())),
        }
    }

    /// From a sample given as a string or an object.
    pub fn from_sample_value(sample: &Value, item: Option<Value>) -> Result<Self, SampleError> {
        match sample {
            Value::String(s) => Ok(Self::from_text(s, item)),
            other => Self::from_sample_object(other, item, SampleParts::ALL),
        }
    }

    /// From a sample object, deriving only the missing `parts` (given fields are always kept;
    /// the object is validated in full). Errors carry the path `sample.…`.
    pub fn from_sample_object(
        sample: &Value,
        item: Option<Value>,
        parts: SampleParts,
    ) -> Result<Self, SampleError> {
        Ok(EvalContext {
            sample: sample_from_object_parts(sample, "sample", parts)?,
            item: item.unwrap_or_else(|| Value::Object(Map::new())),
        })
    }

    pub(crate) fn template_context(&self) -> Context<'_> {
        Context {
            item: &self.item,
            sample: &self.sample,
        }
    }
}
