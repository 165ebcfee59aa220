//! The vocabulary shared by the engine and the judge client: a rendered chat request, the reply the
//! server gave, token usage and the error kinds that become `model_grader_*` flags.
//!
//! These types are deliberately independent of the grader config types (`gradekit-model`): the
//! engine renders a grader's `input` messages into a [`ChatRequest`], so this crate never sees a
//! template and the engine never sees HTTP.

use serde::{Deserialize, Serialize};

/// One rendered chat message, as the grader's `input` wrote it after template rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `developer`, `user` or `assistant`; sent as written.
    pub role: String,
    pub content: MessageContent,
}

impl ChatMessage {
    /// A message whose content is a plain string.
    pub fn text(role: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: MessageContent::Text(text.into()),
        }
    }
}

/// Message content: a plain string (sent as a string) or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A content part of the grader config, already rendered. `input_text` and `output_text` both
/// become Chat Completions `{"type":"text"}` parts, so one variant covers both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContentPart {
    /// `input_text` / `output_text` → `{"type":"text","text":…}`.
    Text { text: String },
    /// `input_image` → `{"type":"image_url","image_url":{"url":…,"detail":…}}`.
    Image {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// `input_audio` → `{"type":"input_audio","input_audio":{"data":…,"format":…}}`.
    Audio { data: String, format: String },
}

/// The grader's `sampling_params`. Only the fields that are set are sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplingParams {
    /// The grader field is spelled `max_completions_tokens`; the Chat API field is
    /// `max_completion_tokens` (or `max_tokens`, per endpoint setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completions_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
}

/// What the structured output's `result` must be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputSpec {
    /// score_model: a number, clamped by the caller to `[min, max]`.
    Score { min: f64, max: f64 },
    /// label_model: one of `labels`.
    Label { labels: Vec<String> },
}

/// One judge call: everything that goes into the request body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    #[serde(default)]
    pub sampling: SamplingParams,
    pub output: OutputSpec,
}

/// Token usage of one call, or a sum of calls. The four keys of
/// `model_grader_token_usage_per_model`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub cached_tokens: u64,
}

impl Usage {
    /// Adds `other` into `self` (saturating: a hostile server cannot make this overflow).
    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(other.cached_tokens);
    }
}

/// What a chat completion said (`choices[0]`), before interpretation.
///
/// A refusal or a length cut-off is still a reply (the server billed tokens for it); turning it
/// into an error is [`ChatReply::score`] / [`ChatReply::label`]'s job, so that the engine can
/// account the usage of failed samples too.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatReply {
    pub content: Option<String>,
    pub refusal: Option<String>,
    pub finish_reason: Option<String>,
    /// The server's model name (a resolved snapshot on OpenAI); the requested name when the
    /// server did not say.
    pub model: String,
    pub usage: Usage,
    /// True when this reply came from the judge cache rather than the server.
    #[serde(default, skip_serializing)]
    pub from_cache: bool,
}

/// Embeddings of a batch of inputs, in input order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedReply {
    pub embeddings: Vec<Vec<f64>>,
    pub model: String,
    pub usage: Usage,
    #[serde(default, skip_serializing)]
    pub from_cache: bool,
}

/// Which `model_grader_*` flag a failure sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JudgeErrorKind {
    /// Transport failure, timeout or non-2xx after retries; an unusable response body.
    /// → `model_grader_server_error` (+ details).
    Server,
    /// `message.refusal` was set. → `model_grader_refusal_error` (+ details).
    Refusal,
    /// No usable `result` in the content. → `model_grader_parse_error` (+ details).
    Parse,
    /// `finish_reason == "length"`. → `model_grader_exceeded_max_tokens_error`.
    MaxTokens,
    /// The client could not be built (bad base URL, unusable cache directory, …). Never a
    /// per-sample error: it surfaces when the engine is configured.
    Config,
}

impl std::fmt::Display for JudgeErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JudgeErrorKind::Server => "judge server error",
            JudgeErrorKind::Refusal => "judge refusal",
            JudgeErrorKind::Parse => "judge output parse error",
            JudgeErrorKind::MaxTokens => "judge exceeded max tokens",
            JudgeErrorKind::Config => "judge client configuration error",
        })
    }
}

/// A failed judge call or an unusable reply. `details` is meant for the `*_details` flag.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind}: {details}")]
pub struct JudgeError {
    pub kind: JudgeErrorKind,
    pub details: String,
}

impl JudgeError {
    pub fn new(kind: JudgeErrorKind, details: impl Into<String>) -> Self {
        Self {
            kind,
            details: details.into(),
        }
    }
    pub fn server(details: impl Into<String>) -> Self {
        Self::new(JudgeErrorKind::Server, details)
    }
    pub fn parse(details: impl Into<String>) -> Self {
        Self::new(JudgeErrorKind::Parse, details)
    }
}

/// The blocking interface the engine calls for score_model / label_model.
///
/// Implementations must be callable from many threads at once; how many calls are in flight is
/// the implementation's business (the HTTP client has its own semaphore).
pub trait ChatScorer: Send + Sync + std::fmt::Debug {
    /// Sends one chat request. `Err` only for failures that produced no usable reply
    /// (transport, HTTP status, a body that is not a chat completion).
    fn chat(&self, req: &ChatRequest) -> Result<ChatReply, JudgeError>;
}

/// The blocking interface the engine calls for the `cosine` text_similarity metric.
pub trait Embedder: Send + Sync + std::fmt::Debug {
    fn embed(&self, model: &str, inputs: &[String]) -> Result<EmbedReply, JudgeError>;
}
