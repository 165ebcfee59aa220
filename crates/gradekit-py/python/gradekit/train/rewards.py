"""The reinforcement job's reward: its grader, through the gradekit bindings.

`GraderReward` is the single reward function of the `GRPOTrainer`. Each call grades one
generation batch with `Grader.grade_batch` (in parallel, GIL released; python graders run
sandboxed unless the spec's ``engine_options`` say otherwise), so the rewards are exactly the
``reward`` of ``/fine_tuning/alpha/graders/run`` for the same sample and item. A failed sample
(an error flag set) scores 0, as on OpenAI.

It also keeps what the metrics lines report: reward means per split (train / valid), per
sub-grader means, and the grader error flags' means and counts, in the shape of OpenAI's RFT
metrics events (research/jobs-api.md §3), and appends every graded completion to
``completions.jsonl`` in the output directory, so the logged means can be checked against the
grader. If the grader fails every sample it has seen, training stops with `GraderFailed` (the
flags in the message) instead of learning from zeros.
"""

import json
import os
import time
from typing import Any, Dict, List, Optional

from .._gradekit import Grader
from ..trl import completion_text
from .data import ITEM_COLUMN

ERROR_KINDS = ("sample_parse_error", "invalid_variable_error", "other_error",
               "python_grader_server_error", "python_grader_runtime_error",
               "model_grader_server_error", "model_grader_refusal_error",
               "model_grader_parse_error", "model_grader_exceeded_max_tokens_error",
               "formula_parse_error", "truncated_observation_error", "unresponsive_reward_error")


# The error numbers of OpenAI's RFT metrics events: means and counts of these three ...
COUNTED = ("sample_parse_error", "invalid_variable_error", "other_error")
# ... and means of the python / model grader errors.
MEANS = ("python_grader_server_error", "python_grader_runtime_error", "model_grader_server_error",
         "model_grader_refusal_error", "model_grader_parse_error")


class GraderFailed(RuntimeError):
    pass


class _Split:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.reward_sum = 0.0
        self.sub: Dict[str, float] = {}
        self.err: Dict[str, int] = {}
        self.seconds = 0.0

    def add(self, results, seconds: float) -> None:
        self.n += len(results)
        self.seconds += seconds
        for r in results:
            self.reward_sum += r.reward
            for k, v in r.sub_rewards.items():
                self.sub[k] = self.sub.get(k, 0.0) + v
            if r.failed:
                self.failed += 1
                flags = r.errors
                for kind in ERROR_KINDS:
                    if flags.get(kind):
                        self.err[kind] = self.err.get(kind, 0) + 1


