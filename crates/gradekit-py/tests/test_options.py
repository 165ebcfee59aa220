"""Engine options from Python: the same options as the CLI, checked the same way."""

import ast
import http.server
import json
import os
import pathlib
import pydoc
import re
import subprocess
import sys
import threading

import pytest

import gradekit


class _Judge(http.server.BaseHTTPRequestHandler):
    """A chat-completions endpoint on loopback that records each body it receives."""

    bodies = None  # set per server

    def do_POST(self):  # noqa: N802 (http.server's naming)
        n = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(n))
        self.server.bodies.append(body)
        self.server.headers.append({k.lower(): v for k, v in self.headers.items()})
        content = json.dumps({"steps": [], "result": 0.75})
        reply = json.dumps({
            "id": "c", "object": "chat.completion", "created": 0, "model": "judge-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Judge)
    server.bodies = []
    server.headers = []
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


SCORE_MODEL = {
    "type": "score_model", "name": "judge", "model": "m",
    "input": [{"role": "user", "content": "Rate {{ sample.output_text }}"}],
    "range": [0, 1], "sampling_params": {"max_completions_tokens": 64},
}


@pytest.mark.parametrize("field, sent", [
    (None, {"max_completion_tokens"}),
    ("max_completion_tokens", {"max_completion_tokens"}),
    ("max_tokens", {"max_tokens"}),
    ("both", {"max_completion_tokens", "max_tokens"}),
])
def test_judge_token_cap_field_chooses_the_fields_sent(judge, field, sent):
    url = "http://127.0.0.1:%d/v1" % judge.server_address[1]
    g = gradekit.Grader(SCORE_MODEL, judge_base_url=url, judge_token_cap_field=field)
    assert g.grade("an answer").reward == 0.75
    body = judge.bodies[-1]
    assert {k for k in ("max_completion_tokens", "max_tokens") if k in body} == sent
    for k in sent:
        assert body[k] == 64


def test_bad_judge_token_cap_field_names_the_option():
    with pytest.raises(ValueError, match="judge_token_cap_field"):
        gradekit.Grader(SCORE_MODEL, judge_token_cap_field="max_token")


# A value each option accepts. Adding an option to the engine's spec without adding it here
# fails `test_every_option_is_accepted` — on purpose: every option must be tried from Python.
EXAMPLES = {
    "python_mode": "process",
    "python_timeout": 5,
    "python_memory": 512,
    "python_workers": 1,
    "python_max_workers": 16,
    "python_executable": sys.executable,
    "python_read_path": [pathlib.Path(__file__).parent],
    "python_idle_timeout": 30.0,
    "python_scratch": 0,
    "judge_base_url": "http://127.0.0.1:9/v1",
    "judge_api_key": "k",
    "judge_api_key_env": "OPENAI_API_KEY",
    "judge_timeout": 1.5,
    "judge_retries": 0,
    "judge_concurrency": 4,
    "judge_cache": None,
    "judge_embedding_model": "e",
    "judge_response_format": "json_object",
    "judge_token_cap_field": "both",
    "max_field_bytes": 1 << 20,
    "threads": 2,
}


def _doc_options():
    text = pydoc.render_doc(gradekit.Grader, renderer=pydoc.plaintext)
    return re.findall(r"^\s*\|?\s*\* `(\w+)` \(", text, re.M)


def _stub_options():
    stub = pathlib.Path(gradekit.__file__).with_name("_gradekit.pyi")
    if not stub.exists():  # an installed wheel ships it; a source checkout too
        stub = pathlib.Path(__file__).parents[1] / "python" / "gradekit" / "_gradekit.pyi"
    tree = ast.parse(stub.read_text())
    grader = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Grader")
    init = next(n for n in grader.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    return [a.arg for a in init.args.kwonlyargs]


def _cli_options(command):
    """The `--flags` under the Engine heading of `gradekit COMMAND --help`, as keywords."""
    out = subprocess.run([os.environ["GRADEKIT_BIN"], command, "-h"], check=True,
                         capture_output=True, text=True, env=dict(os.environ, COLUMNS="400")).stdout
    section = out.split("\nEngine:", 1)[1]
    section = re.split(r"\n\S", section, 1)[0]  # up to the next heading
    return re.findall(r"^ {2,6}--([a-z0-9-]+)", section, re.M)


def test_help_and_stub_list_exactly_the_engine_options():
    names = list(gradekit.ENGINE_OPTIONS)
    assert len(names) == len(set(names)) > 10
    assert _doc_options() == names
    assert _stub_options() == names


@pytest.mark.skipif("GRADEKIT_BIN" not in os.environ, reason="needs the gradekit binary")
def test_python_and_the_server_take_the_same_options_and_the_cli_commands_all_but_threads():
    names = list(gradekit.ENGINE_OPTIONS)
    assert [f.replace("-", "_") for f in _cli_options("serve")] == names
    assert [f.replace("-", "_") for f in _cli_options("score")] == names
    # One sample (run) or a dry run in order (lint): no batch threads; documented in the spec.
    for command in ("run", "lint"):
        assert [f.replace("-", "_") for f in _cli_options(command)] == \
            [n for n in names if n != "threads"]


def test_every_option_is_accepted():
    assert set(EXAMPLES) == set(gradekit.ENGINE_OPTIONS)
    exact = {"type": "string_check", "name": "e", "input": "{{ sample.output_text }}",
             "reference": "a", "operation": "eq"}
    for name, value in EXAMPLES.items():
        g = gradekit.Grader(exact, **{name: value})
        assert g.rewards(["a", "b"]) == [1.0, 0.0], name
        assert g.engine_options == {name: value}
    g = gradekit.Grader(exact, **EXAMPLES)
    assert g.grade("a").reward == 1.0
    assert gradekit.validate(exact, **EXAMPLES)["type"] == "string_check"


@pytest.mark.parametrize("name, value, code", [
    ("threads", 0, "invalid_value"),
    ("judge_timeout", -1, "invalid_value"),
    ("judge_retries", 11, "invalid_value"),
    ("python_mode", "docker", "unknown_value"),
    ("judge_response_format", "xml", "unknown_value"),
    ("judge_base_url", "ftp://x/v1", "invalid_value"),
    ("judge_base_url", "not a url", "invalid_value"),
    ("judge_api_key_env", "GRADEKIT_TEST_SURELY_UNSET", "invalid_value"),
    ("python_read_path", ["/no/such/dir"], "invalid_value"),
])
def test_bad_values_raise_grader_error_naming_the_option(name, value, code):
    exact = {"type": "string_check", "name": "e", "input": "a", "reference": "a",
             "operation": "eq"}
    with pytest.raises(gradekit.GraderError) as e:
        gradekit.Grader(exact, **{name: value})
    assert str(e.value).startswith(name + " "), str(e.value)
    assert e.value.path == name
    assert e.value.errors == [{"path": name, "code": code, "message": str(e.value)}]
    with pytest.raises(gradekit.GraderError):
        gradekit.validate(exact, **{name: value})


def test_wrong_types_and_unknown_names_are_type_errors():
    exact = {"type": "string_check", "name": "e", "input": "a", "reference": "a",
             "operation": "eq"}
    with pytest.raises(TypeError, match="judge_retries must be an int, got str"):
        gradekit.Grader(exact, judge_retries="2")
    with pytest.raises(TypeError, match="python_read_path must be a path or a list of paths"):
        gradekit.Grader(exact, python_read_path=3)
    with pytest.raises(TypeError, match="unexpected engine option judge_max_tokens"):
        gradekit.Grader(exact, judge_max_tokens=None)  # None does not hide a typo


def test_too_much_judge_concurrency_warns():
    exact = {"type": "string_check", "name": "e", "input": "a", "reference": "a",
             "operation": "eq"}
    with pytest.warns(UserWarning, match="judge_concurrency 5000 is more than 1024"):
        gradekit.Grader(exact, judge_concurrency=5000)


def test_judge_retries_and_api_key_env_reach_the_client(judge, monkeypatch):
    url = "http://127.0.0.1:%d/v1" % judge.server_address[1]
    monkeypatch.setenv("GRADEKIT_TEST_JUDGE_KEY", "sk-from-env")
    g = gradekit.Grader(SCORE_MODEL, judge_base_url=url, judge_api_key_env="GRADEKIT_TEST_JUDGE_KEY")
    assert g.grade("x").reward == 0.75
    assert judge.headers[-1]["authorization"] == "Bearer sk-from-env"
