//! `gradekit.GraderError`: an invalid grader config (or sample object), with paths.

use gradekit_engine::{ConfigError, ConfigErrors};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

pyo3::create_exception!(
    gradekit,
    GraderError,
    pyo3::exceptions::PyValueError,
    "An invalid grader config or request. The message lists every fault as `path: message`; \
`.path` is the path of the first (`graders.email.operation`, `` for the root) and `.errors` \
a list of `{\"path\", \"code\", \"message\"}` dicts, one per fault (`code` is stable \
snake_case, e.g. `unknown_field`, `unknown_variable`)."
);

/// The `GraderError` for these faults (at least one).
pub fn grader_error(py: Python<'_>, errs: &[ConfigError]) -> PyErr {
    let message = if errs.is_empty() {
        "invalid grader".to_string()
    } else {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let err = GraderError::new_err(message);
    let value = err.value(py);
    let first = errs.first().map(|e| e.path.clone()).unwrap_or_default();
    let list = PyList::empty(py);
    let attach = || -> PyResult<()> {
        for e in errs {
            let d = PyDict::new(py);
            d.set_item("path", &e.path)?;
            d.set_item("code", e.code())?;
            d.set_item("message", &e.message)?;
            list.append(d)?;
        }
        value.setattr("path", first)?;
        value.setattr("errors", list)?;
        Ok(())
    };
    match attach() {
        Ok(()) => err,
        Err(e) => e,
    }
}

pub fn config_errors(py: Python<'_>, errs: &ConfigErrors) -> PyErr {
    grader_error(py, &errs.0)
}
