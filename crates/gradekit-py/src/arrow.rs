//! Arrow data from Python, imported without copying.
//!
//! pyarrow, Ray Data, HF `datasets`, polars and pandas all speak the Arrow PyCapsule protocol:
//! `__arrow_c_array__()` hands over one array (a record batch is a struct array) and
//! `__arrow_c_stream__()` a stream of them (a table, a chunked array) through the Arrow C data
//! interface. Importing takes ownership of the producer's buffers (their release callbacks run
//! when the last `ArrayRef` is dropped), so a column of a million strings is read in place:
//! only the values a grader observes are copied, one at a time, into the JSON of a sample
//! (see [`value`]).
//!
//! **Nulls are missing keys.** Arrow has no way to say "this object lacks key `answer`": a
//! JSON reader fills the struct field with null. An item read from Arrow therefore leaves out
//! its null fields, and a template that names one fails with `invalid_variable_error` exactly
//! as it does for the JSON line the row came from (where the key is absent). Elements of lists
//! keep their nulls.
//!
//! `unsafe` is confined to the two capsule imports below: the C data interface is a C ABI,
//! and the pointers come from capsules whose names were checked.

use arrow_array::cast::AsArray;
use arrow_array::ffi::{from_ffi, FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{make_array, new_empty_array, Array, ArrayRef};
use arrow_data::ArrayData;
use arrow_schema::DataType;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};
use serde_json::{Map, Number, Value};
use std::ffi::CStr;

/// Deepest nesting of Arrow values converted (struct in list in struct …).
const MAX_DEPTH: usize = 256;

/// True when `obj` offers Arrow data through the PyCapsule protocol.
pub fn is_arrow(obj: &Bound<'_, PyAny>) -> bool {
    obj.hasattr("__arrow_c_stream__").unwrap_or(false)
        || obj.hasattr("__arrow_c_array__").unwrap_or(false)
}

fn arrow_err(what: &str, e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("cannot import {what} as Arrow data: {e}"))
}

/// A column of Arrow data as its chunks (one for an array or a record batch).
#[derive(Debug, Clone)]
pub struct Column {
    chunks: Vec<ArrayRef>,
    /// Row where each chunk starts, and the total at the end.
    starts: Vec<usize>,
}

impl Column {
    fn new(chunks: Vec<ArrayRef>) -> Column {
        let mut starts = Vec::with_capacity(chunks.len() + 1);
        let mut n = 0;
        for c in &chunks {
            starts.push(n);
            n += c.len();
        }
        starts.push(n);
        Column { chunks, starts }
    }

