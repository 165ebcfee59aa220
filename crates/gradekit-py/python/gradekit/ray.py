"""Scoring Ray Data datasets with a gradekit grader.

``score_dataset`` grades a dataset read the way ``gradekit score`` reads JSONL: each row holds
the sample in ``model_sample`` (a string) or ``sample`` (a string or a sample object), the item
in ``item`` and an optional ``id``::

    import ray, gradekit.ray
    ds = gradekit.ray.read_jsonl("outputs.jsonl", grader_config)   # or ray.data.read_json(...)
    scored = gradekit.ray.score_dataset(ds, grader_config, with_errors=True)
    scored.write_json("scored/")

``read_jsonl`` (see `gradekit._ray_jsonl`) splits the files into byte ranges parsed in parallel
with an explicit schema of only the columns the grader reads, and turns unreadable lines into
error rows; ``score_dataset`` fuses its grading into those read tasks.

The output has the input's columns plus ``reward`` (null on a bad row), ``passed`` when the
grader has a ``pass_threshold``, ``error`` (``{code, message}`` on a bad row — the codes of
``gradekit score``: ``missing_sample``, ``invalid_sample``, ``invalid_item`` — null otherwise)
and, with ``with_errors=True``, ``errors``: the ``metadata.errors`` flags as an Arrow struct.
A bad row never fails the job; it keeps its columns (its ``id`` among them) and says why.

Design, for small clusters first:

* **Tasks, not actors.** The grading function runs as an ordinary Ray task (fused with the
  read task that produced its block), so a 2-CPU ``ray.init`` never parks its CPUs in idle
  actors while the read tasks starve. The grader is compiled once per worker process and
  cached (keyed by its config and options), which is what an actor would have bought.
  ``compute=ray.data.ActorPoolStrategy(...)`` still selects actors (`GraderUDF`) when wanted;
  ``concurrency=N`` is translated to ``compute=TaskPoolStrategy(size=N)``.
* **Arrow in, Arrow out.** Batches are pyarrow tables: the grader reads only the item keys its
  templates name, and writes ``errors`` as a typed struct (never pickled objects).
* **Missing is not null.** Arrow stores a JSON object that lacks a key as a struct whose field
  is null, so a row whose ``item`` lacks ``answer`` arrives with ``answer: null``. Nulls inside
  Arrow struct (and pandas/numpy-from-Arrow) items are treated as missing keys, so such a row
  gets ``invalid_variable_error`` exactly as ``gradekit score`` gives it; a null in a top-level
  column is missing too (as in the CLI, where ``null`` counts as absent). In numpy and pandas
  batches (Ray's default format is numpy) a NaN is such a null: Ray turns a block's all-null
  column into a float NaN array, so a NaN counts as missing there, never as a value. A
  *present* null (``{"answer": null}``, which the CLI renders as ``"null"``) survives only
  through `read_jsonl`, whose ``_gradekit_item`` column carries such items as JSON.

The item of a row is the ``item_column`` (default ``"item"``) when the batch has it, else the
row's other columns (``item_columns`` picks which), as for flat datasets like
``{"model_sample": "...", "answer": "..."}``. This module does not import ``ray`` at import
time: `GraderUDF` works on any batch, with or without Ray.
"""

import json
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from ._gradekit import Grader
from ._ray_udf import _SAMPLE_COLUMNS, GraderUDF

__all__ = ["GraderUDF", "read_jsonl", "score_dataset", "score_batch"]

Config = Union[Mapping[str, Any], str]


# -- the task-based path -------------------------------------------------------------------

_CACHE: Dict[str, GraderUDF] = {}


def _cached_udf(spec: str) -> GraderUDF:
    """The UDF of `spec` in this worker process, compiled on first use."""
    udf = _CACHE.get(spec)
    if udf is None:
        s = json.loads(spec)
        udf = GraderUDF(s["config"], engine_options=s["engine_options"], **s["udf"])
        if len(_CACHE) >= 16:
            _CACHE.clear()
        _CACHE[spec] = udf
    return udf


def _actor_cpus(ray: Any, compute: Any) -> float:
    """The CPUs each grading actor asks for: at most one, and together never every CPU of the
    cluster. An actor holds its CPU for the whole run, so a pool of one-CPU actors as large as
    a small cluster (``size=2`` on a 2-CPU ``ray.init``) leaves the read tasks none: the job
    hangs. The actors grade with as many threads as they like either way."""
    import os

    try:
        total = float(ray.cluster_resources().get("CPU", 0)) if ray.is_initialized() else 0.0
    except Exception:  # a cluster that does not answer: plan for this machine
        total = 0.0
    total = total or float(os.cpu_count() or 1)
    max_size = getattr(compute, "max_size", None)
    size = max_size if isinstance(max_size, int) else max(getattr(compute, "min_size", 1), total)
    budget = max(total - 1.0, total / 2.0)  # leave one CPU (half of a 1-CPU cluster) to reads
    return min(1.0, budget / max(size, 1))


