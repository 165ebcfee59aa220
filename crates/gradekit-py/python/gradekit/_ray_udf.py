"""`gradekit.ray.GraderUDF`: grading one batch (dict of columns, pandas, numpy or pyarrow).

The batch side of the Ray adapter, with no Ray in it: reading the rows of a batch the way
``gradekit score`` reads lines (sample column, item column or flat item columns, nulls and
NaNs as missing values, bad rows as error rows with the CLI's codes), grading them in one
`Grader` call, and adding the ``reward``/``passed``/``error``/``errors`` columns in the batch's
own format (``errors`` as a typed Arrow struct). `gradekit.ray` (the module docs explain the
design) runs it in Ray tasks or actors.
"""

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._gradekit import Grader, GraderError

Config = Union[Mapping[str, Any], str]


_SAMPLE_COLUMNS = ("model_sample", "sample")
# read_jsonl's column of items holding present nulls (see gradekit._ray_jsonl.ITEM_JSON).
_ITEM_JSON = "_gradekit_item"


def _plain(values: Any) -> List[Any]:
    """A column as a list of plain Python values (numpy arrays and scalars via tolist)."""
    if hasattr(values, "to_pylist"):  # pyarrow arrays
        return values.to_pylist()
    if hasattr(values, "tolist"):  # numpy arrays, pandas Series
        return values.tolist()
    return list(values)


def _is_arrow(batch: Any) -> bool:
    return hasattr(batch, "to_pydict") and hasattr(batch, "schema")


def _is_pandas(batch: Any) -> bool:
    return hasattr(batch, "columns") and hasattr(batch, "assign") and not isinstance(batch, Mapping)


def _column_names(batch: Any) -> List[str]:
    if _is_arrow(batch):
        return list(batch.schema.names)
    if _is_pandas(batch):
        return [str(c) for c in batch.columns]
    if isinstance(batch, Mapping):
        return [str(c) for c in batch]
    raise TypeError(
        "a batch must be a dict of columns, a pandas DataFrame or a pyarrow Table, got %s"
        % type(batch).__name__
    )


def _column(batch: Any, name: str) -> List[Any]:
    if _is_arrow(batch):
        return batch.column(name).to_pylist()
    return _plain(batch[name])


def _batch_len(batch: Any) -> int:
    if _is_arrow(batch) or _is_pandas(batch):
        return len(batch)
    for v in batch.values():
        return len(v)
    return 0


def _missing(v: Any) -> bool:
    """A null as a batch holds it: None, or a NaN — Ray's numpy batches (the default format)
    turn a block's all-null column into a float NaN array, and pandas marks missing values
    with NaN. JSON has no NaN, so a NaN is never a value a row gave."""
    return v is None or (isinstance(v, float) and v != v)


def _nulls_as_none(values: List[Any]) -> List[Any]:
    return [None if _missing(v) else v for v in values]


def _drop_nulls(v: Any) -> Any:
    """An item read from Arrow: struct fields that are null are keys the object lacked."""
    if isinstance(v, dict):
        return {k: _drop_nulls(x) for k, x in v.items() if not _missing(x)}
    if isinstance(v, list):
        return [_drop_nulls(x) for x in v]
    return v


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, (list, tuple)):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return "a %s" % type(v).__name__


class _Row:
    """What one row becomes: a sample and item to grade, or an error."""

    __slots__ = ("sample", "item", "error")

    def __init__(self, sample: Any = None, item: Any = None, error: Optional[Tuple[str, str]] = None):
        self.sample = sample
        self.item = item
        self.error = error


