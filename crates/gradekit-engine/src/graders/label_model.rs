//! `label_model` — not part of this build yet: compiling one is a clear validation error (issue
//! #5), never a fake score.

use super::not_supported;
use crate::context::EvalContext;
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_model::{ConfigErrors, LabelModelGrader};

/// Uninhabited until the implementation lands: no value of it can exist.
#[derive(Debug)]
pub(crate) struct LabelModel {
    never: std::convert::Infallible,
}

impl LabelModel {
    pub(crate) fn compile(
        _c: &LabelModelGrader,
        path: &str,
        _opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<LabelModel> {
        errs.push(not_supported(path, "label_model graders", 5));
        None
    }

    pub(crate) fn grade(&self, _ctx: &EvalContext, _usage: &mut Usage) -> Result<f64, Failure> {
        match self.never {}
    }
}
