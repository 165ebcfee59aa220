//! The gradekit HTTP server: OpenAI's graders API, served locally, plus three extensions.
//!
//! **Wire.** `POST /v1/fine_tuning/alpha/graders/run` and `/validate` answer exactly what
//! OpenAI's service answers (DESIGN.md §3, §6), so the official SDKs work unchanged with
//! `base_url=http://127.0.0.1:8080/v1`. Every failure is the OpenAI error envelope
//! ([`error::ApiError`]) with the status the SDKs map onto their exception classes. A failed
//! *sample* is not a failure: 200, reward 0 and the error flag, as the engine reports it.
//!
//! **Extensions** (documented in `docs/openapi-extensions.yaml`, never under OpenAI's paths):
//! `POST /v1/graders/run_batch` (one compile, many samples, results in order: the fast path of
//! reward pipelines), Azure's endpoint-grader protocol at `POST /v1/endpoint_graders/{name}`
//! and OpenRLHF's remote reward protocol at `POST /get_reward`, both for graders fixed at
//! start-up ([`ConfiguredGraders`]).
//!
//! **Threads.** The async workers only move bytes. Compiling and grading run on rayon (CPU-bound
//! graders: as many threads as cores, no thread per request) or on tokio's blocking pool
//! (graders that wait: python workers, judge calls) — see [`work`]. JSON bodies past 256 KiB are
//! parsed off the workers too.
//!
//! **Cache.** Clients send the whole grader with every `/run`; compiling it each time would
//! dominate the cost of a string_check. Compiled graders are kept in a bounded LRU keyed by the
//! SHA-256 of the grader's JSON ([`cache`]); concurrent first requests for one grader compile it
//! once (a python grader's compile starts a worker pool: a burst must not start 32).
//!
//! **Secure by default** ([`guard`], [`serve`]): loopback bind; a non-loopback bind needs an
//! API key; bearer auth compared in constant time on digests (the key is never logged nor
//! echoed); a body limit (413), a per-request deadline (408 while reading the body, 504 while
//! grading), a concurrency limit (429 + `retry-after`), slow clients cut (a header-read
//! timeout, a body pace — a request takes its slot only once its body is in — and a bound on
//! open connections; [`serve`], [`pace`]), python graders only in the sandboxed mode unless the operator opts out, and a
//! graceful shutdown that lets in-flight requests finish.

use axum::routing::{get, post};
use axum::Router;
use gradekit_engine::python::PythonMode;
use gradekit_engine::{ConfigErrors, EngineOptions};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

mod body;
mod budget;
pub mod cache;
mod cutlog;
mod dashboard;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod guard;
pub mod pace;
mod routes;
pub mod serve;
pub mod work;

pub use cache::{Compiled, GraderCache};
pub use error::ApiError;
pub use routes::batch::MAX_BATCH_ANSWER_BYTES;
pub use serve::{serve, serve_until_signal, BindPolicyError, ServeOptions};

/// Default body limit: 16 MiB.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;
/// Default per-request deadline. Long enough for a python grader at OpenAI's 120 s call limit
/// (plus its pool start) or a judge call with retries; RL users set it lower.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Default number of requests in flight before 429.
pub const DEFAULT_CONCURRENCY: usize = 256;
/// Default most samples in one `/v1/graders/run_batch` request (`--max-batch-samples`): the
/// answer is built in memory, so its size must follow a server limit, not the client.
pub const DEFAULT_MAX_BATCH: usize = 400;
/// Most queries in one OpenRLHF `/get_reward` request (its answer is a few numbers per query).
pub const MAX_REWARD_QUERIES: usize = 16_384;
/// Default budget of JSON request bodies held at once (`--max-inflight-body`): with the body
/// limit, what bounds the memory of parsing, whatever the clients send and however many.
pub const DEFAULT_MAX_INFLIGHT_BODY: usize = 256 * 1024 * 1024;
/// Default time a request body gets from the end of its headers (`--body-timeout`), before
/// what it earns by its pace (`pace.rs`).
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(20);
/// Default bytes per second that earn a request body one more second (`--body-min-rate`).
pub const DEFAULT_BODY_MIN_RATE: u64 = 64 * 1024;
/// Default number of compiled graders kept.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

