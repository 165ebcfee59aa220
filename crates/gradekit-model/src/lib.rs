//! The wire model of OpenAI-style graders: config types, run/validate bodies, error flags.
//!
//! Design: grader JSON is read by hand from a `serde_json::Value` rather than by derived
//! `Deserialize`, because `/validate` must report *every* fault at once, each with a path into
//! the config (`graders.email.operation: unknown operation "equals"; …`). serde stops at the
//! first error and loses the path inside internally tagged enums, so [`Grader::from_value`]
//! walks the value itself, collecting [`ConfigError`]s, and only builds the typed tree when
//! nothing is wrong. Types still implement `Serialize` (and `Deserialize` through the same
//! reader) for Rust callers.
//!
//! Nothing here evaluates anything: compiling templates, formulas and python code is the
//! engine's job; this crate only knows shapes and the rules that can be checked on shape alone
//! (unknown fields, enum values, `range` order, `labels` ⊆ …).

mod error;
mod grader;
mod layout;
mod message;
mod method;
mod read;
mod request;
mod response;
mod sample;

pub use error::{ConfigError, ConfigErrorKind, ConfigErrors, PathSegment};
pub use grader::*;
pub use layout::{Layout, Num};
pub use message::{
    AudioInput, ContentItem, Message, MessageContent, ReasoningEffort, Role, SamplingParams,
};
pub use method::{
    DpoHyperparameters, DpoMethod, FineTuneMethod, HyperValue, ReinforcementHyperparameters,
    ReinforcementMethod, SupervisedHyperparameters, SupervisedMethod,
};
pub use read::{display_key, kind as json_kind};
pub use request::ValidateRequest;
pub use response::{
    bounded_detail, ErrorFlags, RunMetadata, RunResponse, TokenUsage, ERROR_KEYS, MAX_DETAIL_BYTES,
};
pub use sample::{
    sample_from_object, sample_from_object_parts, sample_from_string, sample_from_text, SampleParts,
};

/// The only documented python grader image tag.
pub const PYTHON_IMAGE_TAG: &str = "2025-05-08";
/// Largest accepted python grader source, in bytes (OpenAI: 256 kB).
pub const PYTHON_SOURCE_LIMIT: usize = 256 * 1024;
