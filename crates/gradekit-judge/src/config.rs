//! Client configuration: endpoint, credentials, limits and the endpoint's dialect.

use std::path::PathBuf;
use std::time::Duration;

use crate::request::{ResponseFormatMode, TokenCapField};
use crate::retry::RetryPolicy;
use crate::types::{JudgeError, JudgeErrorKind};

/// The default endpoint when neither a flag nor `OPENAI_BASE_URL` names one.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The embedding model of OpenAI's cosine grader.
pub const DEFAULT_EMBEDDING_MODEL: &str = "text-embedding-3-large";
/// Judge calls in flight at once (`--judge-concurrency`).
pub const DEFAULT_CONCURRENCY: usize = 32;
/// Per-attempt timeout (`--judge-timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest response body read; a larger one is a server error, not an allocation.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;

/// An API key. Its `Debug` never shows the key, so configs can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Everything the HTTP client needs. `Default` is OpenAI's endpoint with no key.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Up to and including the version segment, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer`; optional for local servers.
    pub api_key: Option<ApiKey>,
    /// Timeout of one attempt (connect + send + read), not of all retries together.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests in flight at once, across every thread that uses this client.
    pub concurrency: usize,
    pub response_format: ResponseFormatMode,
    /// Resend once with `json_object` + schema when the server rejects `json_schema`, and keep
    /// using it for this endpoint once that worked. Decided once per client: while undecided,
    /// one call probes and concurrent calls wait for its verdict (no burst of rejected probes).
    pub json_object_fallback: bool,
    pub token_cap: TokenCapField,
    /// `--judge-cache DIR`.
    pub cache_dir: Option<PathBuf>,
    pub max_body_bytes: usize,
    /// Longest time one call may take, attempts and waits included (`None`: `(retries + 1) ×
    /// timeout`, see [`Self::call_budget`]).
    pub call_budget: Option<Duration>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key: None,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            concurrency: DEFAULT_CONCURRENCY,
            response_format: ResponseFormatMode::JsonSchema,
            json_object_fallback: true,
            token_cap: TokenCapField::MaxCompletionTokens,
            cache_dir: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            call_budget: None,
        }
    }
}

impl ClientConfig {
    /// Defaults, with `OPENAI_BASE_URL` and `OPENAI_API_KEY` from the environment when set.
    pub fn from_env() -> Self {
        let mut cfg = Self::default();
        if let Some(url) = std::env::var("OPENAI_BASE_URL")
            .ok()
            .filter(|s| !s.trim().is_empty())
        {
            cfg.base_url = url;
        }
        cfg.api_key = std::env::var("OPENAI_API_KEY")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(ApiKey::new);
        cfg
    }

    /// The time one call may take in all: the configured budget, else one timeout per attempt.
    pub fn call_budget(&self) -> Duration {
        self.call_budget.unwrap_or_else(|| {
            self.timeout
                .saturating_mul(self.retry.max_retries.saturating_add(1))
        })
    }

    /// Checks what can be checked without a network: the base URL's shape and the limits.
    pub fn validate(&self) -> Result<(), JudgeError> {
        let err = |msg: String| Err(JudgeError::new(JudgeErrorKind::Config, msg));
        let base_url = self.base_url.trim().trim_end_matches('/');
        // Messages show the URL without its credentials (see `redact`).
        let shown = crate::redact::Redactor::new(base_url, self.api_key.as_ref());
        let shown = shown.shown_url();
        match reqwest::Url::parse(base_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(_) => {
                return err(format!(
                    "judge base URL {shown:?} must start with http:// or https://"
                ))
            }
            Err(e) => return err(format!("invalid judge base URL {shown:?}: {e}")),
        }
        if self.concurrency == 0 {
            return err("judge concurrency must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return err("judge timeout must be positive".into());
        }
        Ok(())
    }

    /// A config for `base_url` with every other setting at its default.
    pub fn for_base_url(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let cfg = ClientConfig {
            api_key: Some(ApiKey::new("sk-very-secret")),
            ..ClientConfig::default()
        };
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("sk-very-secret"));
        assert!(shown.contains("redacted"));
    }
}