/// The bearer key. Its `Debug` never shows it; the server keeps only its digest.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Server settings (the `gradekit serve` flags).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// When set, every route but `/health` needs `Authorization: Bearer <key>`.
    pub api_key: Option<ApiKey>,
    /// Largest request body, in bytes (413 beyond).
    pub max_body: usize,
    /// Deadline of one request, from its headers to its answer.
    pub timeout: Duration,
    /// Requests in flight (compile, grading, answering: from their body's last byte) before
    /// new ones get 429. A request still sending its body holds no slot.
    pub concurrency: usize,
    /// Time a request body gets from the end of its headers (plus what [`Self::body_min_rate`]
    /// earns); a body behind it is cut with 408.
    pub body_timeout: Duration,
    /// Bytes per second that earn a body one more second (0 = the timeout alone).
    pub body_min_rate: u64,
    /// Compiled graders kept in the cache (0 = no cache).
    pub cache_capacity: usize,
    /// Most samples in one `/v1/graders/run_batch` request (400 beyond, naming the limit).
    pub max_batch: usize,
    /// Bytes of JSON request bodies held at once, from the guard to the answer. A body counts
    /// the buffer it has been read into, grown in bounded steps as its bytes arrive (never
    /// what it merely declares: `budget.rs`); a request that does not fit is answered 429
    /// with `retry-after` (with `connection: close` when its body had begun). Uploads
    /// (streamed to disk) count 1 KiB.
    pub max_inflight_body: usize,
    /// Accept an engine whose python mode is not `sandboxed` (code from any client would run
    /// unisolated).
    pub allow_untrusted_python: bool,
    /// `--api-keys`: project id and its keys; each key authenticates as its project (the
    /// `api_key` above is the project [`DEFAULT_PROJECT`]).
    pub project_keys: Vec<(String, Vec<ApiKey>)>,
    /// The fine-tuning jobs service (DESIGN §8); `None`: its routes answer 404, or 503 with
    /// `jobs_off` as the message when that says why it could not start.
    pub jobs: Option<gradekit_jobs::Jobs>,
    /// Why the jobs service is off although it was asked for (its data directory held by
    /// another server); its routes then answer 503 with this message.
    pub jobs_off: Option<String>,
    /// Largest file upload (`POST /v1/files`), in bytes (413 beyond).
    pub max_upload: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            api_key: None,
            max_body: DEFAULT_MAX_BODY,
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            body_min_rate: DEFAULT_BODY_MIN_RATE,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            max_batch: DEFAULT_MAX_BATCH,
            max_inflight_body: DEFAULT_MAX_INFLIGHT_BODY,
            allow_untrusted_python: false,
            project_keys: Vec::new(),
            jobs: None,
            jobs_off: None,
            max_upload: gradekit_jobs::service::DEFAULT_MAX_UPLOAD,
        }
    }
}

/// The project of callers without a key table: no auth, or the single `--api-key`.
pub const DEFAULT_PROJECT: &str = "proj_default";

/// Graders fixed at start-up for the protocols whose requests carry no grader.
#[derive(Debug, Clone, Default)]
pub struct ConfiguredGraders {
    /// Azure endpoint graders: name → grader JSON, served at `/v1/endpoint_graders/{name}`.
    pub endpoint: Vec<(String, Value)>,
    /// The grader behind OpenRLHF's `/get_reward`.
    pub openrlhf: Option<Value>,
}

/// Why the server cannot start with the given settings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error(
        "--python-mode {0} runs grader code from any client without isolation; \
         restart with --python-mode sandboxed, or pass --allow-untrusted-python if every client is trusted"
    )]
    UnsandboxedPython(&'static str),
    #[error("{what} is invalid: {errors}")]
    InvalidGrader { what: String, errors: ConfigErrors },
    #[error("{0}")]
    Config(String),
}

/// Shared state of every request; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) config: ServerConfig,
    /// Key digests and their project; empty = no auth.
    pub(crate) keys: Vec<([u8; 32], Arc<str>)>,
    pub(crate) engine: EngineOptions,
    pub(crate) cache: GraderCache,
    pub(crate) permits: Arc<Semaphore>,
    /// KiB of request bodies in flight ([`ServerConfig::max_inflight_body`]).
    pub(crate) body_budget: Arc<Semaphore>,
    pub(crate) endpoint_graders: HashMap<String, Arc<Compiled>>,
    pub(crate) openrlhf: Option<Arc<Compiled>>,
    /// Requests received and not yet answered (see [`AppState::requests_in_flight`]).
    pub(crate) in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.0.config)
            .field("cached_graders", &self.0.cache.len())
            .field(
                "endpoint_graders",
                &self.0.endpoint_graders.keys().collect::<Vec<_>>(),
            )
            .field("openrlhf", &self.0.openrlhf.is_some())
            .finish()
    }
}

