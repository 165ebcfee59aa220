#!/usr/bin/env bash
# The fine-tuning jobs API of `gradekit serve` (DESIGN.md §8) driven by the official `openai`
# Python SDK: files, jobs, events, checkpoints, permissions, models; two projects; every state
# transition and refusal; kill -9 mid-upload and mid-training, then a restart on the same
# --data-dir. tests/sdk/test_jobs.py starts the server itself with the protocol test trainer
# (tests/trainer/fake_trainer.py).
#   bash scripts/test.d/jobs_sdk.sh        (scripts/test runs it after cargo test)
# Env: GRADEKIT_BIN (default: target/debug/gradekit, built with cargo when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source scripts/sdk_env.sh
echo "== tests/sdk/test_jobs.py with $bin"
GRADEKIT_BIN=$bin "$venv/bin/python" tests/sdk/test_jobs.py
