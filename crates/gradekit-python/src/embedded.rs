//! [`PythonMode::Embedded`](crate::PythonMode::Embedded): one CPython interpreter inside the
//! engine through pyo3 (cargo feature `embedded`).
//!
//! **Unsafe for untrusted code**: a grader can crash the engine (a segfault is fatal), hold the
//! GIL inside C code where nothing can interrupt it, and it has the engine's files, network and
//! environment. There is no memory limit and no timeout: every call runs to completion (an
//! interrupt could only be *requested* at a bytecode boundary, research §3.1). Use it for
//! trusted micro-graders where ~2 µs instead of ~6 µs per call matters.
//!
//! All calls are serialized by the GIL, so a batch is graded under one `Python::attach` (the
//! research measured per-call attaches from several threads 4× slower than one attach per chunk).
//! Values cross with `pythonize` (as fast as a hand-written converter, research §4.2).

use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::exceptions::PySyntaxError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};
use serde_json::Value;

use crate::{CompileErrorKind, PyOutcome, PythonCompileError, PythonOptions};

const DETAILS_LIMIT: usize = 4000;

#[derive(Debug)]
pub(crate) struct Program {
    grade: Py<PyAny>,
    real: Py<PyAny>,
}

fn format_err(py: Python<'_>, e: &PyErr) -> String {
    let text = (|| -> PyResult<String> {
        let tb = py.import("traceback")?;
        let lines = tb.call_method1(
            "format_exception",
            (e.get_type(py), e.value(py), e.traceback(py)),
        )?;
        let joined: String = lines.extract::<Vec<String>>()?.concat();
        Ok(joined)
    })()
    .unwrap_or_else(|_| e.to_string());
    let text = text.trim_end().to_string();
    if text.len() > DETAILS_LIMIT {
        let mut cut = text.len() - DETAILS_LIMIT;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        format!("...{}", &text[cut..])
    } else {
        text
    }
}

impl Program {
    pub fn compile(source: &str, _opts: &PythonOptions) -> Result<Program, PythonCompileError> {
        let code = CString::new(source).map_err(|_| {
            PythonCompileError::new(
                CompileErrorKind::Syntax,
                "syntax error: source contains NUL",
            )
        })?;
        // A fresh module name per compile: `PyModule::from_code` reuses a module of the same
        // name already in `sys.modules`, which would leak one grader's globals into the next.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = CString::new(format!("grader_{}", NEXT.fetch_add(1, Ordering::Relaxed)))
            .map_err(|_| PythonCompileError::new(CompileErrorKind::Module, "bad module name"))?;
        Python::attach(|py| {
            let module = PyModule::from_code(py, &code, c"<grader>", &name).map_err(|e| {
                if e.is_instance_of::<PySyntaxError>(py) {
                    PythonCompileError::new(CompileErrorKind::Syntax, format!("syntax error: {e}"))
                } else {
                    PythonCompileError::new(
                        CompileErrorKind::Module,
                        format!(
                            "module top level raised an exception:\n{}",
                            format_err(py, &e)
                        ),
                    )
                }
            })?;
            let grade = module.getattr("grade").map_err(|_| {
                PythonCompileError::new(
                    CompileErrorKind::NoGrade,
                    "source does not define grade(sample, item)",
                )
            })?;
            if !grade.is_callable() {
                return Err(PythonCompileError::new(
                    CompileErrorKind::NoGrade,
                    "grade is not a function taking (sample, item)",
                ));
            }
            let inspect = py.import("inspect").map_err(|e| internal(py, &e))?;
            if let Ok(sig) = inspect.call_method1("signature", (&grade,)) {
                if sig.call_method1("bind", (py.None(), py.None())).is_err() {
                    return Err(PythonCompileError::new(
                        CompileErrorKind::Signature,
                        format!("grade{sig} must accept two positional arguments (sample, item)"),
                    ));
                }
            }
            let real = py
                .import("numbers")
                .and_then(|m| m.getattr("Real"))
                .map_err(|e| internal(py, &e))?;
            Ok(Program {
                grade: grade.unbind(),
                real: real.unbind(),
            })
        })
    }

    pub fn grade_batch(&self, inputs: &[(&Value, &Value)]) -> Vec<PyOutcome> {
        Python::attach(|py| {
            let grade = self.grade.bind(py);
            let real = self.real.bind(py);
            inputs
                .iter()
                .map(|(s, i)| call(py, grade, real, s, i))
                .collect()
        })
    }
}

fn internal(py: Python<'_>, e: &PyErr) -> PythonCompileError {
    PythonCompileError::new(CompileErrorKind::Module, format_err(py, e))
}

fn call(
    py: Python<'_>,
    grade: &Bound<'_, PyAny>,
    real: &Bound<'_, PyAny>,
    sample: &Value,
    item: &Value,
) -> PyOutcome {
    let args = match (
        pythonize::pythonize(py, sample),
        pythonize::pythonize(py, item),
    ) {
        (Ok(s), Ok(i)) => (s, i),
        _ => {
            return PyOutcome::ServerError {
                error_type: "protocol_error".into(),
                details: "cannot convert sample/item to Python".into(),
            }
        }
    };
    let r = match grade.call1(args) {
        Ok(r) => r,
        Err(e) => {
            let details = if e.is_instance_of::<pyo3::exceptions::PyMemoryError>(py) {
                format!(
                    "memory exhausted (MemoryError in grade()):\n{}",
                    format_err(py, &e)
                )
            } else {
                format_err(py, &e)
            };
            return PyOutcome::RuntimeError { details };
        }
    };
    let numeric = r.is_instance_of::<PyFloat>()
        || r.is_instance_of::<PyInt>()
        || r.is_instance_of::<PyBool>()
        || r.is_instance(real).unwrap_or(false);
    let tname = r
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into());
    if !numeric {
        return PyOutcome::RuntimeError {
            details: format!("grade() returned {tname}, not a number"),
        };
    }
    match r.extract::<f64>() {
        Ok(v) if v.is_finite() => PyOutcome::Reward(v),
        Ok(v) => PyOutcome::RuntimeError {
            details: format!("grade() returned {v}; expected a finite number"),
        },
        Err(e) => PyOutcome::RuntimeError {
            details: format!("grade() returned {tname} that is not a finite number: {e}"),
        },
    }
}
