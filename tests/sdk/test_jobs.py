"""The fine-tuning jobs API of `gradekit serve` through the official `openai` SDK and raw HTTP.

Run by scripts/test.d/jobs_sdk.sh (env GRADEKIT_BIN = the binary). This script starts and
restarts the server itself (two projects from --api-keys, a model registry, the protocol test
trainer tests/trainer/fake_trainer.py), so that it can kill -9 it mid-upload and mid-training.

Every response is checked against the SDK's own pydantic types strictly: no field missing, no
field the type does not declare, nested types included, values validated (`model_validate`).
Expected values come from DESIGN.md §8 and OpenAI's documented behaviour, not from the server.
Exits non-zero on the first failure.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing
import urllib.error
import urllib.request
import warnings

import openai
import pydantic
from openai.types import FileObject, FileDeleted, Model, ModelDeleted
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint
from openai.types.fine_tuning.checkpoints import (
    PermissionCreateResponse, PermissionDeleteResponse, PermissionRetrieveResponse,
)

# permissions.retrieve is deprecated in the SDK but still what many users call: it is tested.
warnings.filterwarnings("ignore", category=DeprecationWarning)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("GRADEKIT_BIN") or os.path.join(ROOT, "target", "debug", "gradekit")
TRAINER = f"{sys.executable} {os.path.join(ROOT, 'tests', 'trainer', 'fake_trainer.py')}"
KEY_A, KEY_B = "sk-proj-a-" + os.urandom(6).hex(), "sk-proj-b-" + os.urandom(6).hex()
MAX_UPLOAD = 1 << 20

work = tempfile.mkdtemp(prefix="gradekit-jobs-sdk-")
data_dir = os.path.join(work, "data")
with open(os.path.join(work, "keys.toml"), "w") as f:
    f.write(f'[projects."proj_a"]\nkeys = ["{KEY_A}"]\n[projects."proj_b"]\nkeys = ["{KEY_B}"]\n')
with open(os.path.join(work, "models.toml"), "w") as f:
    f.write(f'[models."tiny-base"]\npath = "{work}"\nlora = true\n')

server = None
port = None
logs = []


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def start_server():
    global server, port
    log = open(os.path.join(work, f"server{len(logs)}.log"), "w+")
    logs.append(log.name)
    env = dict(os.environ, FAKE_TRAINER_DELAY="0.02", FAKE_TRAINER_STEPS="6")
    server = subprocess.Popen(
        [BIN, "serve", "--port", "0", "--data-dir", data_dir, "--api-keys", os.path.join(work, "keys.toml"),
         "--models", os.path.join(work, "models.toml"), "--trainer", TRAINER, "--max-jobs", "2",
         "--max-upload", str(MAX_UPLOAD)],
        stderr=log, env=env)
    for _ in range(300):
        log.seek(0)
        text = log.read()
        if "listening on http://127.0.0.1:" in text:
            port = int(text.split("listening on http://127.0.0.1:")[1].split()[0])
            return
        check(server.poll() is None, f"server exited: {text}")
        time.sleep(0.05)
    raise AssertionError("server did not start")


def kill9():
    server.send_signal(signal.SIGKILL)
    server.wait()


def clients():
    base = f"http://127.0.0.1:{port}/v1"
    return (openai.OpenAI(base_url=base, api_key=KEY_A, max_retries=0),
            openai.OpenAI(base_url=base, api_key=KEY_B, max_retries=0))


def raw(method, path, body=None, key=KEY_A, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    h = {"Authorization": f"Bearer {key}"}
    if body is not None and not isinstance(body, bytes):
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


# ---- strict validation against the SDK's types ----

def model_types(ann):
    """The BaseModel classes inside an annotation (Optional, List, Union)."""
    if isinstance(ann, type) and issubclass(ann, pydantic.BaseModel):
        return [ann]
    out = []
    for a in typing.get_args(ann):
        out += model_types(a)
    return out


def strict(cls, data, where=None):
    """`data` has exactly `cls`'s fields and validates as `cls`; nested objects have no field
    their type does not declare and every required one (OpenAI omits the optional settings of
    the other methods inside `method`)."""
    nested = where is not None
    where = where or cls.__name__
    check(isinstance(data, dict), f"{where}: not an object: {data!r}")
    fields = cls.model_fields
    extra = set(data) - set(fields)
    missing = {k for k, f in fields.items() if not nested or f.is_required()} - set(data)
    check(not extra, f"{where}: fields the SDK type does not have: {extra}")
    check(not missing, f"{where}: fields missing: {missing}")
    for name, info in fields.items():
        v = data.get(name)
        subs = model_types(info.annotation)
        if not subs or v is None:
            continue
        items = v if isinstance(v, list) else [v]
        for i, it in enumerate(items):
            if isinstance(it, dict):
                strict(subs[0], it, f"{where}.{name}" + (f"[{i}]" if isinstance(v, list) else ""))
    cls.model_validate(data)
    return data


def strict_job(data):
    """Jobs: `paused` is emitted although the SDK's Literal lacks it (research/jobs-api.md §2)."""
    d = dict(data)
    if d.get("status") == "paused":
        d["status"] = "running"
    strict(FineTuningJob, d)
    return data


