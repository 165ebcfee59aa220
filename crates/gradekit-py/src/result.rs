//! `gradekit.GradeResult`: one graded sample.
//!
//! Holds the engine's result as is and converts to Python objects only when a field is read,
//! so `grade_batch` pays for the dictionaries a caller actually looks at.

use crate::convert::to_py;
use gradekit_engine::{GradeResult, RunResponse};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::sync::Arc;

/// Name, type and pass threshold of the grader that produced a result (shared by a batch).
#[derive(Debug)]
pub struct Origin {
    pub name: String,
    pub kind: String,
    pub pass_threshold: Option<f64>,
}

/// The outcome of grading one sample: `reward` plus the `/run` response's fields.
#[pyclass(module = "gradekit", name = "GradeResult", frozen)]
#[derive(Debug)]
pub struct PyGradeResult {
    pub inner: GradeResult,
    pub origin: Arc<Origin>,
}

fn json<'py>(
    py: Python<'py>,
    v: serde_json::Result<serde_json::Value>,
) -> PyResult<Bound<'py, PyAny>> {
    let v = v.map_err(|e| PyRuntimeError::new_err(format!("cannot serialise result: {e}")))?;
    to_py(py, &v)
}

#[pymethods]
impl PyGradeResult {
    /// The reward (0.0 when the sample failed; the error flags say why).
    #[getter]
    fn reward(&self) -> f64 {
        self.inner.reward
    }

    /// Sub-grader key → reward (multi graders; `{}` otherwise).
    #[getter]
    fn sub_rewards<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.inner.sub_rewards {
            d.set_item(k, *v)?;
        }
        Ok(d)
    }

    /// `metadata.errors`: all 24 flags of the `/run` response, in the wire's order.
    #[getter]
    fn errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json(py, serde_json::to_value(&self.inner.errors))
    }

    /// True when any error flag is set.
    #[getter]
    fn failed(&self) -> bool {
        self.inner.errors.any()
    }

    /// `metadata` of the `/run` response (`name`, `type`, `errors`, `execution_time`, …).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = self.response();
        json(py, serde_json::to_value(&r.metadata))
    }

    /// Seconds spent grading this sample.
    #[getter]
    fn execution_time(&self) -> f64 {
        self.inner.execution_time
    }

    /// `reward >= pass_threshold` when the grader sets one, else `None`.
    #[getter]
    fn passed(&self) -> Option<bool> {
        self.origin.pass_threshold.map(|t| self.inner.reward >= t)
    }

    /// The `/run` response body, as `gradekit.run` and `gradekit run` produce it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json(py, serde_json::to_value(self.response()))
    }

    /// Pickles as the `/run` response (Ray tasks and multiprocessing return results).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let rebuild = py.import("gradekit")?.getattr("_rebuild_result")?;
        let json = serde_json::to_string(&self.response())
            .map_err(|e| PyRuntimeError::new_err(format!("cannot serialise result: {e}")))?;
        let args = (json, self.origin.pass_threshold).into_pyobject(py)?;
        PyTuple::new(py, [rebuild.into_any(), args.into_any()])
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyGradeResult>() {
            Ok(o) => {
                let o = o.get();
                o.inner == self.inner
                    && o.origin.name == self.origin.name
                    && o.origin.kind == self.origin.kind
                    && o.origin.pass_threshold == self.origin.pass_threshold
            }
            Err(_) => false,
        }
    }

    fn __float__(&self) -> f64 {
        self.inner.reward
    }

    fn __repr__(&self) -> String {
        let flags: Vec<&str> = self.inner.errors.set_flags().collect();
        if flags.is_empty() {
            format!("GradeResult(reward={:?})", self.inner.reward)
        } else {
            format!(
                "GradeResult(reward={:?}, errors=[{}])",
                self.inner.reward,
                flags.join(", ")
            )
        }
    }
}

impl PyGradeResult {
    /// A result from its `/run` response (what `__reduce__` pickles).
    pub fn from_response(r: RunResponse, pass_threshold: Option<f64>) -> Self {
        PyGradeResult {
            origin: Arc::new(Origin {
                name: r.metadata.name,
                kind: r.metadata.kind,
                pass_threshold,
            }),
            inner: GradeResult {
                reward: r.reward,
                sub_rewards: r.sub_rewards,
                errors: r.metadata.errors,
                execution_time: r.metadata.execution_time,
                token_usage: r.metadata.token_usage,
                sampled_model_name: r.metadata.sampled_model_name,
                usage_per_model: r.model_grader_token_usage_per_model,
            },
        }
    }

    fn response(&self) -> gradekit_engine::RunResponse {
        self.inner.to_response(&self.origin.name, &self.origin.kind)
    }
}
