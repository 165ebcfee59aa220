//! `string_check`: eq / ne / like / ilike on the rendered input and reference.
//!
//! No trimming and no Unicode normalisation. `like` means *input contains reference* (an empty
//! reference is always contained). `ilike` lower-cases both sides the way Python's
//! `str.lower()` does — Rust's `str::to_lowercase` uses the same full Unicode mapping — which
//! is not case folding: "STRASSE" does not contain "straße".

use super::{join, render, template};
use crate::context::EvalContext;
use crate::result::Failure;
use gradekit_model::{ConfigErrors, Operation, StringCheckGrader};
use gradekit_template::Template;

#[derive(Debug)]
pub(crate) struct StringCheck {
    input: Template,
    reference: Template,
    op: Operation,
}

impl StringCheck {
    pub(crate) fn compile(
        c: &StringCheckGrader,
        path: &str,
        errs: &mut ConfigErrors,
    ) -> Option<StringCheck> {
        let input = template(&c.input, join(path, "input"), errs);
        let reference = template(&c.reference, join(path, "reference"), errs);
        Some(StringCheck {
            input: input?,
            reference: reference?,
            op: c.operation,
        })
    }

    pub(crate) fn grade(&self, ctx: &EvalContext) -> Result<f64, Failure> {
        let input = render(&self.input, ctx)?;
        let reference = render(&self.reference, ctx)?;
        let hit = match self.op {
            Operation::Eq => input == reference,
            Operation::Ne => input != reference,
            Operation::Like => input.contains(reference.as_ref()),
            Operation::Ilike => input
                .to_lowercase()
                .contains(reference.to_lowercase().as_str()),
        };
        Ok(if hit { 1.0 } else { 0.0 })
    }
}
