#!/usr/bin/env bash
# The TRL trainer (`python -m gradekit.train`, crates/gradekit-py/python/gradekit/train): builds
# the gradekit wheel (dev profile, like python.sh), installs it with its `[train]` extra (torch,
# trl, transformers, datasets, peft, accelerate) into .venv-train, and runs
# crates/gradekit-py/tests/test_train.py: supervised, dpo and reinforcement jobs on a tiny Llama
# built offline, pause/resume, failures — CPU only, no downloads at test time.
#   bash scripts/test.d/train.sh            (scripts/test runs it)
# The first run downloads torch from PyPI (the CUDA build, ~6 GB, ~5 min); pip's cache makes
# later installs fast, and an existing .venv-train is reused. Env: GRADEKIT_TRAIN_VENV=DIR uses
# another venv; GRADEKIT_PY_PROFILE=release|dev (default dev).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
venv=${GRADEKIT_TRAIN_VENV:-$root/.venv-train}
pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv"
  python3 -m venv "$venv"
fi
if ! { "$venv/bin/maturin" --version && "$venv/bin/python" -c "import pytest"; } >/dev/null 2>&1; then
  "${pip[@]}" install "maturin>=1.9.4,<2" pytest
fi
profile=${GRADEKIT_PY_PROFILE:-dev}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
wheels=$CARGO_TARGET_DIR/gradekit-train-wheels
rm -rf "$wheels"
echo "== maturin build --profile $profile (crates/gradekit-py)"
"$venv/bin/maturin" build --quiet --profile "$profile" -m crates/gradekit-py/Cargo.toml \
  -i "$venv/bin/python" -o "$wheels"
wheel=$(ls "$wheels"/gradekit-*.whl)
if ! "$venv/bin/python" -c "import torch, trl, transformers, datasets, peft, accelerate" >/dev/null 2>&1; then
  echo "== pip install gradekit[train] (torch, trl, transformers, datasets, peft, accelerate)"
  "${pip[@]}" install "$wheel[train]"
fi
"${pip[@]}" install --force-reinstall --no-deps "$wheel"
echo "== pytest crates/gradekit-py/tests/test_train.py"
cd crates/gradekit-py
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_train.py
