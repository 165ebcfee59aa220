//! `**engine_options` keyword arguments → [`EngineOptions`], mirroring the CLI's engine flags
//! (DESIGN.md §5): same names with `_` for `-`, same defaults, same checks.
//!
//! The parsed [`Spec`] is kept by each `Grader`, not only the options built from it: after a
//! `fork()` the child must not touch the parent's python worker pools or judge client (their
//! threads did not survive the fork), so a `Grader` used in a new process rebuilds its options
//! from the spec and recompiles (see `grader.rs`).

use gradekit_engine::judge::{
    ApiKey, ClientConfig, LazyOpenAiClient, ResponseFormatMode, TokenCapField,
};
use gradekit_engine::python::{PythonMode, PythonOptions, PythonRuntime};
use gradekit_engine::EngineOptions;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every accepted keyword, for the error message about unknown ones.
const KNOWN: &[&str] = &[
    "python_mode",
    "python_timeout",
    "python_memory",
    "python_workers",
    "python_executable",
    "judge_base_url",
    "judge_api_key",
    "judge_concurrency",
    "judge_timeout",
    "judge_cache",
    "judge_embedding_model",
    "judge_response_format",
    "judge_token_cap_field",
    "threads",
];

/// The engine options of one `Grader` (or one `validate`/`run` call), as given.
#[derive(Clone, Debug)]
pub struct Spec {
    python: PythonOptions,
    judge_base_url: Option<String>,
    judge_api_key: Option<String>,
    judge_concurrency: usize,
    judge_timeout: Duration,
    judge_cache: Option<PathBuf>,
    judge_embedding_model: String,
    judge_response_format: ResponseFormatMode,
    judge_token_cap_field: TokenCapField,
    /// Threads of CPU-bound batches (`None`: one per core).
    pub threads: Option<usize>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            python: PythonOptions::default(),
            judge_base_url: None,
            judge_api_key: None,
            judge_concurrency: 32,
            judge_timeout: Duration::from_secs(60),
            judge_cache: None,
            judge_embedding_model: "text-embedding-3-large".into(),
            judge_response_format: ResponseFormatMode::JsonSchema,
            judge_token_cap_field: TokenCapField::MaxCompletionTokens,
            threads: None,
        }
    }
}

/// `v` as a `T`, or a `TypeError` naming the option and what it takes.
fn typed<'py, T: FromPyObjectOwned<'py>>(
    v: &Bound<'py, PyAny>,
    key: &str,
    what: &str,
) -> PyResult<T> {
    // bool is an int in Python, never a sensible count or duration.
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{key} must be {what}, got bool"
        )));
    }
    v.extract::<T>().map_err(|_| {
        let got = v
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "object".into());
        PyTypeError::new_err(format!("{key} must be {what}, got {got} {}", short_repr(v)))
    })
}

fn short_repr(v: &Bound<'_, PyAny>) -> String {
    let r = v.repr().map(|r| r.to_string()).unwrap_or_default();
    match r.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &r[..i]),
        None => r,
    }
}

fn positive_secs(v: &Bound<'_, PyAny>, key: &str) -> PyResult<Duration> {
    let s: f64 = typed(v, key, "a number of seconds")?;
    if !(s.is_finite() && s > 0.0) {
        return Err(PyValueError::new_err(format!(
            "{key} must be a positive number of seconds, got {s}"
        )));
    }
    Duration::try_from_secs_f64(s)
        .map_err(|_| PyValueError::new_err(format!("{key} is out of range")))
}

fn at_least_one(v: &Bound<'_, PyAny>, key: &str) -> PyResult<usize> {
    let n: i64 = typed(v, key, "an int")?;
    usize::try_from(n)
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| PyValueError::new_err(format!("{key} must be at least 1, got {n}")))
}