def strict_page(data, item_check, first_last):
    keys = {"object", "data", "has_more"} | ({"first_id", "last_id"} if first_last else set())
    check(set(data) == keys, f"page keys {set(data)} != {keys}")
    check(data["object"] == "list" and isinstance(data["has_more"], bool), data)
    for it in data["data"]:
        item_check(it)
    if first_last:
        ids = [it["id"] for it in data["data"]]
        check(data["first_id"] == (ids[0] if ids else None) and data["last_id"] == (ids[-1] if ids else None), data)
    return data


def status_of(fn, *args, **kw):
    """(status, param, code, message) of an SDK call that must fail."""
    try:
        fn(*args, **kw)
    except openai.APIStatusError as e:
        return e.status_code, e.param, e.code, str(e)
    raise AssertionError(f"{fn} succeeded but should have failed")


def refused(expect_status, expect_param, fn, *args, **kw):
    st, param, code, msg = status_of(fn, *args, **kw)
    check(st == expect_status, f"status {st} != {expect_status}: {msg}")
    check(param == expect_param, f"param {param!r} != {expect_param!r}: {msg}")
    return msg


# ---- data ----

def chat_line(i=0):
    return {"messages": [{"role": "user", "content": f"{i}+{i}?"}, {"role": "assistant", "content": str(2 * i)}]}


def jsonl(lines):
    return ("\n".join(json.dumps(l) for l in lines) + "\n").encode()


def upload(c, lines, name="train.jsonl", purpose="fine-tune"):
    r = c.files.with_raw_response.create(file=(name, jsonl(lines)), purpose=purpose)
    strict(FileObject, r.http_response.json())
    return r.parse()


def wait_job(c, job_id, pred, what, timeout=60):
    until = time.time() + timeout
    while True:
        raw_job = c.fine_tuning.jobs.with_raw_response.retrieve(job_id).http_response.json()
        strict_job(raw_job)
        if pred(raw_job):
            return raw_job
        check(time.time() < until, f"timed out waiting for {what}: {raw_job['status']} {raw_job['error']}")
        time.sleep(0.05)


def status_is(*s):
    return lambda j: j["status"] in s


# ---- tests ----

