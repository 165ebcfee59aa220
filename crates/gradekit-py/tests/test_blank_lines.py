"""``fixtures/lines/blank.json`` through the Python package's JSONL readers: the Ray reader's
line-by-line path (a range Arrow cannot read) and the trainer's training files. A blank line
(``str.isspace()``) keeps its number and gives no row; any other line of the fixture is an
error naming its line. (`test_ray.py` runs the fixture through a Ray cluster too.)"""

import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "fixtures" / "lines" / "blank.json"
GOOD = b'{"model_sample": "a", "item": {"answer": "a"}}'


def blank_cases():
    """(description, line bytes, error code or None for a blank line) of every case."""
    out = []
    for c in json.loads(FIXTURE.read_text())["cases"]:
        line = bytes.fromhex(c["line_hex"]) if "line_hex" in c else c["line"].encode("utf-8")
        assert (c.get("error") is None) == c["blank"]
        out.append((c["description"], line, c.get("error")))
    return out


def blank_file(good=GOOD):
    """Good lines alternating with the cases' lines; the rows a reader gives, as
    (line number, None or (description, error code))."""
    data, want = b"", []
    for k, (description, line, error) in enumerate(blank_cases()):
        data += good + b"\n" + line + b"\n"
        want.append((2 * k + 1, None))
        if error:
            want.append((2 * k + 2, (description, error)))
    return data, want


def test_the_whitespace_is_str_isspace():
    ws = json.loads(FIXTURE.read_text())["whitespace"]
    assert ws == [i for i in range(0x110000) if chr(i).isspace()]
    for description, line, error in blank_cases():
        assert (error is None) == (not line.decode("utf-8", "surrogateescape").strip()), description


def test_ray_reader_line_by_line(tmp_path, exact):
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("ray")
    import gradekit
    from gradekit import _ray_jsonl as rj

    data, want = blank_file()
    path = tmp_path / "blank.jsonl"
    path.write_bytes(data)
    schema = rj.infer_schema(str(path), gradekit.Grader(exact), None, "item", None)
    table = pa.concat_tables(list(rj.read_range(str(path), 0, len(data), len(data), schema,
                                                ["model_sample", "sample"], "item")))
    errors = table.column("error").to_pylist()
    samples = table.column("model_sample").to_pylist()
    assert len(errors) == len(want), "one row per line that is not blank"
    for (n, case), error, sample in zip(want, errors, samples):
        if case is None:
            assert error is None and sample == "a", (n, error)
        else:
            assert error["code"] == case[1], (case, error)
            assert "blank.jsonl line %d:" % n in error["message"], (case, error)


def test_training_files(tmp_path):
    from gradekit.train import data as td

    chat = json.dumps({"messages": [{"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "a"}]}).encode()
    for description, line, error in blank_cases():
        path = tmp_path / "train.jsonl"
        path.write_bytes(chat + b"\n" + chat + b"\n" + line + b"\n" + chat + b"\n")
        if error is None:
            assert len(td.read_jsonl(str(path), "training_file")) == 3, description
        else:
            with pytest.raises(td.DataError, match="training_file line 3: "):
                td.read_jsonl(str(path), "training_file")
