"""Every case of fixtures/suite/*.json through the Python API, one test per case
(`pytest -k templates-27`; tests/conformance/ runs the same cases through the engine, the CLI
and the server). Each entry point — `gradekit.run`, `Grader.grade`,
`grade_batch`, `rewards`, `gradekit.validate` — must give the case's `expected` and the same
answer as `gradekit.run`, byte for byte (`execution_time` aside), and keep the wire's shape
rules (check_shape); a graded case's `gradekit.validate` echo carries the name the answers
carry (check_echo). Model-grader cases get their canned judge replies from a loopback stub
(judge_stub.py). An entry point whose wire cannot
carry a case is skipped with its reason, counted in the summary (conftest.SUITE_SKIPS)."""

import json
import os
import re
import subprocess

import pytest

import gradekit

from conftest import SUITE_SKIPS, suite_cases
from judge_stub import Judge

CASES = suite_cases()
ENTRY_KEYS = ("model_sample", "sample", "item", "reference_answer")
BOTH = "the case gives both model_sample and sample; this wire has one sample slot"


def test_suite_is_there():
    assert len(CASES) >= 500


@pytest.fixture(scope="module")
def judge():
    j = Judge({c.values[0]["_key"]: c.values[0].get("judge", []) for c in CASES})
    yield j
    j.close()


def options(judge, case):
    # One python worker per grader: results do not depend on it, the machine has 2 cores.
    opts = {"python_workers": 1, "judge_base_url": judge.url(case["_key"]),
            "judge_api_key": "sk-suite", "judge_timeout": 20}
    opts.update(case.get("engine", {}))
    return opts


def skip(entry, reason):
    SUITE_SKIPS[(entry, reason)] = SUITE_SKIPS.get((entry, reason), 0) + 1


def text(v):
    return json.dumps(v, ensure_ascii=False, allow_nan=True)


def projection(resp):
    meta = dict(resp["metadata"])
    meta.pop("execution_time", None)
    return {"reward": resp["reward"], "sub_rewards": resp["sub_rewards"], "metadata": meta}


def check(resp, expected):
    bad = []
    want = expected["reward"]
    if not (abs(resp["reward"] - want) <= 1e-9):
        bad.append("reward: want %r, got %r" % (want, resp["reward"]))
    if "sub_rewards" in expected:
        got = resp["sub_rewards"]
        w = expected["sub_rewards"]
        if set(w) != set(got) or any(not abs(w[k] - got[k]) <= 1e-9 for k in w):
            bad.append("sub_rewards: want %r, got %r" % (w, got))
    errors = resp["metadata"]["errors"]
    if len(errors) != 24:
        bad.append("errors has %d keys, not 24" % len(errors))
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
    bad.extend("errors.%s: not a flag of the response" % k for k in want_errs if k not in errors)
    for k in ("token_usage", "sampled_model_name"):
        if k in expected and resp["metadata"][k] != expected[k]:
            bad.append("metadata.%s: want %r, got %r" % (k, expected[k], resp["metadata"][k]))
    if "model_grader_token_usage_per_model" in expected and "model_grader_token_usage_per_model" in resp:
        if resp["model_grader_token_usage_per_model"] != expected["model_grader_token_usage_per_model"]:
            bad.append("model_grader_token_usage_per_model: want %r, got %r" % (
                expected["model_grader_token_usage_per_model"],
                resp["model_grader_token_usage_per_model"]))
    return bad


USAGE_KEYS = ["prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens"]


def check_shape(resp, grader):
    """The wire rules every answer keeps, whatever the case pins (DESIGN §3, §4): metadata.type
    is the grader's; sub_rewards is {} except for multi, which has one entry per sub-grader key
    in the map's order (none when the formula does not parse); token_usage is null or the usage
    object (total = prompt + completion), null together with sampled_model_name and an empty
    per-model map; execution_time is a number of seconds."""
    bad = []
    meta = resp["metadata"]
    if meta["type"] != grader["type"]:
        bad.append("metadata.type %r is not the grader's %r" % (meta["type"], grader["type"]))
    keys = []
    if grader["type"] == "multi" and meta["errors"]["formula_parse_error"] is not True:
        keys = list(grader["graders"])
    if not isinstance(resp["sub_rewards"], dict) or list(resp["sub_rewards"]) != keys:
        bad.append("sub_rewards %r must have the keys %r" % (resp["sub_rewards"], keys))
    usage = meta["token_usage"]
    if usage is None:
        if meta["sampled_model_name"] is not None:
            bad.append("sampled_model_name without token_usage")
        if resp.get("model_grader_token_usage_per_model", {}) != {}:
            bad.append("model_grader_token_usage_per_model without token_usage")
    elif not (isinstance(usage, dict) and list(usage) == USAGE_KEYS
              and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]):
        bad.append("token_usage %r is not a usage object" % (usage,))
    t = meta["execution_time"]
    if not (isinstance(t, float) and t >= 0.0):
        bad.append("execution_time %r is not a number of seconds" % (t,))
    return bad


