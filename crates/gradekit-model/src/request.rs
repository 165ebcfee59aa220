//! The body of the validate endpoint. (The run body is read by the engine's one sample-entry
//! reader, `gradekit_engine::RunRequest`.)

use crate::error::ConfigErrors;
use crate::read::Obj;
use serde_json::Value;

/// A `/fine_tuning/alpha/graders/validate` request.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidateRequest {
    pub grader: Value,
}

impl ValidateRequest {
    pub fn from_value(v: &Value) -> Result<ValidateRequest, ConfigErrors> {
        let mut errs = ConfigErrors::default();
        let Some(mut o) = Obj::new(v, "", &mut errs) else {
            return Err(errs);
        };
        let grader = o.required("grader", &mut errs).cloned();
        o.finish(&mut errs);
        match grader {
            Some(grader) if errs.is_empty() => Ok(ValidateRequest { grader }),
            _ => Err(errs),
        }
    }
}