def score_batch(batch: Any, spec: str) -> Any:
    """The task-based ``map_batches`` function of `score_dataset`: `spec` is the JSON of
    ``{"config", "engine_options", "udf"}`` (`GraderUDF` keywords); the grader is compiled
    once per worker process."""
    return _cached_udf(spec)(batch)


def read_jsonl(
    paths: Union[str, Sequence[str]],
    grader: Union[Config, Grader, None] = None,
    *,
    sample_column: Optional[str] = None,
    item_column: Optional[str] = "item",
    item_columns: Optional[Sequence[str]] = None,
    schema: Any = None,
    block_bytes: Optional[int] = None,
    override_num_blocks: Optional[int] = None,
    ray_remote_args: Optional[Mapping[str, Any]] = None,
) -> Any:
    """JSONL files (a path, a directory of ``*.jsonl``/``*.json``, or a list) as a Ray Dataset
    holding only what `grader` reads — the fast way into `score_dataset`::

        ds = gradekit.ray.read_jsonl("outputs.jsonl", config)
        scored = gradekit.ray.score_dataset(ds, config)

    Each file is split into byte ranges (two per CPU of the cluster, at most ``block_bytes``,
    default 32 MiB, at least 256 KiB; ``override_num_blocks=N``: N ranges), cut at line ends,
    one Ray read task each, which `score_dataset` fuses with the grading. Arrow parses each
    range with an explicit schema: ``id``, the sample column (``model_sample``/``sample``, or
    ``sample_column``) and the item — the ``item_column`` struct reduced to the grader's item
    keys, or with no such column the flat columns it reads (``item_columns`` to pick) — typed
    from the first 4 MiB of the first file (``schema=``, a ``pyarrow.Schema``, overrides); every
    other field is skipped unparsed. With ``grader=None`` every field is kept.

    A line that is not a JSON object, or whose values do not fit the schema, becomes a row
    whose ``error`` column is ``{code, message}`` (``invalid_json``, ``invalid_item`` or
    ``invalid_sample``; the message names the file and line); good rows have a null ``error``.
    `score_dataset` keeps such rows as error rows. Arrow cannot tell a present ``null`` from a
    missing key (both are null struct fields); for a row whose item holds a null where the
    grader looks, ``_gradekit_item`` carries the observed item as JSON, and `score_dataset`
    grades the row from it — ``null`` renders as ``"null"``, a missing key is
    ``invalid_variable_error``, as in ``gradekit score`` — and drops the column.
    ``ray.data.read_json`` works too, but it parses each file in one single-threaded task with
    type inference on every value, fails the job on a line it cannot read, and reads present
    nulls as missing keys.
    """
    import ray.data

    from . import _ray_jsonl as rj

    g = grader if isinstance(grader, Grader) or grader is None else Grader(grader)
    files = rj._expand(paths)
    if not files:
        raise FileNotFoundError("no .jsonl or .json files in %r" % (paths,))
    if schema is None:
        schema = rj.infer_schema(files[0][0], g, sample_column, item_column, item_columns)
    sample_cols = [sample_column] if sample_column else list(_SAMPLE_COLUMNS)
    source = rj.JsonlDatasource(files, schema, block_bytes or rj.DEFAULT_BLOCK_BYTES, sample_cols,
                                override_num_blocks, item_column)
    # One output block per range: with fewer read tasks than Ray's default parallelism (200)
    # Ray would split each task's output, and split reads are not fused with the grading.
    kwargs: Dict[str, Any] = {"override_num_blocks": max(len(source.ranges()), 1)}
    if ray_remote_args:
        kwargs["ray_remote_args"] = dict(ray_remote_args)
    ds = ray.data.read_datasource(source, **kwargs)
    try:
        ds._gradekit_fusable = True  # score_dataset: grade whole blocks, fused with the reads
    except AttributeError:
        pass
    return ds


