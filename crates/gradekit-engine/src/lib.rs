//! The grading engine: grader JSON in, compiled grader out, rewards for samples.
//!
//! Three steps, never mixed (STYLE.md "parse, compile, evaluate"):
//! 1. **parse** — `gradekit_model::Grader::read` checks the shape of the config and collects
//!    every fault with its path, into the typed tree;
//! 2. **compile** — [`compile`] turns the typed config into a [`CompiledGrader`]: templates
//!    parsed, formula variables bound to sub-grader slots, python source validated and loaded
//!    into a worker pool, judge client attached. Everything that can be checked without a
//!    sample is checked here, so grading does no parsing and no validation;
//! 3. **grade** — [`CompiledGrader::grade`] is a pure function of the sample and the item. A
//!    failed *sample* is data (reward 0 and an error flag), never an `Err` and never a panic.
//!
//! After parsing, the raw JSON is not looked at again: the typed tree is the single source of
//! the compiled grader, of the `/validate` echo and of the generated name (the tree keeps the
//! config's key order, nulls and number forms in `gradekit_model::Layout` / `Num`, so the echo
//! is the config as given; `tests/echo_roundtrip.rs` proves parse → echo → parse is the
//! identity). Template references come from the compiled templates themselves.
//!
//! A `CompiledGrader` is immutable and `Send + Sync`: compile once, share it across threads,
//! and grade millions of samples. [`CompiledGrader::grade_batch`] fans out over rayon and
//! returns results in input order.
//!
//! **The edges ask, the engine decides.** CLI, server and Python bindings only translate: one
//! sample-entry reader ([`SampleEntry`], [`EntryRules`]) says what a request, batch entry or
//! data line means; the compiled grader says how to schedule it ([`CompiledGrader::schedule`],
//! recursively over multi sub-graders), what it is made of ([`CompiledGrader::sub_graders`])
//! and what it reads ([`CompiledGrader::template_refs`]); errors are data with stable codes
//! ([`ConfigErrorKind`], [`EntryErrorKind`]). No edge matches grader `type` strings or has a
//! per-type arm: the server's dashboard prints `Grader::outline`, lint and the jobs service
//! read `template_refs`, workers and caches read `schedule`.
//!
//! **Adding a grader type** (say `regex_check`) touches four code files, each step after the
//! first forced by a compiler error (tried with a throwaway variant; `cargo check --workspace
//! --all-targets` then passes with no other file touched):
//! 1. `gradekit-model/src/grader/mod.rs`: the line `RegexCheck = "regex_check"` in
//!    `grader_types!`, the `RegexCheckGrader` config struct and the `Grader::RegexCheck`
//!    variant. E0004 ("`GraderType::RegexCheck` not covered", "`Grader::RegexCheck` not
//!    covered") then lists every exhaustive `match` of the file: `kind`, `name`,
//!    `pass_threshold`, `to_value` (the echo), `outline` (the server's dashboard) and the
//!    layout accessor; and of
//! 2. `gradekit-model/src/grader/read.rs`: the reader's dispatch on `GraderType`, which needs
//!    the arm that reads the new config;
//! 3. `gradekit-engine/src/graders/mod.rs`: `Leaf::compile` fails with E0004 on
//!    `Grader::RegexCheck`; adding the `Leaf::RegexCheck` variant makes E0004 list `Leaf::kind`,
//!    `cost` (scheduling: server workers, `score`, `lint`, the bindings, the fuzz target),
//!    `fields` (template references: lint, the jobs service; sample parts and item keys),
//!    `sees_everything` and `grade`;
//! 4. `gradekit-engine/src/graders/regex_check.rs`: the new module, `compile` (errors with
//!    config paths) and `grade`.
//!
//! **Adding a text_similarity metric** (say `chrf`) touches four code files, each after the
//! first forced by a compiler error (tried the same way):
//! 1. `gradekit-model/src/grader/mod.rs`: the line `Chrf = "chrf"` in `metrics!` (wire name,
//!    `Metric::ALL`, the reader and the echo follow from it); E0004 then names
//! 2. `gradekit-engine/src/graders/text_similarity.rs`: the arm of `local_metric`, mapping the
//!    wire metric onto gradekit-metrics' `Metric::Chrf`, which does not exist yet (E0599), so
//! 3. `gradekit-metrics/src/lib.rs`: the `Metric::Chrf` variant and `pub mod chrf;`; E0004
//!    names `Metric::name` and the dispatch of `score`, both in that file (append it to
//!    `Metric::ALL` too: the fuzz target and the metric tests iterate it, and the compiler does
//!    not check that list);
//! 4. `gradekit-metrics/src/chrf.rs`: the metric, a pure function `(input, reference) -> f64`.
//!
//! **Engine options** are one spec ([`options`]): a table of every option with its default
//! and limits, plain data ([`EngineSpec`]) that the CLI flags, the server's flags and Python's
//! keywords parse into, and one [`EngineSpec::build`] into [`EngineOptions`].
//!
//! `/validate` is "compile and report all errors" ([`validate`]); `/run` additionally accepts
//! a multi grader whose *only* fault is its formula, answering with `formula_parse_error`
//! ([`compile_for_run`]), as DESIGN.md §4 asks.

mod cancel;
mod compile;
mod context;
mod entry;
mod graders;
mod inputs;
mod io_pool;
mod name;
pub mod options;
mod refs;
mod result;
mod schedule;

pub use cancel::{Cancel, CancelOnDrop};
pub use compile::{compile, compile_for_run, validate, CompiledGrader};
pub use context::{EvalContext, GradeInput, SampleError};
pub use entry::{
    is_blank_line, read_entry, resolve_item, EntryError, EntryErrorKind, EntryFields, EntryRules,
    EntrySample, LeanContext, LeanItem, LeanSample, LeanValue, RunRequest, SampleEntry, SampleKeys,
    SAMPLE_FIELDS,
};
pub use gradekit_judge as judge;
/// Work a thread that would wait can do for the metrics of this process (`score`'s I/O thread
/// calls it: see `gradekit_metrics::warm`).
pub use gradekit_metrics::warm::idle_step as metrics_idle_step;
pub use gradekit_model as model;
pub use gradekit_model::{
    ConfigError, ConfigErrorKind, ConfigErrors, ErrorFlags, PathSegment, RunMetadata, RunResponse,
    TokenUsage,
};
pub use gradekit_python as python;
pub use gradekit_template::{Resolved, Scope};
pub use name::{canonical_json, generated_name};
pub use options::{
    EngineOptions, EngineSpec, OptionError, OptionValue, DEFAULT_MAX_FIELD_BYTES, OPTIONS,
};
pub use refs::TemplateRef;
pub use result::{Compact, GradeResult};
pub use schedule::{Cost, Schedule, SubGrader};

use serde_json::Value;

/// Answers a `/fine_tuning/alpha/graders/run` request body: the response, or every fault of
/// the request (paths inside the grader are prefixed `grader.`).
pub fn run(request: &Value, opts: &EngineOptions) -> Result<RunResponse, ConfigErrors> {
    let req = RunRequest::from_value(request.clone())?;
    let grader = compile_for_run(&req.grader, opts)
        .map_err(|e| ConfigErrors(e.0.into_iter().map(|x| x.prefixed("grader")).collect()))?;
    let (_, ctx) = req.context(grader.sample_parts())?;
    Ok(grader.run(&ctx))
}
