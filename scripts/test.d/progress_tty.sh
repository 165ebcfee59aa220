#!/usr/bin/env bash
# `gradekit score`'s progress bar in a pseudo-terminal of 80 columns: every redraw fits the
# width (so it updates in place instead of leaving a new line per redraw, as it did in tmux),
# and the summary follows.
#   bash scripts/test.d/progress_tty.sh      (scripts/test runs it after cargo test)
# Env: GRADEKIT_BIN (default: target/debug/gradekit, built with cargo when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bin=${GRADEKIT_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/gradekit}
[ -x "$bin" ] || cargo build --quiet --bin gradekit
exec python3 tests/progress_tty.py "$bin"
