"""Engine options from Python: the same options as the CLI, checked the same way."""

import http.server
import json
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
