#!/usr/bin/env bash
# `gradekit serve` driven by the official `openai` Python SDK, the client users have: starts the
# binary on a free loopback port (with an API key), runs tests/sdk/test_sdk.py against it
# (run/validate through client.fine_tuning.alpha.graders, errors as SDK exceptions, auth, the
# extensions over raw HTTP, a 2,000-request load), then stops the server with SIGTERM and checks
# it exits 0.
#   bash scripts/test.d/server_sdk.sh        (scripts/test runs it after cargo test)
# Env: GRADEKIT_BIN (default: target/debug/gradekit, built with cargo when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source scripts/sdk_env.sh
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/endpoint.json" <<'JSON'
{"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "operation": "eq"}
JSON
cat > "$work/openrlhf.json" <<'JSON'
{"type": "string_check", "name": "label", "input": "{{ sample.output_text }}", "reference": "{{ item.label }}", "operation": "eq"}
JSON

key=sdk-test-key-$RANDOM$RANDOM
echo "== starting $bin serve --port 0"
GRADEKIT_API_KEY=$key "$bin" serve --host 127.0.0.1 --port 0 \
  --endpoint-grader "exact=$work/endpoint.json" --openrlhf-grader "$work/openrlhf.json" \
  2> "$work/server.log" &
server_pid=$!
port=
for _ in $(seq 1 300); do
  port=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then cat "$work/server.log"; echo "server exited"; exit 1; fi
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/server.log"; echo "server did not start"; exit 1; }
if grep -q "$key" "$work/server.log"; then echo "the API key appears in the server log"; exit 1; fi

echo "== tests/sdk/test_sdk.py against port $port"
GRADEKIT_PORT=$port GRADEKIT_KEY=$key "$venv/bin/python" tests/sdk/test_sdk.py

echo "== SIGTERM"
kill -TERM "$server_pid"
for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then echo "server still running 10 s after SIGTERM"; exit 1; fi
rc=0; wait "$server_pid" || rc=$?
server_pid=
[ "$rc" -eq 0 ] || { cat "$work/server.log"; echo "server exited with $rc after SIGTERM"; exit 1; }
if grep -q "$key" "$work/server.log"; then echo "the API key appears in the server log"; exit 1; fi
echo "server_sdk: ok"