def test_files(a, b):
    f = upload(a, [chat_line(i) for i in range(12)])
    check(f.id.startswith("file-") and f.purpose == "fine-tune" and f.bytes == len(jsonl([chat_line(i) for i in range(12)])), f)
    check(f.filename == "train.jsonl" and f.object == "file", f)
    strict(FileObject, a.files.with_raw_response.retrieve(f.id).http_response.json())
    check(a.files.content(f.id).read() == jsonl([chat_line(i) for i in range(12)]), "content")
    others = [upload(a, [chat_line(9)], name=f"f{i}.jsonl", purpose="batch" if i % 2 else "fine-tune") for i in range(4)]
    # Cursor pages, newest first; the SDK follows them.
    page = a.files.with_raw_response.list(limit=2).http_response.json()
    strict_page(page, lambda x: strict(FileObject, x), True)
    check(page["has_more"] and [x["id"] for x in page["data"]] == [others[3].id, others[2].id], page)
    everything = [x.id for x in a.files.list(limit=2)]
    check(everything == [o.id for o in reversed(others)] + [f.id], everything)
    asc = [x.id for x in a.files.list(order="asc")]
    check(asc == list(reversed(everything)), asc)
    batch = [x.id for x in a.files.list(purpose="batch")]
    check(batch == [others[3].id, others[1].id], batch)
    r = a.files.with_raw_response.delete(others[0].id)
    strict(FileDeleted, r.http_response.json())
    check(r.parse().deleted is True, "deleted")
    refused(404, "file_id", a.files.retrieve, others[0].id)
    refused(404, "file_id", a.files.retrieve, "file-doesnotexist")
    refused(400, "purpose", a.files.create, file=("x.jsonl", b"{}\n"), purpose="nonsense")
    refused(413, "file", a.files.create, file=("big.jsonl", b"x" * (MAX_UPLOAD + 1)), purpose="fine-tune")
    asc2 = [x.id for x in a.files.list(order="asc", limit=2)]
    check(asc2 == [x for x in asc if x != others[0].id], asc2)
    for bad in (0, -1, 10001):
        refused(400, "limit", a.files.list, limit=bad)
    refused(400, "limit", a.files.list, extra_query={"limit": "ten"})
    refused(400, "order", a.files.list, extra_query={"order": "ascending"})
    refused(400, "after", a.files.list, after="file-nope")
    # The clean-up loop: deleting each file as the SDK pages still visits every file once (a
    # deleted file's id stays a valid `after`).
    scratch = [upload(a, [chat_line(i)], name=f"s{i}.jsonl", purpose="user_data").id for i in range(5)]
    seen = []
    for x in a.files.list(limit=2, purpose="user_data", order="asc"):
        seen.append(x.id)
        a.files.delete(x.id)
    check(seen == scratch, seen)
    check(list(a.files.list(purpose="user_data")) == [], "scratch files gone")
    # Another project sees none of it.
    refused(404, "file_id", b.files.retrieve, f.id)
    refused(404, "file_id", b.files.content, f.id)
    check(list(b.files.list()) == [], "project b sees no files")
    return f


def create(c, **kw):
    r = c.fine_tuning.jobs.with_raw_response.create(**kw)
    strict_job(r.http_response.json())
    return r.parse()


