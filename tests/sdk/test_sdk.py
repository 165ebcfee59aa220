"""`gradekit serve` through the official `openai` Python SDK and raw HTTP.

Run by scripts/test.d/server_sdk.sh, which starts the server and sets GRADEKIT_PORT and
GRADEKIT_KEY. Expected values come from the spec (DESIGN.md §3/§4/§6, OpenAI's graders guide),
not from the server's output. Exits non-zero on the first failure.
"""

import concurrent.futures
import json
import os
import sys
import urllib.error
import urllib.request

import openai

PORT = int(os.environ["GRADEKIT_PORT"])
KEY = os.environ["GRADEKIT_KEY"]
BASE = f"http://127.0.0.1:{PORT}"

ERROR_KEYS = [
    "formula_parse_error", "sample_parse_error", "sample_parse_error_details",
    "truncated_observation_error", "unresponsive_reward_error", "invalid_variable_error",
    "invalid_variable_error_details", "other_error", "python_grader_server_error",
    "python_grader_server_error_type", "python_grader_runtime_error",
    "python_grader_runtime_error_details", "model_grader_server_error",
    "model_grader_refusal_error", "model_grader_refusal_error_details",
    "model_grader_parse_error", "model_grader_parse_error_details",
    "model_grader_exceeded_max_tokens_error", "model_grader_server_error_details",
    "endpoint_grader_internal_error", "endpoint_grader_internal_error_details",
    "endpoint_grader_server_error", "endpoint_grader_server_error_details",
    "endpoint_grader_safety_check_error",
]

client = openai.OpenAI(base_url=f"{BASE}/v1", api_key=KEY, max_retries=0)

