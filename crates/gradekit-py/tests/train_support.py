"""Helpers of the trainer tests: a tiny causal LM built offline, job specs, protocol checks.

`build_tiny_model(dir)` writes a Hugging Face directory that `transformers` loads with no
download: a byte-level BPE tokenizer trained here with the `tokenizers` library on a small
corpus (with a chat template carrying `{% generation %}` markers and `<|end|>` as EOS) and a
randomly initialised two-layer Llama of hidden size 32. Training it for a few steps on CPU
takes seconds.
"""

import json
import os
import pathlib
import subprocess
import sys
from typing import Any, Dict, List, Optional

CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "<|{{ m['role'] }}|>"
    "{% if m['role'] == 'assistant' %}"
    "{% generation %}{{ m['content'] }}<|end|>{% endgeneration %}"
    "{% else %}{{ m['content'] }}<|end|>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

SPECIAL = ["<|pad|>", "<|bos|>", "<|end|>"]

CORPUS = [
    "the capital of france is paris",
    "the capital of italy is rome",
    "two plus two is four",
    "say yes or no",
    "yes no maybe",
    "hello world, the cat sat on the mat",
    "<|user|>what is the capital<|end|><|assistant|>paris<|end|>",
    "<|system|>you are terse<|end|>",
] * 20


def build_tiny_model(out: pathlib.Path, seed: int = 0) -> pathlib.Path:
    """Writes the tiny model + tokenizer into `out` (a Hugging Face directory) and returns it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|bos|>",
        eos_token="<|end|>",
        pad_token="<|pad|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.pad_token_id = fast.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    return out


QA = [
    ("capital of france?", "paris"),
    ("capital of italy?", "rome"),
    ("two plus two?", "four"),
    ("say yes", "yes"),
    ("say no", "no"),
    ("greet", "hello world"),
]


def write_jsonl(path: pathlib.Path, rows: List[Dict[str, Any]]) -> pathlib.Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def supervised_rows(n: int = 12) -> List[Dict[str, Any]]:
    rows = []
    for i in range(n):
        q, a = QA[i % len(QA)]
        rows.append({"messages": [
            {"role": "system", "content": "you are terse"},
            {"role": "user", "content": q},
            {"role": "assistant", "content": a},
        ]})
    return rows


def dpo_rows(n: int = 12) -> List[Dict[str, Any]]:
    rows = []
    for i in range(n):
        q, a = QA[i % len(QA)]
        rows.append({
            "input": {"messages": [{"role": "user", "content": q}]},
            "preferred_output": [{"role": "assistant", "content": a}],
            "non_preferred_output": [{"role": "assistant", "content": "maybe"}],
        })
    return rows


def rft_rows(n: int = 12) -> List[Dict[str, Any]]:
    rows = []
    for i in range(n):
        q, a = QA[i % len(QA)]
        rows.append({"messages": [{"role": "user", "content": q}], "reference_answer": a,
                     "meta": {"id": i}})
    return rows


MULTI_GRADER = {
    "type": "multi",
    "name": "combo",
    "graders": {
        "exact": {"type": "string_check", "name": "exact", "input": "{{ sample.output_text }}",
                  "reference": "{{ item.reference_answer }}", "operation": "ilike"},
        "overlap": {"type": "text_similarity", "name": "overlap", "input": "{{ sample.output_text }}",
                    "reference": "{{ item.reference_answer }}", "evaluation_metric": "rouge_l"},
    },
    "calculate_output": "0.5 * exact + 0.5 * overlap",
}

PYTHON_GRADER = {
    "type": "python",
    "name": "has_letter",
    "source": (
        "def grade(sample, item):\n"
        "    text = sample['output_text']\n"
        "    ref = item['reference_answer']\n"
        "    return sum(1 for c in set(ref) if c in text) / max(1, len(set(ref)))\n"
    ),
}


def spec(tmp: pathlib.Path, model_dir: pathlib.Path, method: Dict[str, Any], train: pathlib.Path,
         valid: Optional[pathlib.Path] = None, out: Optional[pathlib.Path] = None,
         resume_from: Optional[str] = None, seed: int = 7, **model_extra: Any) -> pathlib.Path:
    out = out or tmp / "out"
    body = {
        "job_id": "ftjob-test",
        "method": method,
        "model": {"name": "tiny", "path": str(model_dir), "lora": False,
                  "max_seq_length": 128, "max_completion_length": 8, **model_extra},
        "training_file": str(train),
        "validation_file": str(valid) if valid else None,
        "output_dir": str(out),
        "seed": seed,
        "resume_from": resume_from,
        "suffix": "t",
        "integrations": [],
    }
    p = tmp / ("spec-%d.json" % len(list(tmp.glob("spec-*.json"))))
    p.write_text(json.dumps(body))
    return p


def trainer_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false",
                "CUDA_VISIBLE_DEVICES": ""})
    return env


def start(spec_path: pathlib.Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gradekit.train", str(spec_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=trainer_env())


def run(spec_path: pathlib.Path, timeout: float = 300):
    """Runs the trainer to the end: (exit code, protocol lines, stderr)."""
    p = start(spec_path)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, parse_protocol(out), err


def parse_protocol(stdout: str) -> List[Dict[str, Any]]:
    """Every stdout line as a protocol object; fails on anything that is not one (DESIGN §8)."""
    lines = []
    for n, raw in enumerate(stdout.splitlines(), 1):
        obj = json.loads(raw)  # every line must be JSON
        assert isinstance(obj, dict), "line %d is not an object: %r" % (n, raw)
        check_line(obj, n)
        lines.append(obj)
    return lines


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_line(obj: Dict[str, Any], n: int = 0) -> None:
    t = obj.get("type")
    where = "line %d (%r)" % (n, obj)
    if t == "event":
        assert obj.get("level") in ("info", "warn", "error"), where
        assert isinstance(obj.get("message"), str) and obj["message"], where
    elif t == "metrics":
        assert isinstance(obj.get("step"), int) and obj["step"] >= 1, where
        if "total_steps" in obj:
            assert isinstance(obj["total_steps"], int) and obj["total_steps"] >= obj["step"], where
        for k, v in obj.items():
            if k in ("type", "scores", "errors", "timing"):
                continue
            assert _num(v), "%s: %s is not a number" % (where, k)
    elif t == "checkpoint":
        assert isinstance(obj.get("step"), int) and obj["step"] >= 1, where
        assert os.path.isdir(obj.get("dir", "")), where
        assert isinstance(obj.get("metrics"), dict), where
        assert all(_num(v) for v in obj["metrics"].values()), where
    elif t == "result":
        assert os.path.isdir(obj.get("model_dir", "")), where
        assert isinstance(obj.get("trained_tokens"), int) and obj["trained_tokens"] > 0, where
        assert isinstance(obj.get("result_files"), list), where
        assert all(os.path.isfile(f) for f in obj["result_files"]), where
    else:
        raise AssertionError("unknown protocol line type: " + where)
