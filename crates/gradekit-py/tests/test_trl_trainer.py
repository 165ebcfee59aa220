"""A real `trl.GRPOTrainer` with gradekit reward functions, on the CPU, fully offline.

The model is a random 2-layer Llama with a tokenizer trained at test time (the example's
`tiny_model`): nothing is downloaded. Each reward function is wrapped to record the
completions and dataset columns TRL handed it; the test re-grades every recorded completion one
by one with `Grader.grade` and checks that TRL's logged ``rewards/<name>/mean`` of each step is
the mean of those grades.
"""

import importlib.util
import pathlib
import subprocess
import sys

import pytest

import gradekit
import gradekit.trl

trl = pytest.importorskip("trl")
pytest.importorskip("transformers")
pytest.importorskip("datasets")
pytest.importorskip("tokenizers")

EXAMPLES = pathlib.Path(__file__).resolve().parents[3] / "examples"


def _example():
    spec = importlib.util.spec_from_file_location("trl_grpo_reward", EXAMPLES / "trl_grpo_reward.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


GRADERS = {
    "exact": {"type": "string_check", "name": "exact", "operation": "like",
              "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}"},
    "overlap": {"type": "text_similarity", "name": "overlap", "evaluation_metric": "rouge_l",
                "input": "{{ sample.output_text }}", "reference": "{{ item.solution }}"},
    "py": {"type": "python", "name": "py", "source": (
        "def grade(sample, item):\n"
        "    words = sample['output_text'].split()\n"
        "    return len(set(words) & set(item['solution'].split())) / (1 + len(words))\n")},
    # TRL passes the prompt column as `prompts`, not as a keyword: item.prompt must still read it
    "asked": {"type": "string_check", "name": "asked", "operation": "like",
              "input": "{{ item.prompt }}", "reference": "What is"},
}


def test_grpo_trainer_logs_gradekit_rewards(tmp_path):
    ex = _example()
    calls = []  # (function name, completions, items) per reward call, in call order

    def recorded(grader):
        f = gradekit.trl.reward_function(grader)

        def reward(prompts=None, completions=(), **kwargs):
            out = f(prompts=prompts, completions=completions, **kwargs)
            cols = {k: list(kwargs[k]) for k in ("answer", "solution")}
            cols["prompt"] = list(prompts)
            calls.append((reward.__name__, list(completions), cols, list(out)))
            return out

        reward.__name__ = f.__name__
        return reward

    graders = {k: gradekit.Grader(v) for k, v in GRADERS.items()}  # python: sandboxed (default)
    funcs = [recorded(g) for g in graders.values()]
    trainer = ex.train(None, str(tmp_path / "out"), max_steps=3, reward_funcs=funcs)

    logged = [e for e in trainer.state.log_history if any(k.startswith("rewards/") for k in e)]
    assert len(logged) == 3
    for name, grader in graders.items():
        fname = "gradekit_" + name
        mine = [c for c in calls if c[0] == fname]
        assert len(mine) == len(logged)
        for entry, (_, completions, cols, returned) in zip(logged, mine):
            assert len(completions) == 4
            grades = []
            for i, c in enumerate(completions):
                text = gradekit.trl.completion_text(c)
                item = {k: cols[k][i] for k in ("answer", "solution", "prompt")}
                r = grader.grade(text, item)
                assert not r.failed, r.errors
                grades.append(r.reward)
            assert returned == grades
            mean = sum(grades) / len(grades)
            assert entry["rewards/%s/mean" % fname] == pytest.approx(mean, rel=1e-6, abs=1e-6)
    # the run wrote into its output directory only
    assert (tmp_path / "out" / "tiny-model" / "config.json").exists()


def test_example_trains_on_cpu_as_shipped(tmp_path):
    r = subprocess.run(
        [sys.executable, str(EXAMPLES / "trl_grpo_reward.py"), "--train", "--max-steps", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "step 1 {'rewards/gradekit_final_answer/mean'" in r.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written into the working directory
