//! `python` — OpenAI's python grader: `source` defines `grade(sample, item)` returning a number.
//! Compilation (size, `image_tag`, syntax, a two-argument `grade`) and execution live in
//! `gradekit-python` (sandboxed worker pool by default); this module maps its outcomes onto the
//! wire's flags (research/python-graders.md §5.8): grader-caused failures →
//! `python_grader_runtime_error` + details, engine-side ones → `python_grader_server_error` +
//! its type.

use super::join;
use crate::cancel::Cancel;
use crate::context::{EvalContext, GradeInput};
use crate::result::{Failure, GradeResult};
use crate::EngineOptions;
use gradekit_model::{ConfigError, ConfigErrorKind, ConfigErrors, ErrorFlags, PythonGrader};
use gradekit_python::{CompileErrorKind, PyOutcome, PythonProgram};
use indexmap::IndexMap;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct Python {
    program: PythonProgram,
}

impl Python {
    pub(crate) fn compile(
        c: &PythonGrader,
        path: &str,
        opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<Python> {
        match opts.python.compile(&c.source, c.image_tag.as_deref()) {
            Ok(program) => Some(Python { program }),
            Err(e) => {
                let (field, kind) = match e.kind {
                    CompileErrorKind::ImageTag => ("image_tag", ConfigErrorKind::UnknownValue),
                    CompileErrorKind::TooLarge => ("source", ConfigErrorKind::TooLarge),
                    CompileErrorKind::EmbeddedNotBuilt => ("source", ConfigErrorKind::Unsupported),
                    // Syntax, Module, NoGrade, Signature and kinds the python crate adds later
                    // (its enum is non-exhaustive): the source does not load.
                    _ => ("source", ConfigErrorKind::PythonSource),
                };
                errs.push(ConfigError::with(kind, join(path, field), e.message));
                None
            }
        }
    }

    pub(crate) fn grade(&self, input: &dyn GradeInput) -> Result<f64, Failure> {
        let ctx = input.eval_context();
        outcome(self.program.grade(&ctx.sample, &ctx.item))
    }

    /// [`Self::grade`] whose call is stopped (its worker killed) once `cancel` fires.
    pub(crate) fn grade_until(
        &self,
        input: &dyn GradeInput,
        cancel: &Cancel,
    ) -> Result<f64, Failure> {
        let ctx = input.eval_context();
        let pair = [(&ctx.sample, &ctx.item)];
        let mut outs = self.program.grade_batch_until(&pair, &cancel.checker());
        outcome(outs.pop().unwrap_or(PyOutcome::ServerError {
            error_type: "internal".into(),
            details: "no result".into(),
        }))
    }

    /// A whole batch in frames of many samples (the pool's fast path; one frame per sample
    /// costs ~3× more per call).
    /// With `cancel`, a frame whose token fires is stopped (its worker killed) within a second.
    pub(crate) fn grade_batch(
        &self,
        ctxs: &[EvalContext],
        cancel: Option<&Cancel>,
    ) -> Vec<GradeResult> {
        let start = Instant::now();
        let pairs: Vec<_> = ctxs.iter().map(|c| (&c.sample, &c.item)).collect();
        let outs = match cancel {
            Some(c) => self.program.grade_batch_until(&pairs, &c.checker()),
            None => self.program.grade_batch(&pairs),
        };
        let each = start.elapsed().as_secs_f64() / ctxs.len().max(1) as f64;
        outs.into_iter()
            .map(|o| {
                let mut errors = ErrorFlags::default();
                let reward = match outcome(o) {
                    Ok(r) => r,
                    Err(f) => {
                        f.apply(&mut errors);
                        0.0
                    }
                };
                GradeResult {
                    reward,
                    sub_rewards: IndexMap::new(),
                    errors,
                    execution_time: each,
                    token_usage: None,
                    sampled_model_name: None,
                    usage_per_model: IndexMap::new(),
                }
            })
            .collect()
    }
}

fn outcome(o: PyOutcome) -> Result<f64, Failure> {
    match o {
        PyOutcome::Reward(r) => Ok(r),
        PyOutcome::RuntimeError { details } => Err(Failure::PythonRuntime(details)),
        PyOutcome::ServerError {
            error_type,
            details,
        } => Err(Failure::PythonServer {
            error_type,
            details,
        }),
    }
}
