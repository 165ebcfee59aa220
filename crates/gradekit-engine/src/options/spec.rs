//! The option table ([`OPTIONS`]), the plain data it fills ([`EngineSpec`]) and the one check of
//! every value ([`EngineSpec::set`]).

use std::path::PathBuf;
use std::time::Duration;

use gradekit_judge::{
    ApiKey, ResponseFormatMode, RetryPolicy, TokenCapField, DEFAULT_CONCURRENCY,
    DEFAULT_EMBEDDING_MODEL, DEFAULT_TIMEOUT,
};
use gradekit_model::ConfigErrorKind;
use gradekit_python::{PythonMode, PythonOptions};

use super::DEFAULT_MAX_FIELD_BYTES;

/// Most judge calls in flight (each waits on a thread of the engine's I/O pool); more is
/// clamped, with a warning ([`EngineSpec::warnings`]).
pub const MAX_JUDGE_CONCURRENCY: usize = 1024;
/// Most retries of one judge call.
const MAX_JUDGE_RETRIES: u64 = 10;

/// An entry point that takes engine options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edge {
    /// `gradekit run`.
    Run,
    /// `gradekit score`.
    Score,
    /// `gradekit lint`.
    Lint,
    /// `gradekit serve` (the server).
    Serve,
    /// `gradekit.Grader(config, **options)`, `gradekit.validate`, `gradekit.run`.
    Python,
}

/// What an option's value is, and how it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// One of these names.
    Choice(&'static [&'static str]),
    /// A positive, finite number of seconds.
    Seconds,
    /// An integer in `min..=max`.
    Count { min: u64, max: u64 },
    /// Any string.
    Text,
    /// A file system path.
    Path,
    /// Several paths (the CLI flag repeats; Python takes a list or one path).
    Paths,
}

/// One engine option, as every edge shows it.
#[derive(Debug, Clone, Copy)]
pub struct OptionDef {
    /// The Python keyword (and the spec's name for it).
    pub name: &'static str,
    /// The CLI flag without its `--` (the name with `-` for `_`).
    pub flag: &'static str,
    pub kind: ValueKind,
    /// The CLI's value placeholder (`SECS`, `N`, …).
    pub value_name: &'static str,
    /// The default, as documented (checked against [`EngineSpec::default`] by a test).
    pub default: &'static str,
    /// The environment variable that changes the default, if any.
    pub env: Option<&'static str>,
    /// What values are accepted and what happens at the bounds, as documented.
    pub limits: &'static str,
    pub help: &'static str,
    /// Where the option is offered (see the module docs for the exceptions).
    pub edges: &'static [Edge],
}

impl OptionDef {
    /// Whether `edge` offers this option.
    pub fn applies_to(&self, edge: Edge) -> bool {
        self.edges.contains(&edge)
    }
}

const EVERYWHERE: &[Edge] = &[
    Edge::Run,
    Edge::Score,
    Edge::Lint,
    Edge::Serve,
    Edge::Python,
];
const BATCHES: &[Edge] = &[Edge::Score, Edge::Serve, Edge::Python];
const COUNT: ValueKind = ValueKind::Count {
    min: 1,
    max: u64::MAX,
};

