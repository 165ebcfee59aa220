"""Scoring Ray Data datasets with a gradekit grader.

`GraderUDF` is a callable class for ``ray.data.Dataset.map_batches``: Ray constructs it once
per worker (actor), so the grader is compiled once per worker, then each batch is graded with
one `Grader.grade_batch` call (parallel, GIL released). Batches may be numpy dicts (Ray's
default), pandas DataFrames or pyarrow Tables; the output has the same format with a
``reward`` column added (and ``passed`` when the grader has a ``pass_threshold``,
``errors`` — the set error flags — when ``with_errors=True``)::

    import ray, gradekit.ray
    ds = ray.data.read_json("outputs.jsonl")        # rows like {"model_sample": "...", "answer": "..."}
    scored = gradekit.ray.score_dataset(ds, grader_config, sample_column="model_sample")
    scored.write_json("scored/")

or by hand::

    ds.map_batches(gradekit.ray.GraderUDF, fn_constructor_kwargs={"config": grader_config},
                   concurrency=4, batch_format="pandas")

The item of a row is the dict in ``item_column`` when given, else the row's other columns
(``item_columns`` picks a subset). This module does not import ``ray`` itself: `GraderUDF`
works on any batch of those formats, with or without Ray.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ._gradekit import Grader

__all__ = ["GraderUDF", "score_dataset"]

Config = Union[Mapping[str, Any], str]


def _plain(values: Any) -> List[Any]:
    """A column as a list of plain Python values (numpy arrays and scalars via tolist)."""
    if hasattr(values, "to_pylist"):  # pyarrow arrays
        return values.to_pylist()
    if hasattr(values, "tolist"):  # numpy arrays, pandas Series
        return values.tolist()
    return list(values)


def _columns(batch: Any) -> Dict[str, List[Any]]:
    if hasattr(batch, "to_pydict"):  # pyarrow.Table
        return batch.to_pydict()
    if hasattr(batch, "columns") and hasattr(batch, "__getitem__") and not isinstance(batch, Mapping):
        return {str(c): _plain(batch[c]) for c in batch.columns}  # pandas.DataFrame
    if isinstance(batch, Mapping):
        return {k: _plain(v) for k, v in batch.items()}
    raise TypeError(
        "a batch must be a dict of columns, a pandas DataFrame or a pyarrow Table, got %s"
        % type(batch).__name__
    )


class GraderUDF:
    """A ``map_batches`` callable class that grades one column of a batch.

    Args:
        config: the grader config (dict or JSON string), or a `gradekit.Grader` (pickled to
            the workers and compiled again there).
        sample_column: the column holding the samples (model output strings or sample
            objects).
        item_column: a column holding each row's item dict; when None, the item is built from
            the row's other columns (``item_columns`` picks which).
        item_columns: the columns that make up the item when ``item_column`` is None.
        output_column: the name of the reward column.
        with_errors: also add an ``errors`` column listing each row's set error flags.
        engine_options: keyword arguments of `gradekit.Grader`.
    """

    def __init__(
        self,
        config: Union[Config, Grader],
        *,
        sample_column: str = "model_sample",
        item_column: Optional[str] = None,
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

    def _items(self, cols: Dict[str, List[Any]], n: int) -> List[Any]:
        if self.item_column is not None:
            return cols[self.item_column]
        names = self.item_columns
        if names is None:
            names = [c for c in cols if c != self.sample_column]
        rows: List[Dict[str, Any]] = [{} for _ in range(n)]
        for name in names:
            for row, v in zip(rows, cols[name]):
                row[name] = v
        return rows

    def __call__(self, batch: Any) -> Any:
        cols = _columns(batch)
        if self.sample_column not in cols:
            raise KeyError(
                "sample column %r is not in the batch (columns: %s)"
                % (self.sample_column, ", ".join(cols))
            )
        samples = cols[self.sample_column]
        results = self.grader.grade_batch(samples, self._items(cols, len(samples)))
        added: Dict[str, List[Any]] = {self.output_column: [r.reward for r in results]}
        if self.grader.pass_threshold is not None:
            added["passed"] = [r.passed for r in results]
        if self.with_errors:
            added["errors"] = [
                [k for k, v in r.errors.items() if v is True] for r in results
            ]
        return _with_columns(batch, added)


def _with_columns(batch: Any, added: Dict[str, List[Any]]) -> Any:
    """The batch, in its own format, with `added` columns."""
    if hasattr(batch, "to_pydict") and hasattr(batch, "append_column"):  # pyarrow.Table
        import pyarrow as pa  # only reached with a pyarrow batch

        out = batch
        for k, v in added.items():
            out = out.append_column(k, pa.array(v))
        return out
    if hasattr(batch, "columns") and hasattr(batch, "assign") and not isinstance(batch, Mapping):
        return batch.assign(**added)  # pandas.DataFrame
    out = dict(batch)
    try:
        import numpy as np
    except ImportError:  # plain dict batches without numpy
        out.update(added)
        return out
    for k, v in added.items():
        out[k] = np.asarray(v, dtype=object) if k == "errors" else np.asarray(v)
    return out


def score_dataset(
    ds: Any,
    config: Union[Config, Grader],
    *,
    sample_column: str = "model_sample",
    item_column: Optional[str] = None,
    item_columns: Optional[Sequence[str]] = None,
    output_column: str = "reward",
    with_errors: bool = False,
    concurrency: Optional[int] = None,
    batch_size: Optional[int] = 1024,
    engine_options: Optional[Mapping[str, Any]] = None,
    **map_batches_kwargs: Any,
) -> Any:
    """``ds.map_batches(GraderUDF, ...)``: a Ray dataset with a reward column added.

    The grader is compiled once per actor (``concurrency`` actors; default 1). Other keyword
    arguments go to ``map_batches`` (``num_cpus``, ``batch_format``, …).
    """
    return ds.map_batches(
        GraderUDF,
        fn_constructor_args=(config,),
        fn_constructor_kwargs={
            "sample_column": sample_column,
            "item_column": item_column,
            "item_columns": item_columns,
            "output_column": output_column,
            "with_errors": with_errors,
            "engine_options": dict(engine_options or {}),
        },
        concurrency=concurrency or 1,
        batch_size=batch_size,
        **map_batches_kwargs,
    )
