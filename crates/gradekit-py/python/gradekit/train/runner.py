"""One training run: spec → model, data, TRL trainer → protocol lines → saved model.

Heavy imports (torch, transformers, TRL, peft) happen here, after `Protocol.capture` moved
stdout out of their way, so their import-time chatter reaches stderr too.
"""

import os
import sys
from typing import Any, Dict, List, Optional

from .protocol import Protocol
from .spec import Resolved, Spec, resolve


class TrainError(RuntimeError):
    """A failure with a message meant for the job's `error.message`."""


def _device() -> Dict[str, Any]:
    import torch

    if torch.cuda.is_available():
        return {"use_cpu": False, "bf16": bool(torch.cuda.is_bf16_supported()), "fp16": False,
                "gradient_checkpointing": True}
    return {"use_cpu": True, "bf16": False, "fp16": False, "gradient_checkpointing": False}


def _wandb(spec: Spec, p: Protocol) -> Dict[str, Any]:
    """TRL `report_to` arguments for a wandb integration, or a warn event saying why not."""
    wanted = [i for i in spec.integrations if isinstance(i, dict) and i.get("type") == "wandb"]
    if not wanted:
        return {"report_to": "none"}
    cfg = wanted[0].get("wandb") or {}
    try:
        import wandb  # noqa: F401
    except ImportError:
        p.event("wandb integration requested but the wandb package is not installed; "
                "metrics are not reported to Weights & Biases", "warn")
        return {"report_to": "none"}
    if not os.environ.get("WANDB_API_KEY") and os.environ.get("WANDB_MODE") not in ("offline", "disabled"):
        p.event("wandb integration requested but WANDB_API_KEY is not set; "
                "metrics are not reported to Weights & Biases", "warn")
        return {"report_to": "none"}
    if cfg.get("project"):
        os.environ["WANDB_PROJECT"] = str(cfg["project"])
    if cfg.get("entity"):
        os.environ["WANDB_ENTITY"] = str(cfg["entity"])
    if isinstance(cfg.get("tags"), list) and cfg["tags"]:
        os.environ["WANDB_TAGS"] = ",".join(str(t) for t in cfg["tags"])
    return {"report_to": ["wandb"], "run_name": str(cfg.get("name") or spec.job_id)}


def _load(spec: Spec):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = spec.model.path
    if not os.path.isdir(path):
        raise TrainError("cannot load model %r: %s is not a directory" % (spec.model.name, path))
    try:
        tok = AutoTokenizer.from_pretrained(path)
        # LoRA: the frozen base in bf16 on a GPU that has it; a full fine-tune keeps fp32 master
        # weights (and optimizer state) and trains under bf16 autocast.
        bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
        dtype = torch.bfloat16 if bf16 and spec.model.lora else torch.float32
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except torch.OutOfMemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - any loader failure is the same job error
        raise TrainError("cannot load model %r from %s: %s: %s"
                         % (spec.model.name, path, type(e).__name__, e)) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not getattr(tok, "chat_template", None):
        raise TrainError("model %r has no chat template in %s (tokenizer_config.json)"
                         % (spec.model.name, path))
    return model, tok


