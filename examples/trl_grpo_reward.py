"""gradekit graders as TRL GRPO reward functions.

    pip install ./crates/gradekit-py                 # the gradekit Python package
    python examples/trl_grpo_reward.py               # grades a TRL-shaped batch, prints the rewards
    pip install trl transformers datasets tokenizers torch
    python examples/trl_grpo_reward.py --train       # + a few GRPOTrainer steps on the CPU with a
                                                     #   tiny random model built offline
    python examples/trl_grpo_reward.py --train MODEL_DIR --output-dir runs/grpo   # your model

A GRPO reward function receives the prompts, the sampled completions and the dataset's other
columns, and returns one float per completion. `gradekit.trl.reward_function` builds one from
any OpenAI-style grader config: the completion is the sample, the dataset row is the item (the
columns the grader's templates read).

Without MODEL_DIR, ``--train`` builds a tiny random Llama and a tokenizer trained on the spot
(no downloads): it shows the wiring and the logged rewards, it learns nothing useful. Training
runs on the CPU (``use_cpu``) and writes into a temporary directory unless ``--output-dir``
says where.
"""

import argparse
import os
import sys
import tempfile

import gradekit
import gradekit.trl

# Rewards the exact final answer after "####" (GSM8K style) ...
ANSWER = gradekit.Grader({
    "type": "python",
    "name": "final_answer",
    "source": (
        "def grade(sample, item):\n"
        "    text = sample['output_text']\n"
        "    final = text.rsplit('####', 1)[-1].strip() if '####' in text else ''\n"
        "    return 1.0 if final == str(item['answer']).strip() else 0.0\n"
    ),
})  # the default python_mode="sandboxed": the grader runs in a locked-down worker process

# ... and the closeness of the reasoning to a reference solution (ROUGE-L), combined by a
# multi grader's formula.
STYLE = gradekit.Grader({
    "type": "multi",
    "name": "format_and_overlap",
    "graders": {
        "has_answer": {"type": "string_check", "name": "has_answer", "operation": "like",
                       "input": "{{ sample.output_text }}", "reference": "####"},
        "overlap": {"type": "text_similarity", "name": "overlap", "evaluation_metric": "rouge_l",
                    "input": "{{ sample.output_text }}", "reference": "{{ item.solution }}"},
    },
    "calculate_output": "0.2 * has_answer + 0.8 * overlap",
})

REWARD_FUNCS = [gradekit.trl.reward_function(ANSWER), gradekit.trl.reward_function(STYLE)]


def demo():
    # Exactly what GRPOTrainer passes (conversational format: completions are message lists).
    prompts = [[{"role": "user", "content": "What is 6 * 7?"}]] * 2
    completions = [
        [{"role": "assistant", "content": "6 * 7 = 42\n#### 42"}],
        [{"role": "assistant", "content": "I think it is 48"}],
    ]
    columns = {"answer": ["42", "42"], "solution": ["6 * 7 = 42\n#### 42"] * 2}
    for f in REWARD_FUNCS:
        print(f.__name__, f(prompts=prompts, completions=completions, **columns))


def dataset():
    from datasets import Dataset

    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": "What is %d * %d?" % (a, b)}],
         "answer": str(a * b), "solution": "%d * %d = %d\n#### %d" % (a, b, a * b, a * b)}
        for a in range(2, 10) for b in range(2, 10)
    ])


CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def tiny_model(model_dir, corpus=()):
    """A random 2-layer Llama and a word-level tokenizer trained on `corpus`, saved as a
    Hugging Face model directory. Built offline in a second; for wiring tests only."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    words = list(corpus) + ["user", "assistant", ":", "####", "="] + [str(i) for i in range(100)]
    tok.train_from_iterator(words, trainers.WordLevelTrainer(special_tokens=specials))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", unk_token="<unk>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(model_dir)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64,
                      num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                      max_position_embeddings=128, pad_token_id=fast.pad_token_id,
                      bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id)
    LlamaForCausalLM(cfg).save_pretrained(model_dir)
    return model_dir


def train(model_dir, output_dir, max_steps=4, reward_funcs=None, **config):
    """A few GRPO steps on the CPU; returns the trainer (its `state.log_history` has the
    logged `rewards/<function name>/mean`)."""
    from trl import GRPOConfig, GRPOTrainer

    ds = dataset()
    if model_dir is None:
        corpus = " ".join(r["solution"] + " " + r["prompt"][0]["content"] for r in ds).split()
        model_dir = tiny_model(os.path.join(output_dir, "tiny-model"), corpus)
    cfg = GRPOConfig(output_dir=output_dir, use_cpu=True, per_device_train_batch_size=4,
                     num_generations=4, max_completion_length=16, max_steps=max_steps,
                     logging_steps=1, save_strategy="no", report_to="none",
                     **config)
    trainer = GRPOTrainer(model=model_dir, reward_funcs=reward_funcs or REWARD_FUNCS, args=cfg,
                          train_dataset=ds)
    trainer.train()
    return trainer


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", nargs="?", const="", metavar="MODEL_DIR",
                    help="also run a few GRPOTrainer steps on the CPU (default model: a tiny "
                         "random one built offline)")
    ap.add_argument("--output-dir", help="where the trainer writes (default: a temporary directory)")
    ap.add_argument("--max-steps", type=int, default=4)
    args = ap.parse_args()
    demo()
    if args.train is not None:
        with tempfile.TemporaryDirectory(prefix="grpo-gradekit-") as tmp:
            trainer = train(args.train or None, args.output_dir or tmp, max_steps=args.max_steps)
            for entry in trainer.state.log_history:
                rewards = {k: round(v, 4) for k, v in entry.items() if k.startswith("rewards/")}
                if rewards:
                    print("step", entry.get("step"), rewards)
    sys.exit(0)
