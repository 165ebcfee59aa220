"""``python -m gradekit.train SPEC.json``: the TRL trainer behind gradekit's jobs API.

``gradekit serve`` runs this for every fine-tuning job (DESIGN §8, the trainer protocol): it
reads the job spec, trains with Hugging Face TRL and writes one JSON object per line to stdout
— ``event``, ``metrics``, ``checkpoint``, ``result`` — and nothing else (TRL, transformers and
warnings go to stderr). Install with ``pip install 'gradekit[train]'``.

Methods
-------
* ``supervised`` → ``trl.SFTTrainer`` on the chat lines; only assistant messages are trained
  (``weight: 0`` skips one).
* ``dpo`` → ``trl.DPOTrainer``: ``input.messages`` / ``preferred_output`` /
  ``non_preferred_output`` become ``prompt`` / ``chosen`` / ``rejected``.
* ``reinforcement`` → ``trl.GRPOTrainer``; the reward is the job's grader compiled by the
  gradekit engine (``gradekit.Grader``: the scores of ``/graders/run``; python graders run
  sandboxed unless the spec's ``engine_options`` say otherwise). Prompts are the line's
  ``messages``; every other key of the line is the grader's ``item``.

Hyperparameters ("auto" and numbers) → TRL
-------------------------------------------
``n`` = training examples; LR = the registry's ``learning_rate`` for the model, else the base
rate below. ``gradekit serve`` resolves "auto" with the same rules (the job object shows the
values) and the spec carries them; "auto" left in a spec is resolved here.

===========================  ===============================  =========================================
OpenAI hyperparameter        "auto"                           TRL argument
===========================  ===============================  =========================================
n_epochs                     clamp(ceil(300 / n), 3, 10)      ``num_train_epochs``
batch_size                   clamp(ceil(0.002 n), 1, 256)     supervised/dpo: ``per_device_train_batch
                                                              _size`` = largest divisor ≤ 8,
                                                              ``gradient_accumulation_steps`` = rest;
                                                              reinforcement: prompts per step:
                                                              ``gradient_accumulation_steps`` =
                                                              batch_size, ``per_device_train_batch_
                                                              size`` = num_generations
learning_rate_multiplier     1.0                              ``learning_rate`` = LR × multiplier; base
                                                              LR full / LoRA: supervised 2e-5 / 2e-4,
                                                              dpo 1e-6 / 5e-6, reinforcement 1e-6 / 1e-5
beta (dpo)                   0.1                              ``DPOConfig.beta``
compute_multiplier (rft)     1.0                              ``num_generations`` =
                                                              clamp(round(8 × cm), 2, 64)
eval_interval (rft)          1                                ``eval_strategy="steps"``, ``eval_steps``,
                                                              ``save_steps`` (a checkpoint per eval)
eval_samples (rft)           1                                ``num_generations_eval``,
                                                              ``per_device_eval_batch_size``
reasoning_effort (rft)       "default" (nothing passed)       ``chat_template_kwargs =
                                                              {"reasoning_effort": …}`` (templates that
                                                              read it, e.g. gpt-oss; others ignore it)
seed                         the job's seed                   ``seed``, ``data_seed``
===========================  ===============================  =========================================

Fixed: ``logging_steps=1`` (one ``metrics`` line per step); supervised and dpo checkpoint and
validate once per epoch (``save_strategy="epoch"``); the model registry's ``max_seq_length``
(default 2048) is SFT/DPO ``max_length``, its ``max_completion_length`` (default: half of
``max_seq_length``, at least 16, at most 256) GRPO's;
``lora = true`` trains a LoRA adapter (r 16, alpha 32, all linear layers) that is merged into
the saved model. On a GPU: bf16 where supported and gradient checkpointing; without one
``use_cpu=True`` in fp32. ``report_to`` is ``"none"`` unless a wandb integration is requested,
``wandb`` is installed and ``WANDB_API_KEY`` is set (else a ``warn`` event says why not).

Outputs (in ``output_dir``)
---------------------------
``checkpoint-N/`` (Hugging Face directories + trainer state, resumable), ``model/`` (the final
model: safetensors + tokenizer), ``result.csv`` (``step,train_loss,train_accuracy,valid_loss,
valid_mean_token_accuracy`` + ``train_reward_mean,valid_reward_mean`` for reinforcement; named
in the ``result`` line's ``result_files``) and, for reinforcement, ``completions.jsonl`` (every
graded completion with its item and reward).

Pause is SIGTERM: a checkpoint is saved and printed at the end of the current step and the
process exits 0 without a ``result``; run again with ``resume_from`` = that checkpoint. Errors
(out of memory, a model that cannot be loaded, a grader that fails every sample, a bad spec)
exit 1 with an ``error`` event and ``gradekit.train: error: …`` as the last stderr line. When
stdout is closed (the server died), the trainer exits 3 at its next line: a restarted server
resumes the job from its last checkpoint with a new trainer.
"""

import sys
import traceback
from typing import List, Optional

from .spec import Resolved, Spec, SpecError, load_spec, resolve

__all__ = ["main", "load_spec", "resolve", "Spec", "Resolved", "SpecError"]


def _fail(p, message: str) -> int:
    message = " ".join(message.split())[:4000]  # one line: the server keeps the last lines
    if p is not None:
        p.event(message, "error")
    sys.stderr.write("gradekit.train: error: %s\n" % message)
    sys.stderr.flush()
    return 1


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the trainer; returns the exit status."""
    from .protocol import Protocol

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: python -m gradekit.train SPEC.json\n")
        return 2
    p = Protocol.capture()
    try:
        return _main(args[0], p)
    finally:
        p.close()


def _main(spec_path: str, p) -> int:
    try:
        spec = load_spec(spec_path)
        import logging

        logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
        from . import runner
        from .data import DataError
        from .rewards import GraderFailed

        try:
            return runner.run(spec, p)
        except (runner.TrainError, DataError, GraderFailed, SpecError) as e:
            return _fail(p, str(e))
    except SpecError as e:
        return _fail(p, str(e))
    except MemoryError:
        return _fail(p, "out of memory (host RAM) while training")
    except KeyboardInterrupt:
        return _fail(p, "interrupted")
    except Exception as e:  # noqa: BLE001 - the last stderr line must say what happened
        traceback.print_exc(file=sys.stderr)
        name = type(e).__name__
        if name == "OutOfMemoryError":
            return _fail(p, "out of memory while training: %s" % str(e).splitlines()[0])
        first = (str(e).splitlines() or [""])[0]
        return _fail(p, "%s: %s" % (name, first))
