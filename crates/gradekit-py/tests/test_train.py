"""`python -m gradekit.train`: the TRL trainer speaking the trainer protocol (DESIGN §8).

Every test runs the trainer as a subprocess on a tiny Llama built offline (train_support) and
checks every stdout line against the protocol. Skipped when the `[train]` extra (torch, trl,
transformers, datasets, peft) is not installed; run with GRADEKIT_TRAIN_TESTS=1 (scripts/test.d/train.sh
installs the extra and sets it).
"""

import csv
import json
import os
import pathlib
import signal

import pytest

if not os.environ.get("GRADEKIT_TRAIN_TESTS"):
    # Minutes of CPU training: scripts/test.d/train.sh runs these (python.sh would run them twice).
    pytest.skip("trainer tests run with GRADEKIT_TRAIN_TESTS=1 (scripts/test.d/train.sh)",
                allow_module_level=True)
pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("peft")

import gradekit  # noqa: E402
import train_support as ts  # noqa: E402


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    return ts.build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _of(lines, t):
    return [x for x in lines if x["type"] == t]


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _load_and_generate(model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    assert not os.path.exists(os.path.join(model_dir, "adapter_config.json"))
    assert os.path.exists(os.path.join(model_dir, "model.safetensors"))
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tok.apply_chat_template([{"role": "user", "content": "say yes"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert out.shape[1] > ids["input_ids"].shape[1]


def _last_stderr_line(err):
    return [x for x in err.splitlines() if x.strip()][-1]


def test_supervised(tiny, tmp_path):
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.supervised_rows(12))
    valid = ts.write_jsonl(tmp_path / "valid.jsonl", ts.supervised_rows(4))
    method = {"type": "supervised", "supervised": {"hyperparameters": {
        "n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 2}}}
    spec = ts.spec(tmp_path, tiny, method, train, valid)
    body = json.loads(spec.read_text())
    body["integrations"] = [{"type": "wandb", "wandb": {"project": "p"}}]
    spec.write_text(json.dumps(body))
    code, lines, err = ts.run(spec)
    assert code == 0, err[-3000:]
    metrics = _of(lines, "metrics")
    assert [m["step"] for m in metrics] == list(range(1, 7))  # 12 examples / 4 per step × 2 epochs
    assert all(m["total_steps"] == 6 and "train_loss" in m for m in metrics)
    assert all("train_mean_token_accuracy" in m for m in metrics)
    assert [m["step"] for m in metrics if "valid_loss" in m] == [3, 6]  # validation per epoch
    ckpts = _of(lines, "checkpoint")
    assert [c["step"] for c in ckpts] == [3, 6]
    for c in ckpts:
        assert set(c["metrics"]) <= {"step", "train_loss", "train_mean_token_accuracy", "valid_loss",
                                     "valid_mean_token_accuracy", "full_valid_loss",
                                     "full_valid_mean_token_accuracy"}
        assert c["metrics"]["step"] == c["step"] and "valid_loss" in c["metrics"]
        assert os.path.exists(os.path.join(c["dir"], "model.safetensors"))
    events = _of(lines, "event")
    assert any(e["level"] == "warn" and "wandb" in e["message"] for e in events)
    assert any("learning_rate_multiplier=2" in e["message"] for e in events)
    (result,) = _of(lines, "result")
    assert lines[-1] is result
    rows = _csv(result["result_files"][0])
    assert rows[0] == ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
    assert [r[0] for r in rows[1:]] == [str(s) for s in range(1, 7)]
    assert rows[3][3] != "" and rows[1][3] == ""
    assert float(rows[1][1]) == pytest.approx(metrics[0]["train_loss"])
    _load_and_generate(result["model_dir"])


def test_supervised_trains_only_assistant_messages(tiny):
    from transformers import AutoTokenizer

    from gradekit.train import data

    tok = AutoTokenizer.from_pretrained(tiny)
    row = {"messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1", "weight": 0},
                        {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2"}]}
    segs = data.chat_segments(tok, row, "line 1")
    assert [t for t, trained in segs if trained] == ["a2<|end|>"]
    assert "".join(t for t, _ in segs) == tok.apply_chat_template(row["messages"], tokenize=False)
    row["messages"][1].pop("weight")
    assert [t for t, trained in data.chat_segments(tok, row, "l")] is not None
    assert [t for t, tr in data.chat_segments(tok, row, "l") if tr] == ["a1<|end|>", "a2<|end|>"]
    enc = data.tokenize_chat(tok, row, 1000, "l")
    assert len(enc["input_ids"]) == len(enc["assistant_masks"]) and 1 in enc["assistant_masks"]
    with pytest.raises(data.DataError, match="line 3"):
        data.chat_segments(tok, {"messages": [{"role": "user", "content": "x"}]}, "line 3")


def test_reinforcement_rows_and_prompt_room(tiny):
    from transformers import AutoTokenizer

    from gradekit.train import data

    tok = AutoTokenizer.from_pretrained(tiny)
    rows = ts.rft_rows(3)
    ds = data.rft_dataset(rows, "training_file", tok, 100)
    assert json.loads(ds[1][data.ITEM_COLUMN]) == {"reference_answer": "rome", "meta": {"id": 1}}
    assert ds[0]["prompt"] == rows[0]["messages"]
    with pytest.raises(data.DataError, match="training_file line 1: the prompt has"):
        data.rft_dataset(rows, "training_file", tok, 3)


def test_dpo_lora_deterministic(tiny, tmp_path):
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.dpo_rows(8))
    method = {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 1, "batch_size": 2, "beta": 0.3}}}
    runs = []
    for i in range(2):
        spec = ts.spec(tmp_path, tiny, method, train, out=tmp_path / ("out%d" % i), lora=True)
        code, lines, err = ts.run(spec)
        assert code == 0, err[-3000:]
        runs.append(lines)
    metrics = [[m["train_loss"] for m in _of(lines, "metrics")] for lines in runs]
    assert len(metrics[0]) == 4 and metrics[0] == metrics[1]  # same seed, same losses
    assert any("beta=0.3" in e["message"] for e in _of(runs[0], "event"))
    assert any("LoRA" in e["message"] for e in _of(runs[0], "event"))
    (result,) = _of(runs[0], "result")
    assert result["trained_tokens"] > 0
    _load_and_generate(result["model_dir"])  # adapter merged into a plain model


def _regrade_and_compare(grader_config, lines, out_dir):
    """The logged reward means equal gradekit's own grades of the logged completions."""
    grader = gradekit.Grader(grader_config)
    logged = [json.loads(x) for x in open(os.path.join(out_dir, "completions.jsonl"))]
    assert logged
    by = {}
    for rec in logged:
        by.setdefault((rec["split"], rec["step"]), []).append(rec)
    checked = 0
    for m in _of(lines, "metrics"):
        for split in ("train", "valid"):
            key = "%s_reward_mean" % split
            if key not in m:
                continue
            recs = by[(split, m["step"])]
            results = grader.grade_batch([r["completion"] for r in recs], [r["item"] for r in recs])
            rewards = [r.reward for r in results]
            assert rewards == [r["reward"] for r in recs]
            assert m[key] == pytest.approx(sum(rewards) / len(rewards), abs=1e-12)
            assert m["scores"][key] == m[key]
            for g in m["scores"]["graders"]:
                if grader.sub_grader_keys:
                    sub = [r.sub_rewards[g["name"]] for r in results]
                    assert g[key] == pytest.approx(sum(sub) / len(sub), abs=1e-12)
            checked += 1
    return checked


MULTI = dict(ts.MULTI_GRADER)
MULTI["graders"] = dict(MULTI["graders"], fuzzy={
    "type": "text_similarity", "name": "fuzzy", "input": "{{ sample.output_text }}",
    "reference": "{{ item.reference_answer }}", "evaluation_metric": "fuzzy_match"})
MULTI["calculate_output"] = "(exact + overlap + fuzzy) / 3"


def test_reinforcement_multi_grader(tiny, tmp_path):
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.rft_rows(8))
    valid = ts.write_jsonl(tmp_path / "valid.jsonl", ts.rft_rows(2))
    method = {"type": "reinforcement", "reinforcement": {"grader": MULTI, "hyperparameters": {
        "n_epochs": 1, "batch_size": 2, "compute_multiplier": 0.25, "eval_interval": 2}}}
    spec = ts.spec(tmp_path, tiny, method, train, valid)
    code, lines, err = ts.run(spec)
    assert code == 0, err[-3000:]
    metrics = _of(lines, "metrics")
    assert [m["step"] for m in metrics] == [1, 2, 3, 4]
    assert all("train_reward_mean" in m and "train_loss" in m for m in metrics)
    assert [m["step"] for m in metrics if "valid_reward_mean" in m] == [2, 4]
    m = metrics[1]
    assert {g["name"] for g in m["scores"]["graders"]} == {"exact", "overlap", "fuzzy"}
    assert m["errors"]["graders"][0]["train_invalid_variable_error_count"] == 0
    assert "train_grader_error_mean" in m
    t = m["timing"]
    assert 0 < t["grader_seconds"] < t["full_iteration_seconds"] and t["eval_grader_seconds"] > 0
    assert _regrade_and_compare(MULTI, lines, tmp_path / "out") == 6
    assert any(m["train_reward_mean"] > 0 for m in metrics)  # fuzzy_match scores random text
    ckpts = _of(lines, "checkpoint")
    assert [c["step"] for c in ckpts] == [2, 4]
    assert all("valid_reward_mean" in c["metrics"] for c in ckpts)
    (result,) = _of(lines, "result")
    rows = _csv(result["result_files"][0])
    assert rows[0][-2:] == ["train_reward_mean", "valid_reward_mean"]
    assert len(rows) == 5
    _load_and_generate(result["model_dir"])


def test_reinforcement_sandboxed_python_grader(tiny, tmp_path):
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.rft_rows(4))
    method = {"type": "reinforcement", "reinforcement": {"grader": ts.PYTHON_GRADER, "hyperparameters": {
        "n_epochs": 1, "batch_size": 2, "compute_multiplier": 0.25}}}
    spec = ts.spec(tmp_path, tiny, method, train)
    code, lines, err = ts.run(spec)
    assert code == 0, err[-3000:]
    assert _regrade_and_compare(ts.PYTHON_GRADER, lines, tmp_path / "out") == 2
    assert len(_of(lines, "result")) == 1


def test_grader_failing_every_sample_stops(tiny, tmp_path):
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.rft_rows(4))
    grader = {"type": "string_check", "name": "broken", "input": "{{ sample.output_text }}",
              "reference": "{{ item.no_such_key }}", "operation": "eq"}
    method = {"type": "reinforcement", "reinforcement": {"grader": grader, "hyperparameters": {
        "batch_size": 2, "compute_multiplier": 0.25}}}
    code, lines, err = ts.run(ts.spec(tmp_path, tiny, method, train))
    assert code == 1
    last = _last_stderr_line(err)
    assert "failed every sample" in last and "invalid_variable_error=4/4" in last
    assert "no_such_key" in last
    assert not _of(lines, "result") and not _of(lines, "metrics")
    assert _of(lines, "event")[-1]["level"] == "error"


def test_unloadable_model_and_bad_spec(tmp_path):
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.supervised_rows(4))
    empty = tmp_path / "empty"
    empty.mkdir()
    code, lines, err = ts.run(ts.spec(tmp_path, empty, {"type": "supervised"}, train))
    assert code == 1
    assert "cannot load model 'tiny'" in _last_stderr_line(err)
    bad = {"type": "dpo", "dpo": {"hyperparameters": {"beta": 5}}}
    code, lines, err = ts.run(ts.spec(tmp_path, empty, bad, train))
    assert code == 1
    assert "method.dpo.hyperparameters.beta" in _last_stderr_line(err)
    assert lines and lines[-1]["level"] == "error"


