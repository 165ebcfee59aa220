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
//! Values cross with a small converter ([`to_py`]) that makes each distinct dict key once per
//! batch and reuses it: samples repeat the same keys (`output_text`, `choices`, `role`, …), and
//! creating and freeing those strings was a third of the conversion cost under `pythonize`.

use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::exceptions::PySyntaxError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString};
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
            let mut keys = Vec::new();
            inputs
                .iter()
                .map(|(s, i)| call(py, grade, real, s, i, &mut keys))
                .collect()
        })
    }
}

fn internal(py: Python<'_>, e: &PyErr) -> PythonCompileError {
    PythonCompileError::new(CompileErrorKind::Module, format_err(py, e))
}

fn call<'k, 'py>(
    py: Python<'py>,
    grade: &Bound<'py, PyAny>,
    real: &Bound<'py, PyAny>,
    sample: &'k Value,
    item: &'k Value,
    keys: &mut Keys<'k, 'py>,
) -> PyOutcome {
    let args = match (to_py(py, sample, keys), to_py(py, item, keys)) {
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
    let tname = || {
        r.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "object".into())
    };
    if !numeric {
        return PyOutcome::RuntimeError {
            details: format!("grade() returned {}, not a number", tname()),
        };
    }
    match r.extract::<f64>() {
        Ok(v) if v.is_finite() => PyOutcome::Reward(v),
        Ok(v) => PyOutcome::RuntimeError {
            details: format!("grade() returned {v}; expected a finite number"),
        },
        Err(e) => PyOutcome::RuntimeError {
            details: format!(
                "grade() returned {} that is not a finite number: {e}",
                tname()
            ),
        },
    }
}

/// Dict keys made so far in this batch. Samples use a handful of distinct keys, so a short list
/// scanned in order beats hashing each key; past [`MAX_KEYS`] further keys are made per use.
type Keys<'k, 'py> = Vec<(&'k str, Bound<'py, PyString>)>;
const MAX_KEYS: usize = 48;

/// A JSON value as the Python object `json.loads` would give (dict keys in order, ints of any
/// size within i64/u64, floats as float).
fn to_py<'k, 'py>(
    py: Python<'py>,
    v: &'k Value,
    keys: &mut Keys<'k, 'py>,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(to_py(py, x, keys)?)?;
            }
            list.into_any()
        }
        Value::Object(m) => {
            let dict = PyDict::new(py);
            for (k, x) in m {
                let key = match keys.iter().find(|(s, _)| *s == k.as_str()) {
                    Some((_, key)) => key.clone(),
                    None => {
                        let key = PyString::new(py, k);
                        if keys.len() < MAX_KEYS {
                            keys.push((k.as_str(), key.clone()));
                        }
                        key
                    }
                };
                dict.set_item(key, to_py(py, x, keys)?)?;
            }
            dict.into_any()
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_convert_as_json_loads_gives_them() {
        let v = serde_json::json!({"s": "é", "i": -3, "u": u64::MAX, "f": 2.5, "b": true,
            "n": null, "a": [1, {"s": "x"}], "o": {"i": 1}});
        Python::attach(|py| {
            let mut keys = Vec::new();
            let got = to_py(py, &v, &mut keys).unwrap();
            let json = py.import("json").unwrap();
            let want = json.call_method1("loads", (v.to_string(),)).unwrap();
            assert!(got.eq(&want).unwrap(), "{got} != {want}");
            let order: Vec<String> = got.cast::<PyDict>().unwrap().keys().extract().unwrap();
            assert_eq!(order, ["s", "i", "u", "f", "b", "n", "a", "o"]);
            // Types, not only equality (True == 1 in Python).
            let b = got.get_item("b").unwrap();
            assert!(b.is_instance_of::<PyBool>());
            assert!(got.get_item("f").unwrap().is_instance_of::<PyFloat>());
        });
    }
}
