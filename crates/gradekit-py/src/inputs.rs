//! Reading a batch's samples and items from the shapes reward pipelines hold, one chunk of
//! contexts at a time.
//!
//! Samples: a list or tuple (any iterable) of `str` model outputs or sample dicts, or Arrow
//! strings. Items: a list of dicts (one per sample), a **dict of columns** (`{"answer":
//! [...]}`, exactly the keyword lists TRL passes; columns may be lists, NumPy arrays or Arrow
//! arrays), or Arrow data (a pyarrow Table, RecordBatch or struct array: what Ray Data and HF
//! `datasets` batches are).
//!
//! Only what the compiled grader observes is read: the item keys its templates name
//! (`CompiledGrader::item_keys`; the whole item for python and model graders) and the sample
//! parts it can see. A column the grader never reads is never touched, so a NaN there, a
//! datetime or an image is no error. `str` is read through its UTF-8 view (no intermediate
//! bytes object); an item object repeated across samples (`[item] * n`) is converted once.

use crate::arrow::{self, Column};
use crate::convert::{push_key, scalar, to_value, utf8};
use crate::error::grader_error;
use gradekit_engine::model::SampleParts;
use gradekit_engine::EvalContext;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

/// A Python sequence read by index.
pub(crate) enum Seq<'py> {
    List(Bound<'py, PyList>),
    Tuple(Bound<'py, PyTuple>),
    Vec(Vec<Bound<'py, PyAny>>),
}

impl<'py> Seq<'py> {
    fn new(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Seq<'py>> {
        if let Ok(l) = obj.cast::<PyList>() {
            return Ok(Seq::List(l.clone()));
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return Ok(Seq::Tuple(t.clone()));
        }
        let it = obj.try_iter().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} must be a list or another iterable, got {}",
                type_name(obj)
            ))
        })?;
        Ok(Seq::Vec(it.collect::<PyResult<_>>()?))
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Seq::List(l) => l.len(),
            Seq::Tuple(t) => t.len(),
            Seq::Vec(v) => v.len(),
        }
    }

    pub(crate) fn get(&self, i: usize) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Seq::List(l) => l.get_item(i),
            Seq::Tuple(t) => t.get_item(i),
            Seq::Vec(v) => Ok(v[i].clone()),
        }
    }
}

/// One column of item values.
pub(crate) enum Col<'py> {
    Py(Seq<'py>),
    Arrow(Column),
}

impl Col<'_> {
    fn len(&self) -> usize {
        match self {
            Col::Py(s) => s.len(),
            Col::Arrow(c) => c.len(),
        }
    }
}

pub(crate) enum Samples<'py> {
    Py(Seq<'py>),
    Arrow(Column),
}