def score_dataset(
    ds: Any,
    config: Union[Config, Grader],
    *,
    sample_column: Optional[str] = None,
    item_column: Optional[str] = "item",
    item_columns: Optional[Sequence[str]] = None,
    output_column: str = "reward",
    with_errors: bool = False,
    compute: Any = None,
    concurrency: Optional[int] = None,
    batch_size: Union[int, str, None] = "auto",
    engine_options: Optional[Mapping[str, Any]] = None,
    **map_batches_kwargs: Any,
) -> Any:
    """``ds.map_batches(...)`` grading every row: the dataset with ``reward`` (and ``error``,
    ``passed``, ``errors``) columns added. See the module docs for the row shape.

    Grading runs in Ray tasks (``compute=TaskPoolStrategy``; ``concurrency=N`` caps them at N)
    and compiles the grader once per worker process. Pass ``compute=ray.data.ActorPoolStrategy(
    size=N)`` for actors instead: each actor then asks for at most one CPU and the pool for all
    but one CPU of the cluster (a pool holding every CPU would starve the read tasks and hang),
    unless ``num_cpus`` says otherwise. Other keyword arguments go to ``map_batches``
    (``num_cpus``, ``memory``, …); the batch format is always pyarrow (zero-copy into the grader).
    ``batch_size="auto"`` (the default) grades each block whole (``None``) on a `read_jsonl`
    dataset, which lets Ray fuse the grading into the read tasks: the rows never travel through
    the object store before they are graded; on other datasets (whose reads Ray splits, which
    are never fused) it is 8192 rows, fewer and larger tasks. Each task grades on one thread (its one Ray CPU) unless
    ``engine_options={"threads": N}`` says otherwise. Rows whose ``error`` column is already
    set (lines `read_jsonl` could not read) stay error rows. On a fused `read_jsonl` dataset the
    returned dataset's own context has Ray Data's per-operator resource reservation off (it
    ran the fused tasks one at a time on small clusters); the global ``DataContext`` is kept.

    Only want the rewards? ``.select_columns(["id", "reward", "error"])`` on the result (Ray
    fuses it into the same task) keeps the samples from being shipped to whoever consumes it.
    """
    import ray.data

    udf_kwargs = {
        "sample_column": sample_column,
        "item_column": item_column,
        "item_columns": list(item_columns) if item_columns is not None else None,
        "output_column": output_column,
        "with_errors": with_errors,
    }
    if batch_size == "auto":
        batch_size = None if getattr(ds, "_gradekit_fusable", False) else 8192
    options = dict(engine_options or {})
    if isinstance(config, Grader):
        options = dict(config.engine_options, **options)
        config = config.config
    # Compiled here once: a bad config or engine option raises at this call (GraderError naming
    # the field, TypeError naming the option), not later inside every Ray task.
    config = Grader(config, **options).config
    if compute is None:
        compute = ray.data.TaskPoolStrategy(size=concurrency)
    elif concurrency is not None:
        raise TypeError("give compute= or concurrency=, not both")
    map_batches_kwargs.setdefault("batch_format", "pyarrow")
    if isinstance(compute, ray.data.ActorPoolStrategy):
        remote_args = map_batches_kwargs.get("ray_remote_args") or {}
        if "num_cpus" not in map_batches_kwargs and "num_cpus" not in remote_args:
            map_batches_kwargs["num_cpus"] = _actor_cpus(ray, compute)
        return ds.map_batches(
            GraderUDF,
            fn_constructor_args=(config,),
            fn_constructor_kwargs=dict(udf_kwargs, engine_options=options),
            compute=compute,
            batch_size=batch_size,
            **map_batches_kwargs,
        )
    options.setdefault("threads", 1)  # one Ray CPU per task; Ray runs the tasks in parallel
    spec = json.dumps(
        {"config": dict(config), "engine_options": options, "udf": udf_kwargs}, sort_keys=True
    )
    out = ds.map_batches(
        score_batch,
        fn_args=(spec,),
        compute=compute,
        batch_size=batch_size,
        **map_batches_kwargs,
    )
    if batch_size is None and getattr(ds, "_gradekit_fusable", False):
        # Read and grading fuse into one task-pool operator here, and Ray Data's per-operator
        # resource reservation (on by default) then runs its tasks one at a time on a small
        # cluster: on a 2-CPU ray.init 17 read+grade tasks ran serially (2.4 s instead of
        # 1.3 s). Reservation exists to keep a later operator from starving; task-pool
        # operators release their CPUs when each task ends, so it is switched off for this
        # dataset (and those derived from it) only — the global DataContext is not touched.
        try:
            out.context.op_resource_reservation_enabled = False
        except AttributeError:  # a Ray without per-dataset contexts: keep its default
            pass
    return out