impl AppState {
    /// Checks the settings and compiles the configured graders (strictly: a grader fixed at
    /// start-up must be fully valid).
    pub fn new(
        config: ServerConfig,
        engine: EngineOptions,
        graders: ConfiguredGraders,
    ) -> Result<Self, StartError> {
        let mode = engine.python.options().mode;
        if mode != PythonMode::Sandboxed && !config.allow_untrusted_python {
            return Err(StartError::UnsandboxedPython(match mode {
                PythonMode::Process => "process",
                _ => "embedded",
            }));
        }
        if config.concurrency == 0 {
            return Err(StartError::Config(
                "--concurrency must be at least 1".into(),
            ));
        }
        if config.max_batch == 0 {
            return Err(StartError::Config(
                "--max-batch-samples must be at least 1".into(),
            ));
        }
        if config.max_body == 0 {
            return Err(StartError::Config("--max-body must be at least 1".into()));
        }
        if config.max_inflight_body < config.max_body {
            return Err(StartError::Config(format!(
                "--max-inflight-body ({}) must be at least --max-body ({})",
                config.max_inflight_body, config.max_body
            )));
        }
        if config.body_timeout.is_zero() {
            return Err(StartError::Config("--body-timeout must be positive".into()));
        }
        if config.timeout.is_zero() {
            return Err(StartError::Config("--timeout must be positive".into()));
        }
        let compile = |what: String, v: &Value| {
            gradekit_engine::compile(v, &engine)
                .map(|g| Arc::new(Compiled::new(g)))
                .map_err(|errors| StartError::InvalidGrader { what, errors })
        };
        let mut endpoint_graders = HashMap::new();
        for (name, v) in &graders.endpoint {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                return Err(StartError::Config(format!(
                    "endpoint grader name {name:?} must be non-empty ASCII letters, digits, '-', '_' or '.'"
                )));
            }
            let g = compile(format!("endpoint grader {name:?}"), v)?;
            if endpoint_graders.insert(name.clone(), g).is_some() {
                return Err(StartError::Config(format!(
                    "endpoint grader {name:?} is given twice"
                )));
            }
        }
        let openrlhf = match &graders.openrlhf {
            Some(v) => Some(compile("the OpenRLHF grader".into(), v)?),
            None => None,
        };
        Ok(AppState(Arc::new(Inner {
            keys: config
                .api_key
                .iter()
                .map(|k| (k.digest(), Arc::from(DEFAULT_PROJECT)))
                .chain(config.project_keys.iter().flat_map(|(p, ks)| {
                    ks.iter().map(move |k| (k.digest(), Arc::from(p.as_str())))
                }))
                .collect(),
            cache: GraderCache::new(config.cache_capacity),
            permits: Arc::new(Semaphore::new(config.concurrency)),
            body_budget: Arc::new(Semaphore::new(budget::kib(config.max_inflight_body))),
            engine,
            endpoint_graders,
            openrlhf,
            config,
            in_flight: Arc::default(),
        })))
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The pace request bodies must keep (`--body-timeout`, `--body-min-rate`).
    pub fn pace(&self) -> pace::Pace {
        pace::Pace {
            timeout: self.0.config.body_timeout,
            min_rate: self.0.config.body_min_rate,
        }
    }

    /// True when callers must send a key.
    pub fn auth_enabled(&self) -> bool {
        !self.0.keys.is_empty()
    }

    /// Names of the configured endpoint graders, sorted.
    pub fn endpoint_grader_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.0.endpoint_graders.keys().cloned().collect();
        v.sort();
        v
    }

    /// Name of the OpenRLHF grader, when one is configured.
    pub fn openrlhf_grader_name(&self) -> Option<String> {
        self.0
            .openrlhf
            .as_ref()
            .map(|c| c.grader.name().to_string())
    }

    /// Requests received and not answered yet: after a drain that gave up, the requests that
    /// were cut without a response.
    pub fn requests_in_flight(&self) -> usize {
        self.0.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The engine options graders of `project` compile with: the server's, with python pools
    /// private to the project (`PythonRuntime::scoped`), so identical python code of two
    /// projects never shares a worker and its module globals.
    pub fn engine_for(&self, project: &str) -> EngineOptions {
        let mut e = self.0.engine.clone();
        e.python = e.python.scoped(project);
        e
    }

    /// Bytes of the body budget (`--max-inflight-body`) held right now, in whole KiB: the
    /// buffers of JSON bodies being read or answered, and 1 KiB per other request.
    pub fn body_budget_held(&self) -> usize {
        let total = budget::kib(self.0.config.max_inflight_body);
        total.saturating_sub(self.0.body_budget.available_permits()) * 1024
    }

    /// Compiled graders currently cached.
    pub fn cached_graders(&self) -> usize {
        self.0.cache.len()
    }
}

/// Paths of the routes, for the guard and the docs.
pub mod paths {
    pub const RUN: &str = "/v1/fine_tuning/alpha/graders/run";
    pub const VALIDATE: &str = "/v1/fine_tuning/alpha/graders/validate";
    pub const HEALTH: &str = "/health";
    pub const RUN_BATCH: &str = "/v1/graders/run_batch";
    pub const ENDPOINT_GRADER: &str = "/v1/endpoint_graders/{name}";
    pub const GET_REWARD: &str = "/get_reward";
}

/// The application: every route, the guard (auth, concurrency, deadline) and the envelope for
/// errors axum produces by itself (404, 405).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(paths::RUN, post(routes::openai::run))
        .route(paths::VALIDATE, post(routes::openai::validate))
        .route(paths::HEALTH, get(routes::health))
        .route(paths::RUN_BATCH, post(routes::batch::run_batch))
        .route(paths::ENDPOINT_GRADER, post(routes::endpoint::grade))
        .route(paths::GET_REWARD, post(routes::openrlhf::get_reward))
        .merge(routes::ft::router())
        .merge(dashboard::router())
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(axum::middleware::from_fn(guard::envelope_plain_errors))
        .with_state(state)
}
