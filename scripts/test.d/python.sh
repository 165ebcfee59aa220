#!/usr/bin/env bash
# The Python package (crates/gradekit-py): builds the wheel with maturin into .venv-py, installs
# it like a user would, and runs its pytest suite (conformance suite through Python, GIL release,
# fork safety, errors, inputs, README snippets, the TRL and Ray adapters with the real libraries).
#   bash scripts/test.d/python.sh            (scripts/test runs it after cargo test)
# Env: GRADEKIT_PY_PROFILE=release|dev (default dev: reuses the debug artifacts of `cargo test`
# in target/ and builds in about a minute; the benchmark in crates/gradekit-py/bench uses release).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=$root/.venv-py
if ! { "$venv/bin/maturin" --version && "$venv/bin/python" -c "import pytest"; } >/dev/null 2>&1; then
  echo "== creating .venv-py (maturin, pytest)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.9.4,<2" pytest
fi
# The adapters' tests drive the real libraries: Ray Data on a 2-CPU cluster, a real TRL
# GRPOTrainer on a tiny offline model, numpy/pyarrow/pandas batches. They come from the cached
# ML venv (scripts/requirements-ml.txt; ~5 min and ~6 GB the first time on a machine), seen
# through a .pth file; .venv-py keeps its own gradekit wheel.
bash scripts/link_ml_venv.sh "$venv"
profile=${GRADEKIT_PY_PROFILE:-dev}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
wheels=$CARGO_TARGET_DIR/gradekit-py-wheels
rm -rf "$wheels"
echo "== maturin build --profile $profile (crates/gradekit-py)"
"$venv/bin/maturin" build --quiet --profile "$profile" -m crates/gradekit-py/Cargo.toml \
  -i "$venv/bin/python" -o "$wheels"
"$venv/bin/pip" install -q --disable-pip-version-check --force-reinstall --no-deps "$wheels"/gradekit-*.whl
# `gradekit score` for the tests that compare the adapters with the CLI.
cargo build --quiet -p gradekit --bin gradekit
export GRADEKIT_BIN=$CARGO_TARGET_DIR/debug/gradekit
echo "== pytest crates/gradekit-py/tests"
cd crates/gradekit-py
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests
