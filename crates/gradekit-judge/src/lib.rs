//! The client side of model-backed graders (score_model, label_model, text_similarity `cosine`).
//!
//! # Design
//!
//! The engine owns grading: it renders a grader's messages, calls a judge, clamps, labels and
//! sets flags. This crate owns *talking to a judge*, behind two small blocking traits,
//! [`ChatScorer`] and [`Embedder`], that the engine receives as injected `Arc<dyn …>`. Tests and
//! embedders supply their own implementations; [`OpenAiClient`] is the default, for any
//! OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, LM Studio, …).
//!
//! The pure parts are separate from I/O so they can be tested without a server and reused by
//! other transports:
//! - [`request`] builds the exact body sent (message parts, sampling parameters, the structured
//!   output schema in the endpoint's dialect);
//! - [`parse`] reads a reply into a [`ChatReply`] and interprets it ([`ChatReply::score`],
//!   [`ChatReply::label`]) into a result or a [`JudgeError`] whose kind is the flag to set;
//! - [`retry`] is the OpenAI SDK's retry policy; [`cache`] the content-addressed disk cache.
//!
//! Concurrency is an I/O matter: the client limits requests in flight with its own semaphore
//! (`concurrency`, default 32), whatever the number of CPU threads; see [`client`].
//!
//! Research behind every choice: `shared/research/model-graders.md`.

pub mod cache;
pub mod client;
pub mod config;
pub mod parse;
pub mod redact;
pub mod request;
pub mod retry;
#[cfg(feature = "stub")]
pub mod stub;
pub mod types;

pub use client::{LazyOpenAiClient, OpenAiClient};
pub use config::{
    ApiKey, ClientConfig, DEFAULT_BASE_URL, DEFAULT_CONCURRENCY, DEFAULT_EMBEDDING_MODEL,
    DEFAULT_TIMEOUT,
};
pub use parse::cosine;
pub use request::{ResponseFormatMode, TokenCapField};
pub use retry::{RetryPolicy, MAX_RETRY_AFTER};
pub use types::{
    ChatMessage, ChatReply, ChatRequest, ChatScorer, ContentPart, EmbedReply, Embedder, JudgeError,
    JudgeErrorKind, MessageContent, OutputSpec, SamplingParams, Usage,
};
