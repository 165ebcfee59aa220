//! `gradekit.Grader`: compile once, grade many, with the GIL released while grading.
//!
//! Every call has two phases. Under the GIL, the Python inputs are converted to the engine's
//! JSON contexts (`convert.rs`); then the GIL is released (`Python::detach`) and the compiled
//! grader runs, a batch fanned out over this crate's own thread pool (`pool.rs`). Other Python
//! threads — a data loader, a logging thread, an asyncio loop — keep running meanwhile.
//!
//! **Fork safety.** A `Grader` remembers the pid that compiled it. Used in another process (the
//! child of a `fork()`), it recompiles from its config with fresh engine options before grading:
//! python worker pools and judge clients are threads and pipes of the parent and must not be
//! touched in the child (the inherited compiled grader is leaked, never dropped).

use crate::batch;
use crate::convert::config_to_value;
use crate::error::{config_errors, grader_error};
use crate::inputs::{item_value, sample_context, Batch};
use crate::options::Spec;
use crate::pool::default_threads;
use crate::result::{Origin, PyGradeResult};
use gradekit_engine::{compile, CompiledGrader, ConfigError, ConfigErrorKind, GradeResult};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict, PyList, PyString, PyTuple};
use serde_json::Value;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
struct State {
    pid: u32,
    grader: Arc<CompiledGrader>,
}

/// A grader compiled once, graded many times.
///
/// `config` is the grader JSON of OpenAI's `/fine_tuning/alpha/graders` endpoints: a dict, a
/// JSON string, or an `os.PathLike` to a JSON file. An invalid config raises `GraderError`
/// (a `ValueError` with `.path` and `.errors`).
///
/// Methods: `grade(sample, item=None)` → `GradeResult`; `grade_batch(samples, items=None)` →
/// list of `GradeResult`; `rewards(samples, items=None, *, as_numpy=False)` → list of floats
/// (or a float64 NumPy array). Samples are strings (model outputs) or sample dicts; `items` is
/// a list of dicts, a dict of columns (`{"answer": [...]}`), or Arrow data (pyarrow Table,
/// RecordBatch or struct Array). Batches grade in parallel with the GIL released and answer
/// Ctrl-C between chunks.
///
/// Engine options are keywords, the same as the CLI's engine flags (`_` for `-`); the list,
/// with defaults and limits, follows (rendered from the engine's option table).
///
/// An unknown keyword or a value of the wrong type raises `TypeError`; a value out of range
/// raises `GraderError` with `.path` the keyword.
/// Properties: `name`, `type`, `pass_threshold`, `config`, `engine_options`, `item_keys`,
/// `sub_grader_keys`. Graders pickle as (config, engine options).
#[pyclass(module = "gradekit", name = "Grader", frozen)]
#[derive(Debug)]
pub struct PyGrader {
    config: Value,
    spec: Spec,
    /// The keyword arguments as given, for pickling.
    kwargs: Py<PyDict>,
    origin: Arc<Origin>,
    state: Mutex<State>,
}

/// A grader config (or, `root` = "request", a run request) given as a dict, a JSON string, or
/// a path to a JSON file.
pub fn config_value(config: &Bound<'_, PyAny>, root: &str) -> PyResult<Value> {
    if let Ok(s) = config.cast::<PyString>() {
        let text = s.to_cow()?;
        return serde_json::from_str(&text).map_err(|e| {
            // A str is the JSON text itself; one that names a file was meant as a path.
            let hint = if std::path::Path::new(text.trim()).is_file() {
                "; a str is read as JSON text, pass pathlib.Path(...) to read a file"
            } else {
                ""
            };
            grader_error(
                config.py(),
                &[ConfigError::with(
                    ConfigErrorKind::InvalidJson,
                    "",
                    format!("{root} is not valid JSON: {e}{hint}"),
                )],
            )
        });
    }
    let fspath = config.py().import("os")?.getattr("PathLike")?;
    if config.is_instance(&fspath)? {
        let path: std::path::PathBuf = config.extract()?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| PyValueError::new_err(format!("cannot read {}: {e}", path.display())))?;
        return serde_json::from_str(&text).map_err(|e| {
            grader_error(
                config.py(),
                &[ConfigError::new(
                    "",
                    format!("{} is not valid JSON: {e}", path.display()),
                )],
            )
        });
    }
    // Any other JSON value goes to the engine, which names what is wrong with it ("expected an
    // object"); objects that are not JSON at all are a TypeError from the conversion.
    config_to_value(config, root)
}

