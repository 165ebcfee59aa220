//! What one sample is graded against.

use gradekit_model::{sample_from_object, sample_from_text, ConfigError};
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
        EvalContext {
            sample: sample_from_text(model_sample),
            item: item.unwrap_or_else(|| Value::Object(Map::new())),
        }
    }

    /// From a sample given as a string or an object.
    pub fn from_sample_value(sample: &Value, item: Option<Value>) -> Result<Self, SampleError> {
        let sample = match sample {
            Value::String(s) => sample_from_text(s),
            other => sample_from_object(other, "sample")?,
        };
        Ok(EvalContext {
            sample,
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
