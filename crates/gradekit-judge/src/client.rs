//! The default OpenAI-compatible HTTP client.
//!
//! The engine's interface is blocking (graders are called from worker threads); inside, calls run
//! on the client's own small tokio runtime with reqwest. Each blocking `chat`/`embed` drives its
//! future to completion on the calling thread while the runtime's workers run the I/O driver, so
//! any number of threads can call at once. How many requests are *in flight* is decided by one
//! async semaphore per client (`concurrency`, default 32), independent of how many CPU threads
//! the engine uses: a caller that wants 32 calls in flight needs 32 callers, which is why the
//! engine runs model-backed graders on a wide I/O pool.
//!
//! A permit is held for one attempt only, never across a backoff sleep, so a retrying call does
//! not starve the others. The per-attempt timeout covers connect, send and reading the body.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokio::runtime::Runtime;
use tokio::sync::{Mutex, Semaphore};

use crate::cache::{cache_key, DiskCache};
use crate::config::ClientConfig;
use crate::parse::{chat_reply_from_body, embed_reply_from_body, excerpt};
use crate::redact::Redactor;
use crate::request::{chat_body, embed_body, ResponseFormatMode};
use crate::retry::{jitter, retry_after, should_retry_status, MAX_RETRY_AFTER};
use crate::types::{
    ChatReply, ChatRequest, ChatScorer, EmbedReply, Embedder, JudgeError, JudgeErrorKind,
    OutputSpec,
};

/// OpenAI-compatible `/chat/completions` and `/embeddings` client; implements [`ChatScorer`] and
/// [`Embedder`]. Cheap to share behind an `Arc`.
pub struct OpenAiClient {
    inner: Arc<Inner>,
    /// `Option` so `Drop` can shut it down without blocking (safe inside async contexts).
    runtime: Option<Runtime>,
}

