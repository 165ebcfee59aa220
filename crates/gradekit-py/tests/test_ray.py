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


def test_udf_reads_nan_in_numpy_batches_as_null(exact):
    # Ray's numpy batches (map_batches' default format) hold a block's all-null column as a
    # float NaN array: a NaN is a missing value, as null is in the CLI, not a bad number.
    np = pytest.importorskip("numpy")
    nan = np.array([np.nan], dtype=np.float32)
    udf = gradekit.ray.GraderUDF(exact, with_errors=True)
    out = udf({"id": np.array([0]), "model_sample": nan, "item": np.array([{"answer": "1"}])})
    assert out["reward"][0] is None and out["error"][0]["code"] == "missing_sample"
    out = udf({"id": np.array([1]), "model_sample": np.array(["1"], dtype=object), "answer": nan})
    assert out["reward"][0] == 0.0 and out["error"][0] is None
    assert 'item has no key "answer"' in out["errors"][0]["invalid_variable_error_details"]
    out = udf({"model_sample": np.array(["1"], dtype=object), "item": nan})  # all-null items
    assert out["reward"][0] == 0.0 and out["errors"][0]["invalid_variable_error"]
    out = udf({"model_sample": np.array(["1"], dtype=object),
               "item": np.array([{"answer": float("nan")}], dtype=object)})
    assert out["reward"][0] == 0.0 and out["errors"][0]["invalid_variable_error"]


def test_udf_on_a_sliced_arrow_batch_with_nested_items():
    # Ray Data hands map_batches slices of its blocks; an item holding an object must grade.
    pa = pytest.importorskip("pyarrow")
    cfg = {"type": "string_check", "name": "deep", "operation": "eq",
           "input": "{{ sample.output_text }}", "reference": "{{ item.meta.answer }}"}
    block = pa.Table.from_pylist([{"id": i, "model_sample": str(i % 4),
                                   "item": {"meta": {"answer": str(i % 3)}}} for i in range(100)])
    out = gradekit.ray.GraderUDF(cfg)(block.slice(10, 30))
    assert out.column("id").to_pylist() == list(range(10, 40))
    assert out.column("reward").to_pylist() == [float(i % 4 == i % 3) for i in range(10, 40)]
    assert out.column("error").null_count == 30


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


def _odd_lines():
    """Lines `ray.data.read_json` cannot read at all, beside good ones: not JSON, not an object,
    NaN, a blank line, a sample of the wrong type, an item value of another type than in the
    first rows (a number where they have strings), a sample object where they have strings."""
    good = [json.dumps(r) for r in _lines(60)]
    return good[:40] + [
        "not json",
        "[1, 2]",
        json.dumps({"id": 2000, "item": {"answer": "1"}, "model_sample": 7}),
        '{"id": 2001, "item": {"answer": NaN}, "model_sample": "1"}',
        "",
        json.dumps({"id": 2002, "item": {"answer": 5, "more": {"x": 1}}, "model_sample": "5"}),
        json.dumps({"id": 2003, "item": {"answer": 5}, "model_sample": "6"}),
        json.dumps({"id": 2004, "item": {"answer": {"deep": 1}}, "model_sample": "6"}),
        # a present null is not a missing key: it renders "null", no invalid_variable_error
        json.dumps({"id": 2005, "item": {"answer": None, "other": None}, "model_sample": "null"}),
        json.dumps({"id": 2006, "item": {"answer": None}, "model_sample": "x"}),
    ] + good[40:]


def _cli_rows(exact, path, tmp_path):
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(exact))
    out = tmp_path / "cli.jsonl"
    subprocess.run([_gradekit_bin(), "score", "--grader", str(grader), str(path), "-o", str(out)],
                   check=True, capture_output=True)
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_read_jsonl_reads_each_line_once_whatever_the_split(ray2, exact, tmp_path):
    path = tmp_path / "many.jsonl"
    rows = [{"id": i, "item": {"answer": "x" * (i % 97), "unread": list(range(i % 5))},
             "model_sample": "y" * (i % 89), "other": {"z": i}} for i in range(3000)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows)[:-1])  # no final newline
    for blocks in (1, 2, 7, 64):
        ds = gradekit.ray.read_jsonl(str(path), exact, override_num_blocks=blocks)
        got = ds.take_all()
        assert sorted(r["id"] for r in got) == list(range(3000)), blocks
        # only what the grader reads: id, the sample, item.answer (no "other", no "unread")
        assert set(got[0]) == {"id", "model_sample", "item", "error", "_gradekit_item"}
        assert set(got[0]["item"]) == {"answer"}
        assert all(r["error"] is None for r in got)
    # the grading runs inside the read tasks (no hop through the object store): Ray fuses them
    scored = gradekit.ray.score_dataset(ds, exact).select_columns(["id", "reward"])
    assert len(scored.take_all()) == 3000
    assert "ReadGradekitJSONL->MapBatches(score_batch)->Project" in scored.stats()
    # grader=None keeps every field
    everything = gradekit.ray.read_jsonl(str(path)).take(1)[0]
    assert {"other", "item", "model_sample", "id"} <= set(everything)
    assert "unread" in everything["item"]


