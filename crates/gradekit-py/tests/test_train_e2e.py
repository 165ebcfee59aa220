"""End to end: the official `openai` SDK → `gradekit serve` (jobs API) → `python -m gradekit.train`.

A tiny Llama built offline is registered in a `--models` file; supervised, dpo and
reinforcement jobs are created with the SDK and followed to `succeeded`; the fine-tuned models
load with transformers; the reinforcement job's reward metrics equal gradekit's grades of the
completions it logged; pause → paused → resume → succeeded; cancel stops the trainer.

Needs the `gradekit` binary (GRADEKIT_BIN, else target/debug/gradekit), the `[train]` extra
and `openai`; skipped when one is missing or the binary has no jobs API.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest

if not os.environ.get("GRADEKIT_TRAIN_TESTS"):
    # Minutes of CPU training: scripts/test.d/train.sh runs these (python.sh would run them twice).
    pytest.skip("trainer tests run with GRADEKIT_TRAIN_TESTS=1 (scripts/test.d/train.sh)",
                allow_module_level=True)
pytest.importorskip("torch")
pytest.importorskip("trl")
openai = pytest.importorskip("openai")

import gradekit  # noqa: E402
import train_support as ts  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(os.environ.get("GRADEKIT_BIN", ROOT / "target" / "debug" / "gradekit"))
FINAL = {"succeeded", "failed", "cancelled"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp: pathlib.Path, model_dir: pathlib.Path, extra=()):
        self.extra = list(extra)
        self.data = tmp / "data"
        self.models = tmp / "models.toml"
        self.models.write_text('[models."tiny"]\npath = "%s"\nmax_seq_length = 128\n' % model_dir)
        self.port = _free_port()
        self.log = open(tmp / "server.log", "w")
        self.proc = None

    def start(self):
        cmd = [str(BIN), "serve", "--port", str(self.port), "--data-dir", str(self.data),
               "--models", str(self.models), "--trainer", "%s -m gradekit.train" % sys.executable
               ] + self.extra
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=ts.trainer_env())
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    pytest.skip("gradekit serve exited: %s" % (self.data.parent / "server.log").read_text()[-500:])
                time.sleep(0.2)
        raise AssertionError("server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def client(self):
        return openai.OpenAI(base_url="http://127.0.0.1:%d/v1" % self.port, api_key="unused",
                             max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not BIN.exists():
        pytest.skip("no gradekit binary at %s (cargo build -p gradekit-cli)" % BIN)
    tmp = tmp_path_factory.mktemp("e2e")
    model = ts.build_tiny_model(tmp / "tiny")
    srv = Server(tmp, model).start()
    try:
        srv.client().fine_tuning.jobs.list(limit=1)
    except openai.NotFoundError:
        srv.stop()
        pytest.skip("this gradekit binary has no fine-tuning jobs API")
    yield srv
    srv.stop()


def _upload(client, tmp, name, rows):
    path = ts.write_jsonl(tmp / name, rows)
    with open(path, "rb") as f:
        return client.files.create(file=f, purpose="fine-tune").id


def _wait(client, job_id, statuses, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in statuses:
            return job
        if job.status in FINAL:
            raise AssertionError("job %s ended %s: %s" % (job_id, job.status, job.error))
        time.sleep(0.5)
    raise AssertionError("job %s still %s" % (job_id, job.status))


def _events(client, job_id):
    return list(client.fine_tuning.jobs.list_events(job_id, limit=100))


def _job_dir(server, job_id):
    hits = [p for p in server.data.rglob(job_id) if p.is_dir()]
    assert hits, "no directory for %s under %s" % (job_id, server.data)
    return hits[0]


def _model_dir(server, job):
    """The fine-tuned model: `gradekit jobs export` when it exists, else the job's output."""
    out = server.data.parent / ("export-" + job.id)
    p = subprocess.run([str(BIN), "jobs", "export", job.fine_tuned_model, str(out),
                        "--data-dir", str(server.data)], capture_output=True, text=True)
    if p.returncode == 0 and out.exists():
        return out
    hits = list(_job_dir(server, job.id).rglob("model/config.json"))
    assert hits, p.stderr
    return hits[0].parent


