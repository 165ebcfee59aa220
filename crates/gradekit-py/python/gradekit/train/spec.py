"""The job spec (DESIGN §8) and the hyperparameter table: OpenAI's names and "auto" → TRL.

The server writes the spec; the trainer trusts nothing in it: every field is checked here and
a bad one raises `SpecError` naming it (``method.dpo.hyperparameters.beta``). Hyperparameters
still ``"auto"`` in the spec are resolved with the same table the module docs print, so a spec
written by hand (or by an older server) trains the same way.
"""

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

METHODS = ("supervised", "dpo", "reinforcement")

# Base learning rates when the model registry gives none: TRL's defaults for full fine-tunes,
# the usual LoRA rates for adapters (adapters need ~10x higher rates).
BASE_LR = {
    ("supervised", False): 2e-5, ("supervised", True): 2e-4,
    ("dpo", False): 1e-6, ("dpo", True): 5e-6,
    ("reinforcement", False): 1e-6, ("reinforcement", True): 1e-5,
}
AUTO_BETA = 0.1
GENERATIONS_PER_UNIT_COMPUTE = 8
MAX_MICRO_BATCH = 8
DEFAULT_MAX_SEQ = 2048
DEFAULT_MAX_COMPLETION = 256
REASONING_EFFORTS = ("default", "low", "medium", "high")


class SpecError(ValueError):
    """An invalid spec: the message names the field."""


@dataclass
class ModelSpec:
    name: str
    path: str
    lora: bool = False
    learning_rate: Optional[float] = None
    max_seq_length: int = DEFAULT_MAX_SEQ
    max_completion_length: int = DEFAULT_MAX_COMPLETION


@dataclass
class Spec:
    job_id: str
    method_type: str
    method: Dict[str, Any]          # the method's own object (`method[method_type]`)
    hyper: Dict[str, Any]           # hyperparameters as given ("auto" or numbers)
    model: ModelSpec
    training_file: str
    validation_file: Optional[str]
    output_dir: str
    seed: int
    resume_from: Optional[str]
    suffix: Optional[str]
    integrations: List[Dict[str, Any]] = field(default_factory=list)
    engine_options: Dict[str, Any] = field(default_factory=dict)

    @property
    def grader(self) -> Optional[Dict[str, Any]]:
        return self.method.get("grader") if self.method_type == "reinforcement" else None


def _want(cond: bool, path: str, what: str, got: Any) -> None:
    if not cond:
        raise SpecError("%s: must be %s, got %s" % (path, what, json.dumps(got)[:200]))


def _opt_str(d: Dict[str, Any], key: str, path: str) -> Optional[str]:
    v = d.get(key)
    _want(v is None or isinstance(v, str), path + key, "a string or null", v)
    return v


def _pos_int(v: Any, path: str, lo: int = 1, hi: int = 10**9) -> int:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer()
    _want(ok and lo <= v <= hi, path, "an integer in [%d, %d]" % (lo, hi), v)
    return int(v)