STRING_CHECK = {
    "type": "string_check", "name": "capital", "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}", "operation": "eq",
}


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def raw(method, path, body=None, headers=None, auth=True):
    """(status, headers, parsed JSON or None) of one raw HTTP request."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    h = {"Content-Type": "application/json"}
    if auth:
        h["Authorization"] = f"Bearer {KEY}"
    h.update(headers or {})
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, hdrs, text = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, text = e.code, e.headers, e.read()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return status, hdrs, parsed


def envelope(body):
    check(isinstance(body, dict) and set(body) == {"error"}, f"not an error envelope: {body}")
    e = body["error"]
    check(set(e) == {"message", "type", "param", "code"}, f"envelope keys: {e}")
    return e


def test_run():
    r = client.fine_tuning.alpha.graders.run(
        grader=STRING_CHECK, model_sample="Paris", item={"answer": "Paris"})
    check(r.reward == 1.0, f"reward {r.reward}")
    check(isinstance(r.reward, float), "reward type")
    check(r.metadata.name == "capital" and r.metadata.type == "string_check", r.metadata)
    check(isinstance(r.metadata.execution_time, float), "execution_time type")
    errors = r.metadata.errors.model_dump()
    check(all(k in errors for k in ERROR_KEYS), f"missing error keys: {errors}")
    check(not any(v for v in errors.values() if isinstance(v, bool)), f"flags set: {errors}")
    check(r.sub_rewards == {}, r.sub_rewards)
    # The SDK's model reorders keys; the wire order is checked on the raw response.
    status, _, body = raw("POST", "/v1/fine_tuning/alpha/graders/run",
                          {"grader": STRING_CHECK, "model_sample": "Paris", "item": {"answer": "Paris"}})
    check(status == 200 and list(body["metadata"]["errors"]) == ERROR_KEYS,
          f"error keys on the wire: {body}")

    miss = client.fine_tuning.alpha.graders.run(
        grader=STRING_CHECK, model_sample="Lyon", item={"answer": "Paris"})
    check(miss.reward == 0.0, f"reward {miss.reward}")

    # A sample whose template variable is missing: 200, reward 0 and the flag.
    bad = client.fine_tuning.alpha.graders.run(
        grader=STRING_CHECK, model_sample="Paris", item={"city": "Paris"})
    check(bad.reward == 0.0, "reward of a failed sample")
    check(bad.metadata.errors.invalid_variable_error is True, bad.metadata.errors)

    # text_similarity and multi through the same client.
    multi = {
        "type": "multi", "name": "m", "calculate_output": "0.5 * exact + 0.5 * fuzzy",
        "graders": {
            "exact": STRING_CHECK,
            "fuzzy": {"type": "text_similarity", "name": "f", "input": "{{ sample.output_text }}",
                      "reference": "{{ item.answer }}", "evaluation_metric": "fuzzy_match"},
        },
    }
    m = client.fine_tuning.alpha.graders.run(
        grader=multi, model_sample="Paris", item={"answer": "Paris"})
    check(abs(m.reward - 1.0) < 1e-9, f"multi reward {m.reward}")
    check(set(m.sub_rewards) == {"exact", "fuzzy"}, m.sub_rewards)

    # A formula-only fault is a 200 with formula_parse_error.
    broken = dict(multi, calculate_output="exact +* 2")
    f = client.fine_tuning.alpha.graders.run(
        grader=broken, model_sample="Paris", item={"answer": "Paris"})
    check(f.reward == 0.0 and f.metadata.errors.formula_parse_error is True, f)


def test_validate():
    g = dict(STRING_CHECK)
    del g["name"]
    g["operation"] = "neq"
    v = client.fine_tuning.alpha.graders.validate(grader=g)
    echo = v.grader.model_dump() if hasattr(v.grader, "model_dump") else v.grader
    check(echo["operation"] == "ne", echo)
    check(echo["name"].startswith("grader-"), echo)


def test_invalid_grader():
    bad = dict(STRING_CHECK, operation="equals")
    for call in (
        lambda: client.fine_tuning.alpha.graders.run(grader=bad, model_sample="x"),
        lambda: client.fine_tuning.alpha.graders.validate(grader=bad),
    ):
        try:
            call()
        except openai.BadRequestError as e:
            check(e.status_code == 400, e.status_code)
            check("grader.operation" in e.message, e.message)
            check(e.param == "grader.operation", e.param)
            check(e.type == "invalid_request_error", e.type)
        else:
            raise AssertionError("an invalid grader was accepted")
    nested = {"type": "multi", "name": "m", "calculate_output": "email",
              "graders": {"email": bad}}
    try:
        client.fine_tuning.alpha.graders.validate(grader=nested)
    except openai.BadRequestError as e:
        check(e.param == "grader.graders.email.operation", e.param)
    else:
        raise AssertionError("an invalid multi grader was accepted")


def test_auth():
    wrong = openai.OpenAI(base_url=f"{BASE}/v1", api_key="wrong-key", max_retries=0)
    try:
        wrong.fine_tuning.alpha.graders.validate(grader=STRING_CHECK)
    except openai.AuthenticationError as e:
        check(e.status_code == 401, e.status_code)
        check(KEY not in str(e.body), "key echoed")
    else:
        raise AssertionError("a wrong key was accepted")
    status, _, body = raw("GET", "/health", auth=False)
    check(status == 200 and body["status"] == "ok", body)


def test_raw_errors():
    status, _, body = raw("POST", "/v1/fine_tuning/alpha/graders/run", b"{not json")
    check(status == 400 and envelope(body)["code"] == "invalid_json", (status, body))
    status, _, body = raw("POST", "/v1/fine_tuning/alpha/graders/run", b"{}",
                          headers={"Content-Type": "text/plain"})
    check(status == 415, status)
    envelope(body)
    status, _, body = raw("POST", "/v1/nope", {})
    check(status == 404 and "Invalid URL" in envelope(body)["message"], body)
    status, hdrs, body = raw("GET", "/v1/fine_tuning/alpha/graders/run")
    check(status == 405 and "POST" in hdrs.get("Allow", ""), (status, dict(hdrs)))
    envelope(body)
    status, _, body = raw("POST", "/v1/fine_tuning/alpha/graders/run",
                          b'{"x": "' + b"a" * (17 * 1024 * 1024) + b'"}')
    check(status == 413, status)
    envelope(body)
    status, _, body = raw("POST", "/v1/fine_tuning/alpha/graders/run", {}, auth=False)
    check(status == 401, status)
    envelope(body)


def test_extensions():
    samples = [{"model_sample": s, "item": {"answer": "a"}} for s in ["a", "b", "a"]]
    status, _, body = raw("POST", "/v1/graders/run_batch", {"grader": STRING_CHECK, "samples": samples})
    check(status == 200, (status, body))
    check([r["reward"] for r in body["results"]] == [1.0, 0.0, 1.0], body)
    status, _, body = raw("POST", "/v1/endpoint_graders/exact", {
        "sample": {"output_text": "47"}, "item": {"answer": "47"}, "trace_id": "trace_abc"})
    check(status == 200 and body == {"score": 1.0}, (status, body))
    status, _, body = raw("POST", "/get_reward", {
        "query": ["Q: a? yes", "Q: b? no"], "prompts": ["Q: a? ", "Q: b? "], "labels": ["yes", "yes"]})
    check(status == 200 and body["rewards"] == [1.0, 0.0], (status, body))


def test_load():
    """2,000 /run requests from 16 threads through the SDK: every one answered, correctly."""
    def one(i):
        expect = i % 2 == 0
        r = client.fine_tuning.alpha.graders.run(
            grader=STRING_CHECK, model_sample="Paris" if expect else "Rome",
            item={"answer": "Paris"})
        return r.reward == (1.0 if expect else 0.0)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(2000)))
    check(len(results) == 2000 and all(results), f"{results.count(False)} wrong answers")


def main():
    tests = [test_run, test_validate, test_invalid_grader, test_auth, test_raw_errors,
             test_extensions, test_load]
    failed = 0
    for t in tests:
        try:
            t()
            print(f"ok   {t.__name__}")
        except Exception as e:  # report every failure, then exit non-zero
            failed += 1
            print(f"FAIL {t.__name__}: {type(e).__name__}: {e}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
