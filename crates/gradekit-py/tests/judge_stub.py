"""The judge of the suite's model-grader cases: a loopback HTTP server answering each case's
canned replies (its `judge` rules, fixtures/README.md) under /case/<key>/v1, the same rules the
Rust runner serves (tests/conformance/judge.rs)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def request_text(endpoint, body):
    """The text a rule's `when` is matched against: the messages' text, or the embedding
    inputs, joined by newlines."""
    parts = []
    if endpoint == "embeddings":
        inp = body.get("input")
        if isinstance(inp, str):
            parts.append(inp)
        elif isinstance(inp, list):
            parts.extend(x for x in inp if isinstance(x, str))
    else:
        for m in body.get("messages") or []:
            c = m.get("content")
            if isinstance(c, str):
                parts.append(c)
            elif isinstance(c, list):
                parts.extend(p["text"] for p in c if isinstance(p.get("text"), str))
    return "\n".join(parts)


def _error(status, message):
    return status, {"error": {"message": message, "type": "invalid_request_error"}}


def reply(rules, endpoint, body):
    """(status, JSON body) of the first rule for this endpoint whose `when` the text contains."""
    text = request_text(endpoint, body)
    embeddings = endpoint == "embeddings"
    rule = next((r for r in rules
                 if ("embedding" in r) == embeddings and r.get("when", "") in text), None)
    if rule is None:
        return _error(400, "stub judge: no canned reply matches this %s request: %s"
                      % (endpoint, text))
    if "status" in rule:
        if "body" in rule:
            return rule["status"], rule["body"]
        return _error(rule["status"], "canned error")
    model = rule.get("model", "stub-judge")
    if embeddings:
        inputs = body.get("input")
        inputs = [inputs] if isinstance(inputs, str) else list(inputs or [])
        data = []
        for i, x in enumerate(inputs):
            if x not in rule["embedding"]:
                return _error(400, "stub judge: no canned embedding for %r" % x)
            data.append({"object": "embedding", "index": i, "embedding": rule["embedding"][x]})
        return 200, {"object": "list", "model": model, "data": data,
                     "usage": {"prompt_tokens": 8, "total_tokens": 8}}
    if "result" in rule:
        content = json.dumps({"steps": [{"description": "check", "conclusion": "done"}],
                              "result": rule["result"]}, separators=(",", ":"))
    else:
        content = rule.get("content")
    p, c, cached = (rule.get("usage") or [10, 5, 0])
    return 200, {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": rule.get("finish_reason", "stop"),
                     "message": {"role": "assistant", "content": content,
                                 "refusal": rule.get("refusal")}}],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
                  "prompt_tokens_details": {"cached_tokens": cached}},
    }


class Judge:
    """The running stub; `url(key)` is a case's judge base URL."""

    def __init__(self, rules_by_key):
        rules = dict(rules_by_key)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(n) or b"null") or {}
                except ValueError:
                    body = {}
                rest = self.path[len("/case/"):] if self.path.startswith("/case/") else ""
                key, _, endpoint = rest.partition("/v1/")
                if key in rules:
                    status, out = reply(rules[key], endpoint, body)
                else:
                    status, out = _error(400, "stub judge: no case at %s" % self.path)
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, key):
        host, port = self.server.server_address[:2]
        return "http://%s:%d/case/%s/v1" % (host, port, key)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