    pub fn len(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    pub fn data_type(&self) -> Option<&DataType> {
        self.chunks.first().map(|c| c.data_type())
    }

    /// The chunk holding row `i` and the row's index in it.
    pub fn at(&self, i: usize) -> Option<(&dyn Array, usize)> {
        // partition_point: the first chunk start greater than i, minus one.
        let k = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        let chunk = self.chunks.get(k)?;
        let j = i - self.starts[k];
        (j < chunk.len()).then_some((chunk.as_ref(), j))
    }

    /// The field names of a struct column (a table's columns); `None` for other types.
    pub fn field_names(&self) -> Option<Vec<String>> {
        match self.data_type()? {
            DataType::Struct(fields) => Some(fields.iter().map(|f| f.name().clone()).collect()),
            _ => None,
        }
    }

    /// Field `name` of row `i` of a struct column: `Ok(None)` when the row or the field is null
    /// or the struct has no such field (a missing key).
    pub fn field_value(&self, i: usize, name: &str, path: &mut String) -> PyResult<Option<Value>> {
        let Some((a, j)) = self.at(i) else {
            return Ok(None);
        };
        if a.is_null(j) {
            return Ok(None);
        }
        let Some(s) = a.as_struct_opt() else {
            return Ok(None);
        };
        match s.column_by_name(name) {
            Some(col) => value(col.as_ref(), j, path, 1),
            None => Ok(None),
        }
    }

    /// Field `name` of row `i` of a struct column when it is a (non-null) string, borrowed.
    pub fn field_str(&self, i: usize, name: &str) -> Option<&str> {
        let (a, j) = self.at(i)?;
        if a.is_null(j) {
            return None;
        }
        let col = a.as_struct_opt()?.column_by_name(name)?;
        str_value(col.as_ref(), j)
    }

    /// Row `i` as JSON (`None` when null).
    pub fn row_value(&self, i: usize, path: &mut String) -> PyResult<Option<Value>> {
        match self.at(i) {
            Some((a, j)) => value(a, j, path, 0),
            None => Ok(None),
        }
    }

    /// True when row `i` is null (or out of range).
    pub fn is_null(&self, i: usize) -> bool {
        self.at(i).is_none_or(|(a, j)| a.is_null(j))
    }

    /// Row `i` as a string when the column holds strings.
    pub fn str_at(&self, i: usize) -> Option<&str> {
        let (a, j) = self.at(i)?;
        str_value(a, j)
    }
}

/// Row `j` of `a` when `a` holds strings and the row is not null.
fn str_value(a: &dyn Array, j: usize) -> Option<&str> {
    if a.is_null(j) {
        return None;
    }
    match a.data_type() {
        DataType::Utf8 => Some(a.as_string::<i32>().value(j)),
        DataType::LargeUtf8 => Some(a.as_string::<i64>().value(j)),
        DataType::Utf8View => Some(a.as_string_view().value(j)),
        _ => None,
    }
}

/// Imports `obj` (anything with `__arrow_c_stream__` or `__arrow_c_array__`) as one column.
/// `what` names it in errors.
pub fn import(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Column> {
    let py = obj.py();
    if obj.hasattr("__arrow_c_stream__")? {
        let capsule = obj.call_method1("__arrow_c_stream__", (py.None(),))?;
        let capsule = capsule.cast::<PyCapsule>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what}.__arrow_c_stream__() did not return a capsule"
            ))
        })?;
        let ptr = capsule.pointer_checked(Some(c"arrow_array_stream"))?;
        // SAFETY: the capsule is named "arrow_array_stream", so it holds an
        // `ArrowArrayStream` (C stream interface). `from_raw` moves it out and leaves a released
        // stream behind, which the capsule's destructor then ignores.
        let mut stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
        let (Some(get_schema), Some(get_next)) = (stream.get_schema, stream.get_next) else {
            return Err(arrow_err(what, "the stream was already consumed"));
        };
        let mut schema = FFI_ArrowSchema::empty();
        // SAFETY: `stream` is a live stream; `schema` is an empty struct for it to fill.
        let rc = unsafe { get_schema(&mut stream, &mut schema) };
        if rc != 0 {
            return Err(arrow_err(what, last_error(&mut stream, rc)));
        }
        let mut chunks = Vec::new();
        loop {
            let mut array = FFI_ArrowArray::empty();
            // SAFETY: as above; `array` is an empty struct for the producer to fill.
            let rc = unsafe { get_next(&mut stream, &mut array) };
            if rc != 0 {
                return Err(arrow_err(what, last_error(&mut stream, rc)));
            }
            if array.is_released() {
                break; // end of stream
            }
            // SAFETY: `array` was just produced for `schema` by the same stream.
            let data = unsafe { from_ffi(array, &schema) }.map_err(|e| arrow_err(what, e))?;
            chunks.push(make_array(
                unsliced_structs(data).map_err(|e| arrow_err(what, e))?,
            ));
        }
        if chunks.is_empty() {
            // An empty table streams no batch at all: keep its type (a struct stays a struct).
            let t = DataType::try_from(&schema).map_err(|e| arrow_err(what, e))?;
            chunks.push(new_empty_array(&t));
        }
        return Ok(Column::new(chunks));
    }
    let pair = obj.call_method1("__arrow_c_array__", (py.None(),))?;
    let pair = pair.cast::<PyTuple>().map_err(|_| {
        PyTypeError::new_err(format!("{what}.__arrow_c_array__() did not return a tuple"))
    })?;
    let schema_capsule = pair.get_item(0)?;
    let array_capsule = pair.get_item(1)?;
    let schema_capsule = schema_capsule
        .cast::<PyCapsule>()
        .map_err(|_| PyTypeError::new_err(format!("{what}: no schema capsule")))?;
    let array_capsule = array_capsule
        .cast::<PyCapsule>()
        .map_err(|_| PyTypeError::new_err(format!("{what}: no array capsule")))?;
    let sp = schema_capsule.pointer_checked(Some(c"arrow_schema"))?;
    let ap = array_capsule.pointer_checked(Some(c"arrow_array"))?;
    // SAFETY: the capsules are named "arrow_schema" and "arrow_array" (C data interface). The
    // schema stays owned by its capsule (borrowed here while the capsule is alive); the array
    // is moved out, leaving a released array for the capsule's destructor.
    let data = unsafe {
        let schema: &FFI_ArrowSchema = &*sp.as_ptr().cast::<FFI_ArrowSchema>();
        let array = FFI_ArrowArray::from_raw(ap.as_ptr().cast());
        from_ffi(array, schema)
    }
    .map_err(|e| arrow_err(what, e))?;
    let data = unsliced_structs(data).map_err(|e| arrow_err(what, e))?;
    Ok(Column::new(vec![make_array(data)]))
}

