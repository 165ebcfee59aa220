//! Python bindings of gradekit: `import gradekit`.
//!
//! Kept thin over the engine, as huggingface/tokenizers is over its core (STYLE.md): the
//! engine compiles and grades; this crate converts Python objects to JSON under the GIL
//! (`convert.rs`), releases the GIL to grade (`grader.rs`) on fork-safe thread pools
//! (`pool.rs`), and maps config faults onto `gradekit.GraderError` with paths (`error.rs`).
//! The pure-Python parts — the package `__init__`, the TRL adapter and the Ray Data helper —
//! live in `python/gradekit/` (maturin's mixed layout); the documented API with types is in
//! `python/gradekit/_gradekit.pyi`.

mod arrow;
mod batch;
mod convert;
mod error;
mod grader;
mod inputs;
mod lean;
mod options;
mod pool;
mod result;

use error::config_errors;
use options::Spec;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Compiles `config` and returns the `/validate` echo: the grader as given, with `neq` written
/// `ne` and a generated `name` added. Raises `GraderError` listing every fault with its path.
#[pyfunction]
#[pyo3(signature = (config, **engine_options))]
fn validate<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    engine_options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = Spec::from_kwargs(engine_options)?;
    let config = grader::config_value(config, "config")?;
    let opts = spec.build()?;
    let echo = py
        .detach(|| gradekit_engine::validate(&config, &opts))
        .map_err(|e| config_errors(py, &e))?;
    convert::to_py(py, &echo)
}

/// Answers a `/fine_tuning/alpha/graders/run` request body (`{grader, model_sample, item?}`)
/// with the response body, exactly as `gradekit run` and the server do. A multi grader whose
/// only fault is its formula answers with `formula_parse_error`; any other fault raises
/// `GraderError` (paths prefixed `grader.`).
#[pyfunction]
#[pyo3(signature = (request, **engine_options))]
fn run<'py>(
    py: Python<'py>,
    request: &Bound<'py, PyAny>,
    engine_options: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = Spec::from_kwargs(engine_options)?;
    let request = grader::config_value(request, "request")?;
    let opts = spec.build()?;
    let resp = py
        .detach(|| gradekit_engine::run(&request, &opts))
        .map_err(|e| config_errors(py, &e))?;
    let v = serde_json::to_value(resp)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    convert::to_py(py, &v)
}

/// Rebuilds a pickled `GradeResult` from its `/run` response JSON.
#[pyfunction]
#[pyo3(signature = (response, pass_threshold = None))]
fn _grade_result(response: &str, pass_threshold: Option<f64>) -> PyResult<result::PyGradeResult> {
    let r: gradekit_engine::RunResponse = serde_json::from_str(response).map_err(|e| {
        pyo3::exceptions::PyValueError::new_err(format!("not a /run response: {e}"))
    })?;
    Ok(result::PyGradeResult::from_response(r, pass_threshold))
}

#[pymodule]
fn _gradekit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<grader::PyGrader>()?;
    m.add_class::<result::PyGradeResult>()?;
    m.add("GraderError", m.py().get_type::<error::GraderError>())?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(_grade_result, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    options::register(m)?;
    Ok(())
}