def _fit_positions(spec: Spec, config) -> None:
    """Caps sequence and completion lengths at the model's context (learned position tables
    index out of range past it)."""
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    if isinstance(limit, int) and limit > 0:
        spec.model.max_seq_length = min(spec.model.max_seq_length, limit)
        spec.model.max_completion_length = min(spec.model.max_completion_length, max(1, limit // 2))


def _peft(spec: Spec):
    if not spec.model.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                      task_type="CAUSAL_LM")


def _common(spec: Spec, r: Resolved, report: Dict[str, Any], has_eval: bool) -> Dict[str, Any]:
    kw = dict(r.trl)
    kw.update(_device())
    kw.update(report)
    kw.update(output_dir=spec.output_dir, logging_steps=1, logging_strategy="steps",
              disable_tqdm=True, save_only_model=False, dataloader_num_workers=0)
    if not has_eval:
        kw["eval_strategy"] = "no"
        kw.pop("eval_steps", None)
    elif spec.method_type == "reinforcement":
        kw["eval_strategy"] = "steps"
    else:
        kw["eval_strategy"] = "epoch"
    return kw


def build_trainer(spec: Spec, p: Protocol, callback_factory):
    """(trainer, callback, reward, resolved) for the spec's method."""
    from . import data

    train_rows = data.read_jsonl(spec.training_file, "training_file")
    valid_rows = data.maybe(spec.validation_file, "validation_file")
    r = resolve(spec, len(train_rows))  # spec errors before the (slow) model load
    model, tok = _load(spec)
    _fit_positions(spec, model.config)
    r = resolve(spec, len(train_rows))
    report = _wandb(spec, p)
    has_eval = bool(valid_rows)
    kw = _common(spec, r, report, has_eval)
    p.event("Resolved hyperparameters: %s" % ", ".join(
        "%s=%s" % (k, v) for k, v in r.openai().items()))
    reward = None
    if spec.method_type == "supervised":
        from trl import SFTConfig, SFTTrainer

        kw.pop("max_length")
        cfg = SFTConfig(max_length=None, **kw)
        train = data.supervised_dataset(train_rows, tok, spec.model.max_seq_length, "training_file")
        valid = data.supervised_dataset(valid_rows, tok, spec.model.max_seq_length,
                                        "validation_file") if has_eval else None
        trainer_cls, extra = SFTTrainer, {}
    elif spec.method_type == "dpo":
        from trl import DPOConfig, DPOTrainer

        cfg = DPOConfig(**kw)
        train = data.dpo_dataset(train_rows, "training_file")
        valid = data.dpo_dataset(valid_rows, "validation_file") if has_eval else None
        trainer_cls, extra = DPOTrainer, {}
    else:
        from trl import GRPOConfig, GRPOTrainer

        from .rewards import GraderReward

        kw.pop("max_length", None)
        cfg = GRPOConfig(**kw)
        room = spec.model.max_seq_length - spec.model.max_completion_length
        train = data.rft_dataset(train_rows, "training_file", tok, room)
        valid = data.rft_dataset(valid_rows, "validation_file", tok, room) if has_eval else None
        try:
            reward = GraderReward(spec.grader, spec.engine_options, spec.output_dir)
        except (ValueError, TypeError) as e:
            raise TrainError("method.reinforcement.grader: %s" % e) from None
        trainer_cls, extra = GRPOTrainer, {"reward_funcs": [reward]}
    callback = callback_factory(reward)
    trainer = trainer_cls(model=model, args=cfg, train_dataset=train, eval_dataset=valid,
                          processing_class=tok, peft_config=_peft(spec), callbacks=[callback],
                          **extra)
    if reward is not None:
        reward.trainer = trainer
    if spec.resume_from and spec.method_type != "reinforcement" and callback.tokens:
        trainer._total_train_tokens = callback.tokens  # TRL's counter restarts at 0 on resume
    return trainer, callback, reward, r


def save_final(trainer, tok, spec: Spec) -> str:
    """The final model as a Hugging Face directory: safetensors + tokenizer, LoRA merged."""
    out = os.path.join(spec.output_dir, "model")
    model = trainer.model
    unwrapped = trainer.accelerator.unwrap_model(model) if hasattr(trainer, "accelerator") else model
    if hasattr(unwrapped, "merge_and_unload"):
        unwrapped = unwrapped.merge_and_unload()
    unwrapped.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return os.path.abspath(out)


def run(spec: Spec, p: Protocol) -> int:
    import torch

    from .callbacks import ProtocolCallback

    os.makedirs(spec.output_dir, exist_ok=True)
    if spec.resume_from and not os.path.isdir(spec.resume_from):
        raise TrainError("resume_from: %s is not a checkpoint directory" % spec.resume_from)
    holder: List[ProtocolCallback] = []

    def factory(reward):
        cb = ProtocolCallback(p, spec.method_type, spec.output_dir, reward, spec.resume_from)
        cb.install_sigterm()
        holder.append(cb)
        return cb

    # SIGTERM during setup: remember it, stop after the first step.
    early = ProtocolCallback(p, spec.method_type, spec.output_dir)
    early.install_sigterm()
    trainer, cb, reward, r = build_trainer(spec, p, factory)
    cb.stop_requested = cb.stop_requested or early.stop_requested
    p.event("Training %s model %r with TRL %s (%s)" % (
        spec.method_type, spec.model.name, type(trainer).__name__,
        "LoRA" if spec.model.lora else "full fine-tune"))
    try:
        trainer.train(resume_from_checkpoint=spec.resume_from or None)
    except torch.OutOfMemoryError as e:
        raise TrainError("out of memory while training: %s" % str(e).splitlines()[0]) from None
    if cb.paused:
        p.event("Training paused at step %d" % trainer.state.global_step)
        return 0
    model_dir = save_final(trainer, trainer.processing_class, spec)
    csv_path = cb.write_csv()
    tokens = cb.tokens or int(getattr(trainer.state, "num_input_tokens_seen", 0) or 0)
    if reward is not None:
        p.event("Graded %s; grading took %.3f s of the run" % (
            reward.__name__, reward.grading_seconds))
    p.event("Fine tuning job successfully completed")
    p.result(model_dir, max(tokens, 1), [os.path.abspath(csv_path)])
    sys.stderr.flush()
    return 0
