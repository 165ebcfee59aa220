"""gradekit.ray: the map_batches callable on plain batches, and through Ray when installed."""

import json

import pytest

import gradekit
import gradekit.ray


def test_udf_on_dict_batches(exact):
    udf = gradekit.ray.GraderUDF(dict(exact, pass_threshold=1), with_errors=True)
    out = udf({"model_sample": ["a", "b", "c"], "answer": ["a", "x", "c"], "id": [1, 2, 3]})
    assert list(out["reward"]) == [1.0, 0.0, 1.0]
    assert list(out["passed"]) == [True, False, True]
    assert [list(e) for e in out["errors"]] == [[], [], []]
    assert list(out["id"]) == [1, 2, 3]
    udf2 = gradekit.ray.GraderUDF(exact, item_column="item", sample_column="s", output_column="r")
    out = udf2({"s": ["a", "b"], "item": [{"answer": "a"}, {"answer": "a"}]})
    assert list(out["r"]) == [1.0, 0.0]
    with pytest.raises(KeyError, match="model_sample"):
        udf({"text": ["a"]})


def test_udf_on_numpy_and_pandas(exact):
    np = pytest.importorskip("numpy")
    udf = gradekit.ray.GraderUDF(exact)
    out = udf({"model_sample": np.array(["a", "b"]), "answer": np.array(["a", "a"])})
    assert out["reward"].tolist() == [1.0, 0.0]
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"model_sample": ["a", "b"], "answer": ["b", "b"]})
    out = udf(df)
    assert out["reward"].tolist() == [0.0, 1.0] and list(out.columns)[-1] == "reward"


def test_score_dataset_with_ray(exact, tmp_path):
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed in this venv (pip install 'ray[data]' to run this test)")
    path = tmp_path / "outputs.jsonl"
    rows = [{"id": i, "model_sample": str(i % 4), "answer": "1"} for i in range(200)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ray.init(num_cpus=4, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        ds = ray.data.read_json(str(path))
        scored = gradekit.ray.score_dataset(ds, exact, batch_size=64).take_all()
        got = sorted((r["id"], r["reward"]) for r in scored)
        assert got == [(i, 1.0 if i % 4 == 1 else 0.0) for i in range(200)]
        # a Grader object travels to the workers pickled
        scored = gradekit.ray.score_dataset(ds, gradekit.Grader(exact), batch_size=64).take_all()
        assert sum(r["reward"] for r in scored) == 50.0
    finally:
        ray.shutdown()