def _generate(model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ids = tok.apply_chat_template([{"role": "user", "content": "say yes"}], add_generation_prompt=True,
                                  return_tensors="pt", return_dict=True)
    assert model.generate(**ids, max_new_tokens=3).shape[1] > ids["input_ids"].shape[1]


@pytest.mark.parametrize("method", ["supervised", "dpo"])
def test_sft_and_dpo_succeed(server, tmp_path, method):
    c = server.client()
    rows = ts.supervised_rows(12) if method == "supervised" else ts.dpo_rows(12)
    train = _upload(c, tmp_path, "train.jsonl", rows)
    valid = _upload(c, tmp_path, "valid.jsonl", rows[:4])
    job = c.fine_tuning.jobs.create(
        model="tiny", training_file=train, validation_file=valid, suffix="e2e", seed=11,
        method={"type": method, method: {"hyperparameters": {"n_epochs": 1, "batch_size": 4}}})
    job = _wait(c, job.id, {"succeeded"})
    assert job.trained_tokens and job.trained_tokens > 0
    assert job.fine_tuned_model and job.result_files
    metrics = [e for e in _events(c, job.id) if e.type == "metrics"]
    assert sorted(e.data["step"] for e in metrics) == [1, 2, 3]
    assert all("train_loss" in e.data for e in metrics)
    ckpts = list(c.fine_tuning.jobs.checkpoints.list(job.id))
    assert [k.step_number for k in ckpts] == [3]
    assert ckpts[0].metrics.valid_loss is not None
    _generate(_model_dir(server, job))


@pytest.fixture(scope="module")
def ray_server(tmp_path_factory, server):
    """The same server on the `ray` backend (a local `ray start --head`, GRADEKIT_RAY_ADDRESS)."""
    addr = os.environ.get("GRADEKIT_RAY_ADDRESS")
    if not addr:
        pytest.skip("GRADEKIT_RAY_ADDRESS not set (scripts/test.d/train.sh starts a ray head)")
    tmp = tmp_path_factory.mktemp("e2e-ray")
    model = ts.build_tiny_model(tmp / "tiny")
    srv = Server(tmp, model, ["--ray-address", addr]).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_reinforcement_rewards_equal_gradekit(request, tmp_path, backend):
    server = request.getfixturevalue("server" if backend == "local" else "ray_server")
    c = server.client()
    train = _upload(c, tmp_path, "train.jsonl", ts.rft_rows(10))  # OpenAI's minimum
    valid = _upload(c, tmp_path, "valid.jsonl", ts.rft_rows(2))
    grader = dict(ts.MULTI_GRADER)
    grader["graders"] = dict(grader["graders"], fuzzy={
        "type": "text_similarity", "name": "fuzzy", "input": "{{ sample.output_text }}",
        "reference": "{{ item.reference_answer }}", "evaluation_metric": "fuzzy_match"})
    grader["calculate_output"] = "(exact + overlap + fuzzy) / 3"
    job = c.fine_tuning.jobs.create(
        model="tiny", training_file=train, validation_file=valid, seed=5,
        method={"type": "reinforcement", "reinforcement": {"grader": grader, "hyperparameters": {
            "n_epochs": 1, "batch_size": 2, "compute_multiplier": 0.25, "eval_interval": 1,
            "eval_samples": 1}}})
    job = _wait(c, job.id, {"succeeded"})
    metrics = {e.data["step"]: e.data for e in _events(c, job.id) if e.type == "metrics"}
    assert sorted(metrics) == [1, 2, 3, 4, 5]
    logged = [json.loads(x) for p in _job_dir(server, job.id).rglob("completions.jsonl")
              for x in open(p)]
    g = gradekit.Grader(grader)
    for step, data in metrics.items():
        for split in ("train", "valid"):
            recs = [r for r in logged if r["step"] == step and r["split"] == split]
            rewards = g.rewards([r["completion"] for r in recs], [r["item"] for r in recs])
            assert data["%s_reward_mean" % split] == pytest.approx(sum(rewards) / len(rewards), abs=1e-12)
    _generate(_model_dir(server, job))


def test_pause_resume_and_cancel(server, tmp_path):
    c = server.client()
    train = _upload(c, tmp_path, "train.jsonl", ts.supervised_rows(12))
    method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 4, "batch_size": 1}}}
    job = c.fine_tuning.jobs.create(model="tiny", training_file=train, method=method, seed=1)
    _wait_metrics(c, job.id)
    c.fine_tuning.jobs.pause(job.id)
    _wait(c, job.id, {"paused"}, timeout=120)
    # The job reads `paused` as soon as the pause is asked for; the trainer's checkpoint
    # follows at the end of its current step.
    deadline = time.time() + 120
    while time.time() < deadline and not list(c.fine_tuning.jobs.checkpoints.list(job.id)):
        time.sleep(0.3)
    assert list(c.fine_tuning.jobs.checkpoints.list(job.id)), "pause made no checkpoint"
    while time.time() < deadline and not any("paused" in e.message for e in _events(c, job.id)):
        time.sleep(0.3)  # the trainer has exited ("Training paused at step N")
    c.fine_tuning.jobs.resume(job.id)
    job = _wait(c, job.id, {"succeeded"})
    steps = sorted(e.data["step"] for e in _events(c, job.id) if e.type == "metrics")
    assert steps[-1] == 48 and set(range(1, 49)) <= set(steps)
    _generate(_model_dir(server, job))

    job = c.fine_tuning.jobs.create(model="tiny", training_file=train, method=method, seed=2)
    _wait_metrics(c, job.id)
    assert c.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    deadline = time.time() + 15
    while time.time() < deadline and _trainer_running(job.id):
        time.sleep(0.2)
    assert not _trainer_running(job.id), "the trainer outlived cancel"


def _wait_metrics(c, job_id, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(e.type == "metrics" for e in _events(c, job_id)):
            return
        time.sleep(0.3)
    raise AssertionError("no metrics from %s" % job_id)


def _trainer_running(job_id):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % pid, "rb").read()
        except OSError:
            continue
        if b"gradekit.train" in cmd and job_id.encode() in cmd:
            return True
    return False


def test_server_killed_mid_training_resumes_from_the_checkpoint(tmp_path_factory, server):
    tmp = tmp_path_factory.mktemp("e2e-restart")
    srv = Server(tmp, ts.build_tiny_model(tmp / "tiny")).start()
    try:
        c = srv.client()
        train = _upload(c, tmp, "train.jsonl", ts.supervised_rows(10))
        method = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 6, "batch_size": 1}}}
        job = c.fine_tuning.jobs.create(model="tiny", training_file=train, method=method, seed=4)
        deadline = time.time() + 300
        while time.time() < deadline and not list(c.fine_tuning.jobs.checkpoints.list(job.id)):
            time.sleep(0.3)
        srv.proc.kill()  # kill -9: no chance to stop the trainer
        srv.proc.wait()
        srv.start()
        c = srv.client()
        job = _wait(c, job.id, {"succeeded"})
        steps = {e.data["step"] for e in _events(c, job.id) if e.type == "metrics"}
        assert max(steps) == 60
        _generate(_model_dir(srv, job))
    finally:
        srv.stop()
