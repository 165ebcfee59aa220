"""TRL reward functions backed by a gradekit grader.

TRL's trainers (``GRPOTrainer``, ``RLOOTrainer``, …) call each of their ``reward_funcs`` as
``f(prompts=..., completions=..., **dataset_columns)`` and expect one float per completion.
`reward_function` turns a compiled `gradekit.Grader` into such a function:

* the **sample** is the completion: a plain string (standard format), or the content of the
  last assistant message of a chat completion (conversational format,
  ``[{"role": "assistant", "content": "..."}]``);
* the **item** is the completion's dataset row, built from the dataset columns TRL passes as
  keyword arguments: the columns the grader's templates reference (``{{ item.answer }}`` reads
  the ``answer`` column; `Grader.item_keys`; ``{{ item.prompt }}`` reads the ``prompts`` TRL
  passes, its dataset's ``prompt`` column), or — for graders that see the whole item (python,
  model graders, ``{{ item }}``) — every column whose values are JSON (strings, numbers,
  booleans, None, lists, dicts). Other keywords TRL adds (``trainer_state``, ``log_metric``,
  ``environments``, image, bytes or datetime columns) are ignored; ``item_columns`` overrides
  the choice. A column the templates reference but TRL does not pass (a typo, a column the
  dataset lacks) is warned about once (`warnings.warn`), and those samples score 0.0 with
  ``invalid_variable_error`` — never silently.

The whole batch is graded by one `Grader.rewards` call: in parallel, with the GIL released.

Example::

    grader = gradekit.Grader({"type": "string_check", "name": "exact",
                              "input": "{{ sample.output_text }}",
                              "reference": "{{ item.answer }}", "operation": "eq"})
    trainer = trl.GRPOTrainer(..., reward_funcs=[gradekit.trl.reward_function(grader)])
"""

import asyncio
import math
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ._gradekit import Grader

__all__ = ["reward_function", "async_reward_function", "completion_text"]

# Keyword arguments TRL passes that are not dataset columns.
_NOT_COLUMNS = frozenset(
    {
        "prompts",
        "completions",
        "completion_ids",
        "trainer_state",
        "log_extra",
        "log_metric",
        "environments",
    }
)

_JSON_SCALARS = (str, bool, type(None))


