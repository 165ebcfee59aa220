#!/usr/bin/env bash
# The fuzz targets (fuzz/bodies.rs: template, formula, grader, metrics, score_line, server_body)
# for a bounded time each. On the stable toolchain they run through the random-input driver
# tests/fuzz.rs (seeds from fixtures/, mutations, token soup; not coverage guided); with a
# nightly toolchain and cargo-fuzz installed, libFuzzer runs them too.
#   bash scripts/test.d/fuzz.sh                      (scripts/test runs it after cargo test)
# Env: GRADEKIT_FUZZ_SECONDS per target (default 10), GRADEKIT_FUZZ_SEED to replay a run.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${GRADEKIT_FUZZ_SECONDS:-10}
echo "== fuzz targets on stable, ${secs} s each (tests/fuzz.rs)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
GRADEKIT_FUZZ_SECONDS=$secs cargo test --locked --test fuzz -- --nocapture >"$log" 2>&1 || status=$?
grep -E '^fuzz |test result|panicked|FAILED' "$log" || true
if [ "$status" -ne 0 ]; then
  tail -40 "$log"
  echo "fuzz: a target failed; replay with the GRADEKIT_FUZZ_SEED printed above"
  exit 1
fi
if cargo +nightly fuzz --version >/dev/null 2>&1; then
  for t in template formula grader metrics score_line server_body; do
    echo "== cargo fuzz run $t (${secs} s)"
    cargo +nightly fuzz run "$t" -- -max_total_time="$secs"
  done
else
  echo "fuzz: no nightly toolchain with cargo-fuzz here; libFuzzer runs skipped (the stable driver ran every target)"
fi