pub(crate) enum Items<'py> {
    None,
    /// One object per sample (usually a dict).
    Rows(Seq<'py>),
    /// Key → column (dict of columns).
    Columns(Vec<(String, Col<'py>)>),
    /// A struct column (Arrow table, record batch or struct array), with the keys to read.
    Struct(Column, Vec<String>),
}

/// The item of one sample: its JSON, or "the same object as the previous sample's".
enum Item {
    Value(Option<Value>),
    Repeat,
}

/// A batch ready to be converted chunk by chunk.
pub struct Batch<'py> {
    pub(crate) samples: Samples<'py>,
    pub(crate) items: Items<'py>,
    /// Keys to build for each item; `None` = the whole item.
    pub(crate) keys: Option<Vec<String>>,
    /// Python `str` objects of `keys`, for dict lookups without re-creating them.
    pub(crate) py_keys: Vec<Bound<'py, PyString>>,
    pub(crate) parts: SampleParts,
    len: usize,
    /// The last item object converted (a repeated object is converted once).
    last: Option<Bound<'py, PyAny>>,
}

pub(crate) fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

impl<'py> Batch<'py> {
    /// Reads the shapes of `samples` and `items` (nothing is converted yet).
    pub fn new(
        samples: &Bound<'py, PyAny>,
        items: Option<&Bound<'py, PyAny>>,
        keys: Option<&[String]>,
        parts: SampleParts,
    ) -> PyResult<Batch<'py>> {
        let py = samples.py();
        if samples.cast::<PyString>().is_ok() || samples.cast::<PyDict>().is_ok() {
            return Err(PyTypeError::new_err(
                "samples must be a sequence of samples; use grade() for one sample",
            ));
        }
        let samples = if is_arrow_data(samples) {
            Samples::Arrow(arrow::import(samples, "samples")?)
        } else {
            Samples::Py(Seq::new(samples, "samples")?)
        };
        let len = match &samples {
            Samples::Py(s) => s.len(),
            Samples::Arrow(c) => c.len(),
        };
        let mut keys: Option<Vec<String>> = keys.map(<[String]>::to_vec);
        let items =
            match items {
                None => Items::None,
                Some(i) if i.is_none() => Items::None,
                Some(i) if i.cast::<PyString>().is_ok() => return Err(PyTypeError::new_err(
                    "items must be a list of dicts (one per sample), a dict of columns or Arrow \
                     data, not a str",
                )),
                Some(i) if i.cast::<PyDict>().is_ok() => {
                    let d = i.cast::<PyDict>()?;
                    let names: Vec<String> = match &keys {
                        Some(k) => k.clone(),
                        None => d
                            .keys()
                            .iter()
                            .map(|k| {
                                k.extract::<String>().map_err(|_| {
                                    PyTypeError::new_err(format!(
                                        "items: column names must be str, got {}",
                                        type_name(&k)
                                    ))
                                })
                            })
                            .collect::<PyResult<_>>()?,
                    };
                    let mut cols = Vec::with_capacity(names.len());
                    for name in names {
                        let Some(col) = d.get_item(&name)? else {
                            continue; // a key the grader reads but the columns lack: missing
                        };
                        let mut what = String::from("items");
                        push_key(&mut what, &name);
                        let col = if is_arrow_data(&col) {
                            Col::Arrow(arrow::import(&col, &what)?)
                        } else if col.cast::<PyString>().is_ok() || col.cast::<PyDict>().is_ok() {
                            return Err(PyTypeError::new_err(format!(
                            "{what} must be a column (a list of values, one per sample), got {}",
                            type_name(&col)
                        )));
                        } else {
                            Col::Py(Seq::new(&col, &what)?)
                        };
                        if col.len() != len {
                            return Err(PyValueError::new_err(format!(
                                "{what} has {} values but samples has {len}; give one per sample",
                                col.len()
                            )));
                        }
                        cols.push((name, col));
                    }
                    if keys.is_none() {
                        keys = Some(cols.iter().map(|(k, _)| k.clone()).collect());
                    }
                    Items::Columns(cols)
                }
                Some(i) if is_arrow_data(i) => {
                    let col = arrow::import(i, "items")?;
                    let Some(fields) = col.field_names() else {
                        return Err(PyTypeError::new_err(format!(
                        "items as Arrow data must be a table, a record batch or a struct array, \
                         got {}",
                        col.data_type().map(|t| t.to_string()).unwrap_or_default()
                    )));
                    };
                    if col.len() != len {
                        return Err(PyValueError::new_err(format!(
                            "items has {} rows but samples has {len}; give one item per sample",
                            col.len()
                        )));
                    }
                    let read = keys.clone().unwrap_or(fields);
                    Items::Struct(col, read)
                }
                Some(i) => {
                    let seq = Seq::new(i, "items")?;
                    if seq.len() != len {
                        return Err(PyValueError::new_err(format!(
                            "items has {} entries but samples has {len}; give one item per sample \
                         (or a dict of columns)",
                            seq.len()
                        )));
                    }
                    Items::Rows(seq)
                }
            };
        let py_keys = match (&items, &keys) {
            (Items::Rows(_), Some(k)) => k.iter().map(|k| PyString::new(py, k)).collect(),
            _ => Vec::new(),
        };
        Ok(Batch {
            samples,
            items,
            keys,
            py_keys,
            parts,
            len,
            last: None,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The contexts of samples `range`.
    pub fn contexts(&mut self, range: std::ops::Range<usize>) -> PyResult<Vec<EvalContext>> {
        let mut out: Vec<EvalContext> = Vec::with_capacity(range.len());
        for i in range {
            let item = match self.item(i)? {
                Item::Value(v) => v,
                // the same object as the previous sample's: its JSON once more
                Item::Repeat => match out.last() {
                    Some(prev) => Some(prev.item.clone()),
                    None => self.item_fresh(i)?,
                },
            };
            out.push(self.context(i, item)?);
        }
        Ok(out)
    }

    fn item(&mut self, i: usize) -> PyResult<Item> {
        if let Items::Rows(seq) = &self.items {
            let obj = seq.get(i)?;
            if obj.is_none() {
                self.last = None;
                return Ok(Item::Value(None));
            }
            if self.last.as_ref().is_some_and(|prev| prev.is(&obj)) {
                return Ok(Item::Repeat);
            }
            let v = item_value(&obj, self.keys.as_deref(), &self.py_keys, &|| {
                format!("items[{i}]")
            })?;
            self.last = Some(obj);
            return Ok(Item::Value(Some(v)));
        }
        Ok(Item::Value(self.item_fresh(i)?))
    }

    fn item_fresh(&mut self, i: usize) -> PyResult<Option<Value>> {
        match &self.items {
            Items::None => Ok(None),
            Items::Rows(seq) => {
                let obj = seq.get(i)?;
                if obj.is_none() {
                    return Ok(None);
                }
                let path = || format!("items[{i}]");
                item_value(&obj, self.keys.as_deref(), &self.py_keys, &path).map(Some)
            }
            Items::Columns(cols) => {
                let mut m = Map::with_capacity(cols.len());
                for (k, col) in cols {
                    let path = || {
                        let mut p = String::from("items");
                        push_key(&mut p, k);
                        p.push_str(&format!("[{i}]"));
                        p
                    };
                    let v = match col {
                        Col::Py(seq) => {
                            let x = seq.get(i)?;
                            Some(match scalar(&x) {
                                Some(v) => v,
                                None => to_value(&x, &path())?,
                            })
                        }
                        Col::Arrow(c) => c.row_value(i, &mut path())?,
                    };
                    if let Some(v) = v {
                        m.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Object(m)))
            }
            Items::Struct(col, keys) => {
                if col.is_null(i) {
                    return Ok(None);
                }
                let mut m = Map::with_capacity(keys.len());
                for k in keys {
                    let mut path = format!("items[{i}]");
                    push_key(&mut path, k);
                    if let Some(v) = col.field_value(i, k, &mut path)? {
                        m.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Object(m)))
            }
        }
    }

    fn context(&self, i: usize, item: Option<Value>) -> PyResult<EvalContext> {
        let path = &mut String::new();
        match &self.samples {
            Samples::Py(seq) => {
                let s = seq.get(i)?;
                sample_context(&s, item, Some(i), self.parts, path)
            }
            Samples::Arrow(col) => {
                if let Some(text) = col.str_at(i) {
                    return Ok(EvalContext::from_string(text.to_owned(), item, self.parts));
                }
                path.clear();
                path.push_str(&format!("samples[{i}]"));
                match col.row_value(i, path)? {
                    Some(v @ Value::Object(_)) => object_context(&v, item, path, self.parts),
                    Some(Value::String(s)) => Ok(EvalContext::from_string(s, item, self.parts)),
                    None => Err(PyTypeError::new_err(format!(
                        "samples[{i}] is null; a sample is a str (the model output) or a sample \
                         object"
                    ))),
                    Some(_) => Err(PyTypeError::new_err(format!(
                        "samples[{i}] must be a str (the model output) or a sample object"
                    ))),
                }
            }
        }
    }
}

/// One item object as JSON: a dict cut down to `keys` (with their `str` objects `py_keys`,
/// or made here when empty), anything else whole. `path` makes its name for errors (`item`,
/// `items[3]`) — only when there is one.
pub fn item_value(
    obj: &Bound<'_, PyAny>,
    keys: Option<&[String]>,
    py_keys: &[Bound<'_, PyString>],
    path: &dyn Fn() -> String,
) -> PyResult<Value> {
    let (Ok(d), Some(keys)) = (obj.cast::<PyDict>(), keys) else {
        return to_value(obj, &path());
    };
    let mut m = Map::with_capacity(keys.len());
    for (n, k) in keys.iter().enumerate() {
        let x = match py_keys.get(n) {
            Some(pk) => d.get_item(pk)?,
            None => d.get_item(k)?,
        };
        if let Some(x) = x {
            let v = match scalar(&x) {
                Some(v) => v,
                None => {
                    let mut p = path();
                    push_key(&mut p, k);
                    to_value(&x, &p)?
                }
            };
            m.insert(k.clone(), v);
        }
    }
    Ok(Value::Object(m))
}

/// True for Arrow data that is not also a plain Python sequence we read faster ourselves.
fn is_arrow_data(obj: &Bound<'_, PyAny>) -> bool {
    arrow::is_arrow(obj) && obj.cast::<PyList>().is_err() && obj.cast::<PyTuple>().is_err()
}

/// The context of one sample (`str` or sample dict); `index` names it in errors.
pub fn sample_context(
    sample: &Bound<'_, PyAny>,
    item: Option<Value>,
    index: Option<usize>,
    parts: SampleParts,
    path: &mut String,
) -> PyResult<EvalContext> {
    if let Ok(s) = sample.cast::<PyString>() {
        let text = utf8(s, || match index {
            Some(i) => format!("samples[{i}]"),
            None => "sample".to_owned(),
        })?;
        return Ok(EvalContext::from_string(text.to_owned(), item, parts));
    }
    path.clear();
    match index {
        Some(i) => path.push_str(&format!("samples[{i}]")),
        None => path.push_str("sample"),
    }
    if sample.cast::<PyDict>().is_ok() {
        let v = to_value(sample, path)?;
        return object_context(&v, item, path, parts);
    }
    Err(PyTypeError::new_err(format!(
        "{path} must be a str (the model output) or a dict (a sample object), got {}",
        type_name(sample)
    )))
}

pub(crate) fn object_context(
    v: &Value,
    item: Option<Value>,
    path: &str,
    parts: SampleParts,
) -> PyResult<EvalContext> {
    EvalContext::from_sample_object(v, item, parts).map_err(|mut e| {
        if let Some(rest) = e.path.strip_prefix("sample") {
            e.path = format!("{path}{rest}");
        }
        Python::attach(|py| grader_error(py, &[e]))
    })
}