def test_read_jsonl_turns_unreadable_lines_into_error_rows_like_the_cli(ray2, exact, tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(_odd_lines()) + "\n")
    cli = _cli_rows(exact, path, tmp_path)
    for blocks in (1, 3):
        ds = gradekit.ray.read_jsonl(str(path), exact, override_num_blocks=blocks)
        scored = gradekit.ray.score_dataset(ds, exact, with_errors=True).take_all()
        assert len(scored) == len(cli) == 74
        key = lambda r: (r.get("id") is None, r.get("id") or 0, (r.get("error") or {}).get("code"))
        mine = sorted(((r["id"], r["reward"], r["error"] and r["error"]["code"],
                        r["errors"] and r["errors"]["invalid_variable_error"]) for r in scored),
                      key=lambda t: key({"id": t[0], "error": {"code": t[2]}}))
        theirs = sorted(((r.get("id"), r.get("reward"), (r.get("error") or {}).get("code"),
                          r.get("metadata", {}).get("errors", {}).get("invalid_variable_error"))
                         for r in cli), key=lambda t: key({"id": t[0], "error": {"code": t[2]}}))
        # 2004 (an object where the first rows have strings) is the one row the schema
        # cannot carry: an error row naming the field, where the CLI grades it
        assert [m for m in mine if m[0] != 2004] == [t for t in theirs if t[0] != 2004]
        by_id = {r["id"]: r for r in scored if r["id"] is not None}
        assert by_id[2004]["error"]["code"] == "invalid_item"
        assert "item.answer is an object" in by_id[2004]["error"]["message"]
        assert by_id[2002]["reward"] == 1.0 and by_id[2003]["reward"] == 0.0
        assert by_id[2005]["reward"] == 1.0 and by_id[2006]["reward"] == 0.0
        assert not by_id[2006]["errors"]["invalid_variable_error"]
        assert "_gradekit_item" not in scored[0]  # read_jsonl's side column is dropped
        lines = sorted(r["error"]["message"] for r in scored if r["error"] and r["id"] is None)
        assert any("odd.jsonl line 41: line is not valid JSON" in m for m in lines), lines
        assert any("line 42: line is an array, not a JSON object" in m for m in lines), lines
        assert any("line 44" in m and "NaN" in m for m in lines), lines


def test_read_jsonl_skips_the_blank_lines_of_the_fixture_like_the_cli(ray2, exact, tmp_path):
    from test_blank_lines import blank_file

    data, want = blank_file()
    path = tmp_path / "blank.jsonl"
    path.write_bytes(data)
    cli = _cli_rows(exact, path, tmp_path)
    assert [r["line"] for r in cli] == [n for n, _ in want]
    assert [(r.get("error") or {}).get("code") for r in cli] == [c and c[1] for _, c in want]
    for blocks in (1, 3):
        ds = gradekit.ray.read_jsonl(str(path), exact, override_num_blocks=blocks)
        scored = gradekit.ray.score_dataset(ds, exact, with_errors=True).take_all()
        assert len(scored) == len(cli)
        assert sorted(r["reward"] for r in scored if r["error"] is None) == [1.0] * sum(
            1 for _, c in want if c is None)
        bad = sorted((int(r["error"]["message"].split(" line ")[1].split(":")[0]),
                      r["error"]["code"]) for r in scored if r["error"] is not None)
        assert bad == [(n, c[1]) for n, c in want if c is not None]


