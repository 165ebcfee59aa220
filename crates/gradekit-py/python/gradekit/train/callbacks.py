"""TRL/transformers callbacks → protocol lines, the result CSV and pause on SIGTERM.

A `transformers` step runs: ``on_step_end`` → log (``on_log`` with the training numbers) →
evaluate (``on_log`` with ``eval_*``) → save (``on_save``). `ProtocolCallback` gathers one
step's numbers in a pending row and writes it as one ``metrics`` line when the next step
begins, before the step's ``checkpoint`` line, or at the end — so a step with a validation run
is one line with both train and valid values, as OpenAI's events are.

Pause: SIGTERM sets a flag; the next ``on_step_end`` asks the trainer to save and stop, the
checkpoint line goes out from ``on_save`` and the run exits 0 without a ``result`` line.
Every checkpoint directory also gets ``gradekit_state.json`` (the CSV rows so far and the
trained-token count), which a resumed run reads back, so the result CSV and ``trained_tokens``
cover the whole job across pauses.
"""

import csv
import json
import os
import signal
import time
from typing import Any, Dict, List, Optional

from transformers import TrainerCallback

from .rewards import GraderReward, rft_metrics

STATE_FILE = "gradekit_state.json"
CSV_NAME = "result.csv"
CSV_COLUMNS = ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
RFT_COLUMNS = ["train_reward_mean", "valid_reward_mean"]
CHECKPOINT_KEYS = ("step", "train_loss", "train_mean_token_accuracy", "valid_loss",
                   "valid_mean_token_accuracy", "full_valid_loss", "full_valid_mean_token_accuracy")

# TRL log key → metrics key (training logs); eval logs carry the same keys prefixed `eval_`.
TRAIN_KEYS = {"loss": "train_loss", "mean_token_accuracy": "train_mean_token_accuracy",
              "learning_rate": "learning_rate", "grad_norm": "grad_norm",
              "rewards/accuracies": "train_preference_accuracy",
              "rewards/margins": "train_preference_margin", "kl": "train_kl",
              "entropy": "train_entropy", "completions/mean_length": "train_completion_mean_length"}
EVAL_KEYS = {"eval_loss": ("valid_loss", "full_valid_loss"),
             "eval_mean_token_accuracy": ("valid_mean_token_accuracy",
                                          "full_valid_mean_token_accuracy"),
             "eval_rewards/accuracies": ("valid_preference_accuracy",)}


def _num(v: Any) -> Optional[float]:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


