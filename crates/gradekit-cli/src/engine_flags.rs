//! Engine flags shared by `run`, `score` and `serve` (DESIGN.md §5).

use anyhow::Result;
use gradekit_engine::judge::{
    ApiKey, ClientConfig, LazyOpenAiClient, ResponseFormatMode, TokenCapField,
};
use gradekit_engine::python::{PythonMode, PythonOptions, PythonRuntime};
use gradekit_engine::EngineOptions;
use std::path::PathBuf;
use std::time::Duration;

/// Most judge calls in flight (each waits on a thread of the engine's I/O pool).
pub const MAX_JUDGE_CONCURRENCY: usize = 1024;

#[derive(Debug, Clone, clap::ValueEnum)]
pub enum PythonModeArg {
    /// Worker processes isolated by namespaces, Landlock, seccomp and rlimits (default).
    Sandboxed,
    /// Worker processes with limits and timeouts but no isolation: trusted code only.
    Process,
    /// In-process interpreter (pyo3): fastest, trusted code only.
    Embedded,
}

#[derive(Debug, Clone, clap::Args)]
pub struct EngineFlags {
    /// How python graders run.
    #[arg(long, value_enum, default_value = "sandboxed", help_heading = "Engine")]
    pub python_mode: PythonModeArg,
    /// Seconds per python grader call.
    #[arg(
        long,
        default_value_t = 120.0,
        value_name = "SECS",
        help_heading = "Engine"
    )]
    pub python_timeout: f64,
    /// Memory limit of a python worker, in MiB.
    #[arg(
        long,
        default_value_t = 2048,
        value_name = "MIB",
        help_heading = "Engine"
    )]
    pub python_memory: u64,
    /// Number of python worker processes (default: from cores and memory).
    #[arg(long, value_name = "N", help_heading = "Engine")]
    pub python_workers: Option<usize>,
    /// A file or directory sandboxed python workers may also read (datasets, nltk_data, a venv
    /// outside the interpreter's prefix); repeat for several. Everything else stays unreadable.
    #[arg(long, value_name = "PATH", help_heading = "Engine")]
    pub python_read_path: Vec<PathBuf>,
    /// Base URL of the OpenAI-compatible judge (default $OPENAI_BASE_URL, else https://api.openai.com/v1).
    #[arg(long, value_name = "URL", help_heading = "Engine")]
    pub judge_base_url: Option<String>,
    /// API key of the judge (default $OPENAI_API_KEY). Never logged.
    #[arg(
        long,
        value_name = "KEY",
        hide_env_values = true,
        help_heading = "Engine"
    )]
    pub judge_api_key: Option<String>,
    /// Concurrent judge calls, independent of --threads.
    #[arg(long, default_value_t = 32, value_name = "N", help_heading = "Engine")]
    pub judge_concurrency: usize,
    /// Seconds per judge call attempt.
    #[arg(
        long,
        default_value_t = 60.0,
        value_name = "SECS",
        help_heading = "Engine"
    )]
    pub judge_timeout: f64,
    /// Directory of the content-addressed judge cache (off by default).
    #[arg(long, value_name = "DIR", help_heading = "Engine")]
    pub judge_cache: Option<PathBuf>,
    /// Embedding model of the text_similarity `cosine` metric.
    #[arg(
        long,
        default_value = "text-embedding-3-large",
        value_name = "MODEL",
        help_heading = "Engine"
    )]
    pub judge_embedding_model: String,
    /// How the judge is asked for structured output: json_schema (OpenAI, vLLM; falls back to
    /// json_object by itself when the server rejects it), json_object (llama-cpp-python) or none.
    #[arg(
        long,
        default_value = "json_schema",
        value_parser = ["json_schema", "json_object", "none"],
        help_heading = "Engine"
    )]
    pub judge_response_format: String,
    /// Which request field carries the grader's max_completions_tokens: max_completion_tokens
    /// (OpenAI), max_tokens (llama-cpp-python, LM Studio: they ignore the other) or both.
    #[arg(
        long,
        default_value = "max_completion_tokens",
        value_parser = ["max_completion_tokens", "max_tokens", "both"],
        help_heading = "Engine"
    )]
    pub judge_token_cap_field: String,
    /// Largest rendered template field and sample text, in bytes; a sample past it gets
    /// other_error naming the field and the limit (default 16 MiB).
    #[arg(long, default_value_t = gradekit_engine::DEFAULT_MAX_FIELD_BYTES, value_name = "BYTES", help_heading = "Engine")]
    pub max_field_bytes: usize,
}

