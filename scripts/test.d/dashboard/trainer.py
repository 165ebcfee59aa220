#!/usr/bin/env python3
"""A trainer for the dashboard's browser test: speaks the trainer protocol (DESIGN.md §8) and
reports RFT-shaped metrics (loss, train/valid reward means, per-sub-grader means, error-flag
rates, nested `scores`/`errors`) without training anything.

Usage: trainer.py SPEC_PATH (what `gradekit serve --trainer "python3 trainer.py"` runs).

Steps: DASH_STEPS (default 12), a checkpoint every 3 steps. When the job's suffix contains
the word `gated`, every step after the first DASH_OPEN (default 5) waits for the file
`$DASH_GATE_DIR/<job_id>-<step>` before it is reported, so a test decides when a new event
arrives while a page is open (and stops waiting after 120 s).
"""
import json
import math
import os
import sys
import time

spec = json.load(open(sys.argv[1]))
words = set((spec.get("suffix") or "").split("-"))
steps = int(os.environ.get("DASH_STEPS", "12"))
open_steps = int(os.environ.get("DASH_OPEN", "5"))
gate_dir = os.environ.get("DASH_GATE_DIR", "")
out = spec["output_dir"]


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def wait_gate(step):
    if "gated" not in words or step <= open_steps or not gate_dir:
        return
    path = os.path.join(gate_dir, "%s-%d" % (spec["job_id"], step))
    until = time.time() + 120
    while not os.path.exists(path) and time.time() < until:
        time.sleep(0.05)


def save(name, step):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"step": step}, f)
    return d


emit({"type": "event", "level": "info", "message": "dashboard test trainer: %d steps" % steps})
for step in range(1, steps + 1):
    wait_gate(step)
    loss = 2.0 * math.exp(-step / 4.0) + 0.05 * (step % 3)
    train = min(1.0, 0.1 + 0.07 * step)
    valid = min(1.0, 0.05 + 0.065 * step)
    exact, fuzzy = min(1.0, 0.05 * step), min(1.0, 0.3 + 0.05 * step)
    m = {"type": "metrics", "step": step, "total_steps": steps,
         "train_loss": round(loss, 5),
         "train_reward_mean": round(train, 5),
         "train_exact_reward_mean": round(exact, 5),
         "train_fuzzy_reward_mean": round(fuzzy, 5),
         "train_grader_error_mean": round(0.2 / step, 5),
         "learning_rate": 1e-5,
         "scores": {"train_reward_mean": round(train, 5),
                    "graders": [{"name": "exact", "type": "string_check", "train_reward_mean": exact},
                                {"name": "fuzzy", "type": "text_similarity", "train_reward_mean": fuzzy}]},
         "errors": {"graders": [{"name": "answer", "train_sample_parse_error_mean": round(0.1 / step, 5),
                                 "train_sample_parse_error_count": 1}]}}
    if step % 2 == 0:
        m["valid_loss"] = round(loss * 1.1, 5)
        m["valid_reward_mean"] = round(valid, 5)
    emit(m)
    if step % 3 == 0:
        emit({"type": "checkpoint", "step": step, "dir": save("checkpoint-%d" % step, step),
              "metrics": {"train_loss": round(loss, 5)}})
    time.sleep(0.02)
emit({"type": "result", "model_dir": save("final", steps), "trained_tokens": 100 * steps})