/// Every engine option, in the order help texts list them.
pub static OPTIONS: &[OptionDef] = &[
    OptionDef {
        name: "python_mode",
        flag: "python-mode",
        kind: ValueKind::Choice(&["sandboxed", "process", "embedded"]),
        value_name: "MODE",
        default: "sandboxed",
        env: None,
        limits: "sandboxed, process or embedded (cargo feature `embedded`); the server refuses the last two without --allow-untrusted-python",
        help: "How python graders run: sandboxed worker processes (namespaces, Landlock, seccomp, rlimits), process (no isolation: trusted code only) or embedded (in-process pyo3: trusted code only).",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_timeout",
        flag: "python-timeout",
        kind: ValueKind::Seconds,
        value_name: "SECS",
        default: "120",
        env: None,
        limits: "> 0; a hard deadline kills the worker min(max(t/2, 0.5 s), 10 s) later",
        help: "Seconds per python grader call.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_memory",
        flag: "python-memory",
        kind: COUNT,
        value_name: "MIB",
        default: "2048",
        env: None,
        limits: ">= 1",
        help: "Memory limit (RLIMIT_AS) of a python worker, in MiB.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_workers",
        flag: "python-workers",
        kind: COUNT,
        value_name: "N",
        default: "min(cores, 75% of RAM / python_memory)",
        env: None,
        limits: ">= 1",
        help: "Python worker processes per grader.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_max_workers",
        flag: "python-max-workers",
        kind: COUNT,
        value_name: "N",
        default: "max(4, 2 × cores)",
        env: Some("GRADEKIT_PYTHON_MAX_WORKERS"),
        limits: ">= 1; process-wide (the last value set wins)",
        help: "Live python workers in the whole process, all graders together; an idle worker of the least recently used grader makes room.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_executable",
        flag: "python-executable",
        kind: ValueKind::Path,
        value_name: "PATH",
        default: "python3 from PATH",
        env: None,
        limits: "an interpreter with the packages graders import",
        help: "The Python interpreter python graders run in.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_read_path",
        flag: "python-read-path",
        kind: ValueKind::Paths,
        value_name: "PATH",
        default: "none",
        env: None,
        limits: "existing files or directories; the CLI flag repeats, Python takes a list",
        help: "Files or directories sandboxed python workers may also read (datasets, nltk_data, a venv outside the interpreter's prefix). Everything else stays unreadable.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_idle_timeout",
        flag: "python-idle-timeout",
        kind: ValueKind::Seconds,
        value_name: "SECS",
        default: "60",
        env: Some("GRADEKIT_PYTHON_IDLE_TIMEOUT"),
        limits: "> 0",
        help: "An idle python worker exits after this long without work; the next call starts a new one.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "python_scratch",
        flag: "python-scratch",
        kind: ValueKind::Count {
            min: 0,
            max: u64::MAX,
        },
        value_name: "MIB",
        default: "1024",
        env: Some("GRADEKIT_PYTHON_SCRATCH_MIB"),
        limits: "0 = unlimited; also caps one file's size",
        help: "Bytes one python worker's private scratch directory may hold, in MiB; past it the worker is killed and its sample fails.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_base_url",
        flag: "judge-base-url",
        kind: ValueKind::Text,
        value_name: "URL",
        default: "https://api.openai.com/v1",
        env: Some("OPENAI_BASE_URL"),
        limits: "an http:// or https:// URL up to the version segment",
        help: "Base URL of the OpenAI-compatible judge of score_model, label_model and cosine.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_api_key",
        flag: "judge-api-key",
        kind: ValueKind::Text,
        value_name: "KEY",
        default: "the variable judge_api_key_env names",
        env: None,
        limits: "never logged nor echoed",
        help: "API key of the judge.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_api_key_env",
        flag: "judge-api-key-env",
        kind: ValueKind::Text,
        value_name: "VAR",
        default: "OPENAI_API_KEY",
        env: None,
        limits: "a variable name; another name than the default must be set",
        help: "Environment variable that holds the judge's API key when judge_api_key is not given.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_timeout",
        flag: "judge-timeout",
        kind: ValueKind::Seconds,
        value_name: "SECS",
        default: "60",
        env: None,
        limits: "> 0; a call takes at most (retries + 1) × this",
        help: "Seconds per judge call attempt.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_retries",
        flag: "judge-retries",
        kind: ValueKind::Count {
            min: 0,
            max: MAX_JUDGE_RETRIES,
        },
        value_name: "N",
        default: "2",
        env: None,
        limits: "0 to 10",
        help: "Retries of a judge call after a timeout, a connection error, 408, 409, 429 or 5xx.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_concurrency",
        flag: "judge-concurrency",
        kind: COUNT,
        value_name: "N",
        default: "32",
        env: None,
        limits: ">= 1; more than 1024 is clamped to 1024 with a warning",
        help: "Judge calls in flight at once, independent of threads.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_cache",
        flag: "judge-cache",
        kind: ValueKind::Path,
        value_name: "DIR",
        default: "off",
        env: None,
        limits: "a directory (created when missing)",
        help: "Directory of a content-addressed cache of judge calls: a re-run calls nothing.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_embedding_model",
        flag: "judge-embedding-model",
        kind: ValueKind::Text,
        value_name: "MODEL",
        default: DEFAULT_EMBEDDING_MODEL,
        env: None,
        limits: "non-empty",
        help: "Embedding model of the text_similarity cosine metric.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_response_format",
        flag: "judge-response-format",
        kind: ValueKind::Choice(&["json_schema", "json_object", "none"]),
        value_name: "FORMAT",
        default: "json_schema",
        env: None,
        limits: "json_schema falls back to json_object once per client when the server rejects it",
        help: "How the judge is asked for structured output: json_schema (OpenAI, vLLM), json_object (llama-cpp-python) or none.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "judge_token_cap_field",
        flag: "judge-token-cap-field",
        kind: ValueKind::Choice(&["max_completion_tokens", "max_tokens", "both"]),
        value_name: "FIELD",
        default: "max_completion_tokens",
        env: None,
        limits: "max_completion_tokens, max_tokens or both",
        help: "Request field that carries the grader's max_completions_tokens: max_completion_tokens (OpenAI), max_tokens (llama-cpp-python and LM Studio ignore the other) or both.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "max_field_bytes",
        flag: "max-field-bytes",
        kind: COUNT,
        value_name: "BYTES",
        default: "16777216",
        env: None,
        limits: ">= 1; a sample past it gets other_error naming the field and the limit",
        help: "Largest rendered template field and sample text, in bytes.",
        edges: EVERYWHERE,
    },
    OptionDef {
        name: "threads",
        flag: "threads",
        kind: COUNT,
        value_name: "N",
        default: "one per core",
        env: None,
        limits: ">= 1; score clamps to 4 per core with a warning",
        help: "CPU threads that grade batches (score's lines, the server's requests, Python's grade_batch and rewards).",
        edges: BATCHES,
    },
];