class GraderReward:
    """A TRL reward function (``__name__`` = the grader's name) with per-step statistics."""

    def __init__(self, config: Dict[str, Any], engine_options: Dict[str, Any], log_dir: str):
        self.grader = Grader(config, **engine_options)
        self.config = config
        self.__name__ = "gradekit_" + "".join(c if c.isalnum() else "_" for c in self.grader.name)
        self.sub_keys = self.grader.sub_grader_keys
        self.trainer = None  # set once the trainer exists: its .model.training picks the split
        self.step_offset = 0
        self._splits = {"train": _Split(), "valid": _Split()}
        self._ever_ok = False
        self._seen = 0
        os.makedirs(log_dir, exist_ok=True)
        self.log_path = os.path.join(log_dir, "completions.jsonl")
        self.grading_seconds = 0.0

    def _split(self) -> str:
        model = getattr(self.trainer, "model", None)
        return "valid" if model is not None and not model.training else "train"

    def __call__(self, prompts=None, completions=(), **kwargs) -> List[float]:
        texts = [completion_text(c) for c in completions]
        raw = kwargs.get(ITEM_COLUMN) or [None] * len(texts)
        items = [json.loads(x) if isinstance(x, str) else {} for x in raw]
        t0 = time.perf_counter()
        results = self.grader.grade_batch(texts, items)
        dt = time.perf_counter() - t0
        self.grading_seconds += dt
        split = self._split()
        self._splits[split].add(results, dt)
        self._seen += len(results)
        if any(not r.failed for r in results):
            self._ever_ok = True
        state = getattr(self.trainer, "state", None)
        step = (state.global_step if state is not None else 0) + (1 if split == "train" else 0)
        with open(self.log_path, "a", encoding="utf-8") as f:
            for p, t, it, r in zip(prompts or [None] * len(texts), texts, items, results):
                f.write(json.dumps({"step": step, "split": split, "prompt": p, "completion": t,
                                    "item": it, "reward": r.reward, "sub_rewards": r.sub_rewards,
                                    "failed": r.failed}) + "\n")
        if not self._ever_ok and results:
            self._fail(results)
        return [r.reward for r in results]

    def _fail(self, results) -> None:
        flags: Dict[str, int] = {}
        detail: Optional[str] = None
        for r in results:
            for kind in ERROR_KINDS:
                if r.errors.get(kind):
                    flags[kind] = flags.get(kind, 0) + 1
                    d = r.errors.get(kind + "_details") or r.errors.get(kind + "_type")
                    detail = detail or (str(d) if d else None)
        summary = ", ".join("%s=%d/%d" % (k, v, len(results)) for k, v in sorted(flags.items()))
        raise GraderFailed(
            "grader %r failed every sample (%d graded): %s%s" % (
                self.grader.name, self._seen, summary or "error flags set",
                "; first error: " + detail if detail else ""))

    def take(self, split: str) -> Optional[Dict[str, Any]]:
        """The statistics gathered for `split` since the last take, or None when nothing was graded."""
        s = self._splits[split]
        if s.n == 0:
            return None
        self._splits[split] = _Split()
        return {
            "reward_mean": s.reward_sum / s.n,
            "sub": {k: s.sub.get(k, 0.0) / s.n for k in self.sub_keys},
            "errors": {k: (s.err.get(k, 0) / s.n, s.err.get(k, 0)) for k in ERROR_KINDS},
            "failed": s.failed / s.n,
            "n": s.n,
            "seconds": s.seconds,
        }


def rft_metrics(grader: GraderReward, train: Optional[Dict[str, Any]],
                valid: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Flat reward numbers plus OpenAI's nested ``scores`` / ``errors`` objects for one step."""
    out: Dict[str, Any] = {}
    scores: Dict[str, Any] = {}
    if train:
        out["train_reward_mean"] = scores["train_reward_mean"] = train["reward_mean"]
    if valid:
        out["valid_reward_mean"] = scores["valid_reward_mean"] = valid["reward_mean"]
        out["full_valid_reward_mean"] = valid["reward_mean"]
    graders = []
    subs = grader.sub_keys or []
    for key in subs:
        g: Dict[str, Any] = {"name": key, "type": grader.config["graders"][key].get("type")}
        for split, st in (("train", train), ("valid", valid)):
            if st:
                g["%s_reward_mean" % split] = st["sub"][key]
                out["%s_%s_reward_mean" % (split, key)] = st["sub"][key]
        graders.append(g)
    if not subs:
        g = {"name": grader.grader.name, "type": grader.grader.type}
        for split, st in (("train", train), ("valid", valid)):
            if st:
                g["%s_reward_mean" % split] = st["reward_mean"]
        graders.append(g)
    scores["graders"] = graders
    err: Dict[str, Any] = {"name": grader.grader.name}
    for split, st in (("train", train), ("valid", valid)):
        if st:
            out["%s_grader_error_mean" % split] = st["failed"]
            for kind, (mean, count) in st["errors"].items():
                if kind in COUNTED:
                    err["%s_%s_count" % (split, kind)] = count
                if kind in COUNTED or kind in MEANS:
                    err["%s_%s_mean" % (split, kind)] = mean
    out["scores"] = scores
    out["errors"] = {"graders": [err]}
    return out