def single_sample(case):
    """(sample, None) for a wire with one sample slot, or (None, reason to skip)."""
    if "model_sample" in case and "sample" in case:
        return None, BOTH
    return case.get("model_sample", case.get("sample")), None


def run_request(case):
    sample, reason = single_sample(case)
    if reason:
        return None, reason
    req = {"grader": case["grader"]}
    if "model_sample" in case or "sample" in case:
        req["model_sample"] = sample
    for k in ("item", "reference_answer"):
        if k in case:
            req[k] = case[k]
    return req, None


def cli_run(req, opts, case_engine):
    """`gradekit run` of the same request with the same engine options, when scripts/test.d
    gives the binary ($GRADEKIT_BIN): the bindings and the CLI agree across the language edge."""
    binary = os.environ.get("GRADEKIT_BIN")
    if not binary:
        return None
    args = [binary, "run", "-", "--python-workers", str(opts["python_workers"]),
            "--judge-base-url", opts["judge_base_url"], "--judge-api-key", opts["judge_api_key"],
            "--judge-timeout", str(opts["judge_timeout"])]
    for name, value in case_engine.items():
        args += ["--" + name.replace("_", "-"), str(value)]
    out = subprocess.run(args, input=json.dumps(req), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


GENERATED_NAME = re.compile(r"grader-[A-Za-z0-9]{12}")


def check_echo(case, echo, grader, reference):
    """DESIGN §4 name: the validate echo's name is the given one or grader- + 12 alphanumerics,
    the run answers and `Grader.name` carry it, and the echo is the case's `expected.echo` when
    it pins one."""
    bad = []
    given = case["grader"].get("name")
    if isinstance(given, str):
        if echo.get("name") != given:
            bad.append("validate: the given name %r echoed as %r" % (given, echo.get("name")))
    elif not (isinstance(echo.get("name"), str) and GENERATED_NAME.fullmatch(echo["name"])):
        bad.append("validate: generated name %r is not grader- + 12 alphanumerics"
                   % echo.get("name"))
    if grader.name != echo.get("name"):
        bad.append("Grader.name %r differs from the validate echo's %r"
                   % (grader.name, echo.get("name")))
    if reference is not None and reference["metadata"]["name"] != echo.get("name"):
        bad.append("gradekit.run's metadata.name %r differs from the validate echo's %r" % (
            reference["metadata"]["name"], echo.get("name")))
    want = case["expected"].get("echo")
    if want is not None and text(want) != text(echo):
        bad.append("validate echo:\n    want %s\n    got  %s" % (text(want), text(echo)))
    return bad


def validate_matches(errors, want, prefix=""):
    path = want["path"]
    if prefix:
        path = prefix + "." + path if path else prefix
    return any(e["code"] == want["code"] and e["path"] == path
               and want.get("message", "") in e["message"] for e in errors)


@pytest.mark.parametrize("case", CASES)
def test_case(case, judge):
    expected = case["expected"]
    opts = options(judge, case)
    if "validate_error" in expected:
        return invalid(case, opts)
    if "entry_error" in expected:
        return bad_entry(case, opts)
    bad = []

    def answer(who, resp, reference):
        faults = check(resp, expected) + check_shape(resp, case["grader"])
        bad.extend("%s: %s" % (who, b) for b in faults)
        if reference is not None and text(projection(resp)) != text(projection(reference)):
            bad.append("%s differs from gradekit.run:\n    %s\n    %s" % (
                who, text(projection(resp)), text(projection(reference))))

    # gradekit.run: the run wire (as /run and `gradekit run`).
    reference = None
    req, reason = run_request(case)
    if req is None:
        skip("gradekit.run", reason)
    else:
        reference = gradekit.run(req, **opts)
        answer("gradekit.run", reference, None)
        cli = cli_run(req, opts, case.get("engine", {}))
        if cli is not None:
            answer("gradekit run (the CLI)", cli, reference)

    if expected.get("errors", {}).get("formula_parse_error") is True:
        # Only the run wire answers a bad formula with a flag; compiling (Grader) rejects it.
        with pytest.raises(gradekit.GraderError):
            gradekit.Grader(case["grader"], **opts)
        skip("Grader", "a grader whose only fault is its formula does not compile")
        assert bad == [], "\n".join([case["_name"]] + bad)
        return

    grader = gradekit.Grader(case["grader"], **opts)
    bad.extend(check_echo(case, gradekit.validate(case["grader"], **opts), grader, reference))
    sample, reason = single_sample(case)
    if reason is None and "reference_answer" in case:
        reason = "Grader.grade takes no reference_answer (only the run wire does)"
    if reason is not None:
        for entry in ("grade", "grade_batch", "rewards"):
            skip(entry, reason)
        assert bad == [], "\n".join([case["_name"]] + bad)
        return
    item = case.get("item")
    result = grader.grade(sample, item)
    one = result.to_dict()
    answer("grade", one, reference)
    if reference is not None and text(one["model_grader_token_usage_per_model"]) != text(
            reference["model_grader_token_usage_per_model"]):
        bad.append("grade: model_grader_token_usage_per_model differs from gradekit.run")
    if result.reward != one["reward"] or result.errors != one["metadata"]["errors"] or (
            result.sub_rewards != one["sub_rewards"]):
        bad.append("grade: the result's attributes differ from its to_dict()")
    # pass_threshold never changes the reward; `passed` says reward >= threshold (as score rows).
    threshold = case["grader"].get("pass_threshold")
    want_passed = None if threshold is None else result.reward >= threshold
    if result.passed is not want_passed:
        bad.append("grade: passed %r, want %r" % (result.passed, want_passed))

    # Batches: the same answer in order, whatever neighbours the batch holds.
    neighbour_item = {"other": [1]}
    batch = grader.grade_batch([sample, "", sample], [item, neighbour_item, item])
    for i in (0, 2):
        answer("grade_batch[%d]" % i, batch[i].to_dict(), one)
    rewards = grader.rewards([sample, "", sample], [item, neighbour_item, item])
    if [text(rewards[0]), text(rewards[2])] != [text(one["reward"])] * 2:
        bad.append("rewards: %r, grade: %r" % (rewards, one["reward"]))
    assert bad == [], "\n".join([case["_name"]] + bad)


def invalid(case, opts):
    want = case["expected"]["validate_error"]
    with pytest.raises(gradekit.GraderError) as e:
        gradekit.validate(case["grader"], **opts)
    assert isinstance(e.value, ValueError)
    assert validate_matches(e.value.errors, want), e.value.errors
    # `.path` names the first fault's field, as its message does.
    assert e.value.path == e.value.errors[0]["path"], (e.value.path, e.value.errors)
    if e.value.path:
        assert str(e.value).startswith(e.value.path + ": "), str(e.value)
    with pytest.raises(gradekit.GraderError) as e2:
        gradekit.Grader(case["grader"], **opts)
    assert validate_matches(e2.value.errors, want), e2.value.errors
    # The run wire: rejected with the path under `grader`, or (a formula-only fault) answered
    # with formula_parse_error.
    req, reason = run_request(case)
    if req is None:
        skip("gradekit.run", reason)
        return
    req.setdefault("model_sample", "")
    try:
        resp = gradekit.run(req, **opts)
    except gradekit.GraderError as e3:
        assert validate_matches(e3.errors, want, "grader"), e3.errors
    else:
        assert resp["reward"] == 0.0 and resp["metadata"]["errors"]["formula_parse_error"], resp


def bad_entry(case, opts):
    want = case["expected"]["entry_error"]
    req, reason = run_request(case)
    if req is None:
        skip("gradekit.run", reason)
    else:
        with pytest.raises(gradekit.GraderError) as e:
            gradekit.run(req, **opts)
        # The same code as `gradekit score`'s error row for the entry.
        assert any(x["code"] == want["code"] for x in e.value.errors), e.value.errors
    sample, reason = single_sample(case)
    if reason is None and "model_sample" not in case and "sample" not in case:
        reason = "Grader.grade takes the sample positionally: it cannot be missing"
    if reason is not None:
        skip("grade", reason)
        return
    grader = gradekit.Grader(case["grader"], **opts)
    # A sample that is not a str or dict is a TypeError; a bad sample object a GraderError
    # naming the field.
    with pytest.raises((TypeError, ValueError)) as e:
        grader.grade(sample, case.get("item"))
    if isinstance(e.value, gradekit.GraderError) and want["path"].startswith("sample"):
        assert any(x["path"] == want["path"] and x["code"] == want["code"]
                   for x in e.value.errors), e.value.errors
    with pytest.raises((TypeError, ValueError)):
        grader.grade_batch([sample], [case.get("item")])
