//! `score_model` — not part of this build yet: compiling one is a clear validation error (issue
//! #5), never a fake score.

use super::not_supported;
use crate::context::EvalContext;
use crate::result::{Failure, Usage};
use crate::EngineOptions;
use gradekit_model::{ConfigErrors, ScoreModelGrader};

/// Uninhabited until the implementation lands: no value of it can exist.
#[derive(Debug)]
pub(crate) struct ScoreModel {
    never: std::convert::Infallible,
}

impl ScoreModel {
    pub(crate) fn compile(
        _c: &ScoreModelGrader,
        path: &str,
        _opts: &EngineOptions,
        errs: &mut ConfigErrors,
    ) -> Option<ScoreModel> {
        errs.push(not_supported(path, "score_model graders", 5));
        None
    }

    pub(crate) fn grade(&self, _ctx: &EvalContext, _usage: &mut Usage) -> Result<f64, Failure> {
        match self.never {}
    }
}
