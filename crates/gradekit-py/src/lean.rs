//! Batches read without building JSON: Python `str` objects and Arrow strings are lent to the
//! engine as they are ([`gradekit_engine::LeanContext`]), for graders whose templates name what
//! they read (`CompiledGrader::item_keys` is known: string_check, text_similarity and multi
//! graders of them).
//!
//! A chunk of samples is read in two passes while the GIL is held. The first takes a strong
//! reference to every `str` a template will read (so no other Python thread can free it while
//! the GIL is released), checks that it has a UTF-8 view, and converts everything else — a
//! number, a nested dict, a sample dict — to JSON, as `convert.rs` always did (so a NaN or an
//! unsupported object in an observed value still raises with its path, and unobserved values
//! are never touched). The second borrows the UTF-8 views (cached in the `str` objects, so no
//! copy) into one [`LeanContext`] per sample. Grading then runs with the GIL released, and the
//! references are dropped with the chunk, under the GIL again.

use crate::arrow::Column;
use crate::convert::{push_key, scalar, to_value, utf8};
use crate::inputs::{object_context, type_name, Batch, Col, Items, Samples};
use gradekit_engine::model::SampleParts;
use gradekit_engine::{EvalContext, LeanContext, LeanItem, LeanSample, LeanValue};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::Value;

static NULL: Value = Value::Null;

/// Where one value of a chunk is kept.
#[derive(Debug, Clone, Copy)]
enum Slot<'b> {
    /// A `str` in [`Chunk::strs`].
    Py(usize),
    /// A string in Arrow buffers (alive as long as the batch).
    Arrow(&'b str),
    /// A converted value in [`Chunk::values`].
    Json(usize),
    /// A present null (Python `None` in a dict or a column of lists).
    Null,
    /// A key the item lacks (Arrow nulls are missing keys, see `arrow.rs`).
    Missing,
}

#[derive(Debug, Clone, Copy)]
enum ItemSlot {
    Empty,
    /// `keys` values at `i * keys.len()` of [`Chunk::fields`].
    Keys,
    Whole(usize),
}

/// One chunk of a batch, read (see the module docs).
pub struct Chunk<'py, 'b> {
    strs: Vec<Bound<'py, PyString>>,
    values: Vec<Value>,
    samples: Vec<Slot<'b>>,
    items: Vec<ItemSlot>,
    fields: Vec<Slot<'b>>,
}

/// For each of the grader's item keys, the column that holds it (dict of columns).
pub fn column_index(batch: &Batch<'_>) -> Vec<Option<usize>> {
    let keys = batch.keys.as_deref().unwrap_or(&[]);
    match &batch.items {
        Items::Columns(cols) => keys
            .iter()
            .map(|k| cols.iter().position(|(name, _)| name == k))
            .collect(),
        _ => Vec::new(),
    }
}

impl<'py, 'b> Chunk<'py, 'b> {
    /// Reads samples `range` of `batch` (whose keys are the grader's item keys).
    pub fn read(
        batch: &'b Batch<'py>,
        cols: &[Option<usize>],
        range: std::ops::Range<usize>,
    ) -> PyResult<Chunk<'py, 'b>> {
        let keys = batch.keys.as_deref().unwrap_or(&[]);
        let n = range.len();
        let mut c = Chunk {
            strs: Vec::with_capacity(n * (1 + keys.len())),
            values: Vec::new(),
            samples: Vec::with_capacity(n),
            items: Vec::with_capacity(n),
            fields: Vec::with_capacity(n * keys.len()),
        };
        for i in range {
            let s = c.sample(batch, i)?;
            c.samples.push(s);
            let it = c.item(batch, cols, keys, i)?;
            c.items.push(it);
        }
        Ok(c)
    }