struct Inner {
    cfg: ClientConfig,
    base_url: String,
    http: reqwest::Client,
    permits: Semaphore,
    /// What this endpoint does with `json_schema`: [`UNKNOWN`], [`ACCEPTS_SCHEMA`] or
    /// [`REJECTS_SCHEMA`] (then every call sends `json_object`).
    dialect: AtomicU8,
    /// Held by the one call whose attempt is probing `json_schema` while the dialect is
    /// unknown, so concurrent calls wait for its verdict instead of each sending a probe the
    /// server rejects.
    probe: Mutex<()>,
    /// Set when a probe ended without a verdict (timeout, 429, 5xx unrelated to the format):
    /// calls then stop queueing behind probes, so a failing server cannot serialise them.
    probe_inconclusive: AtomicBool,
    cache: Option<DiskCache>,
    attempts: AtomicU64,
    /// Keeps the URL's credentials and the key out of every message.
    redactor: Redactor,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `cfg`'s Debug redacts the key.
        f.debug_struct("OpenAiClient")
            .field("config", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl Drop for OpenAiClient {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// What one attempt produced.
enum Attempt {
    Response {
        status: u16,
        headers: reqwest::header::HeaderMap,
        body: Vec<u8>,
    },
    Transport(String),
    TooLarge,
    TimedOut,
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A transport error with its source chain (reqwest's own message is terse).
fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

const UNKNOWN: u8 = 0;
const ACCEPTS_SCHEMA: u8 = 1;
const REJECTS_SCHEMA: u8 = 2;

/// Whether a failed response says the server does not accept `response_format: json_schema`
/// (llama-cpp-python answers 500 with a validation error naming `response_format`).
fn rejects_json_schema(status: u16, body: &[u8]) -> bool {
    if !matches!(status, 400 | 422 | 500) {
        return false;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    text.contains("response_format") || text.contains("json_schema")
}

/// Whether `url` names this machine (`localhost`, 127.0.0.0/8, `::1`).
fn is_loopback(url: &str) -> bool {
    let Some(host) = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
    else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl OpenAiClient {
    /// Builds the client: validates the base URL, opens the cache directory, starts the runtime.
    pub fn new(cfg: ClientConfig) -> Result<Self, JudgeError> {
        let config_error = |msg: String| JudgeError::new(JudgeErrorKind::Config, msg);
        cfg.validate()?;
        let base_url = cfg.base_url.trim().trim_end_matches('/').to_string();
        let cache = match &cfg.cache_dir {
            Some(dir) => Some(DiskCache::open(dir).map_err(|e| {
                config_error(format!("cannot open judge cache {}: {e}", dir.display()))
            })?),
            None => None,
        };
        let mut builder = reqwest::Client::builder();
        if is_loopback(&base_url) {
            // A proxy from the environment must not capture calls to a local judge.
            builder = builder.no_proxy();
        }
        let http = builder
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(cfg.concurrency)
            .user_agent(concat!("gradekit-judge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| config_error(format!("cannot build HTTP client: {}", describe(&e))))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("gradekit-judge-io")
            .enable_all()
            .build()
            .map_err(|e| config_error(format!("cannot start judge I/O runtime: {e}")))?;
        let permits = Semaphore::new(cfg.concurrency.min(Semaphore::MAX_PERMITS));
        Ok(Self {
            inner: Arc::new(Inner {
                base_url: base_url.clone(),
                http,
                permits,
                dialect: AtomicU8::new(UNKNOWN),
                probe: Mutex::new(()),
                probe_inconclusive: AtomicBool::new(false),
                cache,
                attempts: AtomicU64::new(0),
                redactor: Redactor::new(&base_url, cfg.api_key.as_ref()),
                cfg,
            }),
            runtime: Some(runtime),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.cfg
    }

    /// HTTP attempts made so far (retries and fallbacks included; cache hits excluded).
    pub fn http_attempts(&self) -> u64 {
        self.inner.attempts.load(Ordering::Relaxed)
    }

    /// The structured-output mode currently used (after any fallback).
    pub fn response_format_mode(&self) -> ResponseFormatMode {
        self.inner.mode()
    }

    /// Runs `fut` to completion on the client's runtime from a blocking caller. From inside some
    /// other tokio runtime, where blocking in place would panic, the call moves to a scoped thread.
    fn block_on<T: Send>(
        &self,
        fut: impl Future<Output = Result<T, JudgeError>> + Send,
    ) -> Result<T, JudgeError> {
        let Some(rt) = &self.runtime else {
            return Err(JudgeError::server("judge client is shut down"));
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return rt.block_on(fut);
        }
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(fut))
                .join()
                .unwrap_or_else(|_| Err(JudgeError::server("judge call thread panicked")))
        })
    }
}

impl Inner {
    fn mode(&self) -> ResponseFormatMode {
        if self.cfg.response_format == ResponseFormatMode::JsonSchema
            && self.dialect.load(Ordering::Acquire) == REJECTS_SCHEMA
        {
            ResponseFormatMode::JsonObject
        } else {
            self.cfg.response_format
        }
    }

    /// The URL of endpoint `path` (`chat/completions`) under the base URL, keeping the base's
    /// query (`?api-version=…`); `None` when the base URL cannot hold a path.
    fn endpoint(&self, path: &str) -> Option<reqwest::Url> {
        let mut u = reqwest::Url::parse(&self.base_url).ok()?;
        u.path_segments_mut()
            .ok()?
            .pop_if_empty()
            .extend(path.split('/'));
        Some(u)
    }

    async fn attempt(&self, url: &reqwest::Url, body: &Value, limit: Duration) -> Attempt {
        let permit = match self.permits.acquire().await {
            Ok(p) => p,
            Err(_) => return Attempt::Transport("judge client is shut down".into()),
        };
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let send = async {
            let mut rb = self.http.post(url.clone()).json(body);
            if let Some(key) = &self.cfg.api_key {
                rb = rb.bearer_auth(key.expose());
            }
            let mut resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => return Attempt::Transport(describe(&e)),
            };
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let mut buf = Vec::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        if buf.len() + chunk.len() > self.cfg.max_body_bytes {
                            return Attempt::TooLarge;
                        }
                        buf.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => return Attempt::Transport(describe(&e)),
                }
            }
            Attempt::Response {
                status,
                headers,
                body: buf,
            }
        };
        let out = tokio::time::timeout(limit, send)
            .await
            .unwrap_or(Attempt::TimedOut);
        drop(permit);
        out
    }

    /// POSTs with retries; `make_body` builds the body for a structured-output mode (it changes
    /// on a `json_object` fallback). Returns the 2xx body.
    async fn post(
        &self,
        path: &str,
        make_body: impl Fn(ResponseFormatMode) -> Value,
    ) -> Result<Vec<u8>, JudgeError> {
        let started = Instant::now();
        let budget = self.cfg.call_budget();
        let Some(url) = self.endpoint(path) else {
            return Err(JudgeError::new(
                JudgeErrorKind::Config,
                format!(
                    "judge base URL {} cannot hold the path {path}",
                    self.redactor.shown_url()
                ),
            ));
        };
        // Messages name the endpoint without credentials (see `redact`).
        let shown = crate::redact::shown_endpoint(self.redactor.shown_url(), path);
        let shown = shown.as_str();
        // The json_schema → json_object fallback is decided once per client: while it is
        // open, one call probes and the others wait for its first attempt's verdict.
        let probing = self.cfg.json_object_fallback
            && self.cfg.response_format == ResponseFormatMode::JsonSchema
            && make_body(ResponseFormatMode::JsonSchema)
                .get("response_format")
                .is_some();
        let mut probe_guard = None;
        if probing && self.dialect.load(Ordering::Acquire) == UNKNOWN {
            let guard = self.probe.lock().await;
            if self.dialect.load(Ordering::Acquire) == UNKNOWN
                && !self.probe_inconclusive.load(Ordering::Acquire)
            {
                probe_guard = Some(guard);
            }
        }
        let mut mode = self.mode();
        // Why `json_schema` was given up for this call, if it was (kept for error details).
        let mut rejection: Option<String> = None;
        let noted = |failure: String, rejection: &Option<String>| match rejection {
            Some(r) => {
                format!("{failure}; json_object was tried after json_schema was rejected: {r}")
            }
            None => failure,
        };
        let mut retries = 0u32;
        loop {
            let request = make_body(mode);
            let left = budget.saturating_sub(started.elapsed());
            let limit = self.cfg.timeout.min(left).max(Duration::from_millis(1));
            let attempt = self.attempt(&url, &request, limit).await;
            // The verdict: json_schema answered (accepted), or json_schema rejected and the
            // json_object resend answered (rejected). A rejection alone is no verdict yet: the
            // prober keeps the lock for its resend, so waiting calls learn which form works.
            let ok =
                matches!(&attempt, Attempt::Response { status, .. } if (200..300).contains(status));
            let sent_schema = probing && mode == ResponseFormatMode::JsonSchema;
            let rejected_now = sent_schema
                && matches!(&attempt, Attempt::Response { status, body, .. }
                    if rejects_json_schema(*status, body));
            let verdict = match (ok, sent_schema, rejection.is_some()) {
                (true, true, _) => Some(ACCEPTS_SCHEMA),
                (true, false, true) => Some(REJECTS_SCHEMA),
                _ => None,
            };
            if let Some(v) = verdict {
                self.dialect.store(v, Ordering::Release);
            }
            if !rejected_now {
                if verdict.is_none() && probe_guard.is_some() {
                    self.probe_inconclusive.store(true, Ordering::Release);
                }
                drop(probe_guard.take());
            }
            let (failure, wait) = match attempt {
                Attempt::Response { status, body, .. } if (200..300).contains(&status) => {
                    return Ok(body);
                }
                Attempt::Response {
                    status,
                    headers,
                    body,
                } => {
                    if self.cfg.json_object_fallback
                        && mode == ResponseFormatMode::JsonSchema
                        && request.get("response_format").is_some()
                        && rejects_json_schema(status, &body)
                    {
                        mode = ResponseFormatMode::JsonObject;
                        rejection = Some(format!(
                            "HTTP {status}: {}",
                            excerpt(&String::from_utf8_lossy(&body))
                        ));
                        continue;
                    }
                    let failure = format!(
                        "HTTP {status} from {shown}: {}",
                        excerpt(&String::from_utf8_lossy(&body))
                    );
                    if !should_retry_status(status, header(&headers, "x-should-retry")) {
                        return Err(JudgeError::server(noted(failure, &rejection)));
                    }
                    let wait = retry_after(
                        header(&headers, "retry-after-ms"),
                        header(&headers, "retry-after"),
                        SystemTime::now(),
                    );
                    (failure, wait)
                }
                Attempt::Transport(e) => (format!("request to {shown} failed: {e}"), None),
                Attempt::TimedOut => (
                    format!(
                        "request to {shown} timed out after {:.3} s",
                        limit.as_secs_f64()
                    ),
                    None,
                ),
                Attempt::TooLarge => {
                    return Err(JudgeError::server(format!(
                        "response from {shown} exceeds {} bytes",
                        self.cfg.max_body_bytes
                    )))
                }
            };
            if retries >= self.cfg.retry.max_retries {
                return Err(JudgeError::server(noted(
                    format!("{failure} (after {} attempts)", retries + 1),
                    &rejection,
                )));
            }
            let wait = wait
                .map(|w| w.min(MAX_RETRY_AFTER))
                .unwrap_or_else(|| self.cfg.retry.backoff(retries, jitter()));
            if started.elapsed() + wait >= budget {
                return Err(JudgeError::server(noted(
                    format!(
                        "{failure} (after {} attempts; a retry in {:.3} s would pass the call's \
                         budget of {:.3} s)",
                        retries + 1,
                        wait.as_secs_f64(),
                        budget.as_secs_f64()
                    ),
                    &rejection,
                )));
            }
            retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    async fn chat(&self, req: &ChatRequest) -> Result<ChatReply, JudgeError> {
        let cap = self.cfg.token_cap;
        let key = self.cache.as_ref().map(|_| {
            cache_key(
                "chat/completions",
                &self.base_url,
                &chat_body(req, self.cfg.response_format, cap),
            )
        });
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(mut hit) = cache.get::<ChatReply>(key) {
                hit.from_cache = true;
                return Ok(hit);
            }
        }
        let body = self
            .post("chat/completions", |mode| chat_body(req, mode, cap))
            .await?;
        let reply = chat_reply_from_body(&body, &req.model)?;
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            let usable = match &req.output {
                OutputSpec::Score { .. } => reply.score().is_ok(),
                OutputSpec::Label { labels } => reply.label(labels).is_ok(),
            };
            if usable {
                // A cache that cannot be written only costs a future call.
                let _ = cache.put(key, &reply);
            }
        }
        Ok(reply)
    }

    async fn embed(&self, model: &str, inputs: &[String]) -> Result<EmbedReply, JudgeError> {
        let request = embed_body(model, inputs);
        let key = self
            .cache
            .as_ref()
            .map(|_| cache_key("embeddings", &self.base_url, &request));
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            if let Some(mut hit) = cache.get::<EmbedReply>(key) {
                if hit.embeddings.len() == inputs.len() {
                    hit.from_cache = true;
                    return Ok(hit);
                }
            }
        }
        let body = self.post("embeddings", |_| request.clone()).await?;
        let reply = embed_reply_from_body(&body, model, inputs.len())?;
        if let (Some(cache), Some(key)) = (&self.cache, &key) {
            let _ = cache.put(key, &reply);
        }
        Ok(reply)
    }
}

/// An [`OpenAiClient`] built on first use: configuring an engine for graders that never call a
/// judge then starts no runtime. The configuration is validated up front.
#[derive(Debug)]
pub struct LazyOpenAiClient {
    cfg: ClientConfig,
    client: std::sync::OnceLock<Result<OpenAiClient, JudgeError>>,
}

impl LazyOpenAiClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, JudgeError> {
        cfg.validate()?;
        Ok(Self {
            cfg,
            client: std::sync::OnceLock::new(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The client, building it on the first call.
    pub fn client(&self) -> Result<&OpenAiClient, JudgeError> {
        self.client
            .get_or_init(|| OpenAiClient::new(self.cfg.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ChatScorer for LazyOpenAiClient {
    fn chat(&self, req: &ChatRequest) -> Result<ChatReply, JudgeError> {
        self.client()?.chat(req)
    }
}

impl Embedder for LazyOpenAiClient {
    fn embed(&self, model: &str, inputs: &[String]) -> Result<EmbedReply, JudgeError> {
        self.client()?.embed(model, inputs)
    }
}

impl OpenAiClient {
    /// Every error leaves the client through here: no secret in its details.
    fn redacted<T>(&self, r: Result<T, JudgeError>) -> Result<T, JudgeError> {
        r.map_err(|mut e| {
            e.details = self.inner.redactor.apply(&e.details);
            e
        })
    }
}

impl ChatScorer for OpenAiClient {
    fn chat(&self, req: &ChatRequest) -> Result<ChatReply, JudgeError> {
        let inner = Arc::clone(&self.inner);
        self.redacted(self.block_on(async move { inner.chat(req).await }))
    }
}

impl Embedder for OpenAiClient {
    fn embed(&self, model: &str, inputs: &[String]) -> Result<EmbedReply, JudgeError> {
        let inner = Arc::clone(&self.inner);
        self.redacted(self.block_on(async move { inner.embed(model, inputs).await }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_errors() {
        for url in ["not a url", "ftp://x/v1", ""] {
            let e = OpenAiClient::new(ClientConfig::for_base_url(url)).unwrap_err();
            assert_eq!(e.kind, JudgeErrorKind::Config, "{url}");
        }
        let e = OpenAiClient::new(ClientConfig {
            concurrency: 0,
            ..ClientConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.kind, JudgeErrorKind::Config);
    }

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("http://127.0.0.1:8080/v1"));
        assert!(is_loopback("http://localhost/v1"));
        assert!(is_loopback("http://[::1]:1/v1"));
        assert!(!is_loopback("https://api.openai.com/v1"));
        assert!(!is_loopback("http://10.0.0.1/v1"));
    }

    #[test]
    fn json_schema_rejection_detection() {
        let llama = br#"{"detail":[{"type":"literal_error","loc":["body","response_format","type"],"msg":"Input should be 'text' or 'json_object'"}]}"#;
        assert!(rejects_json_schema(500, llama));
        assert!(rejects_json_schema(400, b"unsupported json_schema"));
        assert!(!rejects_json_schema(500, b"internal error"));
        assert!(!rejects_json_schema(429, b"response_format"));
    }

    #[test]
    fn client_debug_redacts_key_and_drop_inside_runtime_is_safe() {
        let client = OpenAiClient::new(ClientConfig {
            api_key: Some(crate::config::ApiKey::new("sk-secret-123")),
            ..ClientConfig::for_base_url("http://127.0.0.1:9/v1")
        })
        .unwrap();
        assert!(!format!("{client:?}").contains("sk-secret-123"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async move { drop(client) });
    }
}