def test_jobs(a, b, train):
    j = create(a, model="tiny-base", training_file=train.id, suffix="demo", metadata={"team": "x", "run": "1"},
               seed=42, method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}})
    check(j.id.startswith("ftjob-") and j.status == "validating_files" and j.seed == 42, j)
    check(j.organization_id == "org-gradekit" and j.fine_tuned_model is None and j.finished_at is None, j)
    check(j.method.type == "supervised" and j.method.supervised.hyperparameters.n_epochs == 2, j.method)
    check(j.hyperparameters.batch_size == "auto", j.hyperparameters)
    done = wait_job(a, j.id, status_is("succeeded"), "success")
    check(done["fine_tuned_model"] == f"ft:tiny-base:gradekit:demo:{j.id[6:14]}", done["fine_tuned_model"])
    check(done["hyperparameters"] == {"batch_size": 1, "learning_rate_multiplier": 1.0, "n_epochs": 2}, done["hyperparameters"])
    check(done["method"]["supervised"]["hyperparameters"] == done["hyperparameters"], done["method"])
    check(done["trained_tokens"] == 6000 and done["finished_at"] >= done["created_at"], done)
    check(len(done["result_files"]) == 1, done)
    res = a.files.retrieve(done["result_files"][0])
    check(res.purpose == "fine-tune-results", res)
    check(a.files.content(res.id).read().startswith(b"step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy\n1,"), "results csv")
    # Seed generated when absent; legacy hyperparameters accepted.
    j2 = create(a, model="tiny-base", training_file=train.id, hyperparameters={"batch_size": 2}, metadata={"team": "y"})
    check(isinstance(j2.seed, int), j2)
    check(j2.method.supervised.hyperparameters.batch_size == 2, j2.method)
    j3 = create(a, model="tiny-base", training_file=train.id)
    # List: newest first, pages, metadata filters.
    page = a.fine_tuning.jobs.with_raw_response.list(limit=2).http_response.json()
    strict_page(page, strict_job, False)
    check([x["id"] for x in page["data"]] == [j3.id, j2.id] and page["has_more"], page)
    ids = [x.id for x in a.fine_tuning.jobs.list(limit=1)]
    check(ids == [j3.id, j2.id, j.id], ids)
    check([x.id for x in a.fine_tuning.jobs.list(metadata={"team": "x"})] == [j.id], "metadata filter")
    check([x.id for x in a.fine_tuning.jobs.list(metadata={"team": "x", "run": "2"})] == [], "metadata AND")
    st, body = raw("GET", "/v1/fine_tuning/jobs?metadata=null")
    check(st == 200 and [x["id"] for x in body["data"]] == [j3.id], body)
    check(list(b.fine_tuning.jobs.list()) == [], "project b sees no jobs")
    # Limits and cursors of every job list; the SDK sends these no `order`, DESIGN's rule
    # (newest first unless `order`) still holds when one is given.
    for fn, args in [(a.fine_tuning.jobs.list, ()), (a.fine_tuning.jobs.list_events, (j.id,)),
                     (a.fine_tuning.jobs.checkpoints.list, (j.id,))]:
        for bad in (0, -1, 1001):
            refused(400, "limit", fn, *args, limit=bad)
        refused(400, "after", fn, *args, after="ftjob-nope")
        refused(400, "order", fn, *args, extra_query={"order": "sideways"})
        newest = [x.id for x in fn(*args)]
        check([x.id for x in fn(*args, extra_query={"order": "desc"})] == newest, "order=desc")
        oldest = [x.id for x in fn(*args, extra_query={"order": "asc"})]
        check(oldest == newest[::-1], ("order=asc", oldest, newest))
    refused(400, "after", b.fine_tuning.jobs.list, after=j.id)
    refused(404, "fine_tuning_job_id", b.fine_tuning.jobs.retrieve, j.id)
    refused(404, "fine_tuning_job_id", b.fine_tuning.jobs.cancel, j.id)
    refused(404, "fine_tuning_job_id", b.fine_tuning.jobs.list_events, j.id)
    # Events: newest first, pages of the SDK.
    events = list(a.fine_tuning.jobs.list_events(j.id, limit=3))
    page = a.fine_tuning.jobs.with_raw_response.list_events(j.id, limit=3).http_response.json()
    strict_page(page, lambda e: strict(FineTuningJobEvent, e), False)
    check(page["has_more"] and page["data"][0]["message"] == "The job has successfully completed", page)
    msgs = [e.message for e in reversed(events)]
    check(msgs[0] == f"Created fine-tuning job: {j.id}", msgs)
    check("Files validated, moving job to queued state" in msgs and "Fine-tuning job started" in msgs, msgs)
    metrics = [e for e in reversed(events) if e.type == "metrics"]
    check(len(metrics) == 6 and metrics[0].data["step"] == 1 and metrics[0].data["total_steps"] == 6, metrics[:1])
    check(metrics[0].message.startswith("Step 1/6: train_loss=1"), metrics[0].message)
    check(len({e.id for e in events}) == len(events), "event ids unique")
    # Checkpoints.
    page = a.fine_tuning.jobs.checkpoints.with_raw_response.list(j.id).http_response.json()
    strict_page(page, lambda c: strict(FineTuningJobCheckpoint, c), True)
    cks = list(a.fine_tuning.jobs.checkpoints.list(j.id, limit=1))
    check([c.step_number for c in cks] == [6, 4, 2], cks)
    check(cks[0].id.startswith("ftckpt_") and cks[0].fine_tuned_model_checkpoint == done["fine_tuned_model"] + ":ckpt-step-6", cks[0])
    # The checkpoint line's metrics, plus those of its step's metrics line it leaves out.
    check(page["data"][0]["metrics"] == {"step": 6.0, "train_loss": 0.1667, "valid_loss": 0.1833,
                                         "train_mean_token_accuracy": 0.8571}, page["data"][0]["metrics"])
    return done, cks


