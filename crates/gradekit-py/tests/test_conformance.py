"""Every case of fixtures/suite/*.json through the Python API, checked by the rules of
tests/conformance.rs (the engine and CLI runner): reward within 1e-9, sub_rewards, the listed
flags (details: substring), every other flag false/null; validate_error cases raise
GraderError whose message contains the expected text."""

import math

import pytest

import gradekit

from conftest import suite_cases

CASES = suite_cases()
# Fewer python workers per grader: results do not depend on it, the machine has 2 cores.
OPTS = {"python_workers": 1}


def test_suite_is_there():
    assert len(CASES) >= 150


def check(resp, expected):
    bad = []
    want = expected["reward"]
    if not (abs(resp["reward"] - want) <= 1e-9):
        bad.append("reward: want %r, got %r" % (want, resp["reward"]))
    if "sub_rewards" in expected:
        got = resp["sub_rewards"]
        w = expected["sub_rewards"]
        if set(w) != set(got) or any(abs(w[k] - got[k]) > 1e-9 for k in w):
            bad.append("sub_rewards: want %r, got %r" % (w, got))
    errors = resp["metadata"]["errors"]
    assert len(errors) == 24
    want_errs = expected.get("errors", {})
    for k, v in errors.items():
        w = want_errs.get(k)
        if isinstance(w, bool) and v is w:
            continue
        if isinstance(w, str) and isinstance(v, str) and w in v:
            continue
        if w is None and v in (False, None):
            continue
        bad.append("errors.%s: want %r, got %r" % (k, w, v))
    return bad


def request(case):
    req = {"grader": case["grader"]}
    req["model_sample"] = case["model_sample"] if "model_sample" in case else case["sample"]
    if "item" in case:
        req["item"] = case["item"]
    return req


def strip_time(resp):
    resp = dict(resp)
    meta = dict(resp["metadata"])
    meta.pop("execution_time")
    resp["metadata"] = meta
    return resp


@pytest.mark.parametrize("case", CASES)
def test_case(case):
    expected = case["expected"]
    if "validate_error" in expected:
        want = expected["validate_error"]

        def matches(x):
            return (x["code"] == want["code"] and x["path"] == want["path"]
                    and want.get("message", "") in x["message"])

        with pytest.raises(gradekit.GraderError) as e:
            gradekit.validate(case["grader"], **OPTS)
        assert isinstance(e.value, ValueError)
        assert any(matches(x) for x in e.value.errors), e.value.errors
        with pytest.raises(gradekit.GraderError) as e2:
            gradekit.Grader(case["grader"], **OPTS)
        assert any(matches(x) for x in e2.value.errors), e2.value.errors
        return

    # gradekit.run mirrors /run (and `gradekit run`).
    resp = gradekit.run(request(case), **OPTS)
    assert check(resp, expected) == []

    if expected.get("errors", {}).get("formula_parse_error") is True:
        # Only /run answers a bad formula with a flag; compiling (validate, Grader) rejects it.
        with pytest.raises(gradekit.GraderError):
            gradekit.Grader(case["grader"], **OPTS)
        return

    grader = gradekit.Grader(case["grader"], **OPTS)
    sample = case["model_sample"] if "model_sample" in case else case["sample"]
    item = case.get("item")
    result = grader.grade(sample, item)
    assert check(result.to_dict(), expected) == []
    assert math.isclose(result.reward, resp["reward"], abs_tol=0.0, rel_tol=0.0) or (
        result.reward == resp["reward"]
    )
    assert strip_time(result.to_dict()) == strip_time(resp)
    assert result.errors == resp["metadata"]["errors"]
    assert result.sub_rewards == resp["sub_rewards"]

    # Batches give the same answer, in order, whatever else is in the batch.
    if grader.type != "python":
        batch = grader.grade_batch([sample, "", sample], [item, None, item])
        assert [check(r.to_dict(), expected) for r in (batch[0], batch[2])] == [[], []]
        rewards = grader.rewards([sample] * 3, [item] * 3)
        assert rewards == [result.reward] * 3