/// The definition of option `name`, if there is one.
pub fn option(name: &str) -> Option<&'static OptionDef> {
    OPTIONS.iter().find(|d| d.name == name)
}

/// A value as an edge read it: the CLI gives text, Python gives typed values.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Text(String),
    Int(i64),
    Float(f64),
    Path(PathBuf),
    Paths(Vec<PathBuf>),
}

/// A value an option does not accept (or an option that does not exist). `option` is the
/// spec's name; each edge shows it its own way ([`OptionError::shown_as`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{option} {message}")]
pub struct OptionError {
    pub option: String,
    /// `unknown_field` (no such option), `invalid_type`, `invalid_value`, `unknown_value`.
    pub kind: ConfigErrorKind,
    /// What is wrong, to follow the option's name (`must be at least 1, got 0`).
    pub message: String,
}

impl OptionError {
    pub(crate) fn new(option: &str, kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        OptionError {
            option: option.to_string(),
            kind,
            message: message.into(),
        }
    }

    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The message with the option named as `name` (`--judge-timeout`, `judge_timeout`).
    pub fn shown_as(&self, name: &str) -> String {
        format!("{name} {}", self.message)
    }

    /// The message with the option named by its CLI flag.
    pub fn for_cli(&self) -> String {
        match option(&self.option) {
            Some(d) => self.shown_as(&format!("--{}", d.flag)),
            None => self.shown_as(&format!("--{}", self.option.replace('_', "-"))),
        }
    }
}

/// The engine options as plain data, defaults included ([`Default`]): what every edge parses
/// into. [`EngineSpec::build`] turns it into [`super::EngineOptions`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSpec {
    pub python_mode: PythonMode,
    pub python_timeout: Duration,
    pub python_memory: u64,
    /// `None`: from cores and memory.
    pub python_workers: Option<usize>,
    /// `None`: the process-wide default (env `GRADEKIT_PYTHON_MAX_WORKERS`, else max(4, 2 ×
    /// cores)).
    pub python_max_workers: Option<usize>,
    pub python_executable: Option<PathBuf>,
    pub python_read_path: Vec<PathBuf>,
    pub python_idle_timeout: Duration,
    /// MiB; 0 = unlimited.
    pub python_scratch: u64,
    /// `None`: `$OPENAI_BASE_URL`, else OpenAI's.
    pub judge_base_url: Option<String>,
    /// `None`: the variable [`Self::judge_api_key_env`] names. `Debug` redacts it.
    pub judge_api_key: Option<ApiKey>,
    pub judge_api_key_env: String,
    pub judge_timeout: Duration,
    pub judge_retries: u32,
    pub judge_concurrency: usize,
    pub judge_cache: Option<PathBuf>,
    pub judge_embedding_model: String,
    pub judge_response_format: ResponseFormatMode,
    pub judge_token_cap_field: TokenCapField,
    pub max_field_bytes: usize,
    /// `None`: one per core.
    pub threads: Option<usize>,
}