impl PyGrader {
    /// The compiled grader of this process (recompiled once after a fork).
    fn compiled(&self, py: Python<'_>) -> PyResult<Arc<CompiledGrader>> {
        let pid = std::process::id();
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.pid != pid {
            let opts = self.spec.build()?;
            let fresh = compile(&self.config, &opts).map_err(|e| config_errors(py, &e))?;
            let inherited = std::mem::replace(&mut st.grader, Arc::new(fresh));
            std::mem::forget(inherited); // owns the parent's pools: leak, never drop
            st.pid = pid;
        }
        Ok(Arc::clone(&st.grader))
    }

    fn threads(&self) -> usize {
        self.spec.threads.unwrap_or_else(default_threads)
    }

    fn wrap(&self, r: GradeResult) -> PyGradeResult {
        PyGradeResult {
            inner: r,
            origin: Arc::clone(&self.origin),
        }
    }

    /// Grades a batch chunk by chunk (see `batch.rs`), keeping `map` of each result.
    fn run_batch<T: Send + 'static>(
        &self,
        py: Python<'_>,
        samples: &Bound<'_, PyAny>,
        items: Option<&Bound<'_, PyAny>>,
        map: fn(GradeResult) -> T,
    ) -> PyResult<Vec<T>> {
        let g = self.compiled(py)?;
        let mut input = Batch::new(samples, items, g.item_keys(), g.sample_parts())?;
        let n = input.len();
        let mut done = Vec::new();
        let mut from = 0;
        if g.item_keys().is_some() && g.schedule().cpu_only() {
            // The templates name what they read: lend it, no JSON trees (lean.rs) — up to the
            // first chunk with a very long string, whose pairs may each take long enough that
            // Ctrl-C must not wait for them (batch::run_lean).
            (done, from) = batch::run_lean(py, &g, &input, self.threads(), map)?;
            if from >= n {
                return Ok(done);
            }
        }
        let rest = batch::run(
            py,
            &g,
            n - from,
            self.threads(),
            |r| input.contexts(r.start + from..r.end + from),
            map,
        )?;
        done.extend(rest);
        Ok(done)
    }
}

fn reward_of(r: GradeResult) -> f64 {
    r.reward
}

fn identity(r: GradeResult) -> GradeResult {
    r
}

/// `values` as a float64 NumPy array (one copy into a bytearray NumPy then owns).
fn numpy_array<'py>(py: Python<'py>, values: &[f64]) -> PyResult<Bound<'py, PyAny>> {
    let np = py.import("numpy").map_err(|_| {
        pyo3::exceptions::PyImportError::new_err("as_numpy=True needs numpy (pip install numpy)")
    })?;
    let mut bytes = Vec::with_capacity(values.len() * 8);
    for v in values {
        bytes.extend_from_slice(&v.to_ne_bytes());
    }
    let buf = PyByteArray::new(py, &bytes);
    np.call_method1("frombuffer", (buf, "float64"))
}

#[pymethods]
impl PyGrader {
    #[new]
    #[pyo3(signature = (config, **engine_options))]
    fn new(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        engine_options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let spec = Spec::from_kwargs(engine_options)?;
        let config = config_value(config, "config")?;
        let opts = spec.build()?;
        // Compiling a python grader loads it into workers: no reason to hold the GIL.
        let cfg = config.clone();
        let compiled = batch::interruptible(py, move || compile(&cfg, &opts))?
            .map_err(|e| config_errors(py, &e))?;
        let kwargs = match engine_options {
            Some(d) => d.copy()?.unbind(),
            None => PyDict::new(py).unbind(),
        };
        Ok(PyGrader {
            origin: Arc::new(Origin {
                name: compiled.name().to_string(),
                kind: compiled.kind().to_string(),
                pass_threshold: compiled.pass_threshold(),
            }),
            config,
            spec,
            kwargs,
            state: Mutex::new(State {
                pid: std::process::id(),
                grader: Arc::new(compiled),
            }),
        })
    }

