"""gradekit.trl: TRL reward-function shapes (standard and conversational), async variant."""

import asyncio
import inspect
import json

import pytest

import gradekit
import gradekit.trl


@pytest.fixture
def grader(exact):
    return gradekit.Grader(exact)


def test_standard_format(grader):
    f = gradekit.trl.reward_function(grader)
    assert f.__name__ == "gradekit_exact"
    out = f(prompts=["Capital of France?", "2+2?"], completions=["Paris", "5"],
            answer=["Paris", "4"], completion_ids=[[1], [2]], trainer_state=object())
    assert out == [1.0, 0.0]
    assert all(type(x) is float for x in out)
    # positional call, as some TRL versions do
    assert f(["p"], ["4"], answer=["4"]) == [1.0]


def test_conversational_format(grader):
    f = gradekit.trl.reward_function(grader, name="exact_match")
    assert f.__name__ == "exact_match"
    completions = [
        [{"role": "assistant", "content": "Paris"}],
        [{"role": "assistant", "content": "thinking"}, {"role": "tool", "content": "x"},
         {"role": "assistant", "content": [{"type": "text", "text": "Ro"}, {"type": "text", "text": "me"}]}],
        [],
    ]
    prompts = [[{"role": "user", "content": "q"}]] * 3
    assert f(prompts=prompts, completions=completions, answer=["Paris", "Rome", ""]) == [1.0, 1.0, 1.0]


def test_item_columns_and_prompt(grader):
    cfg = {"type": "string_check", "name": "p", "input": "{{ item.prompt }}|{{ sample.output_text }}",
           "reference": "q|{{ item.answer }}", "operation": "eq"}
    f = gradekit.trl.reward_function(gradekit.Grader(cfg), include_prompt=True, item_columns=["answer"])
    assert f(prompts=["q", "q"], completions=["a", "b"], answer=["a", "a"], other=[1, 2]) == [1.0, 0.0]
    with pytest.raises(KeyError, match="answer"):
        f(prompts=["q"], completions=["a"])
    g = gradekit.trl.reward_function(grader)
    with pytest.raises(ValueError, match="3 values for 2 completions"):
        g(prompts=["a", "b"], completions=["a", "b"], answer=["a", "b", "c"])


def test_failed_reward_none(grader):
    f = gradekit.trl.reward_function(grader, failed_reward=None)
    # no `answer` column: item.answer does not resolve -> failed sample
    assert f(prompts=["q"], completions=["a"]) == [None]
    assert f(prompts=["q"], completions=["a"], answer=["a"]) == [1.0]


def test_sample_from_message_and_callable():
    cfg = {"type": "string_check", "name": "tool", "input": "{{ sample.output_tools[0].function.name }}",
           "reference": "get_weather", "operation": "eq"}
    f = gradekit.trl.reward_function(gradekit.Grader(cfg), sample_from="message")
    call = {"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    comps = [[{"role": "assistant", "content": "", "tool_calls": [call]}],
             [{"role": "assistant", "content": "no tool"}]]
    out = f(prompts=["q", "q"], completions=comps)
    assert out[0] == 1.0 and out[1] == 0.0
    h = gradekit.trl.reward_function(
        gradekit.Grader({"type": "string_check", "name": "u", "input": "{{ sample.output_text }}", "reference": "A", "operation": "eq"}),
        sample_from=lambda completion, row: completion.upper(),
    )
    assert h(prompts=["q"], completions=["a"]) == [1.0]
    with pytest.raises(ValueError, match="sample_from"):
        gradekit.trl.reward_function(gradekit.Grader(cfg), sample_from="prompt")
    with pytest.raises(gradekit.GraderError, match="reference"):  # a config is compiled
        gradekit.trl.reward_function({"type": "string_check"})


def test_async_variant(grader):
    f = gradekit.trl.async_reward_function(grader)
    assert inspect.iscoroutinefunction(f) and f.__name__ == "gradekit_exact"

    async def main():
        return await asyncio.gather(
            f(prompts=["q"], completions=["Paris"], answer=["Paris"]),
            f(prompts=["q", "q"], completions=["x", "y"], answer=["y", "y"]),
        )

    assert asyncio.run(main()) == [[1.0], [0.0, 1.0]]


def test_signature_matches_trl():
    # TRL calls reward_func(prompts=..., completions=..., **kwargs); check the accepted names.
    f = gradekit.trl.reward_function(gradekit.Grader({"type": "string_check", "name": "n", "input": "a", "reference": "a", "operation": "eq"}))
    params = inspect.signature(f).parameters
    assert list(params)[:2] == ["prompts", "completions"]
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert f(prompts=[], completions=[]) == []