def test_read_jsonl_present_nulls_are_not_missing_keys(ray2, tmp_path):
    # Arrow reads {"answer": null} and {} alike; the CLI renders the first "null" and flags
    # the second. read_jsonl keeps them apart (on the fast path: no line needs the slow one).
    config = {"type": "string_check", "name": "n", "operation": "eq",
              "input": "{{ sample.output_text }}", "reference": "{{ item.answer }}/{{ item.m.z }}"}
    rows = []
    for i in range(300):
        kind = i % 5
        item = {"answer": "a", "m": {"z": 1}}
        if kind == 1:
            item["answer"] = None
        elif kind == 2:
            del item["answer"]
        elif kind == 3:
            item["m"] = {"z": None}
        elif kind == 4:
            item["m"] = {}
        rows.append({"id": i, "item": item, "model_sample": ["a/1", "null/1", "/1", "a/null", "a/"][kind]})
    path = tmp_path / "nulls.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cli = {r["id"]: (r["reward"], r["metadata"]["errors"]["invalid_variable_error"])
           for r in _cli_rows(config, path, tmp_path)}
    assert sorted(set(cli.values())) == [(0.0, True), (1.0, False)]
    for blocks in (1, 4):
        ds = gradekit.ray.read_jsonl(str(path), config, override_num_blocks=blocks)
        scored = gradekit.ray.score_dataset(ds, config, with_errors=True).take_all()
        mine = {r["id"]: (r["reward"], r["errors"]["invalid_variable_error"]) for r in scored}
        assert mine == cli


def test_read_jsonl_flat_rows_and_directories(ray2, exact, tmp_path):
    d = tmp_path / "parts"
    d.mkdir()
    (d / "a.jsonl").write_text('{"model_sample": "a", "answer": "a", "noise": [1]}\n'
                               '{"model_sample": "b", "answer": "a"}\n')
    (d / "b.jsonl").write_text('{"model_sample": "c", "noise": 2}\n')
    (d / "skip.txt").write_text("not read")
    ds = gradekit.ray.read_jsonl(str(d), exact)
    assert set(ds.schema().names) == {"model_sample", "answer", "error", "_gradekit_item"}
    rows = gradekit.ray.score_dataset(ds, exact, with_errors=True).take_all()
    got = sorted((r["model_sample"], r["reward"], r["errors"]["invalid_variable_error"]) for r in rows)
    assert got == [("a", 1.0, False), ("b", 0.0, False), ("c", 0.0, True)]
    with pytest.raises(FileNotFoundError):
        gradekit.ray.read_jsonl(str(tmp_path / "nope.jsonl"), exact)


@pytest.mark.parametrize("reader", ["read_json", "read_jsonl"])
def test_same_rewards_as_gradekit_score(ray2, exact, jsonl, tmp_path, reader):
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
    ds = (ray2.data.read_json(str(jsonl)) if reader == "read_json"
          else gradekit.ray.read_jsonl(str(jsonl), exact, override_num_blocks=3))
    rows = gradekit.ray.score_dataset(ds, exact, with_errors=True).take_all()
    mine = {r["id"]: (r["reward"], r["error"] and r["error"]["code"],
                      r["errors"] and r["errors"]["invalid_variable_error"]) for r in rows}
    assert mine == cli


def test_score_dataset_rejects_a_bad_config_at_the_call(ray2, exact, jsonl):
    # Not lazily inside a Ray task (a RayTaskError burying the path), but here, like Grader().
    ds = ray2.data.read_json(str(jsonl))
    with pytest.raises(gradekit.GraderError) as e:
        gradekit.ray.score_dataset(ds, dict(exact, operation="equals"))
    assert e.value.path == "operation"
    with pytest.raises(gradekit.GraderError) as e:
        gradekit.ray.score_dataset(ds, dict(exact, pass_threshold=float("nan")))
    assert e.value.path == "pass_threshold"
    with pytest.raises(gradekit.GraderError, match="not valid JSON"):
        gradekit.ray.score_dataset(ds, "{not json")
    with pytest.raises(TypeError, match="threadz"):
        gradekit.ray.score_dataset(ds, exact, engine_options={"threadz": 2})
    pool = ray2.data.ActorPoolStrategy(size=1)
    with pytest.raises(gradekit.GraderError):
        gradekit.ray.score_dataset(ds, dict(exact, operation="equals"), compute=pool)
    p = jsonl.parent / "grader.json"
    p.write_text(json.dumps(exact))  # a path works as it does for Grader
    rows = gradekit.ray.score_dataset(ds, p).take_all()
    assert len(rows) == 205


def test_example_script_on_two_cpus(exact, jsonl, tmp_path):
    pytest.importorskip("ray")
    grader = tmp_path / "grader.json"
    grader.write_text(json.dumps(exact))
    with open(jsonl, "a") as f:  # a line that is not JSON: one more error row, never a failure
        f.write("{not json\n")
    out_dir = tmp_path / "scored"
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ray_score_jsonl.py"), str(grader), str(jsonl),
         str(out_dir), "--num-cpus", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["rows"] == 206 and summary["bad_rows"] == 3 and summary["graded"] == 203
    written = [json.loads(line) for f in sorted(out_dir.iterdir()) for line in f.read_text().splitlines()]
    assert len(written) == 206
    codes = sorted(w["error"]["code"] for w in written if w["error"] is not None)
    assert codes == ["invalid_json", "invalid_sample", "missing_sample"]


