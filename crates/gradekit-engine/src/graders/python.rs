//! `python` — not part of this build yet: compiling one is a clear validation error (issue
//! #4), never a fake score.

use super::not_supported;
use crate::context::EvalContext;
use crate::result::Failure;
use crate::EngineOptions;
use gradekit_model::{ConfigErrors, PythonGrader};

/// Uninhabited until the implementation lands: no value of it can exist.
#[derive(Debug)]
pub(crate) struct Python {
    never: std::convert::Infallible,
}

impl Python {
    pub(crate) fn compile(
        _c: &PythonGrader,
        path: &str,
        _opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<Python> {
        errs.push(not_supported(path, "python graders", 4));
        None
    }

    pub(crate) fn grade(&self, _ctx: &EvalContext) -> Result<f64, Failure> {
        match self.never {}
    }
}
