//! Python objects ⇄ `serde_json::Value`, done once per call while the GIL is held.
//!
//! The engine works on JSON values; converting every input up front (under the GIL) is what lets
//! a batch grade afterwards with the GIL released. JSON's data model is the contract: `dict`
//! (string keys, order kept), `list`/`tuple`, `str`, `int`, `float` (finite), `bool`, `None`.
//! Objects with a `tolist()` method (numpy scalars and arrays, as Ray and pandas batches hold
//! them) are converted through it. Anything else is a `TypeError` naming where it was found.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
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

/// Converts `obj` to JSON; `path` names it in errors (`item`, `samples[3]`).
pub fn to_value(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    convert(obj, &mut path.to_string(), 0)
}

fn convert(obj: &Bound<'_, PyAny>, path: &mut String, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{path}: nested deeper than {MAX_DEPTH} levels"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
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
            Err(_) => Err(PyValueError::new_err(format!(
                "{path}: integer too large for a JSON number ({} digits)",
                obj.str().map(|s| s.len().unwrap_or(0)).unwrap_or(0)
            ))),
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
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => {
                    return Err(PyTypeError::new_err(format!(
                        "{path}: dict keys must be str, got {}",
                        type_name(&k)
                    )))
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
    if obj.hasattr("tolist")? {
        let plain = obj.call_method0("tolist")?;
        if plain.cast::<PyString>().is_ok()
            || plain.cast::<PyList>().is_ok()
            || plain.cast::<PyInt>().is_ok()
            || plain.cast::<PyFloat>().is_ok()
            || plain.is_none()
        {
            return convert(&plain, path, depth + 1);
        }
    }
    Err(PyTypeError::new_err(format!(
        "{path}: cannot convert {} to JSON (expected dict, list, str, int, float, bool or None)",
        type_name(obj)
    )))
}

fn seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    len: usize,
    path: &mut String,
    depth: usize,
) -> PyResult<Value> {
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

fn number(f: f64, path: &str) -> PyResult<Value> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| PyValueError::new_err(format!("{path}: {f} is not a JSON number")))
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