def _sample_of(values: Dict[str, Any], sample_column: Optional[str]) -> Tuple[Any, Optional[Tuple[str, str]]]:
    """The sample of a row, or the error `gradekit score` gives the same line."""
    if sample_column is not None:
        v = values.get(sample_column)
        name = sample_column
        if v is None:
            return None, ("missing_sample", "row has no %r value (the sample column)" % sample_column)
    else:
        ms, s = values.get("model_sample"), values.get("sample")
        if ms is not None and s is not None:
            return None, ("invalid_sample", 'row has both "model_sample" and "sample"; give one')
        if ms is None and s is None:
            return None, (
                "missing_sample",
                'row has no "model_sample" (string) or "sample" (string or object)',
            )
        v, name = (ms, "model_sample") if ms is not None else (s, "sample")
    if isinstance(v, str):
        return v, None
    if isinstance(v, dict) and name != "model_sample":
        return v, None
    expected = "a string" if name == "model_sample" else "a string or an object"
    return None, ("invalid_sample", "%r is %s, expected %s" % (name, _kind(v), expected))


class GraderUDF:
    """A ``map_batches`` callable (class or instance) that grades each row of a batch.

    Args:
        config: the grader config (dict or JSON string), or a `gradekit.Grader` (pickled to
            the workers and compiled again there).
        sample_column: the column holding the sample; default: ``model_sample`` or
            ``sample``, whichever the row sets (the CLI's rule).
        item_column: the column holding each row's item (default ``"item"``); when the batch
            has no such column (or it is None), the item is built from the row's other
            columns (``item_columns`` picks which).
        item_columns: the columns that make up the item when there is no item column.
        output_column: the name of the reward column.
        with_errors: also add an ``errors`` column: the ``metadata.errors`` flags (a struct).
        engine_options: keyword arguments of `gradekit.Grader`.
    """

    def __init__(
        self,
        config: Union[Config, Grader],
        *,
        sample_column: Optional[str] = None,
        item_column: Optional[str] = "item",
        item_columns: Optional[Sequence[str]] = None,
        output_column: str = "reward",
        with_errors: bool = False,
        engine_options: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if isinstance(config, Grader):
            self.grader = config
        else:
            self.grader = Grader(config, **dict(engine_options or {}))
        self.sample_column = sample_column
        self.item_column = item_column
        self.item_columns = list(item_columns) if item_columns is not None else None
        self.output_column = output_column
        self.with_errors = with_errors

    # -- reading rows -------------------------------------------------------------------

    def _rows(self, batch: Any) -> List[_Row]:
        names = _column_names(batch)
        n = _batch_len(batch)
        from_arrow = not isinstance(batch, Mapping) or any(
            hasattr(v, "dtype") for v in batch.values()
        )
        sample_cols = [self.sample_column] if self.sample_column else list(_SAMPLE_COLUMNS)
        present = [c for c in sample_cols if c in names]
        if not present:
            raise KeyError(
                "sample column %s is not in the batch (columns: %s)"
                % (" or ".join(repr(c) for c in sample_cols), ", ".join(names))
            )
        cols: Dict[str, List[Any]] = {c: _column(batch, c) for c in present}
        if from_arrow:
            cols = {c: _nulls_as_none(v) for c, v in cols.items()}
        whole_item = self.item_column is not None and self.item_column in names
        if whole_item:
            items: List[Any] = _column(batch, self.item_column)  # type: ignore[arg-type]
            if from_arrow:
                items = _nulls_as_none(items)
        else:
            skip = set(sample_cols) | {"id", "error", _ITEM_JSON}
            wanted = self.item_columns
            if wanted is None:
                keys = self.grader.item_keys
                wanted = [c for c in names if c not in skip and (keys is None or c in keys)]
            missing = [c for c in wanted if c not in names]
            if missing:
                raise KeyError(
                    "item column %r is not in the batch (columns: %s)" % (missing[0], ", ".join(names))
                )
            item_cols = {c: _column(batch, c) for c in wanted}
            items = [
                {c: v[i] for c, v in item_cols.items() if not (from_arrow and _missing(v[i]))}
                for i in range(n)
            ]
        read_errors = _column(batch, "error") if "error" in names else [None] * n
        # read_jsonl: the item as JSON where it holds present nulls (Arrow made them missing)
        item_json = _column(batch, _ITEM_JSON) if _ITEM_JSON in names else [None] * n
        rows = []
        for i in range(n):
            prior = read_errors[i]
            if isinstance(prior, Mapping) and prior.get("code"):
                rows.append(_Row(error=(str(prior["code"]), str(prior.get("message") or ""))))
                continue
            sample, err = _sample_of({c: v[i] for c, v in cols.items()}, self.sample_column)
            if err is not None:
                rows.append(_Row(error=err))
                continue
            item = items[i]
            if whole_item and isinstance(item_json[i], str):
                item = json.loads(item_json[i])
            elif whole_item and from_arrow:
                item = _drop_nulls(item)
            rows.append(_Row(sample, {} if item is None else item))
        return rows

    # -- grading ------------------------------------------------------------------------

    def _grade(self, rows: List[_Row]) -> List[Any]:
        """One result per row: a GradeResult, or None for an error row (row.error set)."""
        todo = [i for i, r in enumerate(rows) if r.error is None]
        out: List[Any] = [None] * len(rows)
        try:
            results = self.grader.grade_batch([rows[i].sample for i in todo], [rows[i].item for i in todo])
            for i, r in zip(todo, results):
                out[i] = r
            return out
        except (TypeError, ValueError, OverflowError):
            pass  # some row is not gradable: find it, grade the others
        for i in todo:
            try:
                out[i] = self.grader.grade(rows[i].sample, rows[i].item)
            except GraderError as e:
                rows[i].error = ("invalid_sample", str(e))
            except (TypeError, ValueError, OverflowError) as e:
                rows[i].error = ("invalid_item", str(e))
        return out

    def columns(self, batch: Any) -> Dict[str, List[Any]]:
        """The columns this UDF adds to `batch`, as lists."""
        rows = self._rows(batch)
        results = self._grade(rows)
        added: Dict[str, List[Any]] = {
            self.output_column: [None if r is None else r.reward for r in results]
        }
        if self.grader.pass_threshold is not None:
            added["passed"] = [None if r is None else r.passed for r in results]
        added["error"] = [
            None if row.error is None else {"code": row.error[0], "message": row.error[1]}
            for row in rows
        ]
        if self.with_errors:
            added["errors"] = [None if r is None else r.errors for r in results]
        return added

    def _arrow_columns(self, batch: Any) -> Optional[Dict[str, Any]]:
        """The added columns of a pyarrow batch graded straight from its Arrow buffers (one
        `Grader.rewards` call, no Python objects per row), or None when some row needs the
        row-by-row path (a null or non-string sample, a non-struct item column)."""
        import pyarrow as pa

        names = batch.schema.names
        if "error" in names and batch.column("error").null_count != len(batch):
            return None  # rows read_jsonl could not read: the row-by-row path keeps their error
        if _ITEM_JSON in names and batch.column(_ITEM_JSON).null_count != len(batch):
            return None  # items with present nulls: graded from their JSON, row by row
        if self.sample_column is not None:
            sample_col = self.sample_column if self.sample_column in names else None
        else:
            present = [c for c in _SAMPLE_COLUMNS if c in names]
            sample_col = present[0] if len(present) == 1 else None
        if sample_col is None:
            return None
        samples = batch.column(sample_col)
        if samples.null_count or not (
            pa.types.is_string(samples.type) or pa.types.is_large_string(samples.type)
        ):
            return None
        if self.item_column is not None and self.item_column in names:
            items = batch.column(self.item_column)
            if not pa.types.is_struct(items.type):
                return None
        else:
            skip = set(_SAMPLE_COLUMNS) | {sample_col, "id", "error", _ITEM_JSON}
            wanted = self.item_columns
            if wanted is None:
                keys = self.grader.item_keys
                wanted = [c for c in names if c not in skip and (keys is None or c in keys)]
            elif any(c not in names for c in wanted):
                return None
            items = {c: batch.column(c) for c in wanted}
        n = len(batch)
        try:
            if self.with_errors:
                results = self.grader.grade_batch(samples, items)
                rewards = pa.array([r.reward for r in results], type=pa.float64())
            else:
                rewards = pa.array(self.grader.rewards(samples, items, as_numpy=True))
                results = None
        except (TypeError, ValueError, OverflowError):
            return None  # some row is not gradable: the row-by-row path finds it
        out: Dict[str, Any] = {self.output_column: rewards}
        threshold = self.grader.pass_threshold
        if threshold is not None:
            import pyarrow.compute as pc

            out["passed"] = pc.greater_equal(rewards, pa.scalar(threshold, pa.float64()))
        out["error"] = pa.nulls(n, type=_ERROR_TYPE(pa))
        if results is not None:
            out["errors"] = pa.array([r.errors for r in results], type=_errors_type(pa))
        return out

    def __call__(self, batch: Any) -> Any:
        if _is_arrow(batch):
            fast = self._arrow_columns(batch)
            out = _append_arrow(batch, fast if fast is not None else _to_arrow(self.columns(batch)))
            if _ITEM_JSON in out.schema.names:
                out = out.drop_columns([_ITEM_JSON])
            return out
        out = _with_columns(batch, self.columns(batch))
        if _is_pandas(out):
            return out.drop(columns=[_ITEM_JSON]) if _ITEM_JSON in out.columns else out
        out.pop(_ITEM_JSON, None)
        return out


# metadata.errors: flags are booleans, the rest (`*_details`, `*_type`) strings or null.
def _errors_type(pa: Any) -> Any:
    keys = _error_keys()
    return pa.struct(
        [(k, pa.string() if k.endswith(("_details", "_type")) else pa.bool_()) for k in keys]
    )


_ERROR_KEYS: List[str] = []


def _error_keys() -> List[str]:
    if not _ERROR_KEYS:
        probe = Grader({"type": "string_check", "name": "keys", "operation": "eq",
                        "input": "a", "reference": "a"})
        _ERROR_KEYS.extend(probe.grade("a").errors)
    return _ERROR_KEYS


def _ERROR_TYPE(pa: Any) -> Any:
    return pa.struct([("code", pa.string()), ("message", pa.string())])


def _append_arrow(batch: Any, cols: Dict[str, Any]) -> Any:
    out = batch
    for k, col in cols.items():
        if k in out.schema.names:
            out = out.set_column(out.schema.get_field_index(k), k, col)
        else:
            out = out.append_column(k, col)
    return out


def _to_arrow(added: Dict[str, List[Any]]) -> Dict[str, Any]:
    import pyarrow as pa

    out = {}
    for k, v in added.items():
        if k == "error":
            out[k] = pa.array(v, type=_ERROR_TYPE(pa))
        elif k == "errors":
            out[k] = pa.array(v, type=_errors_type(pa))
        elif k == "passed":
            out[k] = pa.array(v, type=pa.bool_())
        else:
            out[k] = pa.array(v, type=pa.float64())
    return out


def _with_columns(batch: Any, added: Dict[str, List[Any]]) -> Any:
    """The batch, in its own format, with `added` columns (replacing same-named ones)."""
    if _is_arrow(batch):
        return _append_arrow(batch, _to_arrow(added))
    if _is_pandas(batch):
        return batch.assign(**added)
    out = dict(batch)
    try:
        import numpy as np
    except ImportError:  # plain dict batches without numpy
        out.update(added)
        return out
    for k, v in added.items():
        if k in ("error", "errors", "passed") or any(x is None for x in v):
            arr = np.empty(len(v), dtype=object)  # None stays None
            arr[:] = v
            out[k] = arr
        else:
            out[k] = np.asarray(v, dtype=np.float64)
    return out
