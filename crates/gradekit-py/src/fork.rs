//! Python graders after `fork()`: refuse with a clear error instead of hanging.
//!
//! The python grader runtime starts its worker processes from one long-lived spawner thread
//! (gradekit-python `sandbox.rs`, so that `PR_SET_PDEATHSIG` follows the engine's lifetime).
//! A child forked after that thread started inherits the thread's channel but not the thread:
//! spawning a worker there would wait forever. Until that runtime learns to restart its spawner
//! in a new process, a forked child refuses python graders with a `RuntimeError` saying what to
//! do (multiprocessing's `spawn`/`forkserver` start methods, or graders created before any
//! python grader in the parent). Every other grader type works in forked children.

use pyo3::exceptions::PyRuntimeError;
use pyo3::PyResult;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};

/// The pid of the process in which this extension first compiled a python grader (0: none).
static PYTHON_STARTED_IN: AtomicU32 = AtomicU32::new(0);

/// True when `config` is or contains a python grader.
fn has_python(config: &Value) -> bool {
    match config {
        Value::Object(m) => {
            m.get("type").and_then(Value::as_str) == Some("python")
                || m.get("graders").is_some_and(|g| match g {
                    Value::Object(subs) => subs.values().any(has_python),
                    _ => false,
                })
        }
        _ => false,
    }
}

/// Errors when `config` needs the python runtime in a process forked after the runtime
/// started; otherwise records that it is starting in this process.
pub fn check(config: &Value) -> PyResult<()> {
    if !has_python(config) {
        return Ok(());
    }
    let pid = std::process::id();
    match PYTHON_STARTED_IN.compare_exchange(0, pid, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => Ok(()),
        Err(p) if p == pid => Ok(()),
        Err(_) => Err(PyRuntimeError::new_err(
            "python graders cannot run in a process forked after gradekit started python \
             workers in its parent (the worker spawner thread does not survive fork); use \
             multiprocessing's 'spawn' or 'forkserver' start method, or fork before the first \
             python grader is created",
        )),
    }
}
