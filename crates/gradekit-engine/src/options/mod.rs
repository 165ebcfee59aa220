//! Engine options: one spec, parsed by every edge, built in one place.
//!
//! The CLI (`run`, `score`, `lint`), the server (`gradekit serve`) and the Python bindings
//! (`Grader(config, **options)`) accept the same engine options. They used to build
//! [`EngineOptions`] each in their own way, with copied defaults, and drifted apart. Now, as in
//! ripgrep's `LowArgs` → `HiArgs`:
//!
//! 1. [`OPTIONS`] lists every option once: its Python keyword and CLI flag, the kind of value,
//!    the default as documented, its limits, its help, and the edges that take it
//!    ([`Edge`]). Help texts, the README table and the Python docstring are rendered from it,
//!    and tests hold the CLI's clap commands and Python's accepted keywords to it;
//! 2. [`EngineSpec`] is the plain data those options fill, with the defaults
//!    ([`EngineSpec::default`]) — the only place they live. An edge only turns its own input
//!    into [`OptionValue`]s and calls [`EngineSpec::set`], which checks the value and, on
//!    error, says which option was wrong ([`OptionError`], with a stable code);
//! 3. [`EngineSpec::build`] turns the spec into the runtime objects: the python runtime and the
//!    judge client (built lazily, on its first call), in [`EngineOptions`].
//!
//! **Deliberate exceptions** (where an option does not make sense, it is not offered; the
//! [`OptionDef::edges`] of each option say where it is):
//! - `threads` (CPU threads of batches) is not an option of `run` (one sample) nor of `lint`
//!   (a dry run grades a few hundred rows in order);
//! - every option is also an option of `lint`, which compiles and dry-runs the grader with
//!   them, except `threads`;
//! - edge settings that are not engine options stay with their edge: `score --max-line-bytes`
//!   (lines exist only there), the server's `--max-body`, `--timeout`, `--concurrency`, … (a
//!   Python process has no HTTP requests), and Python's `as_numpy=`.
//! - internals of the python sandbox (`PythonOptions::batch_size`, `init_timeout`, `file_mib`,
//!   `landlock_min_abi`) and of the judge client (backoff, body limit, call budget) are not
//!   options: they are tuned in code and documented in the README's limits tables.

mod build;
mod spec;

pub use spec::{
    Edge, EngineSpec, OptionDef, OptionError, OptionValue, ValueKind, MAX_JUDGE_CONCURRENCY,
    OPTIONS,
};

/// Options shared by every grader an engine compiles (python runtime, judge client, …). Built
/// by [`EngineSpec::build`]; `Default` is what an empty spec builds, minus the judge client
/// (`None` here means a process-wide client from `OPENAI_BASE_URL` / `OPENAI_API_KEY`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EngineOptions {
    /// Runs python graders; shared (cheap clone) so pools stay warm across compiles.
    pub python: gradekit_python::PythonRuntime,
    /// The chat judge of score_model / label_model. `None`: one process-wide OpenAI-compatible
    /// client configured from `OPENAI_BASE_URL` / `OPENAI_API_KEY`, built on first use.
    pub judge: Option<std::sync::Arc<dyn gradekit_judge::ChatScorer>>,
    /// The embedder of the text_similarity `cosine` metric (`None`: as for `judge`).
    pub embedder: Option<std::sync::Arc<dyn gradekit_judge::Embedder>>,
    /// Embedding model of `cosine` (`None`: `text-embedding-3-large`).
    pub embedding_model: Option<String>,
    /// Threads on which [`crate::CompiledGrader::grade_batch`] runs graders that call a judge:
    /// judge calls are I/O, so their parallelism follows this (`judge_concurrency`, default 32
    /// when 0), never the CPU count.
    pub judge_concurrency: usize,
    /// Size budget of one rendered template field and of the sample text, in bytes
    /// (`max_field_bytes`; 0 = [`DEFAULT_MAX_FIELD_BYTES`]). Past it the sample gets
    /// `other_error` with details naming the field and the limit; nothing is allocated first.
    pub max_field_bytes: usize,
}

/// Default of [`EngineOptions::max_field_bytes`]: 16 MiB per rendered field.
pub const DEFAULT_MAX_FIELD_BYTES: usize = 16 << 20;

impl EngineOptions {
    /// The effective per-field size budget.
    pub fn field_limit(&self) -> usize {
        match self.max_field_bytes {
            0 => DEFAULT_MAX_FIELD_BYTES,
            n => n,
        }
    }
}