/// `data` with no struct left for arrow-rs to cut twice.
///
/// A sliced struct (a pyarrow `Table.slice`, a Ray Data batch cut from a block) arrives with
/// an offset and its children uncut. arrow-rs cuts a child with `ArrayData::slice`
/// (`StructArray::from` by the struct's offset, `FixedSizeListArray::from` always), which for a
/// struct child also cuts *its* children and moves its offset — and those are cut a second
/// time when that child becomes a `StructArray`: wrong rows, or a panic (`end <= self.len()`).
/// Data that nests a struct or fixed-size list in another and has an offset anywhere is
/// rebuilt with the offsets pushed down once: every struct and fixed-size list at offset 0
/// with children exactly its rows, so nothing is cut twice. Anything else (flat columns,
/// unsliced batches) is returned as it is.
fn unsliced_structs(data: ArrayData) -> Result<ArrayData, arrow_schema::ArrowError> {
    if nests(&data) && cut(&data) {
        window(&data, 0, data.len())
    } else {
        Ok(data)
    }
}

fn is_nesting(d: &ArrayData) -> bool {
    matches!(
        d.data_type(),
        DataType::Struct(_) | DataType::FixedSizeList(_, _)
    )
}

/// True when a struct or fixed-size list holds another (at any depth).
fn nests(d: &ArrayData) -> bool {
    d.child_data()
        .iter()
        .any(|c| (is_nesting(d) && is_nesting(c)) || nests(c))
}

/// True when anything in `d` has an offset, or children longer than its rows.
fn cut(d: &ArrayData) -> bool {
    let longer = match d.data_type() {
        DataType::Struct(_) => d.child_data().iter().any(|c| c.len() != d.len()),
        DataType::FixedSizeList(_, size) => {
            let rows = d.len() * usize::try_from(*size).unwrap_or(0);
            d.child_data().iter().any(|c| c.len() != rows)
        }
        _ => false,
    };
    d.offset() != 0 || longer || d.child_data().iter().any(cut)
}

/// True when `d` is or holds a struct or fixed-size list.
fn holds_nesting(d: &ArrayData) -> bool {
    is_nesting(d) || d.child_data().iter().any(holds_nesting)
}

/// Rows `offset..offset + len` of `data` (logical rows), with every struct and fixed-size
/// list in it rebuilt at offset 0 over children cut to exactly its rows.
fn window(
    data: &ArrayData,
    offset: usize,
    len: usize,
) -> Result<ArrayData, arrow_schema::ArrowError> {
    // Row i of a struct is row `data.offset() + i` of each child; of a fixed-size list, rows
    // `(data.offset() + i) * size ..` of its values.
    let (from, per_row) = match data.data_type() {
        DataType::Struct(_) => (data.offset() + offset, 1),
        DataType::FixedSizeList(_, size) => {
            let size = usize::try_from(*size).unwrap_or(0);
            ((data.offset() + offset) * size, size)
        }
        _ => {
            // Lists, maps and dictionaries reach their children through offsets or keys: the
            // children stay whole (rebuilt when they hold structs), the array itself is cut.
            let whole = if data.child_data().iter().any(holds_nesting) {
                let children = data
                    .child_data()
                    .iter()
                    .map(|c| window(c, 0, c.len()))
                    .collect::<Result<Vec<_>, _>>()?;
                data.clone().into_builder().child_data(children).build()?
            } else {
                data.clone()
            };
            return Ok(if offset == 0 && len == whole.len() {
                whole
            } else {
                whole.slice(offset, len)
            });
        }
    };
    let children = data
        .child_data()
        .iter()
        .map(|c| window(c, from, len * per_row))
        .collect::<Result<Vec<_>, _>>()?;
    ArrayData::builder(data.data_type().clone())
        .len(len)
        .nulls(data.nulls().map(|n| n.slice(offset, len)))
        .child_data(children)
        .build()
}