impl Default for EngineSpec {
    fn default() -> Self {
        // The python defaults that environment variables may change are read there, once.
        let py = PythonOptions::default();
        EngineSpec {
            python_mode: py.mode,
            python_timeout: py.timeout,
            python_memory: py.memory_mib,
            python_workers: py.workers,
            python_max_workers: None,
            python_executable: py.python,
            python_read_path: py.extra_read_paths,
            python_idle_timeout: py.idle_timeout,
            python_scratch: py.scratch_mib,
            judge_base_url: None,
            judge_api_key: None,
            judge_api_key_env: "OPENAI_API_KEY".into(),
            judge_timeout: DEFAULT_TIMEOUT,
            judge_retries: RetryPolicy::default().max_retries,
            judge_concurrency: DEFAULT_CONCURRENCY,
            judge_cache: None,
            judge_embedding_model: DEFAULT_EMBEDDING_MODEL.into(),
            judge_response_format: ResponseFormatMode::JsonSchema,
            judge_token_cap_field: TokenCapField::MaxCompletionTokens,
            max_field_bytes: DEFAULT_MAX_FIELD_BYTES,
            threads: None,
        }
    }
}

fn invalid(def: &OptionDef, message: String) -> OptionError {
    OptionError::new(def.name, ConfigErrorKind::InvalidValue, message)
}

fn wrong_type(def: &OptionDef, what: &str, got: &OptionValue) -> OptionError {
    let got = match got {
        OptionValue::Text(s) => format!("{s:?}"),
        OptionValue::Int(n) => n.to_string(),
        OptionValue::Float(x) => x.to_string(),
        OptionValue::Path(p) => format!("the path {}", p.display()),
        OptionValue::Paths(_) => "a list of paths".into(),
    };
    OptionError::new(
        def.name,
        ConfigErrorKind::InvalidType,
        format!("must be {what}, got {got}"),
    )
}

fn seconds(def: &OptionDef, v: &OptionValue) -> Result<Duration, OptionError> {
    let s = match v {
        OptionValue::Float(x) => *x,
        OptionValue::Int(n) => *n as f64,
        OptionValue::Text(t) => t
            .trim()
            .parse::<f64>()
            .map_err(|_| wrong_type(def, "a number of seconds", v))?,
        _ => return Err(wrong_type(def, "a number of seconds", v)),
    };
    if !(s.is_finite() && s > 0.0) {
        return Err(invalid(
            def,
            format!("must be a positive number of seconds, got {s}"),
        ));
    }
    Duration::try_from_secs_f64(s).map_err(|_| invalid(def, format!("is out of range: {s}")))
}

fn count(def: &OptionDef, v: &OptionValue) -> Result<u64, OptionError> {
    let ValueKind::Count { min, max } = def.kind else {
        return Err(invalid(def, "is not a count".into()));
    };
    let n: i128 = match v {
        OptionValue::Int(n) => i128::from(*n),
        OptionValue::Text(t) => t
            .trim()
            .parse::<i128>()
            .map_err(|_| wrong_type(def, "an integer", v))?,
        _ => return Err(wrong_type(def, "an integer", v)),
    };
    if n < i128::from(min) {
        return Err(invalid(def, format!("must be at least {min}, got {n}")));
    }
    if n > i128::from(max) {
        return Err(invalid(def, format!("must be at most {max}, got {n}")));
    }
    u64::try_from(n).map_err(|_| invalid(def, format!("is too large: {n}")))
}

fn size(def: &OptionDef, v: &OptionValue) -> Result<usize, OptionError> {
    let n = count(def, v)?;
    usize::try_from(n).map_err(|_| invalid(def, format!("is too large: {n}")))
}

fn text(def: &OptionDef, v: &OptionValue) -> Result<String, OptionError> {
    match v {
        OptionValue::Text(s) => Ok(s.clone()),
        _ => Err(wrong_type(def, "a string", v)),
    }
}

