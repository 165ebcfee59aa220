"""Type stubs of the compiled core of gradekit (re-exported by `gradekit`)."""

import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, TypedDict, Union

__version__: str

ENGINE_OPTIONS: tuple[str, ...]
"""The engine option keywords of `Grader`, `validate` and `run` (the CLI's engine flags with
``_`` for ``-``); ``help(gradekit.Grader)`` lists them with defaults and limits."""

StrPath = Union[str, "os.PathLike[str]"]

Config = Union[Mapping[str, Any], str, "os.PathLike[str]"]
"""A grader config: a dict, a JSON string, or a path to a JSON file (``os.PathLike`` such as
``pathlib.Path``; a ``str`` is always the JSON text)."""

Sample = Union[str, Mapping[str, Any]]
"""A model output string, or a sample object (`output_text`, `output_json`, `output_tools`,
`choices`, `output_audio`)."""

class ErrorDetail(TypedDict):
    path: str
    code: str
    """Stable snake_case kind of the fault (``unknown_field``, ``unknown_variable``, …)."""
    message: str

class GraderError(ValueError):
    """An invalid grader config (or request, or sample object).

    The message lists every fault as ``path: message``, one per line.
    """

    path: str
    """Path of the first fault inside the config (``graders.email.operation``; ``""`` = root)."""
    errors: List[ErrorDetail]
    """Every fault, in document order."""

class GradeResult:
    """The outcome of grading one sample."""

    @property
    def reward(self) -> float:
        """The reward; 0.0 when the sample failed (see `errors`)."""
    @property
    def sub_rewards(self) -> Dict[str, float]:
        """Multi graders: sub-grader key -> reward. ``{}`` for other types."""
    @property
    def errors(self) -> Dict[str, Union[bool, str, None]]:
        """All 24 error flags of the `/run` response, in wire order (details are str or None)."""
    @property
    def failed(self) -> bool:
        """True when any error flag is set."""
    @property
    def metadata(self) -> Dict[str, Any]:
        """The `/run` response's metadata: name, type, errors, execution_time, scores,
        token_usage, sampled_model_name."""
    @property
    def execution_time(self) -> float:
        """Seconds spent grading this sample."""
    @property
    def passed(self) -> Optional[bool]:
        """``reward >= pass_threshold`` when the grader sets a threshold, else None."""
    def to_dict(self) -> Dict[str, Any]:
        """The `/run` response body (what `gradekit.run` returns for the same input)."""
    def __float__(self) -> float: ...

Items = Union[Sequence[Any], Mapping[str, Sequence[Any]], Any]
"""One item per sample: a list of dicts, a dict of columns (``{"answer": [...]}``; lists, NumPy
or Arrow arrays), or Arrow data (pyarrow Table, RecordBatch, struct Array; anything with
``__arrow_c_stream__``/``__arrow_c_array__``). Only the keys the grader reads are converted;
Arrow nulls are missing keys."""

class Grader:
    """A grader compiled once, to grade many samples.

    Args:
        config: the grader JSON (dict, JSON string, or ``pathlib.Path`` of a JSON file).
        engine options (keywords, None = the default): see ``ENGINE_OPTIONS`` and
            ``help(gradekit.Grader)``. Unknown names and wrong types raise TypeError; a
            value out of range raises GraderError naming the option.

    Raises:
        GraderError: the config is invalid (every fault, with paths; a NaN, an infinity or an
            int past a double in it too).

    A grader is thread-safe and fork-safe: after ``os.fork()`` the child recompiles it on
    first use (python worker pools and judge clients are not shared across processes). It
    pickles as (config, engine options).
    """

    def __init__(
        self,
        config: Config,
        *,
        python_mode: Optional[str] = None,
        python_timeout: Optional[float] = None,
        python_memory: Optional[int] = None,
        python_workers: Optional[int] = None,
        python_max_workers: Optional[int] = None,
        python_executable: Optional[StrPath] = None,
        python_read_path: Union[StrPath, Sequence[StrPath], None] = None,
        python_idle_timeout: Optional[float] = None,
        python_scratch: Optional[int] = None,
        judge_base_url: Optional[str] = None,
        judge_api_key: Optional[str] = None,
        judge_api_key_env: Optional[str] = None,
        judge_timeout: Optional[float] = None,
        judge_retries: Optional[int] = None,
        judge_concurrency: Optional[int] = None,
        judge_cache: Optional[StrPath] = None,
        judge_embedding_model: Optional[str] = None,
        judge_response_format: Optional[str] = None,
        judge_token_cap_field: Optional[str] = None,
        max_field_bytes: Optional[int] = None,
        threads: Optional[int] = None,
    ) -> None: ...
    def grade(self, sample: Sample, item: Any = None) -> GradeResult:
        """Grades one sample against `item` (default ``{}``). The GIL is released while
        grading. A failed sample is a result with reward 0 and an error flag, not an
        exception; an invalid sample *object* raises GraderError."""
    def grade_batch(self, samples: Iterable[Sample], items: Optional[Items] = None) -> List[GradeResult]:
        """Grades many samples in parallel with the GIL released; one result per sample, in
        input order. `samples`: strings or sample dicts (a list, any iterable, Arrow strings).
        Batches run in chunks: Ctrl-C raises KeyboardInterrupt between polls (~20 ms)."""
    def rewards(
        self, samples: Iterable[Sample], items: Optional[Items] = None, *, as_numpy: bool = False
    ) -> Any:
        """`grade_batch` returning only the rewards: the hot path of reward functions. A list
        of floats, or with ``as_numpy=True`` a float64 NumPy array."""
    @property
    def name(self) -> str:
        """The config's name, or the generated ``grader-…`` name."""
    @property
    def type(self) -> str:
        """The grader type (``string_check``, ``text_similarity``, ``python``, ``multi``, …)."""
    @property
    def pass_threshold(self) -> Optional[float]: ...
    @property
    def config(self) -> Dict[str, Any]:
        """A copy of the config this grader was compiled from."""
    @property
    def item_keys(self) -> Optional[List[str]]:
        """The item keys the grader's templates read; None when it sees the whole item."""
    @property
    def engine_options(self) -> Dict[str, Any]:
        """The engine options it was built with (a copy)."""
    @property
    def sub_grader_keys(self) -> List[str]:
        """Multi graders: sub-grader keys in config order; ``[]`` otherwise."""

def validate(config: Config, **engine_options: Any) -> Dict[str, Any]:
    """Compiles `config` and returns the `/validate` echo (``neq`` written ``ne``, generated
    ``name`` added). Raises GraderError listing every fault."""

def run(request: Union[Mapping[str, Any], str], **engine_options: Any) -> Dict[str, Any]:
    """Answers a `/fine_tuning/alpha/graders/run` body (``{"grader", "model_sample",
    "item"?}``) with the response body, as ``gradekit run`` does. Raises GraderError for an
    invalid grader or request (paths prefixed ``grader.``)."""
