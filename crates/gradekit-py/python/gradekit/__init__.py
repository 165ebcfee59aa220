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


def _rebuild(config, engine_options):
    """Unpickles a `Grader` (see `Grader.__reduce__`): compiles it again in this process."""
    return Grader(config, **engine_options)


def _rebuild_result(response, pass_threshold):
    """Unpickles a `GradeResult` (see `GradeResult.__reduce__`)."""
    return _grade_result(response, pass_threshold)