def test_create_refusals(a, b, train):
    grader = {"type": "string_check", "name": "g", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "operation": "eq"}
    cases = [
        (dict(model="gpt-4o-mini", training_file=train.id), "model"),
        (dict(model="tiny-base", training_file="file-nope"), "training_file"),
        (dict(model="tiny-base", training_file=train.id, validation_file="file-nope"), "validation_file"),
        (dict(model="tiny-base", training_file=train.id, suffix="x" * 65), "suffix"),
        (dict(model="tiny-base", training_file=train.id, metadata={f"k{i}": "v" for i in range(17)}), "metadata"),
        (dict(model="tiny-base", training_file=train.id, metadata={"k": "v" * 513}), "metadata.k"),
        (dict(model="tiny-base", training_file=train.id, seed=-1), "seed"),
        (dict(model="tiny-base", training_file=train.id, method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 3}}}), "method.dpo.hyperparameters.beta"),
        (dict(model="tiny-base", training_file=train.id, method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2.5}}}), "method.supervised.hyperparameters.n_epochs"),
        (dict(model="tiny-base", training_file=train.id, method={"type": "reinforcement", "reinforcement": {"grader": {
            "type": "multi", "graders": {"a": grader}, "calculate_output": "a +"}}}), "method.reinforcement.grader.calculate_output"),
        (dict(model="tiny-base", training_file=train.id, method={"type": "reinforcement", "reinforcement": {"grader": dict(grader, operation="equals")}}),
         "method.reinforcement.grader.operation"),
        (dict(model="tiny-base", training_file=train.id, integrations=[{"type": "slack", "wandb": {"project": "p"}}]), "integrations[0].type"),
        (dict(model="tiny-base", training_file=train.id, extra_body={"bogus": 1}), "bogus"),
    ]
    for kw, param in cases:
        refused(400, param, a.fine_tuning.jobs.create, **kw)
    refused(400, "training_file", b.fine_tuning.jobs.create, model="tiny-base", training_file=train.id)


def test_validation_failures(a):
    few = upload(a, [chat_line(i) for i in range(3)])
    j = create(a, model="tiny-base", training_file=few.id)
    f = wait_job(a, j.id, status_is("failed"), "failure")
    check(f["error"] == {"code": "invalid_n_examples", "param": "training_file",
                         "message": "Training file has 3 example(s), but must have at least 10 examples"}, f["error"])
    bad = [chat_line(i) for i in range(12)]
    bad[6] = {"messages": [{"role": "user", "content": "q"}]}
    j = create(a, model="tiny-base", training_file=upload(a, bad).id)
    f = wait_job(a, j.id, status_is("failed"), "failure")
    check(f["error"]["code"] == "invalid_training_file" and f["error"]["param"] == "training_file", f["error"])
    check("Line 7" in f["error"]["message"], f["error"])
    # Reinforcement: every item.* path must resolve on every line.
    grader = {"type": "string_check", "name": "g", "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}", "operation": "eq"}
    rl = [{"messages": [{"role": "user", "content": "q"}], "answer": "a"} for _ in range(10)]
    rl[8] = {"messages": [{"role": "user", "content": "q"}], "solution": "a"}
    j = create(a, model="tiny-base", training_file=upload(a, rl).id,
               method={"type": "reinforcement", "reinforcement": {"grader": grader}})
    f = wait_job(a, j.id, status_is("failed"), "failure")
    check("Line 9" in f["error"]["message"] and "item.answer" in f["error"]["message"], f["error"])
    rl[8] = rl[0]
    j = create(a, model="tiny-base", training_file=upload(a, rl).id, validation_file=upload(a, rl[:2]).id,
               method={"type": "reinforcement", "reinforcement": {"grader": grader, "hyperparameters": {"eval_interval": 3}}})
    done = wait_job(a, j.id, status_is("succeeded"), "rft success")
    hp = done["method"]["reinforcement"]["hyperparameters"]
    check(hp["eval_interval"] == 3 and hp["compute_multiplier"] == 1.0 and hp["reasoning_effort"] == "default", hp)
    check(done["method"]["reinforcement"]["grader"] == grader, "the grader is echoed as given")


