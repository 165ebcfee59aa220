//! `**engine_options` keyword arguments → the engine's [`EngineSpec`]: a thin parser. The
//! options, their defaults and their checks are the engine's option table
//! ([`gradekit_engine::OPTIONS`], the same the CLI's flags are generated from); this module
//! only turns Python values into [`OptionValue`]s of the kind each option takes.
//!
//! Errors, consistently with the rest of the API: an unknown keyword or a value of the wrong
//! Python type is a `TypeError` naming it; a value the option refuses (out of range, unknown
//! name, unusable URL, missing read path, …) is a `GraderError` (a `ValueError`) whose `.path`
//! is the keyword and whose `.errors[0]["code"]` is the spec's code.
//!
//! The parsed [`Spec`] is kept by each `Grader`, not only the options built from it: after a
//! `fork()` the child must not touch the parent's python worker pools or judge client (their
//! threads did not survive the fork), so a `Grader` used in a new process rebuilds its options
//! from the spec and recompiles (see `grader.rs`).

use crate::error::GraderError;
use gradekit_engine::options::{OptionDef, ValueKind};
use gradekit_engine::python::{PythonOptions, PythonRuntime};
use gradekit_engine::{
    ConfigErrorKind, EngineOptions, EngineSpec, OptionError, OptionValue, OPTIONS,
};
use pyo3::exceptions::{PyTypeError, PyUserWarning};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use std::collections::HashMap;
use std::sync::Mutex;

/// The engine options of one `Grader` (or one `validate`/`run` call), as given.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    engine: EngineSpec,
    /// Threads of CPU-bound batches (`None`: one per core).
    pub threads: Option<usize>,
}

/// `v` as a `T`, or a `TypeError` naming the option and what it takes.
fn typed<'py, T: FromPyObjectOwned<'py>>(
    v: &Bound<'py, PyAny>,
    key: &str,
    what: &str,
) -> PyResult<T> {
    // bool is an int in Python, never a sensible count or duration.
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{key} must be {what}, got bool"
        )));
    }
    v.extract::<T>().map_err(|_| {
        let got = v
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "object".into());
        PyTypeError::new_err(format!("{key} must be {what}, got {got} {}", short_repr(v)))
    })
}

fn short_repr(v: &Bound<'_, PyAny>) -> String {
    let r = v.repr().map(|r| r.to_string()).unwrap_or_default();
    match r.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &r[..i]),
        None => r,
    }
}

/// The Python value as the kind of value option `def` takes.
fn value(def: &OptionDef, v: &Bound<'_, PyAny>) -> PyResult<OptionValue> {
    let key = def.name;
    Ok(match def.kind {
        ValueKind::Choice(_) | ValueKind::Text => OptionValue::Text(typed(v, key, "a str")?),
        ValueKind::Seconds => OptionValue::Float(typed(v, key, "a number of seconds")?),
        ValueKind::Count { .. } => OptionValue::Int(typed(v, key, "an int")?),
        ValueKind::Path => OptionValue::Path(typed(v, key, "a path")?),
        ValueKind::Paths => {
            // One path, or a list of them (a str is a sequence too: take it as one path).
            if v.is_instance_of::<PyString>() || v.hasattr("__fspath__")? {
                OptionValue::Paths(vec![typed(v, key, "a path or a list of paths")?])
            } else {
                OptionValue::Paths(typed(v, key, "a path or a list of paths")?)
            }
        }
    })
}

/// The Python exception for an option the engine refused: `TypeError` for a value of the
/// wrong type, else `GraderError` with the keyword as `.path` and the spec's code.
fn option_error(py: Python<'_>, e: &OptionError) -> PyErr {
    let message = e.shown_as(&e.option);
    if e.kind == ConfigErrorKind::InvalidType {
        return PyTypeError::new_err(message);
    }
    let err = GraderError::new_err(message.clone());
    let attach = || -> PyResult<()> {
        let value = err.value(py);
        let d = PyDict::new(py);
        d.set_item("path", &e.option)?;
        d.set_item("code", e.code())?;
        d.set_item("message", &message)?;
        value.setattr("path", &e.option)?;
        value.setattr("errors", PyList::new(py, [d])?)?;
        Ok(())
    };
    match attach() {
        Ok(()) => err,
        Err(e) => e,
    }
}

