"""Share of a GRPO step spent computing rewards (target ≤ 2 %, DESIGN §7), on the tiny model.

Runs `python -m gradekit.train` on the tiny offline Llama of tests/train_support.py for a
reinforcement job per grader and reads each step's ``timing`` (``grader_seconds``: the
`Grader.grade_batch` call of the step's generation batch; ``full_iteration_seconds``: the
optimizer step — generation, grading, forward/backward, update) from the ``metrics`` lines.
Prints the median share per grader. Usage (from crates/gradekit-py, with the [train] extra):

    python bench/bench_train_reward.py [--steps 12] [--batch 4] [--generations 8] [--tokens 32]
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import train_support as ts  # noqa: E402

GRADERS = {
    "multi string_check+rouge_l": ts.MULTI_GRADER,
    "python (sandboxed)": ts.PYTHON_GRADER,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch", type=int, default=4, help="prompts per step")
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=32, help="max completion tokens")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        model = ts.build_tiny_model(tmp / "tiny")
        train = ts.write_jsonl(tmp / "train.jsonl", ts.rft_rows(a.steps * a.batch))
        print("| grader | steps | step median (s) | grading median (ms) | share median | share max |")
        print("|---|---|---|---|---|---|")
        for name, grader in GRADERS.items():
            method = {"type": "reinforcement", "reinforcement": {"grader": grader, "hyperparameters": {
                "n_epochs": 1, "batch_size": a.batch, "compute_multiplier": a.generations / 8}}}
            spec = ts.spec(tmp, model, method, train, out=tmp / ("out-" + name.split()[0]),
                           max_completion_length=a.tokens)
            p = subprocess.run([sys.executable, "-m", "gradekit.train", str(spec)],
                               capture_output=True, text=True, env=ts.trainer_env())
            if p.returncode != 0:
                sys.exit(p.stderr[-2000:])
            steps = [json.loads(x) for x in p.stdout.splitlines()]
            timings = [m["timing"] for m in steps if m["type"] == "metrics" and m["step"] > 1]
            full = [t["full_iteration_seconds"] for t in timings]
            grading = [t["grader_seconds"] for t in timings]
            shares = [g / f for g, f in zip(grading, full)]
            print("| %s | %d | %.3f | %.2f | %.2f %% | %.2f %% |" % (
                name, len(full), statistics.median(full), 1000 * statistics.median(grading),
                100 * statistics.median(shares), 100 * max(shares)))


if __name__ == "__main__":
    main()
