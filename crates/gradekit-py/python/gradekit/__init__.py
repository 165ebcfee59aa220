"""gradekit: run OpenAI-style fine-tuning graders locally, fast.

Compile a grader once, then grade samples in-process::

    import gradekit

    grader = gradekit.Grader({
        "type": "string_check", "name": "exact",
        "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}",
        "operation": "eq",
    })
    grader.grade("Paris", {"answer": "Paris"}).reward          # 1.0
    grader.rewards(["Paris", "Rome"], [{"answer": "Paris"}] * 2)  # [1.0, 0.0]

Batches (`grade_batch`, `rewards`) run in parallel with the GIL released. Configs are the JSON
of OpenAI's `/fine_tuning/alpha/graders` endpoints; `run` and `validate` mirror those endpoints.
Adapters: `gradekit.trl` (TRL reward functions) and `gradekit.ray` (Ray Data `map_batches`).
"""

from ._gradekit import (
    ENGINE_OPTIONS, GradeResult, Grader, GraderError, __version__, _grade_result, run, validate,
)

__all__ = [
    "Grader", "GradeResult", "GraderError", "run", "validate", "ENGINE_OPTIONS", "__version__",
]

# The adapters are submodules imported on first use, so `import gradekit` then
# `gradekit.trl.reward_function(...)` works as the docs write it, and `import gradekit` alone
# stays as light as the core (PEP 562).
_SUBMODULES = ("trl", "ray", "train")


def __getattr__(name):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def _rebuild(config, engine_options):
    """Unpickles a `Grader` (see `Grader.__reduce__`): compiles it again in this process."""
    return Grader(config, **engine_options)


def _rebuild_result(response, pass_threshold):
    """Unpickles a `GradeResult` (see `GradeResult.__reduce__`)."""
    return _grade_result(response, pass_threshold)
