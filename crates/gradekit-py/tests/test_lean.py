"""Batches of template graders are read without JSON trees (src/lean.rs): every shape must
grade exactly like `grade()` one sample at a time (which builds the JSON context), across chunk
boundaries, on one and two threads."""

import random

import pytest

import gradekit

GRADERS = [
    {"type": "string_check", "name": "eq", "operation": "eq",
     "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"},
    {"type": "string_check", "name": "mix", "operation": "like",
     "input": "{{ sample.output_text }}|{{ item.n }}|{{ item.o }}", "reference": "{{ item.o.k[1] }}"},
    {"type": "string_check", "name": "json", "operation": "eq",
     "input": "{{ sample.output_json.a }}", "reference": "{{ item.r }}"},
    {"type": "string_check", "name": "deep", "operation": "ilike",
     "input": "{{ sample.choices[0].message.content }}", "reference": "{{ item.r.x }}"},
    {"type": "text_similarity", "name": "fz", "evaluation_metric": "fuzzy_match",
     "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"},
    {"type": "multi", "name": "m", "calculate_output": "a + 2 * b", "graders": {
        "a": {"type": "string_check", "name": "a", "operation": "eq",
              "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"},
        "b": {"type": "text_similarity", "name": "b", "evaluation_metric": "rouge_l",
              "input": "{{ sample.output_text }}", "reference": "{{ item.n }}"}}},
]

VALUES = ["abc", "ABC", "héllo wörld ✓", "", '{"a": "abc"}', None, 1.5, 3, True,
          {"k": [1, "abc"]}, {"x": "abc"}, [1, 2]]
TEXTS = ["abc", '{"a": "abc"}', "héllo wörld ✓", "", "a b c abc", "ABC"]


def clean(r):
    d = r.to_dict()
    d["metadata"].pop("execution_time", None)
    return d


def rows(n, seed):
    rnd = random.Random(seed)
    samples, items = [], []
    for _ in range(n):
        samples.append(rnd.choice(TEXTS))
        item = {}
        for k in ("r", "n", "o", "unused"):
            if rnd.random() < 0.8:
                item[k] = rnd.choice(VALUES)
        items.append(None if rnd.random() < 0.05 else item)
    return samples, items


@pytest.mark.parametrize("config", GRADERS, ids=[g["name"] for g in GRADERS])
@pytest.mark.parametrize("threads", [1, 2])
def test_lists_and_columns_grade_like_single_samples(config, threads):
    g = gradekit.Grader(config, threads=threads)
    samples, items = rows(3000, 7)  # several chunks
    want = [clean(g.grade(s, i)) for s, i in zip(samples, items)]
    assert [clean(r) for r in g.grade_batch(samples, items)] == want
    assert g.rewards(samples, items) == [w["reward"] for w in want]
    # a dict of columns: a key an item lacks cannot be said in a column, so use full rows
    full = [dict(r=i.get("r", "abc"), n=i.get("n"), o=i.get("o", 0)) if i else
            {"r": "abc", "n": None, "o": 0} for i in items]
    cols = {k: [f[k] for f in full] for k in ("r", "n", "o")}
    cols["noise"] = [float("nan")] * len(full)
    want_cols = [clean(g.grade(s, f)) for s, f in zip(samples, full)]
    assert [clean(r) for r in g.grade_batch(samples, cols)] == want_cols


@pytest.mark.parametrize("threads", [1, 2])
def test_sample_objects_and_odd_items(threads):
    g = gradekit.Grader(GRADERS[1], threads=threads)
    samples = ["abc", {"output_text": "abc"}, {"output_text": "x", "output_json": {"a": 1}}, "q"]
    items = [{"r": "a", "n": 1, "o": {"k": [0, "b"]}}, ["not", "a", "dict"], "str item", None]
    want = [clean(g.grade(s, i)) for s, i in zip(samples, items)]
    assert [clean(r) for r in g.grade_batch(samples, items)] == want
    with pytest.raises(gradekit.GraderError, match=r"samples\[1\]\.output_txt"):
        g.rewards(["a", {"output_txt": "a"}], [{}, {}])
    with pytest.raises(TypeError, match=r"samples\[1\] must be a str"):
        g.rewards(["a", 3], [{}, {}])
    with pytest.raises(UnicodeEncodeError):
        g.rewards(["a", "\ud800"], [{}, {}])
    with pytest.raises(ValueError, match=r"items\[2\]\.n: (?i:nan) is not a JSON number"):
        g.rewards(["a"] * 3, [{}, {}, {"n": float("nan")}])


def test_arrow_shapes_grade_like_single_samples():
    pa = pytest.importorskip("pyarrow")
    g = gradekit.Grader(GRADERS[1], threads=2)
    n = 2000
    rnd = random.Random(3)
    r = [rnd.choice(["abc", "b", None, "héllo"]) for _ in range(n)]
    nn = [rnd.choice([1, 2, None]) for _ in range(n)]
    samples = [rnd.choice(TEXTS) for _ in range(n)]
    table = pa.table({"r": r, "n": nn, "o": [{"k": [1, 2]}] * n})
    # Arrow nulls are missing keys
    items = [{k: v for k, v in (("r", a), ("n", b), ("o", {"k": [1, 2]})) if v is not None}
             for a, b in zip(r, nn)]
    want = [clean(g.grade(s, i)) for s, i in zip(samples, items)]
    for s in (pa.array(samples), pa.chunked_array([samples[:777], samples[777:]])):
        for it in (table, table.to_batches()[0], {c: table[c] for c in table.column_names}):
            assert [clean(x) for x in g.grade_batch(s, it)] == want


def test_the_same_str_objects_are_lent_not_copied():
    # 200k samples that are the same two objects: nothing is copied per sample.
    g = gradekit.Grader(GRADERS[0])
    a, b = "x" * 1000, "y" * 1000
    assert g.rewards([a, b] * 100_000, {"r": [a] * 200_000}) == [1.0, 0.0] * 100_000
