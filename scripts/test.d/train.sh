#!/usr/bin/env bash
# The TRL trainer (`python -m gradekit.train`, crates/gradekit-py/python/gradekit/train): builds
# the gradekit wheel (dev profile, like python.sh) into .venv-train, which sees the ML stack of
# the `[train]` extra (torch, trl, transformers, datasets, peft, accelerate; pinned in
# scripts/requirements-ml.txt) through scripts/link_ml_venv.sh — a venv cached outside the clone
# (first install ~5 min, ~6 GB: torch from PyPI is the CUDA build; reused afterwards) — and runs
# crates/gradekit-py/tests/test_train.py: supervised, dpo and reinforcement jobs on a tiny Llama
# built offline, pause/resume, failures; then tests/test_train_e2e.py: the same jobs created with
# the official openai SDK against `gradekit serve --trainer "python -m gradekit.train"`.
# The `ray` backend (crates/gradekit-jobs/src/ray.rs) is tested against a local `ray start --head`.
# CPU only, no downloads at test time (~6 min on 2 busy cores).
#   bash scripts/test.d/train.sh            (scripts/test runs it)
# Env: GRADEKIT_TRAIN_VENV=DIR uses another venv that already has the ML stack;
# GRADEKIT_PY_PROFILE=release|dev (default dev).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=${GRADEKIT_TRAIN_VENV:-$root/.venv-train}
pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
if ! { "$venv/bin/maturin" --version && "$venv/bin/python" -c "import pytest"; } >/dev/null 2>&1; then
  echo "== creating $venv (maturin, pytest)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "${pip[@]}" install "maturin>=1.9.4,<2" pytest
fi
if ! "$venv/bin/python" -c "import torch, trl, transformers, datasets, peft, accelerate" >/dev/null 2>&1; then
  bash scripts/link_ml_venv.sh "$venv"
fi
profile=${GRADEKIT_PY_PROFILE:-dev}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
wheels=$CARGO_TARGET_DIR/gradekit-train-wheels
rm -rf "$wheels"
echo "== maturin build --profile $profile (crates/gradekit-py)"
"$venv/bin/maturin" build --quiet --profile "$profile" -m crates/gradekit-py/Cargo.toml \
  -i "$venv/bin/python" -o "$wheels"
"${pip[@]}" install --force-reinstall --no-deps "$wheels"/gradekit-*.whl
"$venv/bin/python" -c "import openai" >/dev/null 2>&1 || "${pip[@]}" install "openai>=1.60"
echo "== cargo build --bin gradekit (for the end-to-end test)"
cargo build --quiet --locked --bin gradekit
# A local Ray head (dashboard + Jobs API) for the `ray` backend: `ray[default]`'s dashboard
# dependencies on top of the ML stack's ray, ports picked free, its own temp dir, stopped on exit.
ray_addr=
ray_pid=
stop_ray() {
  [ -z "$ray_pid" ] || { kill "$ray_pid" 2>/dev/null; wait "$ray_pid" 2>/dev/null || true; }
  [ -z "${ray_tmp:-}" ] || rm -rf "$ray_tmp"
}
trap stop_ray EXIT
ray_version=$("$venv/bin/python" -c "import ray; print(ray.__version__)" 2>/dev/null || true)
if [ -n "$ray_version" ] && { "$venv/bin/python" -c "import aiohttp, aiohttp_cors, opencensus" >/dev/null 2>&1 \
    || "${pip[@]}" install "ray[default]==$ray_version"; }; then
  read -r gcs_port dash_port client_port < <("$venv/bin/python" -c "
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(('127.0.0.1', 0))
print(*[s.getsockname()[1] for s in ss])")
  ray_tmp=$(mktemp -d /tmp/gkray.XXXXXX)
  echo "== ray start --head (dashboard 127.0.0.1:$dash_port)"
  RAY_AUTH_MODE=disabled "$venv/bin/python" -c "import sys; from ray.scripts.scripts import main; main()" \
    start --head --block --port "$gcs_port" --dashboard-host 127.0.0.1 --dashboard-port "$dash_port" \
    --ray-client-server-port "$client_port" --num-cpus 2 --include-dashboard true \
    --disable-usage-stats --temp-dir "$ray_tmp" >"$ray_tmp/head.log" 2>&1 &
  ray_pid=$!
  for _ in $(seq 120); do
    if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$dash_port/api/version', timeout=2)" >/dev/null 2>&1; then
      ray_addr=http://127.0.0.1:$dash_port
      break
    fi
    sleep 1
  done
  [ -n "$ray_addr" ] || { echo "ray head did not start:"; tail -20 "$ray_tmp/head.log"; exit 1; }
  echo "== cargo test -p gradekit-jobs --test ray_backend (against the head)"
  GRADEKIT_RAY_ADDRESS=$ray_addr cargo test --quiet --locked -p gradekit-jobs --test ray_backend
else
  echo "== ray[default] not installable: the ray backend runs against its fake API only (cargo test)"
fi
echo "== pytest crates/gradekit-py/tests/test_train.py tests/test_train_e2e.py"
cd crates/gradekit-py
GRADEKIT_RAY_ADDRESS=$ray_addr GRADEKIT_TRAIN_TESTS=1 GRADEKIT_BIN=$CARGO_TARGET_DIR/debug/gradekit \
  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -rs tests/test_train.py tests/test_train_e2e.py