impl Spec {
    /// Reads the keyword arguments; an unknown keyword is a `TypeError` naming it.
    pub fn from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Spec> {
        let mut s = Spec::default();
        let Some(kwargs) = kwargs else {
            return Ok(s);
        };
        let mut unknown = Vec::new();
        for (k, v) in kwargs.iter() {
            let key: String = typed(&k, "an engine option name", "a str")?;
            if v.is_none() {
                continue; // None = the default, as for the CLI flag left out
            }
            match key.as_str() {
                "python_mode" => {
                    let m: String = typed(&v, &key, "a str")?;
                    s.python.mode = m
                        .parse::<PythonMode>()
                        .map_err(|e| PyValueError::new_err(format!("{key}: {e}")))?;
                }
                "python_timeout" => s.python.timeout = positive_secs(&v, &key)?,
                "python_memory" => s.python.memory_mib = at_least_one(&v, &key)? as u64,
                "python_workers" => s.python.workers = Some(at_least_one(&v, &key)?),
                "python_executable" => {
                    s.python.python = Some(typed::<PathBuf>(&v, &key, "a path")?)
                }
                "judge_base_url" => s.judge_base_url = Some(typed(&v, &key, "a str")?),
                "judge_api_key" => s.judge_api_key = Some(typed(&v, &key, "a str")?),
                "judge_concurrency" => s.judge_concurrency = at_least_one(&v, &key)?,
                "judge_timeout" => s.judge_timeout = positive_secs(&v, &key)?,
                "judge_cache" => s.judge_cache = Some(typed::<PathBuf>(&v, &key, "a path")?),
                "judge_embedding_model" => s.judge_embedding_model = typed(&v, &key, "a str")?,
                "judge_response_format" => {
                    let f: String = typed(&v, &key, "a str")?;
                    s.judge_response_format = ResponseFormatMode::parse(&f).ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "unknown judge_response_format {f:?}; expected json_schema, json_object or none"
                        ))
                    })?;
                }
                "judge_token_cap_field" => {
                    let f: String = typed(&v, &key, "a str")?;
                    s.judge_token_cap_field = TokenCapField::parse(&f).ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "unknown judge_token_cap_field {f:?}; expected max_completion_tokens, max_tokens or both"
                        ))
                    })?;
                }
                "threads" => s.threads = Some(at_least_one(&v, &key)?),
                _ => unknown.push(key),
            }
        }
        if !unknown.is_empty() {
            return Err(PyTypeError::new_err(format!(
                "unexpected engine option{} {}; expected one of {}",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", "),
                KNOWN.join(", ")
            )));
        }
        Ok(s)
    }

    /// Fresh engine options for the current process: python runtime from the per-process
    /// cache, and a judge client that connects on its first call only.
    pub fn build(&self) -> PyResult<EngineOptions> {
        let mut opts = EngineOptions::default();
        opts.python = runtime(&self.python);
        opts.judge_concurrency = self.judge_concurrency;
        opts.embedding_model = Some(self.judge_embedding_model.clone());
        let mut cfg = ClientConfig::from_env();
        if let Some(url) = &self.judge_base_url {
            cfg.base_url = url.clone();
        }
        if let Some(key) = &self.judge_api_key {
            cfg.api_key = Some(ApiKey::new(key.clone()));
        }
        cfg.concurrency = self.judge_concurrency;
        cfg.timeout = self.judge_timeout;
        cfg.response_format = self.judge_response_format;
        cfg.token_cap = self.judge_token_cap_field;
        if let Some(dir) = &self.judge_cache {
            std::fs::create_dir_all(dir).map_err(|e| {
                PyValueError::new_err(format!("cannot create judge_cache {}: {e}", dir.display()))
            })?;
            cfg.cache_dir = Some(dir.clone());
        }
        let judge = Arc::new(
            LazyOpenAiClient::new(cfg).map_err(|e| PyValueError::new_err(e.details.clone()))?,
        );
        opts.judge = Some(judge.clone());
        opts.embedder = Some(judge);
        Ok(opts)
    }
}

/// One python runtime per distinct options per process, so graders that share a source share a
/// warm worker pool. The map belongs to the process that filled it: after a fork the child starts
/// an empty one and never drops (or talks to) the parent's pools.
fn runtime(opts: &PythonOptions) -> PythonRuntime {
    type Runtimes = (u32, HashMap<PythonOptions, PythonRuntime>);
    static RUNTIMES: Mutex<Option<Runtimes>> = Mutex::new(None);
    let pid = std::process::id();
    let mut guard = RUNTIMES.lock().unwrap_or_else(|p| p.into_inner());
    if guard.as_ref().is_some_and(|(p, _)| *p != pid) {
        // The parent's pools: their threads and pipes are not ours. Leak, never drop.
        std::mem::forget(guard.take());
    }
    let (_, map) = guard.get_or_insert_with(|| (pid, HashMap::new()));
    map.entry(opts.clone())
        .or_insert_with(|| PythonRuntime::new(opts.clone()))
        .clone()
}