def load_spec(path: str) -> Spec:
    """Reads and checks the spec file at `path`."""
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise SpecError("cannot read spec %s: %s" % (path, e)) from None
    _want(isinstance(d, dict), "spec", "a JSON object", type(d).__name__)
    method = d.get("method") or {"type": "supervised"}
    _want(isinstance(method, dict), "method", "an object", method)
    mtype = method.get("type", "supervised")
    _want(mtype in METHODS, "method.type", "one of " + ", ".join(METHODS), mtype)
    body = method.get(mtype) or {}
    _want(isinstance(body, dict), "method." + mtype, "an object", body)
    hyper = body.get("hyperparameters") or {}
    _want(isinstance(hyper, dict), "method.%s.hyperparameters" % mtype, "an object", hyper)
    if mtype == "reinforcement":
        _want(isinstance(body.get("grader"), dict), "method.reinforcement.grader",
              "a grader object", body.get("grader"))

    m = d.get("model")
    _want(isinstance(m, dict), "model", "an object {name, path}", m)
    _want(isinstance(m.get("path"), str) and m["path"] != "", "model.path", "a directory", m.get("path"))
    lr = m.get("learning_rate")
    _want(lr is None or (isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0),
          "model.learning_rate", "a positive number", lr)
    lora = m.get("lora", False)
    _want(isinstance(lora, bool), "model.lora", "a boolean", lora)
    max_seq = _pos_int(m.get("max_seq_length", DEFAULT_MAX_SEQ), "model.max_seq_length", 8)
    max_completion = m.get("max_completion_length")
    max_completion = (min(DEFAULT_MAX_COMPLETION, max(16, max_seq // 2)) if max_completion is None
                      else _pos_int(max_completion, "model.max_completion_length"))
    model = ModelSpec(
        name=str(m.get("name") or os.path.basename(m["path"].rstrip("/"))),
        path=m["path"],
        lora=lora,
        learning_rate=float(lr) if lr is not None else None,
        max_seq_length=max_seq,
        max_completion_length=max_completion,
    )
    for key in ("training_file", "output_dir"):
        _want(isinstance(d.get(key), str) and d[key] != "", key, "a path", d.get(key))
    seed = d.get("seed", 42)
    _want(isinstance(seed, int) and not isinstance(seed, bool), "seed", "an integer", seed)
    seed %= 2**32  # numpy's and torch's seed range
    integrations = d.get("integrations") or []
    _want(isinstance(integrations, list), "integrations", "a list", integrations)
    engine = d.get("engine_options") or {}
    _want(isinstance(engine, dict), "engine_options", "an object", engine)
    return Spec(
        job_id=str(d.get("job_id") or "job"),
        method_type=mtype,
        method=body,
        hyper=dict(hyper),
        model=model,
        training_file=d["training_file"],
        validation_file=_opt_str(d, "validation_file", ""),
        output_dir=d["output_dir"],
        seed=seed,
        resume_from=_opt_str(d, "resume_from", ""),
        suffix=_opt_str(d, "suffix", ""),
        integrations=integrations,
        engine_options=engine,
    )


@dataclass
class Resolved:
    """The hyperparameters with "auto" resolved, and the TRL arguments they become."""

    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float
    learning_rate: float
    beta: Optional[float] = None
    compute_multiplier: Optional[float] = None
    eval_interval: Optional[int] = None
    eval_samples: Optional[int] = None
    reasoning_effort: Optional[str] = None
    num_generations: Optional[int] = None
    steps_per_epoch: int = 1
    trl: Dict[str, Any] = field(default_factory=dict)

    def openai(self) -> Dict[str, Any]:
        """The resolved values under OpenAI's names (what the job object shows)."""
        out: Dict[str, Any] = {"n_epochs": self.n_epochs, "batch_size": self.batch_size,
                               "learning_rate_multiplier": self.learning_rate_multiplier}
        for k in ("beta", "compute_multiplier", "eval_interval", "eval_samples", "reasoning_effort"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        return out


def _hv(hyper: Dict[str, Any], key: str, mtype: str) -> Optional[float]:
    """A hyperparameter's number, or None for "auto"/absent."""
    v = hyper.get(key, "auto")
    if v == "auto" or v is None:
        return None
    _want(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
          "method.%s.hyperparameters.%s" % (mtype, key), '"auto" or a number', v)
    return float(v)


def _micro(batch: int) -> int:
    """The largest divisor of `batch` that fits one device step (≤ MAX_MICRO_BATCH)."""
    return max(d for d in range(1, min(batch, MAX_MICRO_BATCH) + 1) if batch % d == 0)


def resolve(spec: Spec, n_train: int) -> Resolved:
    """Resolves "auto" with the table of the module docs and maps to TRL arguments."""
    mtype, h = spec.method_type, spec.hyper
    path = "method.%s.hyperparameters." % mtype

    def num(key: str, lo: float, hi: float, integer: bool, auto: float) -> float:
        v = _hv(h, key, mtype)
        if v is None:
            return auto
        ok = lo <= v <= hi and (not integer or v.is_integer())
        _want(ok, path + key, ("an integer" if integer else "a number") + " in [%g, %g]" % (lo, hi), v)
        return v

    epochs = int(num("n_epochs", 1, 50, True, min(10, max(3, math.ceil(300 / max(1, n_train))))))
    batch = int(num("batch_size", 1, 256, True, min(256, max(1, math.ceil(n_train * 0.002)))))
    mult = num("learning_rate_multiplier", 1e-12, 1e6, False, 1.0)
    base = spec.model.learning_rate or BASE_LR[(mtype, spec.model.lora)]
    steps_per_epoch = max(1, math.ceil(n_train / batch))
    r = Resolved(n_epochs=epochs, batch_size=batch, learning_rate_multiplier=mult,
                 learning_rate=base * mult, steps_per_epoch=steps_per_epoch)
    trl: Dict[str, Any] = {"num_train_epochs": epochs, "learning_rate": r.learning_rate,
                           "seed": spec.seed, "data_seed": spec.seed}
    if mtype in ("supervised", "dpo"):
        micro = _micro(batch)
        trl.update(per_device_train_batch_size=micro, per_device_eval_batch_size=micro,
                   gradient_accumulation_steps=batch // micro, max_length=spec.model.max_seq_length,
                   save_strategy="epoch")
        if mtype == "dpo":
            beta = num("beta", 1e-9, 2, False, AUTO_BETA)
            _want(beta > 0, path + "beta", "a number in (0, 2]", beta)
            r.beta = beta
            trl["beta"] = beta
    else:
        cm = num("compute_multiplier", 0.00001, 10, False, 1.0)
        gens = min(64, max(2, round(GENERATIONS_PER_UNIT_COMPUTE * cm)))
        interval = int(num("eval_interval", 1, 10**9, True, 1))
        samples = int(num("eval_samples", 1, 64, True, 1))
        effort = h.get("reasoning_effort", "default")
        _want(effort in REASONING_EFFORTS, path + "reasoning_effort",
              "one of " + ", ".join(REASONING_EFFORTS), effort)
        r.compute_multiplier, r.num_generations = cm, gens
        r.eval_interval, r.eval_samples, r.reasoning_effort = interval, samples, effort
        trl.update(num_generations=gens, per_device_train_batch_size=gens,
                   gradient_accumulation_steps=batch, num_generations_eval=samples,
                   per_device_eval_batch_size=samples, eval_steps=interval,
                   save_strategy="steps", save_steps=interval,
                   max_completion_length=spec.model.max_completion_length)
        if effort != "default":
            trl["chat_template_kwargs"] = {"reasoning_effort": effort}
    r.trl = trl
    return r
