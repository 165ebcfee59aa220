"""gradekit.ray: the batch callable on plain batches, and Ray Data on a 2-CPU cluster.

The Ray tests run on ``ray.init(num_cpus=2)``, the smallest cluster people have (a laptop, a CI
runner): grading must never starve the read tasks there. The file they score has the shape of
``gradekit score`` input, bad rows included, and the rewards are checked against the CLI's.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import gradekit
import gradekit.ray

ROOT = pathlib.Path(__file__).resolve().parents[3]


def test_udf_on_dict_batches(exact):
    udf = gradekit.ray.GraderUDF(dict(exact, pass_threshold=1), with_errors=True)
    out = udf({"model_sample": ["a", "b", "c"], "answer": ["a", "x", "c"], "id": [1, 2, 3]})
    assert list(out["reward"]) == [1.0, 0.0, 1.0]
    assert list(out["passed"]) == [True, False, True]
    assert [e["invalid_variable_error"] for e in out["errors"]] == [False] * 3
    assert list(out["error"]) == [None] * 3
    assert list(out["id"]) == [1, 2, 3]
    udf2 = gradekit.ray.GraderUDF(exact, item_column="it", sample_column="s", output_column="r")
    out = udf2({"s": ["a", "b"], "it": [{"answer": "a"}, {"answer": "a"}]})
    assert list(out["r"]) == [1.0, 0.0]
    with pytest.raises(KeyError, match="model_sample"):
        udf({"text": ["a"]})


def test_udf_cli_shape_and_bad_rows(exact):
    udf = gradekit.ray.GraderUDF(exact)
    batch = {
        "id": [1, 2, 3, 4, 5, 6],
        "model_sample": ["a", None, 3, "a", None, "x"],
        "sample": [None, None, None, "a", {"output_text": "a"}, None],
        "item": [{"answer": "a"}, {"answer": "a"}, {}, {}, {"answer": "a"}, {"answer": 10**400}],
    }
    out = udf(batch)
    assert out["reward"][0] == 1.0 and out["reward"][4] == 1.0
    codes = [e and e["code"] for e in out["error"]]
    assert codes == [None, "missing_sample", "invalid_sample", "invalid_sample", None, "invalid_item"]
    assert "items[0].answer" in out["error"][5]["message"] or "answer" in out["error"][5]["message"]
    assert all(out["reward"][i] is None for i in (1, 2, 3, 5))


def test_udf_on_numpy_and_pandas(exact):
    np = pytest.importorskip("numpy")
    udf = gradekit.ray.GraderUDF(exact)
    out = udf({"model_sample": np.array(["a", "b"]), "answer": np.array(["a", "a"])})
    assert out["reward"].tolist() == [1.0, 0.0]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"model_sample": ["a", "b"], "answer": ["b", "b"],
                       "unread": [float("nan"), float("inf")]})
    out = udf(df)
    assert out["reward"].tolist() == [0.0, 1.0] and "reward" in list(out.columns)


def test_udf_on_arrow_missing_keys_are_not_nulls(exact):
    pa = pytest.importorskip("pyarrow")
    rows = [{"item": {"answer": "a"}, "model_sample": "a"},
            {"item": {"other": 1}, "model_sample": "a"},
            {"item": None, "model_sample": "a"}]
    table = pa.Table.from_pylist(rows)
    out = gradekit.ray.GraderUDF(exact, with_errors=True)(table)
    assert isinstance(out, pa.Table)
    assert out["reward"].to_pylist() == [1.0, 0.0, 0.0]
    flags = out["errors"].to_pylist()
    assert [f["invalid_variable_error"] for f in flags] == [False, True, True]
    assert 'item has no key "answer"' in flags[1]["invalid_variable_error_details"]
    assert pa.types.is_struct(out.schema.field("errors").type)
    assert out.schema.field("errors").type.field("invalid_variable_error").type == pa.bool_()
    assert pa.types.is_struct(out.schema.field("error").type)


# -- Ray --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray2():
    ray = pytest.importorskip("ray")
    pytest.importorskip("pyarrow")
    # address="local": a new 2-CPU cluster even when another one runs on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _lines(n):
    """`gradekit score` input: good rows, then bad rows of every kind, ids throughout."""
    lines = []
    for i in range(n):
        lines.append({"id": i, "item": {"answer": str(i % 4)}, "model_sample": str(i % 3)})
    lines += [  # ids 1000…: the bad and odd rows
        {"id": 1000, "item": {"answer": "1"}, "model_sample": None},
        {"id": 1001, "item": {"answer": "1"}, "model_sample": "1", "sample": {"output_text": "1"}},
        {"id": 1002, "item": {"answr": "1"}, "model_sample": "1"},
        {"id": 1003, "model_sample": "1"},
        {"id": 1004, "item": {"answer": "1"}, "sample": {"output_text": "1"}},
    ]
    return lines


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "outputs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _lines(200)))
    return path


def _gradekit_bin():
    for cand in (os.environ.get("GRADEKIT_BIN"), ROOT / "target" / "debug" / "gradekit",
                 ROOT / "target" / "release" / "gradekit", shutil.which("gradekit")):
        if cand and os.access(str(cand), os.X_OK):
            return str(cand)
    pytest.skip("no gradekit binary (cargo build --bin gradekit, or set GRADEKIT_BIN)")


def test_score_dataset_on_two_cpus_with_bad_rows(ray2, exact, jsonl):
    ds = ray2.data.read_json(str(jsonl))
    rows = gradekit.ray.score_dataset(ds, exact, with_errors=True, batch_size=64).take_all()
    by_id = {r["id"]: r for r in rows}
    assert len(by_id) == 205
    for i in range(200):
        assert by_id[i]["reward"] == (1.0 if i % 4 == i % 3 else 0.0)
        assert by_id[i]["error"] is None
    assert by_id[1000]["reward"] is None
    assert by_id[1000]["error"]["code"] == "missing_sample"
    assert by_id[1001]["error"]["code"] == "invalid_sample"
    for key in (1002, 1003):
        assert by_id[key]["reward"] == 0.0 and by_id[key]["error"] is None
        assert by_id[key]["errors"]["invalid_variable_error"] is True
    assert by_id[1004]["reward"] == 1.0
    # concurrency= caps the tasks (no deprecated actor pool); a Grader object works too
    scored = gradekit.ray.score_dataset(ds, gradekit.Grader(exact), concurrency=1).take_all()
    assert sum(r["reward"] or 0.0 for r in scored) == sum(r["reward"] or 0.0 for r in rows)
    # actors when asked for
    actors = gradekit.ray.score_dataset(
        ds, exact, compute=ray2.data.ActorPoolStrategy(size=1), num_cpus=0.5).take_all()
    pairs = sorted(repr((r["id"], r["reward"])) for r in actors)
    assert pairs == sorted(repr((r["id"], r["reward"])) for r in rows)


def test_same_rewards_as_gradekit_score(ray2, exact, jsonl, tmp_path):
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(exact))
    out = tmp_path / "cli.jsonl"
    subprocess.run([_gradekit_bin(), "score", "--grader", str(grader), str(jsonl), "-o", str(out)],
                   check=True, capture_output=True)
    cli = {}
    for line in out.read_text().splitlines():
        r = json.loads(line)
        cli[r["id"]] = (r["reward"], r.get("error", {}).get("code"),
                        r.get("metadata", {}).get("errors", {}).get("invalid_variable_error"))
    rows = gradekit.ray.score_dataset(ray2.data.read_json(str(jsonl)), exact,
                                      with_errors=True).take_all()
    mine = {r["id"]: (r["reward"], r["error"] and r["error"]["code"],
                      r["errors"] and r["errors"]["invalid_variable_error"]) for r in rows}
    assert mine == cli


def test_example_script_on_two_cpus(exact, jsonl, tmp_path):
    pytest.importorskip("ray")
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(exact))
    out_dir = tmp_path / "scored"
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ray_score_jsonl.py"), str(grader), str(jsonl),
         str(out_dir), "--num-cpus", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["rows"] == 205 and summary["bad_rows"] == 2 and summary["graded"] == 203
    written = [json.loads(line) for f in sorted(out_dir.iterdir()) for line in f.read_text().splitlines()]
    assert len(written) == 205
    assert sum(1 for w in written if w["error"] is not None) == 2
