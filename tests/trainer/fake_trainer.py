#!/usr/bin/env python3
"""A trainer for tests: speaks the trainer protocol of DESIGN.md §8 without training anything.

Usage: fake_trainer.py SPEC_PATH (what `gradekit serve --trainer "python3 fake_trainer.py"` runs).

Behaviour is chosen by words in the job's `suffix` (separated by '-'), so one server can run
every case:
  crash     exit 1 with a traceback on stderr at step 3 (no result)
  garbage   print non-protocol lines between the protocol lines
  slow      0.4 s per step instead of FAKE_TRAINER_DELAY (default 0.05 s)
  noresult  exit 0 at the end without a result line
  long      FAKE_TRAINER_STEPS x 10 steps
  linger    start a helper that outlives the trainer and keeps its stdout open
  relative  name checkpoint and model directories relative to the working directory (the
            job's directory, where the server starts trainers)
Steps: FAKE_TRAINER_STEPS (default 6). A checkpoint every 2 steps, and one at SIGTERM (pause):
then it exits 0 without a result. `resume_from` restarts after the checkpoint's step. Each
checkpoint and the final model are directories with a `step` file and a config.json.
"""
import json
import os
import signal
import sys
import time

spec = json.load(open(sys.argv[1]))
words = set((spec.get("suffix") or "").split("-"))
steps = int(os.environ.get("FAKE_TRAINER_STEPS", "6"))
if "long" in words:
    steps *= 10
delay = 0.4 if "slow" in words else float(os.environ.get("FAKE_TRAINER_DELAY", "0.05"))
out = spec["output_dir"]
stop = False


def on_term(signum, frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def save(name, step):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "step"), "w") as f:
        f.write(str(step))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"base": spec["model"]["name"], "step": step, "seed": spec["seed"]}, f)
    return os.path.relpath(d) if "relative" in words else d


if "linger" in words:
    import subprocess
    subprocess.Popen(["sleep", "300"])

start = 0
if spec.get("resume_from"):
    start = int(open(os.path.join(spec["resume_from"], "step")).read())
    emit({"type": "event", "level": "info", "message": f"fake trainer: resuming after step {start}"})
else:
    emit({"type": "event", "level": "info", "message": f"fake trainer: {spec['method']['type']} on {spec['model']['name']}"})

step = start
for step in range(start + 1, steps + 1):
    time.sleep(delay)
    emit({"type": "metrics", "step": step, "total_steps": steps, "train_loss": round(1.0 / step, 4),
          "train_mean_token_accuracy": round(1 - 1.0 / (step + 1), 4)})
    if "garbage" in words:
        print("Loading checkpoint shards: 100%|##########| 2/2", flush=True)
        print('{"type": "nonsense"}', flush=True)
        print("[1, 2, 3]", flush=True)
    if "crash" in words and step == 3:
        print("Traceback (most recent call last):\n  File \"train.py\", line 1\nRuntimeError: CUDA out of memory (fake)", file=sys.stderr, flush=True)
        sys.exit(1)
    if step % 2 == 0 or stop:
        d = save(f"checkpoint-{step}", step)
        emit({"type": "checkpoint", "step": step, "dir": d,
              "metrics": {"train_loss": round(1.0 / step, 4), "valid_loss": round(1.1 / step, 4), "other": 1}})
    if stop:
        sys.exit(0)

if "noresult" in words:
    sys.exit(0)
d = save("final", step)
emit({"type": "result", "model_dir": d, "trained_tokens": 1000 * steps})