    /// Grades one sample (`str` model output or sample `dict`) against `item`.
    #[pyo3(signature = (sample, item = None))]
    fn grade(
        &self,
        py: Python<'_>,
        sample: &Bound<'_, PyAny>,
        item: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyGradeResult> {
        let g = self.compiled(py)?;
        let mut path = String::new();
        let item = match item {
            Some(i) if !i.is_none() => Some(item_value(i, g.item_keys(), &[], &|| "item".into())?),
            _ => None,
        };
        let ctx = sample_context(sample, item, None, g.sample_parts(), &mut path)?;
        let r = if g.grades_in_batches() {
            // python and judge graders can take long: stay interruptible
            batch::interruptible(py, move || g.grade(&ctx))?
        } else {
            py.detach(move || g.grade(&ctx))
        };
        Ok(self.wrap(r))
    }

    /// Grades many samples in parallel with the GIL released; results in input order.
    #[pyo3(signature = (samples, items = None))]
    fn grade_batch(
        &self,
        py: Python<'_>,
        samples: &Bound<'_, PyAny>,
        items: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<PyGradeResult>> {
        let results = self.run_batch(py, samples, items, identity)?;
        Ok(results.into_iter().map(|r| self.wrap(r)).collect())
    }

    /// Like `grade_batch`, returning only the rewards (the hot path of RL training): a list of
    /// floats, or with `as_numpy=True` a float64 NumPy array.
    #[pyo3(signature = (samples, items = None, *, as_numpy = false))]
    fn rewards<'py>(
        &self,
        py: Python<'py>,
        samples: &Bound<'py, PyAny>,
        items: Option<&Bound<'py, PyAny>>,
        as_numpy: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rewards = self.run_batch(py, samples, items, reward_of)?;
        if as_numpy {
            return numpy_array(py, &rewards);
        }
        Ok(PyList::new(py, rewards)?.into_any())
    }

    /// For benchmarks: seconds the engine alone takes to grade `samples` on one thread, the
    /// contexts built beforehand (untimed) — the in-process Rust cost `rewards` is held to.
    #[pyo3(signature = (samples, items = None))]
    fn _engine_seconds(
        &self,
        py: Python<'_>,
        samples: &Bound<'_, PyAny>,
        items: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<f64> {
        let g = self.compiled(py)?;
        let mut input = Batch::new(samples, items, g.item_keys(), g.sample_parts())?;
        let ctxs = input.contexts(0..input.len())?;
        Ok(py.detach(move || {
            let start = std::time::Instant::now();
            let mut sum = 0.0;
            for c in &ctxs {
                sum += g.grade(c).reward;
            }
            std::hint::black_box(sum);
            start.elapsed().as_secs_f64()
        }))
    }

    /// The grader's `name`, or the generated `grader-…` one.
    #[getter]
    fn name(&self) -> &str {
        &self.origin.name
    }

    /// The grader's wire `type` (`string_check`, `text_similarity`, `multi`, …).
    #[getter]
    #[pyo3(name = "type")]
    fn kind(&self) -> &str {
        &self.origin.kind
    }

    /// `pass_threshold` when the config sets one (it never changes rewards).
    #[getter]
    fn pass_threshold(&self) -> Option<f64> {
        self.origin.pass_threshold
    }

    /// The config this grader was compiled from (a copy).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::convert::to_py(py, &self.config)
    }

    /// The top-level item keys the grader's templates read (`{{ item.answer }}` → `answer`), in
    /// first-use order; `None` when it can observe the whole item (python and model graders,
    /// `{{ item }}`). Items given as columns are built from these keys only.
    #[getter]
    fn item_keys(&self, py: Python<'_>) -> PyResult<Option<Vec<String>>> {
        Ok(self.compiled(py)?.item_keys().map(<[String]>::to_vec))
    }

    /// The engine options this grader was built with (a copy of the keyword arguments).
    #[getter]
    fn engine_options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.kwargs.bind(py).copy()
    }

    /// Multi graders: the sub-grader keys in config order (`[]` otherwise).
    #[getter]
    fn sub_grader_keys(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        Ok(self.compiled(py)?.sub_grader_keys())
    }

    fn __repr__(&self) -> String {
        format!(
            "Grader(name={:?}, type={:?})",
            self.origin.name, self.origin.kind
        )
    }

    /// Pickles as (config, engine options): unpickling compiles again (Ray workers,
    /// multiprocessing with `spawn`).
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let rebuild = py.import("gradekit")?.getattr("_rebuild")?;
        let config = serde_json::to_string(&self.config)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        PyTuple::new(
            py,
            [
                rebuild,
                PyTuple::new(
                    py,
                    [
                        config.into_pyobject(py)?.into_any(),
                        self.kwargs.bind(py).clone().into_any(),
                    ],
                )?
                .into_any(),
            ],
        )
    }
}