def test_fused_read_and_grade_is_not_serialised_by_resource_reservation(ray2, exact, jsonl):
    # Ray Data's per-operator resource reservation ran the fused read+grade tasks one at a time
    # on a 2-CPU cluster; score_dataset switches it off for the fused dataset only.
    import ray.data

    before = ray.data.DataContext.get_current().op_resource_reservation_enabled
    fused = gradekit.ray.score_dataset(
        gradekit.ray.read_jsonl(str(jsonl), exact, override_num_blocks=4), exact)
    picked = fused.select_columns(["id", "reward"])
    assert fused.context.op_resource_reservation_enabled is False
    assert picked.context.op_resource_reservation_enabled is False  # derived datasets keep it
    assert ray.data.DataContext.get_current().op_resource_reservation_enabled == before
    plain = gradekit.ray.score_dataset(ray.data.read_json(str(jsonl)), exact)
    assert plain.context.op_resource_reservation_enabled == before  # not fused: Ray's default
    rows = picked.take_all()
    assert len(rows) == len(jsonl.read_text().splitlines())


@pytest.mark.parametrize("batch_format", ["default", "numpy", "pandas", "pyarrow"])
def test_udf_in_map_batches_gives_the_cli_codes_in_every_batch_format(
    ray2, exact, tmp_path, batch_format
):
    # One row per block, as Ray splits a small dataset: a block holding only a null sample, a
    # null item value or a null item has all-null columns (float NaN in numpy batches).
    rows = [
        {"id": 0, "item": {"answer": "1"}, "model_sample": "1"},
        {"id": 1, "item": {"answer": "1"}, "model_sample": None},
        {"id": 2, "item": {"answer": None}, "model_sample": "1"},
        {"id": 3, "item": None, "model_sample": "1"},
        {"id": 4, "item": {"answer": "2"}, "model_sample": "1"},
    ]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "g.json").write_text(json.dumps(exact))
    cli = subprocess.run([_gradekit_bin(), "score", "-q", "--grader", str(tmp_path / "g.json"),
                          str(path)], capture_output=True, text=True, check=True).stdout
    want = [(r.get("reward"), (r.get("error") or {}).get("code"))
            for r in map(json.loads, cli.splitlines())]
    # Arrow cannot keep row 2's present null apart from a missing key (module docs): the
    # CLI renders it "null" (reward 0.0, no flag), Ray sees a missing key (0.0 + the flag).
    assert want == [(1.0, None), (None, "missing_sample"), (0.0, None), (0.0, None), (0.0, None)]
    kwargs = {} if batch_format == "default" else {"batch_format": batch_format}
    ds = ray2.data.from_items(rows, override_num_blocks=len(rows))
    out = sorted(ds.map_batches(gradekit.ray.GraderUDF(exact), **kwargs).take_all(),
                 key=lambda r: r["id"])
    got = [(r["reward"], r["error"] and r["error"]["code"]) for r in out]
    assert got == want


ACTORS_ON_TWO_CPUS = """
import json, sys
import ray, gradekit.ray
ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
exact = json.loads(sys.argv[2])
pool = ray.data.ActorPoolStrategy(size=int(sys.argv[3]))
ds = gradekit.ray.score_dataset(ray.data.read_json(sys.argv[1]), exact, compute=pool)
rows = ds.select_columns(["id", "reward"]).take_all()
print(json.dumps(sorted([r["id"], r["reward"]] for r in rows)))
"""


@pytest.mark.parametrize("size", [2, 3])
def test_score_dataset_with_actors_as_many_as_the_cpus_does_not_starve_the_reads(
    exact, jsonl, size
):
    # An actor holds its CPU for the whole run: two one-CPU actors on a 2-CPU cluster left the
    # read tasks none and the job hung forever (backpressured:tasks(ResourceBudget)).
    pytest.importorskip("ray")
    r = subprocess.run(
        [sys.executable, "-c", ACTORS_ON_TWO_CPUS, str(jsonl), json.dumps(exact), str(size)],
        capture_output=True, text=True, timeout=240,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rows = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(rows) == 205
    assert sum(reward for _, reward in rows if reward is not None) == sum(
        1.0 for i in range(200) if i % 4 == i % 3) + 1.0  # id 1004: sample object "1" = "1"