def test_transitions(a, train):
    # Crash: failed with the trainer's last stderr lines.
    crash = create(a, model="tiny-base", training_file=train.id, suffix="crash")
    f = wait_job(a, crash.id, status_is("failed"), "crash")
    check(f["error"]["code"] == "trainer_failed" and "CUDA out of memory (fake)" in f["error"]["message"], f["error"])
    # Garbage lines: warn events, the job still succeeds.
    g = create(a, model="tiny-base", training_file=train.id, suffix="garbage")
    wait_job(a, g.id, status_is("succeeded"), "garbage job success")
    warns = [e for e in a.fine_tuning.jobs.list_events(g.id, limit=100) if e.level == "warn"]
    check(len(warns) == 18 and all(e.type == "message" for e in warns), len(warns))
    # A helper the trainer leaves running (holding its stdout) does not keep the job running.
    lg = create(a, model="tiny-base", training_file=train.id, suffix="linger")
    wait_job(a, lg.id, status_is("succeeded"), "success despite a lingering helper", timeout=30)
    # Pause a running job, resume it, it finishes from its checkpoint.
    p = create(a, model="tiny-base", training_file=train.id, suffix="slow")
    wait_job(a, p.id, lambda j: j["status"] == "running" and
             len(a.fine_tuning.jobs.checkpoints.list(p.id).data) > 0, "running with a checkpoint")
    r = a.fine_tuning.jobs.with_raw_response.pause(p.id)
    paused = strict_job(r.http_response.json())
    check(paused["status"] == "paused", paused)
    msg = refused(400, "fine_tuning_job_id", a.fine_tuning.jobs.pause, p.id)
    check("paused" in msg, msg)
    time.sleep(1.0)
    step = a.fine_tuning.jobs.checkpoints.list(p.id).data[0].step_number
    resumed = strict_job(a.fine_tuning.jobs.with_raw_response.resume(p.id).http_response.json())
    check(resumed["status"] in ("queued", "running"), resumed)
    done = wait_job(a, p.id, status_is("succeeded"), "success after resume")
    msgs = [e.message for e in a.fine_tuning.jobs.list_events(p.id, limit=200)]
    check(f"fake trainer: resuming after step {step}" in msgs, msgs)
    # Refusals name the status.
    for fn, word in [(a.fine_tuning.jobs.cancel, "succeeded"), (a.fine_tuning.jobs.pause, "succeeded"), (a.fine_tuning.jobs.resume, "succeeded")]:
        msg = refused(400, "fine_tuning_job_id", fn, done["id"])
        check(word in msg, msg)
    # Cancel a running job.
    c = create(a, model="tiny-base", training_file=train.id, suffix="slow-long")
    wait_job(a, c.id, status_is("running"), "running")
    msg = refused(400, "fine_tuning_job_id", a.fine_tuning.jobs.resume, c.id)
    check("running" in msg, msg)
    cancelled = strict_job(a.fine_tuning.jobs.with_raw_response.cancel(c.id).http_response.json())
    check(cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None, cancelled)
    time.sleep(0.5)
    check(a.fine_tuning.jobs.retrieve(c.id).status == "cancelled", "stays cancelled")
    msg = refused(400, "fine_tuning_job_id", a.fine_tuning.jobs.cancel, c.id)
    check("cancelled" in msg, msg)
    refused(404, "fine_tuning_job_id", a.fine_tuning.jobs.retrieve, "ftjob-nope")


