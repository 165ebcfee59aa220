//! What one sample is graded against.

use crate::entry::{resolve_item, SampleEntry};
use gradekit_model::{sample_from_string, ConfigError, SampleParts};
use gradekit_template::{Context, Missing, Path, Resolved, Scope};
use serde_json::Value;
use std::borrow::Cow;

/// The `sample` and `item` namespaces of one grading call.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    pub sample: Value,
    pub item: Value,
}

/// A sample object that could not be read (unknown field, wrong type).
pub type SampleError = ConfigError;

impl EvalContext {
    /// From a ready `sample` namespace object and item, as they are. Edges read entries with
    /// [`crate::SampleEntry`] instead, which applies the entry rules (nulls, legacy
    /// `reference_answer`, sample objects).
    pub fn new(sample: Value, item: Value) -> Self {
        EvalContext { sample, item }
    }

    /// From a model output string and an optional item (`None` or null → `{}`), with every
    /// sample part built.
    pub fn from_text(model_sample: &str, item: Option<Value>) -> Self {
        Self::from_string(model_sample.to_string(), item, SampleParts::ALL)
    }

    /// From a model output string (taken), building only `parts` of the sample beside
    /// `output_text` (see `CompiledGrader::sample_parts`). The reading of
    /// [`SampleEntry::text`].
    pub fn from_string(model_sample: String, item: Option<Value>, parts: SampleParts) -> Self {
        EvalContext {
            sample: sample_from_string(model_sample, parts),
            item: resolve_item(item, None),
        }
    }

    /// From a sample given as a string or an object.
    pub fn from_sample_value(sample: &Value, item: Option<Value>) -> Result<Self, SampleError> {
        Self::from_sample_object(sample, item, SampleParts::ALL)
    }

    /// From a sample given positionally (a string or an object), deriving only the missing
    /// `parts` (given fields are always kept; the object is validated in full). Errors carry
    /// the path `sample.…`. The reading of [`SampleEntry::positional`].
    pub fn from_sample_object(
        sample: &Value,
        item: Option<Value>,
        parts: SampleParts,
    ) -> Result<Self, SampleError> {
        SampleEntry::positional(sample.clone(), item, "sample")
            .and_then(|e| e.into_context(parts, "sample"))
            .map_err(ConfigError::from)
    }

    pub(crate) fn template_context(&self) -> Context<'_> {
        Context {
            item: &self.item,
            sample: &self.sample,
        }
    }
}

impl Scope for EvalContext {
    fn resolve_ref<'s>(&'s self, path: &Path) -> Result<Resolved<'s>, Missing> {
        path.resolve(&self.template_context()).map(Resolved::of)
    }
}

/// What grading one sample needs, whatever shape the caller holds it in: template references
/// answered (a [`Scope`]), the sample text (for the size budget), and the whole context for
/// graders that see everything (python). [`EvalContext`] is one (owned JSON trees);
/// [`crate::LeanContext`] another (borrowed strings, see `entry/lean.rs`).
pub trait GradeInput: Scope + Sync {
    /// The sample's `output_text`, when it is a string.
    fn output_text(&self) -> Option<&str>;
    /// The sample and item as JSON trees.
    fn eval_context(&self) -> Cow<'_, EvalContext>;
    /// The string value the reference `d` resolves to, when the input holds it as a string
    /// at hand; `None` otherwise (absent, not a string, or not at hand), and the field is then
    /// rendered through [`Scope`]. A field that is that one reference renders to exactly this
    /// string (the size budget aside), so answering it skips the template walk per sample.
    fn direct(&self, d: &Direct) -> Option<&str> {
        let _ = d;
        None
    }
}

/// A template reference an input may answer with a string at hand ([`GradeInput::direct`]):
/// the two that text_similarity and string_check graders nearly always render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Direct {
    /// `{{ sample.output_text }}`.
    OutputText,
    /// `{{ item.KEY }}`.
    ItemKey(String),
}

impl Direct {
    /// The direct form of a template path, if it is one.
    pub(crate) fn of(path: &Path) -> Option<Direct> {
        use gradekit_template::{Root, Step};
        match (path.root, path.steps.as_slice()) {
            (Root::Sample, [Step::Key(k)]) if k == "output_text" => Some(Direct::OutputText),
            (Root::Item, [Step::Key(k)]) => Some(Direct::ItemKey(k.clone())),
            _ => None,
        }
    }
}

impl GradeInput for EvalContext {
    fn output_text(&self) -> Option<&str> {
        self.sample.get("output_text")?.as_str()
    }

    fn eval_context(&self) -> Cow<'_, EvalContext> {
        Cow::Borrowed(self)
    }

    fn direct(&self, d: &Direct) -> Option<&str> {
        // What `Path::resolve` reaches for a one-key path, when it is a string.
        match d {
            Direct::OutputText => self.sample.as_object()?.get("output_text")?.as_str(),
            Direct::ItemKey(k) => self.item.as_object()?.get(k)?.as_str(),
        }
    }
}
