//! The grading engine: grader JSON in, compiled grader out, rewards for samples.
//!
//! Three steps, never mixed (STYLE.md "parse, compile, evaluate"):
//! 1. **parse** — `gradekit_model::Grader::from_value` checks the shape of the config and
//!    collects every fault with its path;
//! 2. **compile** — [`compile`] turns the typed config into a [`CompiledGrader`]: templates
//!    parsed, formula variables bound to sub-grader slots, python source validated and loaded
//!    into a worker pool, judge client attached. Everything that can be checked without a
//!    sample is checked here, so grading does no parsing and no validation;
//! 3. **grade** — [`CompiledGrader::grade`] is a pure function of the sample and the item. A
//!    failed *sample* is data (reward 0 and an error flag), never an `Err` and never a panic.
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
//! ([`ConfigErrorKind`], [`EntryErrorKind`]).
//!
//! **Adding a grader type** (say `regex_check`) touches four code files, each step forced by
//! the compiler:
//! 1. `gradekit-model/src/grader.rs`: the config struct, the `Grader::RegexCheck` variant and
//!    its reader arm; every exhaustive `match` on `Grader` (`type_name`, `needs_judge`, …) then
//!    fails to compile until it has an arm;
//! 2. `gradekit-engine/src/graders/regex_check.rs`: `compile` (errors with paths) and `grade`;
//! 3. `gradekit-engine/src/graders/mod.rs`: the `Leaf::RegexCheck` variant, which the
//!    exhaustive matches of `Leaf::compile`, `grade`, `sample_parts` and `item_keys` require;
//! 4. `gradekit-engine/src/schedule.rs`: `Leaf::cost` and `Leaf::kind` (exhaustive too), so
//!    the server's workers, `score`, `lint`, the bindings and the fuzz target schedule it right.
//!
//! **Adding a text_similarity metric** (say `chrf`) touches four code files: the metric module
//! in `gradekit-metrics/src/` (a pure function) and its export in that crate's `lib.rs`; the
//! `Metric::Chrf` variant and its wire name in `gradekit-model/src/grader.rs`; its arm in
//! `gradekit-engine/src/graders/text_similarity.rs` (an exhaustive `match` on `Metric`).
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
mod io_pool;
mod name;
pub mod options;
mod refs;
mod result;
mod schedule;

pub use cancel::{Cancel, CancelOnDrop};
pub use compile::{compile, compile_for_run, validate, CompiledGrader};
pub use context::{EvalContext, SampleError};
pub use entry::{
    read_entry, resolve_item, EntryError, EntryErrorKind, EntryFields, EntryRules, EntrySample,
    RunRequest, SampleEntry, SampleKeys, SAMPLE_FIELDS,
};
pub use gradekit_judge as judge;
pub use gradekit_model as model;
pub use gradekit_model::{
    ConfigError, ConfigErrorKind, ConfigErrors, ErrorFlags, PathSegment, RunMetadata, RunResponse,
    TokenUsage,
};
pub use gradekit_python as python;
pub use name::{canonical_json, generated_name};
pub use options::{
    EngineOptions, EngineSpec, OptionError, OptionValue, DEFAULT_MAX_FIELD_BYTES, OPTIONS,
};
pub use refs::TemplateRef;
pub use result::GradeResult;
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