def test_completion_text():
    t = gradekit.trl.completion_text
    assert t("x") == "x"
    assert t([{"role": "user", "content": "u"}]) == "u"
    assert t({"role": "assistant", "content": None}) == ""
    with pytest.raises(TypeError):
        t(3)


class _Env:
    """Stands for TRL's environment objects (not JSON)."""


def test_only_referenced_columns_and_non_json_keywords_ignored(grader):
    import datetime

    f = gradekit.trl.reward_function(grader)
    n = 2
    out = f(prompts=["q"] * n, completions=["4", "5"], answer=["4", "4"],
            environments=[_Env(), _Env()], image=[b"\x89PNG", b"\x89PNG"],
            when=[datetime.datetime(2026, 1, 1)] * n, score=[float("nan"), float("inf")],
            trainer_state=object(), log_metric=print, log_extra=print, completion_ids=[[1], [2]])
    assert out == [1.0, 0.0]


def test_whole_item_graders_get_every_json_column():
    py = gradekit.Grader({"type": "python", "name": "keys", "source": (
        "def grade(sample, item):\n    return float(sorted(item) == ['answer', 'n'])\n")},
        python_mode="process")
    f = gradekit.trl.reward_function(py)
    out = f(prompts=["q", "q"], completions=["a", "b"], answer=["x", "y"], n=[1, 2],
            environments=[_Env(), _Env()], image=[b"x", b"y"], trainer_state=object())
    assert out == [1.0, 1.0]


def test_whole_item_graders_skip_columns_holding_no_json_numbers():
    # A float column with a missing value (NaN), an inf or an int no double holds is not JSON:
    # skipped like a datetime column, never a ValueError that stops the training run.
    py = gradekit.Grader({"type": "python", "name": "keys", "source": (
        "def grade(sample, item):\n    return float(sorted(item) == ['answer', 'big', 'n'])\n")},
        python_mode="process")
    f = gradekit.trl.reward_function(py)
    out = f(prompts=["q", "q"], completions=["a", "b"], answer=["x", "y"], n=[1, 2.5],
            big=[2**70, 1], score=[0.5, float("nan")], meta=[{"x": float("inf")}, {"x": 1}],
            huge=[10**400, 1])
    assert out == [1.0, 1.0]


def test_missing_referenced_column_warns_once(grader):
    f = gradekit.trl.reward_function(grader)
    with pytest.warns(UserWarning, match=r"reads item\.answer .*columns: answr"):
        assert f(prompts=["q"], completions=["a"], answr=["a"]) == [0.0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(prompts=["q"], completions=["a"], answr=["a"]) == [0.0]  # no second warning


def test_config_dict_or_json_compiles(exact):
    for config in (exact, json.dumps(exact)):
        reward = gradekit.trl.reward_function(config)
        assert reward(prompts=["p", "p"], completions=["a", "b"], answer=["a", "a"]) == [1.0, 0.0]
        assert reward.__name__ == "gradekit_exact"
    with pytest.raises(TypeError, match="grader config"):
        gradekit.trl.reward_function(42)


@pytest.mark.parametrize("conversational", [False, True])
def test_templates_reading_item_prompt_get_the_prompts(conversational):
    # TRL passes the dataset's prompt column as `prompts`, never as a keyword column.
    cfg = {"type": "string_check", "name": "echo", "operation": "like",
           "input": "{{ sample.output_text }}", "reference": "{{ item.prompt }}"}
    f = gradekit.trl.reward_function(cfg)
    prompts = ["2+2", "3+3"]
    if conversational:
        prompts = [[{"role": "user", "content": p}] for p in prompts]
        completions = [[{"role": "assistant", "content": json.dumps(p, separators=(",", ":"))}]
                       for p in prompts]
    else:
        completions = ["2+2 is 4", "it is 6"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the prompt is there: no "missing column" warning
        out = f(prompts=prompts, completions=completions, answer=["4", "6"], trainer_state=None)
    assert out == [1.0, 1.0 if conversational else 0.0]
    assert f(prompts=None, completions=["2+2"], prompt=["2+2"]) == [1.0]  # called by hand
    with pytest.warns(UserWarning, match=r"reads item\.prompt"):
        assert f(prompts=None, completions=["2+2"]) == [0.0]