impl Spec {
    /// Reads the keyword arguments; an unknown keyword is a `TypeError` naming it.
    pub fn from_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Spec> {
        let mut s = Spec::default();
        let Some(kwargs) = kwargs else {
            return Ok(s);
        };
        let py = kwargs.py();
        let mut unknown = Vec::new();
        for (k, v) in kwargs.iter() {
            let key: String = typed(&k, "an engine option name", "a str")?;
            let Some(def) = OPTIONS.iter().find(|d| d.name == key && is_offered(d)) else {
                unknown.push(key);
                continue;
            };
            if v.is_none() {
                continue; // None = the default, as for the CLI flag left out
            }
            s.engine
                .set(def.name, value(def, &v)?)
                .map_err(|e| option_error(py, &e))?;
        }
        if !unknown.is_empty() {
            return Err(PyTypeError::new_err(format!(
                "unexpected engine option{} {}; expected one of {}",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", "),
                names().join(", ")
            )));
        }
        s.threads = s.engine.threads;
        for (option, message) in s.engine.warnings() {
            PyErr::warn(
                py,
                &py.get_type::<PyUserWarning>(),
                &std::ffi::CString::new(format!("{option} {message}")).unwrap_or_default(),
                1,
            )?;
        }
        Ok(s)
    }

    /// Fresh engine options for the current process: python runtime from the per-process
    /// cache, and a judge client that connects on its first call only.
    pub fn build(&self) -> PyResult<EngineOptions> {
        let err = |e: OptionError| Python::attach(|py| option_error(py, &e));
        let mut opts = self.engine.build().map_err(err)?;
        opts.python = runtime(&self.engine.python_options().map_err(err)?);
        Ok(opts)
    }
}

fn is_offered(def: &OptionDef) -> bool {
    def.applies_to(gradekit_engine::options::Edge::Python)
}

/// The keyword arguments `Grader(config, **options)` accepts, in the spec's order.
pub fn names() -> Vec<&'static str> {
    OPTIONS
        .iter()
        .filter(|d| is_offered(d))
        .map(|d| d.name)
        .collect()
}

/// One python runtime per distinct options per process, so graders that share a source share a
/// warm worker pool. The map belongs to the process that filled it: after a fork the child starts
/// an empty one and never drops (or talks to) the parent's pools.
fn runtime(opts: &PythonOptions) -> PythonRuntime {
    type Runtimes = (u32, HashMap<PythonOptions, PythonRuntime>);
    static RUNTIMES: Mutex<Option<Runtimes>> = Mutex::new(None);
    let pid = std::process::id();
    let mut guard = RUNTIMES.lock().unwrap_or_else(|p| p.into_inner());
    if guard.as_ref().is_some_and(|(p, _)| *p != pid) {
        // The parent's pools: their threads and pipes are not ours. Leak, never drop.
        std::mem::forget(guard.take());
    }
    let (_, map) = guard.get_or_insert_with(|| (pid, HashMap::new()));
    map.entry(opts.clone())
        .or_insert_with(|| PythonRuntime::new(opts.clone()))
        .clone()
}

/// The engine options section of `help(gradekit.Grader)`, rendered from the spec.
pub fn doc() -> String {
    let mut out = String::from(
        "Engine options (keywords; the CLI's engine flags with `_` for `-`; None = the default):\n\n",
    );
    for d in OPTIONS.iter().filter(|d| is_offered(d)) {
        let env = d.env.map(|v| format!(", or ${v}")).unwrap_or_default();
        out.push_str(&format!(
            "* `{}` ({}): {} Default: {}{}. Limits: {}.\n",
            d.name,
            kind_name(d.kind),
            d.help,
            d.default,
            env,
            d.limits
        ));
    }
    out
}

fn kind_name(k: ValueKind) -> &'static str {
    match k {
        ValueKind::Choice(_) | ValueKind::Text => "str",
        ValueKind::Seconds => "float, seconds",
        ValueKind::Count { .. } => "int",
        ValueKind::Path => "path",
        ValueKind::Paths => "path or list of paths",
    }
}

/// Adds `ENGINE_OPTIONS` (the keyword names) to the module and the options section, rendered
/// from the spec, to `help(gradekit.Grader)`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ENGINE_OPTIONS", PyTuple::new(py, names())?)?;
    let grader = m.getattr("Grader")?;
    let base: String = grader
        .getattr("__doc__")?
        .extract::<Option<String>>()?
        .unwrap_or_default();
    grader.setattr("__doc__", format!("{}\n\n{}", base.trim_end(), doc()))?;
    Ok(())
}
