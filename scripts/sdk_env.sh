# Sourced by the scripts/test.d steps that drive `gradekit` with the official `openai` SDK.
# Sets `venv` (.venv-sdk, created with the SDK when missing) and `bin` (GRADEKIT_BIN, or the
# debug binary, built with cargo when missing). Expects `root` (the repository root).
venv=$root/.venv-sdk
if ! "$venv/bin/python" -c "import openai" >/dev/null 2>&1; then
  echo "== creating .venv-sdk (openai)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "openai>=1.90"
fi
bin=${GRADEKIT_BIN:-}
if [ -z "$bin" ]; then
  bin=${CARGO_TARGET_DIR:-$root/target}/debug/gradekit
  if [ ! -x "$bin" ]; then
    echo "== cargo build --bin gradekit"
    cargo build --quiet --bin gradekit
  fi
fi