def test_permissions_and_models(a, b, done, cks):
    ft = done["fine_tuned_model"]
    ck = cks[1].fine_tuned_model_checkpoint
    ids_b = [m.id for m in b.models.list()]
    check(ft not in ids_b and ck not in ids_b and "tiny-base" in ids_b, ids_b)
    page = a.models.with_raw_response.list().http_response.json()
    check(set(page) == {"object", "data"} and page["object"] == "list", page.keys())
    for m in page["data"]:
        strict(Model, dict(m, shutdown_date=None)) if "shutdown_date" not in m else strict(Model, m)
    ids_a = [m["id"] for m in page["data"]]
    check(ft in ids_a and ck in ids_a, ids_a)
    m = a.models.retrieve(ft)
    check(m.id == ft and m.owned_by == "org-gradekit", m)
    refused(404, "model", b.models.retrieve, ft)
    # Grant project b the checkpoint: it appears in b's /v1/models.
    r = a.fine_tuning.checkpoints.permissions.with_raw_response.create(ck, project_ids=["proj_b", "proj_c"])
    created = r.http_response.json()
    strict_page(created, lambda p: strict(PermissionCreateResponse, p), True)
    perms = r.parse().data
    check([p.project_id for p in perms] == ["proj_b", "proj_c"] and perms[0].id.startswith("cp_"), perms)
    check(ck in [m.id for m in b.models.list()], "granted checkpoint visible in b")
    check(b.models.retrieve(ck).id == ck, "b retrieves it")
    refused(403, "model", b.models.delete, ck)
    refused(404, "fine_tuned_model_checkpoint", b.fine_tuning.checkpoints.permissions.create, ck, project_ids=["proj_b"])
    refused(400, "project_ids", a.fine_tuning.checkpoints.permissions.create, ck, project_ids=[])
    # List (and the SDK's deprecated retrieve): filters, order, cursor.
    lst = a.fine_tuning.checkpoints.permissions.with_raw_response.retrieve(ck).http_response.json()
    strict(PermissionRetrieveResponse, lst)
    check([p["project_id"] for p in lst["data"]] == ["proj_c", "proj_b"], lst)
    asc = a.fine_tuning.checkpoints.permissions.retrieve(ck, order="ascending")
    check([p.project_id for p in asc.data] == ["proj_b", "proj_c"], asc)
    only = a.fine_tuning.checkpoints.permissions.retrieve(ck, project_id="proj_b")
    check([p.project_id for p in only.data] == ["proj_b"], only)
    if hasattr(a.fine_tuning.checkpoints.permissions, "list"):
        pages = list(a.fine_tuning.checkpoints.permissions.list(ck, limit=1))
        check([p.project_id for p in pages] == ["proj_c", "proj_b"], pages)
    refused(400, "order", a.fine_tuning.checkpoints.permissions.retrieve, ck, order="sideways")
    d = a.fine_tuning.checkpoints.permissions.with_raw_response.delete(perms[0].id, fine_tuned_model_checkpoint=ck)
    strict(PermissionDeleteResponse, d.http_response.json())
    check(d.parse().deleted is True, "permission deleted")
    check(ck not in [m.id for m in b.models.list()], "revoked checkpoint gone from b")
    refused(404, "permission_id", a.fine_tuning.checkpoints.permissions.delete, perms[0].id, fine_tuned_model_checkpoint=ck)
    refused(400, "limit", a.fine_tuning.checkpoints.permissions.retrieve, ck, limit=0)
    refused(400, "after", a.fine_tuning.checkpoints.permissions.retrieve, ck, after="cp_nope")
    if hasattr(a.fine_tuning.checkpoints.permissions, "list"):
        # Revoking each permission as the SDK pages (by `last_id`) still visits every one once.
        a.fine_tuning.checkpoints.permissions.create(ck, project_ids=[f"proj_x{i}" for i in range(4)])
        want = [p.id for p in a.fine_tuning.checkpoints.permissions.retrieve(ck, order="ascending").data]
        seen = []
        for p in a.fine_tuning.checkpoints.permissions.list(ck, limit=2, order="ascending"):
            seen.append(p.id)
            a.fine_tuning.checkpoints.permissions.delete(p.id, fine_tuned_model_checkpoint=ck)
        check(seen == want and len(want) == 5, (seen, want))
        check(a.fine_tuning.checkpoints.permissions.retrieve(ck).data == [], "all revoked")
    # Delete the fine-tuned model (own project only; base models refused).
    refused(403, "model", a.models.delete, "tiny-base")
    r = a.models.with_raw_response.delete(ft)
    strict(ModelDeleted, r.http_response.json())
    check(ft not in [m.id for m in a.models.list()], "deleted model gone")
    refused(404, "model", a.models.retrieve, ft)
    check(a.fine_tuning.jobs.retrieve(done["id"]).fine_tuned_model == ft, "the job keeps its model name")


def snapshot(c):
    """Everything a project can see, for comparing across a restart."""
    jobs = [j.model_dump() for j in c.fine_tuning.jobs.list(limit=100)]
    return {
        "files": [f.model_dump() for f in c.files.list()],
        "jobs": jobs,
        "events": {j["id"]: [e.model_dump() for e in c.fine_tuning.jobs.list_events(j["id"], limit=1000)] for j in jobs},
        "checkpoints": {j["id"]: [k.model_dump() for k in c.fine_tuning.jobs.checkpoints.list(j["id"], limit=100)] for j in jobs},
        "models": sorted(m.id for m in c.models.list()),
    }