impl EngineFlags {
    /// The engine options these flags describe.
    pub fn to_options(&self) -> Result<EngineOptions> {
        if !(self.python_timeout.is_finite() && self.python_timeout > 0.0) {
            anyhow::bail!("--python-timeout must be a positive number of seconds");
        }
        if !(self.judge_timeout.is_finite() && self.judge_timeout > 0.0) {
            anyhow::bail!("--judge-timeout must be a positive number of seconds");
        }
        if self.judge_concurrency == 0 {
            anyhow::bail!("--judge-concurrency must be at least 1");
        }
        let judge_concurrency = if self.judge_concurrency > MAX_JUDGE_CONCURRENCY {
            eprintln!(
                "warning: --judge-concurrency {} is more than {MAX_JUDGE_CONCURRENCY}; using {MAX_JUDGE_CONCURRENCY}",
                self.judge_concurrency
            );
            MAX_JUDGE_CONCURRENCY
        } else {
            self.judge_concurrency
        };
        if self.python_memory == 0 {
            anyhow::bail!("--python-memory must be at least 1 MiB");
        }
        if self.python_workers == Some(0) {
            anyhow::bail!("--python-workers must be at least 1");
        }
        if self.max_field_bytes == 0 {
            anyhow::bail!("--max-field-bytes must be at least 1");
        }
        let mut opts = EngineOptions::default();
        opts.max_field_bytes = self.max_field_bytes;
        opts.python = PythonRuntime::new(PythonOptions {
            mode: match self.python_mode {
                PythonModeArg::Sandboxed => PythonMode::Sandboxed,
                PythonModeArg::Process => PythonMode::Process,
                PythonModeArg::Embedded => PythonMode::Embedded,
            },
            timeout: Duration::try_from_secs_f64(self.python_timeout)
                .map_err(|_| anyhow::anyhow!("--python-timeout is out of range"))?,
            memory_mib: self.python_memory,
            workers: self.python_workers,
            extra_read_paths: self
                .python_read_path
                .iter()
                .map(|p| {
                    std::fs::canonicalize(p)
                        .map_err(|e| anyhow::anyhow!("--python-read-path {}: {e}", p.display()))
                })
                .collect::<Result<_>>()?,
            ..PythonOptions::default()
        });
        opts.judge_concurrency = judge_concurrency;
        opts.embedding_model = Some(self.judge_embedding_model.clone());
        let judge = std::sync::Arc::new(self.judge_client()?);
        opts.judge = Some(judge.clone());
        opts.embedder = Some(judge);
        Ok(opts)
    }

    /// The judge client these flags describe; built on the first judge call, so graders that
    /// never call one start nothing. The key is never printed.
    fn judge_client(&self) -> Result<LazyOpenAiClient> {
        let mut cfg = ClientConfig::from_env();
        if let Some(url) = &self.judge_base_url {
            cfg.base_url = url.clone();
        }
        if let Some(key) = &self.judge_api_key {
            cfg.api_key = Some(ApiKey::new(key.clone()));
        }
        cfg.concurrency = self.judge_concurrency.min(MAX_JUDGE_CONCURRENCY);
        cfg.timeout = Duration::try_from_secs_f64(self.judge_timeout)
            .map_err(|_| anyhow::anyhow!("--judge-timeout is out of range"))?;
        cfg.response_format = ResponseFormatMode::parse(&self.judge_response_format)
            .ok_or_else(|| anyhow::anyhow!("unknown --judge-response-format"))?;
        cfg.token_cap = TokenCapField::parse(&self.judge_token_cap_field)
            .ok_or_else(|| anyhow::anyhow!("unknown --judge-token-cap-field"))?;
        if let Some(dir) = &self.judge_cache {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!("cannot create --judge-cache {}: {e}", dir.display())
            })?;
            cfg.cache_dir = Some(dir.clone());
        }
        LazyOpenAiClient::new(cfg).map_err(|e| anyhow::anyhow!("{}", e.details))
    }
}