fn last_error(stream: &mut FFI_ArrowArrayStream, rc: i32) -> String {
    let Some(get_last_error) = stream.get_last_error else {
        return format!("error code {rc}");
    };
    // SAFETY: a live stream; the message (when any) is a NUL-terminated string it owns.
    let msg = unsafe { get_last_error(stream) };
    if msg.is_null() {
        return format!("error code {rc}");
    }
    // SAFETY: non-null, NUL-terminated, valid until the next call on the stream.
    unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned()
}

/// Row `i` of `a` as JSON; `None` for null (a missing key, see the module docs). `path` names
/// the value in errors (`items[3].answer`).
pub fn value(a: &dyn Array, i: usize, path: &mut String, depth: usize) -> PyResult<Option<Value>> {
    if a.is_null(i) {
        return Ok(None);
    }
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "{path}: nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let v = match a.data_type() {
        DataType::Null => return Ok(None),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).into(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).into(),
        DataType::Float32 => float(f64::from(a.as_primitive::<Float32Type>().value(i)), path)?,
        DataType::Float64 => float(a.as_primitive::<Float64Type>().value(i), path)?,
        DataType::Utf8 => Value::String(a.as_string::<i32>().value(i).to_owned()),
        DataType::LargeUtf8 => Value::String(a.as_string::<i64>().value(i).to_owned()),
        DataType::Utf8View => Value::String(a.as_string_view().value(i).to_owned()),
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut m = Map::with_capacity(fields.len());
            let base = path.len();
            for (f, field) in fields.iter().enumerate() {
                crate::convert::push_key(path, field.name());
                let v = value(s.column(f).as_ref(), i, path, depth + 1)?;
                path.truncate(base);
                if let Some(v) = v {
                    m.insert(field.name().clone(), v);
                }
            }
            Value::Object(m)
        }
        DataType::List(_) => list(a.as_list::<i32>().value(i).as_ref(), path, depth)?,
        DataType::LargeList(_) => list(a.as_list::<i64>().value(i).as_ref(), path, depth)?,
        DataType::FixedSizeList(_, _) => {
            list(a.as_fixed_size_list().value(i).as_ref(), path, depth)?
        }
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let Some(k) = dict_key(d.keys(), i, d.values().len()) else {
                return Ok(None);
            };
            return value(d.values().as_ref(), k, path, depth + 1);
        }
        other => {
            return Err(PyTypeError::new_err(format!(
                "{path}: Arrow type {other} is not JSON data (cast the column to a string first)"
            )))
        }
    };
    Ok(Some(v))
}

/// Key `i` of a dictionary's `keys`, clamped to its `values` as arrow-rs's `normalized_keys`
/// does (`None` when there are no values). Read one at a time: `normalized_keys` builds the
/// whole column's keys, which per row made a dictionary column quadratic.
fn dict_key(keys: &dyn Array, i: usize, values: usize) -> Option<usize> {
    let k = match keys.data_type() {
        DataType::Int8 => i64::from(keys.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => i64::from(keys.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => i64::from(keys.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => keys.as_primitive::<Int64Type>().value(i),
        DataType::UInt8 => i64::from(keys.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => i64::from(keys.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => i64::from(keys.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => {
            i64::try_from(keys.as_primitive::<UInt64Type>().value(i)).unwrap_or(i64::MAX)
        }
        _ => return None,
    };
    let last = values.checked_sub(1)?;
    Some(usize::try_from(k).unwrap_or(0).min(last))
}

fn list(a: &dyn Array, path: &mut String, depth: usize) -> PyResult<Value> {
    let mut out = Vec::with_capacity(a.len());
    let base = path.len();
    for j in 0..a.len() {
        path.push_str(&format!("[{j}]"));
        out.push(value(a, j, path, depth + 1)?.unwrap_or(Value::Null));
        path.truncate(base);
    }
    Ok(Value::Array(out))
}

fn float(f: f64, path: &str) -> PyResult<Value> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| PyValueError::new_err(format!("{path}: {f} is not a JSON number")))
}