fn choice(def: &OptionDef, v: &OptionValue) -> Result<String, OptionError> {
    let s = text(def, v)?;
    match def.kind {
        ValueKind::Choice(names) if names.contains(&s.as_str()) => Ok(s),
        ValueKind::Choice(names) => Err(OptionError::new(
            def.name,
            ConfigErrorKind::UnknownValue,
            format!("must be one of {}; got {s:?}", names.join(", ")),
        )),
        _ => Ok(s),
    }
}

fn path(def: &OptionDef, v: &OptionValue) -> Result<PathBuf, OptionError> {
    let p = match v {
        OptionValue::Path(p) => p.clone(),
        OptionValue::Text(s) => PathBuf::from(s),
        _ => return Err(wrong_type(def, "a path", v)),
    };
    if p.as_os_str().is_empty() {
        return Err(invalid(def, "must not be an empty path".into()));
    }
    Ok(p)
}

fn non_empty(def: &OptionDef, s: String) -> Result<String, OptionError> {
    if s.trim().is_empty() {
        return Err(invalid(def, "must not be empty".into()));
    }
    Ok(s)
}

impl EngineSpec {
    /// Sets option `name` (its Python keyword) from `value`, checking it. A list option
    /// ([`ValueKind::Paths`]) given one path or one text appends it (a repeated CLI flag); a
    /// list replaces it.
    pub fn set(&mut self, name: &str, value: OptionValue) -> Result<(), OptionError> {
        let Some(def) = option(name) else {
            return Err(OptionError::new(
                name,
                ConfigErrorKind::UnknownField,
                format!(
                    "is not an engine option; expected one of {}",
                    OPTIONS
                        .iter()
                        .map(|d| d.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let v = &value;
        match def.name {
            "python_mode" => {
                self.python_mode = choice(def, v)?
                    .parse()
                    .map_err(|e: String| invalid(def, e))?
            }
            "python_timeout" => self.python_timeout = seconds(def, v)?,
            "python_memory" => self.python_memory = count(def, v)?,
            "python_workers" => self.python_workers = Some(size(def, v)?),
            "python_max_workers" => self.python_max_workers = Some(size(def, v)?),
            "python_executable" => self.python_executable = Some(path(def, v)?),
            "python_read_path" => match value {
                OptionValue::Paths(list) => {
                    if list.iter().any(|p| p.as_os_str().is_empty()) {
                        return Err(invalid(def, "must not hold an empty path".into()));
                    }
                    self.python_read_path = list;
                }
                other => self.python_read_path.push(path(def, &other)?),
            },
            "python_idle_timeout" => self.python_idle_timeout = seconds(def, v)?,
            "python_scratch" => self.python_scratch = count(def, v)?,
            "judge_base_url" => {
                let url = non_empty(def, text(def, v)?)?;
                // The judge crate's own check of the URL's shape, without a network.
                gradekit_judge::ClientConfig::for_base_url(url.clone())
                    .validate()
                    .map_err(|e| invalid(def, format!("is not usable: {}", e.details)))?;
                self.judge_base_url = Some(url);
            }
            "judge_api_key" => self.judge_api_key = Some(ApiKey::new(text(def, v)?)),
            "judge_api_key_env" => {
                let var = non_empty(def, text(def, v)?)?;
                if var.contains(['=', '\0']) {
                    return Err(invalid(
                        def,
                        format!("must be a variable name, got {var:?}"),
                    ));
                }
                self.judge_api_key_env = var;
            }
            "judge_timeout" => self.judge_timeout = seconds(def, v)?,
            "judge_retries" => {
                self.judge_retries = u32::try_from(count(def, v)?)
                    .map_err(|_| invalid(def, "is too large".into()))?
            }
            "judge_concurrency" => self.judge_concurrency = size(def, v)?,
            "judge_cache" => self.judge_cache = Some(path(def, v)?),
            "judge_embedding_model" => self.judge_embedding_model = non_empty(def, text(def, v)?)?,
            "judge_response_format" => {
                self.judge_response_format = ResponseFormatMode::parse(&choice(def, v)?)
                    .ok_or_else(|| invalid(def, "has no such format".into()))?
            }
            "judge_token_cap_field" => {
                self.judge_token_cap_field = TokenCapField::parse(&choice(def, v)?)
                    .ok_or_else(|| invalid(def, "has no such field".into()))?
            }
            "max_field_bytes" => self.max_field_bytes = size(def, v)?,
            "threads" => self.threads = Some(size(def, v)?),
            // A table entry without an arm: caught by the tests, never reachable by users.
            other => {
                return Err(OptionError::new(
                    other,
                    ConfigErrorKind::Unsupported,
                    "is listed but not wired into EngineSpec::set",
                ))
            }
        }
        Ok(())
    }

    /// The current value of option `name` in CLI spelling; `None` when it is unset (its default
    /// is computed at build time) or a secret.
    pub fn shown(&self, name: &str) -> Option<String> {
        let secs = |d: Duration| {
            let s = d.as_secs_f64();
            format!("{s}")
        };
        let paths = |v: &[PathBuf]| {
            (!v.is_empty()).then(|| {
                v.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
        };
        Some(match name {
            "python_mode" => match self.python_mode {
                PythonMode::Sandboxed => "sandboxed",
                PythonMode::Process => "process",
                PythonMode::Embedded => "embedded",
            }
            .to_string(),
            "python_timeout" => secs(self.python_timeout),
            "python_memory" => self.python_memory.to_string(),
            "python_workers" => self.python_workers?.to_string(),
            "python_max_workers" => self.python_max_workers?.to_string(),
            "python_executable" => self.python_executable.as_ref()?.display().to_string(),
            "python_read_path" => paths(&self.python_read_path)?,
            "python_idle_timeout" => secs(self.python_idle_timeout),
            "python_scratch" => self.python_scratch.to_string(),
            "judge_base_url" => self.judge_base_url.clone()?,
            "judge_api_key_env" => self.judge_api_key_env.clone(),
            "judge_timeout" => secs(self.judge_timeout),
            "judge_retries" => self.judge_retries.to_string(),
            "judge_concurrency" => self.judge_concurrency.to_string(),
            "judge_cache" => self.judge_cache.as_ref()?.display().to_string(),
            "judge_embedding_model" => self.judge_embedding_model.clone(),
            "judge_response_format" => match self.judge_response_format {
                ResponseFormatMode::JsonSchema => "json_schema",
                ResponseFormatMode::JsonObject => "json_object",
                ResponseFormatMode::None => "none",
            }
            .to_string(),
            "judge_token_cap_field" => match self.judge_token_cap_field {
                TokenCapField::MaxCompletionTokens => "max_completion_tokens",
                TokenCapField::MaxTokens => "max_tokens",
                TokenCapField::Both => "both",
            }
            .to_string(),
            "max_field_bytes" => self.max_field_bytes.to_string(),
            "threads" => self.threads?.to_string(),
            _ => return None,
        })
    }

    /// Values that were accepted but changed, as (option, message to follow its name).
    pub fn warnings(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.judge_concurrency > MAX_JUDGE_CONCURRENCY {
            out.push((
                "judge_concurrency",
                format!(
                    "{} is more than {MAX_JUDGE_CONCURRENCY}; using {MAX_JUDGE_CONCURRENCY}",
                    self.judge_concurrency
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A value each option accepts, by kind.
    fn example(def: &OptionDef) -> OptionValue {
        match def.kind {
            ValueKind::Choice(names) => OptionValue::Text(names[names.len() - 1].into()),
            ValueKind::Seconds => OptionValue::Float(2.5),
            ValueKind::Count { min, .. } => OptionValue::Int(min as i64 + 1),
            ValueKind::Text if def.name == "judge_base_url" => {
                OptionValue::Text("http://127.0.0.1:9/v1".into())
            }
            ValueKind::Text => OptionValue::Text("X".into()),
            ValueKind::Path => OptionValue::Path("/tmp".into()),
            ValueKind::Paths => OptionValue::Paths(vec!["/tmp".into()]),
        }
    }

    #[test]
    fn every_listed_option_is_wired_and_changes_the_spec() {
        for def in OPTIONS {
            let mut s = EngineSpec::default();
            s.set(def.name, example(def))
                .unwrap_or_else(|e| panic!("{}: {e}", def.name));
            assert_ne!(s, EngineSpec::default(), "{} changed nothing", def.name);
        }
    }

    #[test]
    fn names_flags_and_edges_are_consistent() {
        let mut seen = std::collections::HashSet::new();
        for def in OPTIONS {
            assert!(seen.insert(def.name), "{} listed twice", def.name);
            assert_eq!(def.flag, def.name.replace('_', "-"));
            assert!(!def.edges.is_empty() && !def.help.is_empty() && !def.limits.is_empty());
            assert!(def.applies_to(Edge::Python) || def.applies_to(Edge::Serve));
        }
    }

    /// The documented defaults are the real ones (where no environment variable changes them).
    #[test]
    fn documented_defaults_are_the_defaults() {
        let spec = EngineSpec::default();
        for def in OPTIONS {
            if def.env.is_some_and(|v| std::env::var_os(v).is_some()) {
                continue;
            }
            if let Some(shown) = spec.shown(def.name) {
                assert_eq!(shown, def.default, "{}", def.name);
            }
        }
    }

    #[test]
    fn bad_values_name_the_option_with_a_code() {
        let mut s = EngineSpec::default();
        let cases: &[(&str, OptionValue, &str, &str)] = &[
            (
                "threads",
                OptionValue::Int(0),
                "invalid_value",
                "must be at least 1, got 0",
            ),
            (
                "threads",
                OptionValue::Text("four".into()),
                "invalid_type",
                "must be an integer",
            ),
            (
                "judge_timeout",
                OptionValue::Float(-1.0),
                "invalid_value",
                "positive number",
            ),
            (
                "judge_timeout",
                OptionValue::Float(f64::NAN),
                "invalid_value",
                "positive number",
            ),
            (
                "judge_retries",
                OptionValue::Int(11),
                "invalid_value",
                "at most 10",
            ),
            (
                "python_mode",
                OptionValue::Text("docker".into()),
                "unknown_value",
                "sandboxed, process",
            ),
            (
                "judge_base_url",
                OptionValue::Text("ftp://x/v1".into()),
                "invalid_value",
                "http://",
            ),
            (
                "judge_api_key_env",
                OptionValue::Text("A=B".into()),
                "invalid_value",
                "variable name",
            ),
            (
                "judge_token_cap_field",
                OptionValue::Text("max_token".into()),
                "unknown_value",
                "max_tokens",
            ),
            (
                "python_read_path",
                OptionValue::Text(String::new()),
                "invalid_value",
                "empty",
            ),
            (
                "thread",
                OptionValue::Int(1),
                "unknown_field",
                "not an engine option",
            ),
        ];
        for (name, v, code, part) in cases {
            let e = s.set(name, v.clone()).unwrap_err();
            assert_eq!(e.option, *name);
            assert_eq!(e.code(), *code, "{name}: {e}");
            assert!(e.message.contains(part), "{name}: {e}");
        }
        let e = s.set("judge_timeout", OptionValue::Int(0)).unwrap_err();
        assert_eq!(
            e.for_cli(),
            "--judge-timeout must be a positive number of seconds, got 0"
        );
        assert_eq!(e.shown_as("judge_timeout"), e.to_string());
        assert_eq!(s, EngineSpec::default(), "a rejected value changes nothing");
    }

    #[test]
    fn read_paths_append_from_text_and_replace_from_a_list() {
        let mut s = EngineSpec::default();
        s.set("python_read_path", OptionValue::Text("/a".into()))
            .unwrap();
        s.set("python_read_path", OptionValue::Text("/b".into()))
            .unwrap();
        assert_eq!(
            s.python_read_path,
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        s.set("python_read_path", OptionValue::Paths(vec!["/c".into()]))
            .unwrap();
        assert_eq!(s.python_read_path, [PathBuf::from("/c")]);
    }

    #[test]
    fn the_key_is_never_shown() {
        let mut s = EngineSpec::default();
        s.set("judge_api_key", OptionValue::Text("sk-secret".into()))
            .unwrap();
        assert!(!format!("{s:?}").contains("sk-secret"));
        assert_eq!(s.shown("judge_api_key"), None);
    }

    #[test]
    fn too_much_judge_concurrency_is_a_warning() {
        let mut s = EngineSpec::default();
        s.set("judge_concurrency", OptionValue::Int(5000)).unwrap();
        assert_eq!(s.warnings()[0].0, "judge_concurrency");
    }
}
