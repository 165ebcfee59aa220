"""gradekit graders as TRL GRPO reward functions.

    pip install ./crates/gradekit-py            # the gradekit Python package
    python examples/trl_grpo_reward.py           # grades a TRL-shaped batch, prints the rewards
    python examples/trl_grpo_reward.py --train MODEL_DIR   # + a GRPOTrainer run (needs trl,
                                                           #   datasets and a local model)

A GRPO reward function receives the prompts, the sampled completions and the dataset's other
columns, and returns one float per completion. `gradekit.trl.reward_function` builds one from
any OpenAI-style grader config: the completion is the sample, the dataset row is the item.
"""

import argparse
import sys

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
}, python_mode="process")  # "process": trusted code, no sandbox; the default "sandboxed" also works

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


def train(model_dir):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    ds = Dataset.from_list([
        {"prompt": [{"role": "user", "content": "What is %d * %d?" % (a, b)}],
         "answer": str(a * b), "solution": "%d * %d = %d\n#### %d" % (a, b, a * b, a * b)}
        for a in range(2, 10) for b in range(2, 10)
    ])
    cfg = GRPOConfig(output_dir="grpo-gradekit", per_device_train_batch_size=8,
                     num_generations=8, max_completion_length=64, max_steps=10, report_to=[])
    trainer = GRPOTrainer(model=model_dir, reward_funcs=REWARD_FUNCS, args=cfg, train_dataset=ds)
    trainer.train()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", metavar="MODEL_DIR", help="also run GRPOTrainer on a local model")
    args = ap.parse_args()
    demo()
    if args.train:
        train(args.train)
    sys.exit(0)