    fn keep(
        &mut self,
        s: Bound<'py, PyString>,
        path: impl FnOnce() -> String,
    ) -> PyResult<Slot<'b>> {
        utf8(&s, path)?; // the UTF-8 view now (errors in sample order), borrowed later
        self.strs.push(s);
        Ok(Slot::Py(self.strs.len() - 1))
    }

    fn json(&mut self, v: Value) -> Slot<'b> {
        self.values.push(v);
        Slot::Json(self.values.len() - 1)
    }

    /// A text sample: lent as is, or built when the grader observes more than the text.
    fn text(&mut self, parts: SampleParts, s: Slot<'b>, text: &str) -> Slot<'b> {
        if parts == SampleParts::TEXT {
            return s;
        }
        let built = EvalContext::from_string(text.to_owned(), None, parts).sample;
        self.json(built)
    }

    fn sample(&mut self, batch: &'b Batch<'py>, i: usize) -> PyResult<Slot<'b>> {
        let parts = batch.parts;
        match &batch.samples {
            Samples::Py(seq) => {
                let obj = seq.get(i)?;
                match obj.cast_into::<PyString>() {
                    Ok(s) if parts == SampleParts::TEXT => self.keep(s, || format!("samples[{i}]")),
                    Ok(s) => {
                        let text = utf8(&s, || format!("samples[{i}]"))?.to_owned();
                        let built = EvalContext::from_string(text, None, parts);
                        Ok(self.json(built.sample))
                    }
                    Err(e) => {
                        let obj = e.into_inner();
                        let path = format!("samples[{i}]");
                        if obj.cast::<PyDict>().is_err() {
                            return Err(PyTypeError::new_err(format!(
                                "{path} must be a str (the model output) or a dict (a sample \
                                 object), got {}",
                                type_name(&obj)
                            )));
                        }
                        let v = to_value(&obj, &path)?;
                        let ctx = object_context(&v, None, &path, parts)?;
                        Ok(self.json(ctx.sample))
                    }
                }
            }
            Samples::Arrow(col) => {
                if let Some(text) = col.str_at(i) {
                    return Ok(self.text(parts, Slot::Arrow(text), text));
                }
                let mut path = format!("samples[{i}]");
                match col.row_value(i, &mut path)? {
                    Some(v @ Value::Object(_)) => {
                        let ctx = object_context(&v, None, &path, parts)?;
                        Ok(self.json(ctx.sample))
                    }
                    Some(Value::String(s)) => {
                        let built = EvalContext::from_string(s, None, parts).sample;
                        Ok(self.json(built))
                    }
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

    /// A Python value of an item key (`path` names it in errors).
    fn py_value(&mut self, x: Bound<'py, PyAny>, path: &dyn Fn() -> String) -> PyResult<Slot<'b>> {
        if x.is_none() {
            return Ok(Slot::Null);
        }
        match x.cast_into::<PyString>() {
            Ok(s) => self.keep(s, path),
            Err(e) => {
                let x = e.into_inner();
                let v = match scalar(&x) {
                    Some(v) => v,
                    None => to_value(&x, &path())?,
                };
                Ok(self.json(v))
            }
        }
    }

    fn arrow_value(&mut self, col: &'b Column, i: usize, path: &mut String) -> PyResult<Slot<'b>> {
        if let Some(s) = col.str_at(i) {
            return Ok(Slot::Arrow(s));
        }
        Ok(match col.row_value(i, path)? {
            Some(v) => self.json(v),
            None => Slot::Missing,
        })
    }

    fn item(
        &mut self,
        batch: &'b Batch<'py>,
        cols: &[Option<usize>],
        keys: &[String],
        i: usize,
    ) -> PyResult<ItemSlot> {
        match &batch.items {
            Items::None => Ok(ItemSlot::Empty),
            Items::Rows(seq) => {
                let obj = seq.get(i)?;
                if obj.is_none() {
                    return Ok(ItemSlot::Empty);
                }
                let Ok(d) = obj.cast::<PyDict>() else {
                    let v = to_value(&obj, &format!("items[{i}]"))?;
                    self.values.push(v);
                    return Ok(ItemSlot::Whole(self.values.len() - 1));
                };
                for (n, k) in keys.iter().enumerate() {
                    let x = match batch.py_keys.get(n) {
                        Some(pk) => d.get_item(pk)?,
                        None => d.get_item(k)?,
                    };
                    let slot = match x {
                        None => Slot::Missing,
                        Some(x) => self.py_value(x, &|| {
                            let mut p = format!("items[{i}]");
                            push_key(&mut p, k);
                            p
                        })?,
                    };
                    self.fields.push(slot);
                }
                Ok(ItemSlot::Keys)
            }
            Items::Columns(all) => {
                for (n, k) in keys.iter().enumerate() {
                    let path = || {
                        let mut p = String::from("items");
                        push_key(&mut p, k);
                        p.push_str(&format!("[{i}]"));
                        p
                    };
                    let slot = match cols.get(n).copied().flatten().map(|c| &all[c].1) {
                        None => Slot::Missing,
                        Some(Col::Py(seq)) => self.py_value(seq.get(i)?, &path)?,
                        Some(Col::Arrow(c)) => self.arrow_value(c, i, &mut path())?,
                    };
                    self.fields.push(slot);
                }
                Ok(ItemSlot::Keys)
            }
            Items::Struct(col, _) => {
                if col.is_null(i) {
                    return Ok(ItemSlot::Empty);
                }
                for k in keys {
                    let slot = if let Some(s) = col.field_str(i, k) {
                        Slot::Arrow(s)
                    } else {
                        let mut path = format!("items[{i}]");
                        push_key(&mut path, k);
                        match col.field_value(i, k, &mut path)? {
                            Some(v) => self.json(v),
                            None => Slot::Missing,
                        }
                    };
                    self.fields.push(slot);
                }
                Ok(ItemSlot::Keys)
            }
        }
    }

    /// The UTF-8 views of the kept `str`s (checked when read).
    pub fn strs(&self) -> Vec<&str> {
        self.strs.iter().map(|s| s.to_str().unwrap_or("")).collect()
    }

    /// Bytes of the longest string of the chunk (`strs` from [`Self::strs`]; JSON-converted
    /// values are small or nested, and are not counted).
    pub fn longest(&self, strs: &[&str]) -> usize {
        let arrow = self.samples.iter().chain(&self.fields).map(|s| match *s {
            Slot::Arrow(t) => t.len(),
            _ => 0,
        });
        strs.iter().map(|s| s.len()).chain(arrow).max().unwrap_or(0)
    }

    /// The item values of every sample, borrowed (`strs` from [`Self::strs`]).
    pub fn fields<'c>(&'c self, strs: &[&'c str]) -> Vec<Option<LeanValue<'c>>> {
        self.fields
            .iter()
            .map(|s| match *s {
                Slot::Py(j) => Some(LeanValue::Str(strs[j])),
                Slot::Arrow(t) => Some(LeanValue::Str(t)),
                Slot::Json(j) => Some(LeanValue::Json(&self.values[j])),
                Slot::Null => Some(LeanValue::Json(&NULL)),
                Slot::Missing => None,
            })
            .collect()
    }

    /// One context per sample, borrowing `strs` and `fields`.
    pub fn contexts<'c>(
        &'c self,
        strs: &[&'c str],
        fields: &'c [Option<LeanValue<'c>>],
        keys: &'c [String],
        parts: SampleParts,
    ) -> Vec<LeanContext<'c>> {
        let k = keys.len();
        let mut at = 0;
        self.samples
            .iter()
            .zip(&self.items)
            .map(|(s, it)| {
                let sample = match *s {
                    Slot::Py(j) => LeanSample::Text(strs[j]),
                    Slot::Arrow(t) => LeanSample::Text(t),
                    Slot::Json(j) => LeanSample::Built(&self.values[j]),
                    Slot::Null | Slot::Missing => LeanSample::Text(""),
                };
                let item = match *it {
                    ItemSlot::Empty => LeanItem::Empty,
                    ItemSlot::Whole(j) => LeanItem::Whole(&self.values[j]),
                    ItemSlot::Keys => {
                        let v = &fields[at..at + k];
                        at += k;
                        LeanItem::Keys(v)
                    }
                };
                LeanContext::new(sample, item, keys, parts)
            })
            .collect()
    }
}