def test_restarts(train):
    global port
    a, b = clients()
    # Mid-upload: a multipart body cut off by kill -9 leaves no file.
    before = snapshot(a)
    s = socket.create_connection(("127.0.0.1", port))
    boundary = "gradekitboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.jsonl\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    s.sendall((f"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_A}\r\n"
               f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 500000\r\n\r\n").encode() + head)
    s.sendall(jsonl([chat_line(i) for i in range(200)]))
    time.sleep(0.3)
    kill9()
    s.close()
    start_server()
    a, b = clients()
    after = snapshot(a)
    check(after == before, "state identical after kill -9 mid-upload")
    check(os.listdir(os.path.join(data_dir, "tmp")) == [], "upload leftovers removed")
    # Mid-training: a job with a checkpoint resumes; one without fails with server_restarted.
    with_ck = create(a, model="tiny-base", training_file=train.id, suffix="slow-long")
    wait_job(a, with_ck.id, lambda j: j["status"] == "running" and
             len(a.fine_tuning.jobs.checkpoints.list(with_ck.id).data) > 0, "a checkpoint")
    no_ck = create(a, model="tiny-base", training_file=train.id, suffix="slow")
    wait_job(a, no_ck.id, status_is("running"), "running")
    had_ck = len(a.fine_tuning.jobs.checkpoints.list(no_ck.id).data) > 0
    queued = create(a, model="tiny-base", training_file=train.id)
    time.sleep(0.1)
    before = snapshot(a)
    before_b = snapshot(b)
    kill9()
    start_server()
    a, b = clients()
    after = snapshot(a)
    check(snapshot(b) == before_b, "project b unchanged")
    # A job may finish between the snapshot and the kill (its results file is then new).
    extra = [f for f in after["files"] if f not in before["files"]]
    check([f for f in before["files"] if f not in after["files"]] == [], "no file lost")
    check(all(f["purpose"] == "fine-tune-results" for f in extra), extra)
    check(after["checkpoints"][with_ck.id][:len(before["checkpoints"][with_ck.id])] == before["checkpoints"][with_ck.id] or
          after["checkpoints"][with_ck.id][-len(before["checkpoints"][with_ck.id]):] == before["checkpoints"][with_ck.id],
          "checkpoints kept")
    for jid, evs in before["events"].items():
        check(after["events"][jid][-len(evs):] == evs if evs else True, f"events of {jid} kept")
    finished = {j["id"]: j for j in before["jobs"] if j["status"] in ("succeeded", "failed", "cancelled")}
    for j in after["jobs"]:
        if j["id"] in finished:
            check(j == finished[j["id"]], f"finished job {j['id']} identical")
    done = wait_job(a, with_ck.id, status_is("succeeded"), "resumed job succeeds", timeout=120)
    msgs = [e.message for e in a.fine_tuning.jobs.list_events(with_ck.id, limit=1000)]
    check(any("resumes from its checkpoint" in m for m in msgs), msgs[:5])
    # The results file has one row per step, even where steps were done again after the resume.
    rows = a.files.content(done["result_files"][0]).read().decode().splitlines()[1:]
    steps = [int(r.split(",")[0]) for r in rows]
    check(steps == list(range(1, len(steps) + 1)), steps)
    other = wait_job(a, no_ck.id, status_is("succeeded", "failed"), "the job without checkpoint ends", timeout=120)
    if not had_ck and other["status"] == "failed":
        check(other["error"]["code"] == "server_restarted", other["error"])
    wait_job(a, queued.id, status_is("succeeded"), "queued job runs after restart", timeout=120)
    check(done["fine_tuned_model"] is not None, done)


def main():
    start_server()
    a, b = clients()
    try:
        st, body = raw("GET", "/v1/fine_tuning/jobs", key="wrong")
        check(st == 401, (st, body))
        train = test_files(a, b)
        test_create_refusals(a, b, train)
        done, cks = test_jobs(a, b, train)
        test_validation_failures(a)
        test_transitions(a, train)
        test_permissions_and_models(a, b, done, cks)
        test_restarts(train)
    finally:
        if server and server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    for name in logs:
        text = open(name).read()
        check(KEY_A not in text and KEY_B not in text, f"a key appears in {name}")
    print("jobs_sdk: ok")


if __name__ == "__main__":
    main()