def _is_json(v: Any, depth: int = 0) -> bool:
    """True when `v` is plain JSON data (what an item may hold): numbers must be finite (a
    NaN, a float column's missing value, is no JSON number and would fail the whole batch)."""
    if isinstance(v, _JSON_SCALARS):
        return True
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, int):
        if -(2**63) <= v < 2**64:
            return True
        try:
            return math.isfinite(float(v))  # wider ints are read as doubles
        except OverflowError:
            return False
    if depth > 64:
        return False
    if isinstance(v, (list, tuple)):
        return all(_is_json(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_json(x, depth + 1) for k, x in v.items())
    return False

SampleFrom = Union[str, Callable[[Any, Dict[str, Any]], Union[str, Mapping[str, Any]]]]


def _content_text(content: Any) -> str:
    """A message's content as text: a string, or the text parts of a content-part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        parts = []
        for p in content:
            if isinstance(p, str):
                parts.append(p)
            elif isinstance(p, Mapping) and isinstance(p.get("text"), str):
                parts.append(p["text"])
        return "".join(parts)
    return str(content)


def completion_text(completion: Any) -> str:
    """The text of one TRL completion.

    A string is returned as is; for a list of chat messages, the content of the last
    ``assistant`` message (the last message when none is marked assistant); a single message
    dict gives its content.
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        return _content_text(completion.get("content"))
    if isinstance(completion, (list, tuple)):
        if not completion:
            return ""
        for m in reversed(completion):
            if isinstance(m, Mapping) and m.get("role") == "assistant":
                return _content_text(m.get("content"))
        last = completion[-1]
        return _content_text(last.get("content") if isinstance(last, Mapping) else last)
    raise TypeError(
        "a completion must be a str or a list of chat messages, got %s" % type(completion).__name__
    )


def _message_sample(completion: Any) -> Union[str, Dict[str, Any]]:
    """A sample object from a chat completion: text, the full message and its tool calls."""
    if isinstance(completion, str):
        return completion
    msgs = completion if isinstance(completion, (list, tuple)) else [completion]
    msg = None
    for m in reversed(msgs):
        if isinstance(m, Mapping) and m.get("role") == "assistant":
            msg = m
            break
    if msg is None:
        msg = msgs[-1] if msgs and isinstance(msgs[-1], Mapping) else {"content": ""}
    text = _content_text(msg.get("content"))
    message = {"role": "assistant", "content": text}
    tools = list(msg.get("tool_calls") or [])
    if tools:
        message["tool_calls"] = tools
    return {
        "output_text": text,
        "output_tools": tools,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def _per_row(values: Any, n: int) -> bool:
    return not isinstance(values, (str, bytes, Mapping)) and hasattr(values, "__len__") and len(values) == n


def _columns(
    n: int,
    kwargs: Mapping[str, Any],
    columns: Optional[Sequence[str]],
    item_keys: Optional[Sequence[str]],
    warn_missing: Callable[[List[str], Mapping[str, Any]], None],
) -> Dict[str, Any]:
    """The item columns (name → one value per completion) from TRL's keyword arguments."""
    if columns is not None:
        names = list(columns)
        for name in names:
            if name not in kwargs:
                raise KeyError("dataset column %r was not passed to the reward function" % name)
    elif item_keys is not None:
        names = [k for k in item_keys if k in kwargs]
        missing = [k for k in item_keys if k not in kwargs]
        if missing:
            warn_missing(missing, kwargs)
    else:
        names = [
            k for k, v in kwargs.items()
            if k not in _NOT_COLUMNS and _per_row(v, n) and all(_is_json(x) for x in v)
        ]
    out: Dict[str, Any] = {}
    for name in names:
        values = kwargs[name]
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            continue  # not a per-row column
        if len(values) != n:
            raise ValueError(
                "dataset column %r has %d values for %d completions" % (name, len(values), n)
            )
        out[name] = values
    return out


def _name(grader: Grader, name: Optional[str]) -> str:
    if name:
        return name
    cleaned = "".join(c if c.isalnum() or c == "_" else "_" for c in grader.name)
    return "gradekit_" + cleaned


def _as_grader(grader: Any) -> Grader:
    """A `Grader`, or a config (dict or JSON string) compiled into one."""
    if isinstance(grader, Grader):
        return grader
    if isinstance(grader, (Mapping, str)):
        return Grader(grader)
    raise TypeError(
        "grader must be a gradekit.Grader or a grader config (dict or JSON string), got %s"
        % type(grader).__name__
    )


def _scorer(
    grader: Grader,
    sample_from: SampleFrom,
    item_columns: Optional[Sequence[str]],
    include_prompt: bool,
    failed_reward: Optional[float],
) -> Callable[..., List[Optional[float]]]:
    if callable(sample_from):
        to_sample = None
    elif sample_from == "completion":
        to_sample = completion_text
    elif sample_from == "message":
        to_sample = _message_sample
    else:
        raise ValueError(
            "sample_from must be 'completion', 'message' or a callable, got %r" % (sample_from,)
        )

    item_keys = grader.item_keys
    # TRL passes the dataset's `prompt` column as `prompts`, never as a keyword: templates that
    # read `item.prompt` get it from there (as `include_prompt` does for every grader).
    reads_prompt = item_columns is None and item_keys is not None and "prompt" in item_keys
    with_prompt = include_prompt or reads_prompt
    if item_keys is not None and with_prompt:
        item_keys = [k for k in item_keys if k != "prompt"]
    warned: set = set()

    def warn_missing(missing: List[str], kwargs: Mapping[str, Any]) -> None:
        new = [k for k in missing if k not in warned]
        if not new:
            return
        warned.update(new)
        passed = sorted(k for k in kwargs if k not in _NOT_COLUMNS)
        warnings.warn(
            "gradekit reward function of grader %r: the grader reads item.%s but the trainer "
            "passed no such dataset column (columns: %s); those samples score %s with "
            "invalid_variable_error"
            % (grader.name, ", item.".join(new), ", ".join(passed) or "none", failed_reward),
            UserWarning,
            stacklevel=5,
        )

    def score(prompts: Optional[Sequence[Any]], completions: Sequence[Any], **kwargs: Any):
        completions = list(completions)
        n = len(completions)
        cols = _columns(n, kwargs, item_columns, item_keys, warn_missing)
        if with_prompt:
            if prompts is None:
                prompts = kwargs.get("prompt")
            if prompts is not None:
                cols["prompt"] = list(prompts)
            elif reads_prompt:
                warn_missing(["prompt"], kwargs)
        if to_sample is None:
            rows = [{k: v[i] for k, v in cols.items()} for i in range(n)]
            samples = [sample_from(c, row) for c, row in zip(completions, rows)]  # type: ignore[operator]
        else:
            samples = [to_sample(c) for c in completions]
        # One call for the whole batch; the columns go in as they are (no per-row dicts).
        if failed_reward == 0.0:
            return grader.rewards(samples, cols)
        return [
            failed_reward if r.failed else r.reward for r in grader.grade_batch(samples, cols)
        ]

    return score


def reward_function(
    grader: Union[Grader, Mapping[str, Any], str],
    *,
    sample_from: SampleFrom = "completion",
    item_columns: Optional[Sequence[str]] = None,
    include_prompt: bool = False,
    failed_reward: Optional[float] = 0.0,
    name: Optional[str] = None,
) -> Callable[..., List[Optional[float]]]:
    """A TRL reward function ``f(prompts, completions, **dataset_columns) -> list[float]``.

    Args:
        grader: the compiled grader, or a grader config (dict or JSON string) to compile.
        sample_from: ``"completion"`` (default): the sample is the completion's text (the
            last assistant message's content for chat completions); ``"message"``: a sample
            object with ``output_text``, ``output_tools`` (the message's ``tool_calls``) and
            ``choices``; or a callable ``(completion, row) -> str | dict``.
        item_columns: the dataset columns that make up the item (default: the columns the
            grader's templates reference — ``item.prompt`` being the prompts — or every JSON
            column TRL passes for graders that see the whole item).
        include_prompt: also put the prompt in the item as ``item.prompt`` (implied when the
            templates read ``item.prompt`` and ``item_columns`` is not given).
        failed_reward: the reward of a sample whose grading failed (an error flag is set);
            ``None`` makes TRL ignore it (TRL treats None as "no reward from this function").
        name: the function's ``__name__`` (TRL logs rewards under it); default
            ``gradekit_<grader name>``.
    """
    grader = _as_grader(grader)
    score = _scorer(grader, sample_from, item_columns, include_prompt, failed_reward)

    def reward(prompts=None, completions=(), **kwargs):
        return score(prompts, completions, **kwargs)

    reward.__name__ = reward.__qualname__ = _name(grader, name)
    reward.__doc__ = "gradekit reward function of grader %r (%s)." % (grader.name, grader.type)
    return reward


def async_reward_function(
    grader: Union[Grader, Mapping[str, Any], str],
    *,
    sample_from: SampleFrom = "completion",
    item_columns: Optional[Sequence[str]] = None,
    include_prompt: bool = False,
    failed_reward: Optional[float] = 0.0,
    name: Optional[str] = None,
) -> Callable[..., Any]:
    """The `reward_function` as a coroutine function, for TRL's async reward functions.

    Grading runs in a worker thread (``asyncio.to_thread``) and releases the GIL, so the event
    loop keeps serving other reward functions (judge-backed graders, remote verifiers) while a
    batch is graded. Arguments as for `reward_function`.
    """
    grader = _as_grader(grader)
    score = _scorer(grader, sample_from, item_columns, include_prompt, failed_reward)

    async def reward(prompts=None, completions=(), **kwargs):
        return await asyncio.to_thread(score, prompts, completions, **kwargs)

    reward.__name__ = reward.__qualname__ = _name(grader, name)
    reward.__doc__ = "gradekit async reward function of grader %r (%s)." % (grader.name, grader.type)
    return reward