def test_pause_with_sigterm_then_resume(tiny, tmp_path):
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.supervised_rows(12))
    method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 1}}}
    out = tmp_path / "out"
    proc = ts.start(ts.spec(tmp_path, tiny, method, train, out=out))
    seen = []
    for raw in proc.stdout:
        obj = json.loads(raw)
        ts.check_line(obj)
        seen.append(obj)
        if obj["type"] == "metrics":
            proc.send_signal(signal.SIGTERM)
            break
    rest, err = proc.communicate(timeout=120)
    seen += ts.parse_protocol(rest)
    assert proc.returncode == 0, err[-3000:]
    assert not _of(seen, "result")
    ckpt = _of(seen, "checkpoint")[-1]  # epoch checkpoints may come first on a fast machine
    assert seen[-2] is ckpt, [x["type"] for x in seen]
    assert len({c["step"] for c in _of(seen, "checkpoint")}) == len(_of(seen, "checkpoint"))
    assert ckpt["step"] < 36 and seen[-1]["type"] == "event" and "paused" in seen[-1]["message"]
    paused_at = ckpt["step"]

    code, lines, err = ts.run(ts.spec(tmp_path, tiny, method, train, out=out, resume_from=ckpt["dir"]))
    assert code == 0, err[-3000:]
    steps = [m["step"] for m in _of(lines, "metrics")]
    assert steps == list(range(paused_at + 1, 37))
    (result,) = _of(lines, "result")
    rows = _csv(result["result_files"][0])
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 37))  # the whole job, across the pause


def test_stops_when_the_server_goes_away(tiny, tmp_path):
    """kill -9 of the server closes the trainer's stdout: it stops instead of training on."""
    train = ts.write_jsonl(tmp_path / "train.jsonl", ts.supervised_rows(12))
    method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 50, "batch_size": 1}}}
    proc = ts.start(ts.spec(tmp_path, tiny, method, train))
    for raw in proc.stdout:
        if json.loads(raw)["type"] == "metrics":
            break
    proc.stdout.close()
    proc.wait(timeout=120)
    err = proc.stderr.read()
    assert proc.returncode == 3
    assert "stdout closed" in _last_stderr_line(err)
    assert not (tmp_path / "out" / "model").exists()
