"""A loopback HTTP proxy that records every exchange between gradekit and a real judge server.

It forwards each request unchanged to the upstream server (llama-cpp-python here) and keeps
`(method, path, request JSON, status, response JSON)`, so a test can check gradekit's rewards,
flags and usage against what the judge actually replied, and what gradekit actually sent
(`max_tokens`, `response_format`, the fallback from `json_schema` to `json_object`). It adds
nothing of its own: the replies are the real server's bytes.
"""

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Exchange:
    """One request and the upstream's answer."""

    def __init__(self, method, path, request, status, response):
        self.method = method
        self.path = path
        self.request = request
        self.status = status
        self.response = response

    def __repr__(self):
        return f"Exchange({self.method} {self.path} -> {self.status})"


class RecordingProxy:
    """`with RecordingProxy(upstream) as proxy:` serves on 127.0.0.1:<free port>."""

    def __init__(self, upstream, timeout=600):
        # Requests keep their path (`/v1/chat/completions`): forward to the upstream's origin.
        parts = urllib.parse.urlsplit(upstream)
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self.timeout = timeout
        self.exchanges = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self._forward(self.rfile.read(n))

            def _forward(self, body):
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command)
                for key in ("Content-Type", "Authorization"):
                    if self.headers.get(key):
                        req.add_header(key, self.headers[key])
                try:
                    with urllib.request.urlopen(req, timeout=proxy.timeout) as r:
                        status, payload, ctype = r.status, r.read(), r.headers.get("Content-Type")
                except urllib.error.HTTPError as e:
                    status, payload, ctype = e.code, e.read(), e.headers.get("Content-Type")
                proxy._record(self.command, self.path, body, status, payload)
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _record(self, method, path, body, status, payload):
        def parse(raw):
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        with self._lock:
            self.exchanges.append(Exchange(method, path, parse(body), status, parse(payload)))

    def chat_exchanges(self):
        """The `/chat/completions` exchanges so far, in arrival order."""
        with self._lock:
            return [e for e in self.exchanges if e.path.endswith("/chat/completions")]

    def clear(self):
        with self._lock:
            self.exchanges.clear()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