class ProtocolCallback(TrainerCallback):
    def __init__(self, protocol, method: str, output_dir: str,
                 reward: Optional[GraderReward] = None, resume_from: Optional[str] = None):
        self.p = protocol
        self.method = method
        self.output_dir = output_dir
        self.reward = reward
        self.stop_requested = False
        self.paused = False
        self.rows: List[Dict[str, Any]] = []
        self.latest: Dict[str, float] = {}
        self.pending: Optional[Dict[str, Any]] = None
        self.tokens = 0
        self.saved = set()
        self._t0: Optional[float] = None
        self.step_seconds: Dict[int, float] = {}
        self.csv_path = os.path.join(output_dir, CSV_NAME)
        self.columns = CSV_COLUMNS + (RFT_COLUMNS if method == "reinforcement" else [])
        if resume_from:
            self._restore(resume_from)

    # -- pause -------------------------------------------------------------------------------
    def install_sigterm(self) -> None:
        def handler(signum, frame):
            self.stop_requested = True
        signal.signal(signal.SIGTERM, handler)

    def on_step_end(self, args, state, control, **kw):
        if self._t0 is not None:
            self.step_seconds[state.global_step] = time.perf_counter() - self._t0
            self._t0 = None
        if self.stop_requested and state.global_step < state.max_steps:
            control.should_save = True
            control.should_training_stop = True
            self.paused = True
        return control

    # -- metrics -----------------------------------------------------------------------------
    def on_log(self, args, state, control, logs=None, **kw):
        logs = logs or {}
        if "train_runtime" in logs:  # the end-of-training summary, not a step
            return
        step = state.global_step
        if step < 1:
            return
        if self.pending is not None and self.pending["step"] != step:
            self._flush(state)
        if self.pending is None:
            self.pending = {"step": step, "values": {}}
        vals = self.pending["values"]
        if "num_tokens" in logs and _num(logs["num_tokens"]) is not None:
            self.tokens = max(self.tokens, int(logs["num_tokens"]))
        is_eval = any(k.startswith("eval_") for k in logs)
        if is_eval:
            for k, names in (EVAL_KEYS.items() if self.reward is None else ()):
                v = _num(logs.get(k))
                if v is not None:
                    for n in names:
                        vals[n] = v
            if self.reward is not None:
                vals["_valid"] = self.reward.take("valid")
        else:
            for k, name in TRAIN_KEYS.items():
                v = _num(logs.get(k))
                if v is not None:
                    vals[name] = v
            if self.reward is not None:
                vals["_train"] = self.reward.take("train")

    def on_step_begin(self, args, state, control, **kw):
        self._flush(state)
        self._t0 = time.perf_counter()

    def on_train_end(self, args, state, control, **kw):
        self._flush(state)

    def _flush(self, state) -> None:
        if self.pending is None:
            return
        step, vals = self.pending["step"], dict(self.pending["values"])
        self.pending = None
        train, valid = vals.pop("_train", None), vals.pop("_valid", None)
        if self.reward is not None:
            vals.update(rft_metrics(self.reward, train, valid))
            timing = {"grader_seconds": train["seconds"] if train else 0.0}
            if step in self.step_seconds:
                timing["full_iteration_seconds"] = self.step_seconds.pop(step)
            if valid:
                timing["eval_grader_seconds"] = valid["seconds"]
            vals["timing"] = timing
        self.latest.update({k: v for k, v in vals.items() if isinstance(v, float)})
        self.latest["step"] = step
        self.p.metrics(step, state.max_steps, vals)
        row = {"step": step, "train_loss": vals.get("train_loss"),
               "train_accuracy": vals.get("train_mean_token_accuracy"),
               "valid_loss": vals.get("valid_loss"),
               "valid_mean_token_accuracy": vals.get("valid_mean_token_accuracy"),
               "train_reward_mean": vals.get("train_reward_mean"),
               "valid_reward_mean": vals.get("valid_reward_mean")}
        self.rows = [r for r in self.rows if r["step"] != step] + [row]
        self.write_csv()

    def write_csv(self) -> str:
        os.makedirs(self.output_dir, exist_ok=True)
        tmp = self.csv_path + ".tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(self.columns)
            for r in sorted(self.rows, key=lambda r: r["step"]):
                w.writerow(["" if r.get(c) is None else r[c] for c in self.columns])
        os.replace(tmp, self.csv_path)
        return self.csv_path

    # -- checkpoints -------------------------------------------------------------------------
    def on_save(self, args, state, control, **kw):
        self._flush(state)
        step = state.global_step
        directory = os.path.join(args.output_dir, "checkpoint-%d" % step)
        if not os.path.isdir(directory) or step in self.saved:
            return  # (transformers may call on_save twice for the step it stops at)
        self.saved.add(step)
        with open(os.path.join(directory, STATE_FILE), "w", encoding="utf-8") as f:
            json.dump({"rows": self.rows, "trained_tokens": self.tokens, "latest": self.latest}, f)
        metrics = {k: self.latest[k] for k in CHECKPOINT_KEYS if k in self.latest}
        metrics["step"] = step
        if self.method == "reinforcement":
            for k in RFT_COLUMNS:
                if k in self.latest:
                    metrics[k] = self.latest[k]
        self.p.checkpoint(step, os.path.abspath(directory), metrics)

    def _restore(self, resume_from: str) -> None:
        path = os.path.join(resume_from, STATE_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                saved = json.load(f)
        except (OSError, ValueError):
            return
        self.rows = [r for r in saved.get("rows", []) if isinstance(r, dict) and "step" in r]
        self.tokens = int(saved.get("trained_tokens") or 0)
        self.latest = dict(saved.get("latest") or {})
