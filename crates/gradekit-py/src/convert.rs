//! Python objects ⇄ `serde_json::Value`, done once per call while the GIL is held.
//!
//! The engine works on JSON values; converting every input up front (under the GIL) is what lets
//! a batch grade afterwards with the GIL released. JSON's data model is the contract: `dict`
//! (string keys, order kept), `list`/`tuple`, `str`, `int`, `float` (finite), `bool`, `None`.
//! Other mappings and pandas Series (`to_dict()`, labels kept) become dicts; objects with a
//! `tolist()` method (numpy scalars and arrays, as Ray and pandas batches hold them) are
//! converted through it. Anything else is a `TypeError` naming where it was found.

use crate::error::grader_error;
use gradekit_engine::ConfigError;
use pyo3::exceptions::{PyTypeError, PyUnicodeEncodeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting accepted (a cycle or a pathological input must not overflow the stack).
const MAX_DEPTH: usize = 256;

/// `obj` as JSON when it is a plain scalar (`str`, `bool`, `int` within 64 bits, finite
/// `float`, `None`): the hot path of batch conversion, which needs no path. `None` for anything
/// else — containers, and the scalars that are errors (NaN, huge ints) — which the caller then
/// converts with [`to_value`] and a path.
pub fn scalar(obj: &Bound<'_, PyAny>) -> Option<Value> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_str().ok().map(|s| Value::String(s.to_owned()));
    }
    if obj.is_none() {
        return Some(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Some(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        return obj.extract::<i64>().ok().map(|i| Value::Number(i.into()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value()).map(Value::Number);
    }
    None
}

/// Why a Python object is no JSON value, and where (`path`, as `push_key` writes it).
struct Fault {
    path: String,
    kind: FaultKind,
}

enum FaultKind {
    /// A value JSON cannot hold (NaN, an int past a double, nesting too deep): `ValueError`.
    Value(String),
    /// An object of a type JSON does not have, or a non-`str` dict key: `TypeError`.
    Type(String),
    /// An error Python raised (a lone surrogate's `UnicodeEncodeError`), already naming the path.
    Py(PyErr),
}

impl Fault {
    fn value(path: &str, message: String) -> Self {
        Fault {
            path: path.to_owned(),
            kind: FaultKind::Value(message),
        }
    }

    fn into_py(self) -> PyErr {
        match self.kind {
            FaultKind::Value(m) => PyValueError::new_err(format!("{}: {m}", self.path)),
            FaultKind::Type(m) => PyTypeError::new_err(format!("{}: {m}", self.path)),
            FaultKind::Py(e) => e,
        }
    }
}

/// Converts `obj` to JSON; `path` names it in errors (`item`, `samples[3]`).
pub fn to_value(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    convert(obj, &mut path.to_string(), 0).map_err(Fault::into_py)
}

/// Converts a grader config (or a run request) to JSON. A value JSON cannot hold is a fault of
/// the config like any other: `GraderError` with the path inside it (`pass_threshold`,
/// `item.answer`) and code `invalid_value`. Objects of a non-JSON type stay a `TypeError`
/// naming `root` and the path.
pub fn config_to_value(obj: &Bound<'_, PyAny>, root: &str) -> PyResult<Value> {
    convert(obj, &mut root.to_string(), 0).map_err(|f| match f.kind {
        FaultKind::Value(message) => {
            let inner = f.path.strip_prefix(root).unwrap_or(&f.path);
            let inner = inner.strip_prefix('.').unwrap_or(inner);
            Python::attach(|py| grader_error(py, &[ConfigError::new(inner, message)]))
        }
        _ => f.into_py(),
    })
}

/// The UTF-8 text of a Python `str`. A lone surrogate (`"\ud800"`, which UTF-8 cannot hold)
/// raises the `UnicodeEncodeError` Python gives, its reason prefixed with the path (`samples[3]:
/// surrogates not allowed`) so a bad string in a batch of millions says where it is.
pub fn utf8<'a>(s: &'a Bound<'_, PyString>, path: impl FnOnce() -> String) -> PyResult<&'a str> {
    s.to_str().map_err(|e| with_path(s.py(), e, &path()))
}

fn with_path(py: Python<'_>, err: PyErr, path: &str) -> PyErr {
    let v = err.value(py);
    if !v.is_instance_of::<PyUnicodeEncodeError>() {
        return err;
    }
    let relabelled = (|| -> PyResult<PyErr> {
        let reason: String = v.getattr("reason")?.extract()?;
        let args = (
            v.getattr("encoding")?,
            v.getattr("object")?,
            v.getattr("start")?,
            v.getattr("end")?,
            format!("{path}: {reason}"),
        );
        let e = py.get_type::<PyUnicodeEncodeError>().call1(args)?;
        Ok(PyErr::from_value(e))
    })();
    relabelled.unwrap_or(err)
}

fn convert(obj: &Bound<'_, PyAny>, path: &mut String, depth: usize) -> Result<Value, Fault> {
    if depth > MAX_DEPTH {
        return Err(Fault::value(
            path,
            format!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(text(s, path)?.to_owned()));
    }
    // bool before int: Python's bool is an int subclass.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.cast::<PyInt>().is_ok() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        // Beyond 64 bits: JSON numbers are doubles for every grader that reads them; beyond a
        // double's range there is no JSON number at all.
        return match obj.extract::<f64>() {
            Ok(f) => number(f, path),
            Err(_) => Err(Fault::value(
                path,
                format!(
                    "integer too large for a JSON number ({} digits)",
                    obj.str().map(|s| s.len().unwrap_or(0)).unwrap_or(0)
                ),
            )),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return number(f.value(), path);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut m = Map::with_capacity(d.len());
        let base = path.len();
        for (k, v) in d.iter() {
            let key = match k.cast::<PyString>() {
                Ok(s) => text(s, path)?.to_owned(),
                Err(_) => {
                    return Err(Fault {
                        path: path.clone(),
                        kind: FaultKind::Type(format!(
                            "dict keys must be str, got {}",
                            type_name(&k)
                        )),
                    })
                }
            };
            push_key(path, &key);
            let value = convert(&v, path, depth + 1)?;
            path.truncate(base);
            m.insert(key, value);
        }
        return Ok(Value::Object(m));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return seq(l.iter(), l.len(), path, depth);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return seq(t.iter(), t.len(), path, depth);
    }
    let py_err = |e: PyErr| Fault {
        path: path.clone(),
        kind: FaultKind::Py(e),
    };
    // Mappings that are no dict (`MappingProxyType`, custom `Mapping`s) and pandas Series (a
    // DataFrame row, `df.iloc[i]`) become dicts: `tolist()` would keep a Series' values and
    // drop its labels, the keys the templates look up.
    let as_dict = if obj.cast::<PyMapping>().is_ok() {
        Some(
            obj.py()
                .get_type::<PyDict>()
                .call1((obj,))
                .map_err(py_err)?,
        )
    } else if obj.hasattr("to_dict").map_err(py_err)? && obj.hasattr("index").map_err(py_err)? {
        Some(obj.call_method0("to_dict").map_err(py_err)?)
    } else {
        None
    };
    if let Some(d) = as_dict.filter(|d| d.cast::<PyDict>().is_ok()) {
        return convert(&d, path, depth + 1);
    }
    if obj.hasattr("tolist").map_err(py_err)? {
        let plain = obj.call_method0("tolist").map_err(py_err)?;
        if plain.cast::<PyString>().is_ok()
            || plain.cast::<PyList>().is_ok()
            || plain.cast::<PyInt>().is_ok()
            || plain.cast::<PyFloat>().is_ok()
            || plain.is_none()
        {
            return convert(&plain, path, depth + 1);
        }
    }
    Err(Fault {
        path: path.clone(),
        kind: FaultKind::Type(format!(
            "cannot convert {} to JSON (expected dict, list, str, int, float, bool or None)",
            type_name(obj)
        )),
    })
}

fn text<'a>(s: &'a Bound<'_, PyString>, path: &str) -> Result<&'a str, Fault> {
    utf8(s, || path.to_owned()).map_err(|e| Fault {
        path: path.to_owned(),
        kind: FaultKind::Py(e),
    })
}

fn seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    len: usize,
    path: &mut String,
    depth: usize,
) -> Result<Value, Fault> {
    let mut out = Vec::with_capacity(len);
    let base = path.len();
    for (i, v) in items.enumerate() {
        path.push_str(&format!("[{i}]"));
        out.push(convert(&v, path, depth + 1)?);
        path.truncate(base);
    }
    Ok(Value::Array(out))
}

pub fn push_key(path: &mut String, key: &str) {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::String(key.to_owned())));
    }
}

fn number(f: f64, path: &str) -> Result<Value, Fault> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| Fault::value(path, format!("{f} is not a JSON number")))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// Converts JSON to plain Python objects (dicts keep key order).
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
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
            let l = PyList::empty(py);
            for x in a {
                l.append(to_py(py, x)?)?;
            }
            l.into_any()
        }
        Value::Object(m) => {
            let d = PyDict::new(py);
            for (k, x) in m {
                d.set_item(k, to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}
