"""Inputs people actually pass: odd values, wrong types, and what the errors say."""

import json
import pickle
import pydoc

import pytest

import gradekit


@pytest.fixture
def g(exact):
    return gradekit.Grader(exact)


def test_engine_option_type_errors_name_the_option(exact):
    with pytest.raises(TypeError, match=r"threads must be an int, got str '4'"):
        gradekit.Grader(exact, threads="4")
    with pytest.raises(TypeError, match="python_timeout must be a number of seconds"):
        gradekit.Grader(exact, python_timeout="10")
    with pytest.raises(TypeError, match="threads must be an int, got bool"):
        gradekit.Grader(exact, threads=True)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        gradekit.Grader(exact, threads=0)
    with pytest.raises(TypeError, match="judge_base_url must be a str"):
        gradekit.Grader(exact, judge_base_url=3)


def test_huge_int_names_its_path(g):
    with pytest.raises(ValueError, match=r"item\.answer: integer too large for a JSON number"):
        g.grade("a", {"answer": 10**400})
    with pytest.raises(ValueError, match=r"items\[1\]\.answer: integer too large"):
        g.rewards(["a", "b"], [{"answer": "a"}, {"answer": 10**400}])


def test_config_values_json_cannot_hold_are_grader_errors_with_paths(exact):
    # A NaN, an infinity or an int past a double in a config is a fault of the config: the
    # GraderError of every other fault, its path inside the config (not a bare ValueError).
    cases = [
        (lambda: gradekit.Grader(dict(exact, pass_threshold=float("nan"))), "pass_threshold"),
        (lambda: gradekit.validate(dict(exact, pass_threshold=float("inf"))), "pass_threshold"),
        (lambda: gradekit.Grader({"type": "multi", "calculate_output": "a", "graders": {
            "a": dict(exact, pass_threshold=10**400)}}), "graders.a.pass_threshold"),
        (lambda: gradekit.run({"grader": dict(exact, pass_threshold=float("nan")),
                               "model_sample": "a"}), "grader.pass_threshold"),
        (lambda: gradekit.run({"grader": exact, "model_sample": "a",
                               "item": {"answer": float("nan")}}), "item.answer"),
    ]
    for make, path in cases:
        with pytest.raises(gradekit.GraderError) as e:
            make()
        assert e.value.path == path and str(e.value).startswith(path + ": ")
        assert e.value.errors[0]["code"] == "invalid_value"
    with pytest.raises(TypeError, match=r"request\.item\.answer: cannot convert object"):
        gradekit.run({"grader": exact, "model_sample": "a", "item": {"answer": object()}})


def test_lone_surrogates_name_their_path(g):
    # "\ud800" cannot be UTF-8: still Python's UnicodeEncodeError, now saying where it is.
    cases = [
        (lambda: g.grade("\ud800", {}), r": sample: surrogates"),
        (lambda: g.grade({"output_text": "\ud800"}), r": sample\.output_text: surrogates"),
        (lambda: g.grade("a", {"answer": "\ud800"}), r": item\.answer: surrogates"),
        (lambda: g.rewards(["a", "\ud800"], [{}, {}]), r": samples\[1\]: surrogates"),
        (lambda: g.rewards(["a", "b"], [{}, {"answer": "x\udfff"}]), r": items\[1\]\.answer: "),
        (lambda: g.rewards(["a", "b"], {"answer": ["a", "\ud800"]}), r": items\.answer\[1\]: "),
        (lambda: gradekit.Grader({"type": "string_check", "input": "\ud800", "reference": "a",
                                  "operation": "eq"}), r": config\.input: surrogates"),
    ]
    for make, where in cases:
        with pytest.raises(UnicodeEncodeError, match=where):
            make()


def test_a_str_config_naming_a_file_says_how_to_read_it(exact, tmp_path):
    p = tmp_path / "grader.json"
    p.write_text(json.dumps(exact))
    with pytest.raises(gradekit.GraderError, match=r"pass pathlib\.Path\(\.\.\.\) to read a file"):
        gradekit.Grader(str(p))
    assert gradekit.Grader(p).name == "exact"


def test_pandas_rows_and_other_mappings_keep_their_keys(g):
    # A DataFrame row (`df.iloc[i]`, a Series) is an item with labels; `tolist()` dropped them.
    import types

    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"answer": ["a", "b"], "n": [1, 2]})
    assert g.grade("a", df.iloc[0]).reward == 1.0
    assert g.rewards(["a", "x"], [df.iloc[0], df.iloc[1]]) == [1.0, 0.0]
    assert g.grade("b", types.MappingProxyType({"answer": "b"})).reward == 1.0
    whole = gradekit.Grader({"type": "string_check", "operation": "eq", "input": "{{ item }}",
                             "reference": '{"answer":"a","n":1}'})
    assert whole.grade("", df.iloc[0]).reward == 1.0
    assert whole.rewards([""], [df.iloc[0]]) == [1.0]


def test_grade_result_pickles(exact):
    g = gradekit.Grader(dict(exact, pass_threshold=0.5))
    for r in (g.grade("a", {"answer": "a"}), g.grade("a", {})):
        back = pickle.loads(pickle.dumps(r))
        assert back == r and back.to_dict() == r.to_dict()
        assert back.passed == r.passed and back.errors == r.errors and repr(back) == repr(r)


def test_help_lists_engine_options():
    text = pydoc.render_doc(gradekit.Grader, renderer=pydoc.plaintext)
    for option in ("threads", "python_mode", "python_timeout", "python_memory", "python_workers",
                   "python_executable", "judge_base_url", "judge_api_key", "judge_concurrency",
                   "judge_timeout", "judge_cache", "judge_embedding_model", "judge_response_format"):
        assert option in text, option


def test_item_keys_and_engine_options(exact):
    g = gradekit.Grader(exact, threads=2)
    assert g.item_keys == ["answer"]
    assert g.engine_options == {"threads": 2}
    py = gradekit.Grader({"type": "python", "name": "p",
                          "source": "def grade(sample, item):\n    return 1.0\n"},
                         python_mode="process")
    assert py.item_keys is None


def test_items_as_dict_of_columns(g):
    samples = ["a", "b", "c"]
    assert g.rewards(samples, {"answer": ["a", "x", "c"]}) == [1.0, 0.0, 1.0]
    # unread columns are never touched: NaN, inf, objects, wrong lengths
    cols = {"answer": ("a", "b", "x"), "score": [float("nan"), float("inf"), 1.0],
            "env": [object()] * 3, "short": [1]}
    assert g.rewards(samples, cols) == [1.0, 1.0, 0.0]
    # a referenced column that is absent: every item lacks the key
    r = g.grade_batch(samples, {"answr": ["a", "b", "c"]})
    assert [x.errors["invalid_variable_error"] for x in r] == [True] * 3
    with pytest.raises(ValueError, match=r"items\.answer has 2 values but samples has 3"):
        g.rewards(samples, {"answer": ["a", "b"]})
    with pytest.raises(TypeError, match="not a str"):
        g.rewards(samples, "abc")
    with pytest.raises(TypeError, match=r"items\.answer must be a column"):
        g.rewards(samples, {"answer": "abc"})


def test_nan_in_unread_item_keys_is_fine(g):
    items = [{"answer": "a", "loss": float("nan"), "big": 10**400, "when": object()}] * 2
    assert g.rewards(["a", "b"], items) == [1.0, 0.0]
    with pytest.raises(ValueError, match=r"items\[1\]\.answer: (?i:nan) is not a JSON number"):
        g.rewards(["a", "b"], [{"answer": "a"}, {"answer": float("nan")}])


def test_repeated_item_objects(g):
    item = {"answer": "a"}
    assert g.rewards(["a", "b"] * 5000, [item] * 10000) == [1.0, 0.0] * 5000


def test_rewards_as_numpy(g):
    np = pytest.importorskip("numpy")
    out = g.rewards(["a", "b", "a"], {"answer": ["a"] * 3}, as_numpy=True)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    assert out.tolist() == [1.0, 0.0, 1.0]
    out[0] = 5.0  # writable
    assert g.rewards([], as_numpy=True).shape == (0,)
    # numpy columns and sample arrays are read like lists
    assert g.rewards(np.array(["a", "b"]), {"answer": np.array(["a", "a"])}) == [1.0, 0.0]


def test_arrow_inputs(g):
    pa = pytest.importorskip("pyarrow")
    samples = pa.array(["a", "b", "c", "d"])
    table = pa.table({"answer": ["a", "x", None, "d"], "noise": [float("nan")] * 4})
    want = [1.0, 0.0, 0.0, 1.0]
    assert g.rewards(samples, table) == want
    assert g.rewards(samples, table.to_batches()[0]) == want
    assert g.rewards(samples, pa.StructArray.from_arrays([table["answer"].combine_chunks()],
                                                         names=["answer"])) == want
    assert g.rewards(samples, {"answer": table["answer"]}) == want  # a chunked array column
    assert g.rewards(pa.chunked_array([["a", "b"], ["c", "d"]]), table) == want
    assert g.rewards(pa.array(["a", "b", "c", "d"], type=pa.large_string()), table) == want
    # null in Arrow = the key is missing (as in the JSON line Arrow was read from)
    r = g.grade_batch(samples, table)[2]
    assert r.errors["invalid_variable_error"] and 'no key "answer"' in r.errors["invalid_variable_error_details"]
    # Arrow struct items, as Ray's `item` column: nested values become JSON
    nested = gradekit.Grader({"type": "string_check", "name": "n", "operation": "eq",
                              "input": "{{ item.meta }}", "reference": '{"k":[1,2],"f":1.5}'})
    items = pa.array([{"meta": {"k": [1, 2], "f": 1.5}}, {"meta": {"k": [1], "f": None}}])
    assert nested.rewards(["x", "y"], items) == [1.0, 0.0]
    with pytest.raises(ValueError, match="has 3 rows but samples has 4"):
        g.rewards(samples, table.slice(0, 3))
    with pytest.raises(TypeError, match=r"samples\[1\] is null"):
        g.rewards(pa.array(["a", None]), {"answer": ["a", "a"]})
    with pytest.raises(TypeError, match="table, a record batch or a struct array"):
        g.rewards(samples, pa.array([1, 2, 3, 4]))


def test_arrow_dictionary_and_numbers():
    pa = pytest.importorskip("pyarrow")
    g = gradekit.Grader({"type": "string_check", "name": "d", "operation": "eq",
                         "input": "{{ item.cat }}/{{ item.n }}/{{ item.b }}", "reference": "x/1/true"})
    t = pa.table({"cat": pa.array(["x", "y"]).dictionary_encode(), "n": pa.array([1, 2], pa.int8()),
                  "b": [True, False]})
    assert g.rewards(["", ""], t) == [1.0, 0.0]


def test_sliced_arrow_items_with_nested_structs():
    # Ray Data cuts batches out of blocks: a sliced table whose item struct holds a struct
    # (and structs in lists) must grade its own rows, not panic.
    pa = pytest.importorskip("pyarrow")
    g = gradekit.Grader({"type": "string_check", "name": "n", "operation": "eq",
                         "input": "{{ item.meta.k }}/{{ item.hist[1].k }}",
                         "reference": "{{ sample.output_text }}"})
    rows = [{"meta": {"k": "k%d" % i, "deep": {"z": i}}, "hist": [{"k": "a"}, {"k": "h%d" % i}]}
            for i in range(40)]
    samples = ["k%d/h%d" % (i, i if i % 3 else i + 1) for i in range(40)]
    want = [1.0 if i % 3 else 0.0 for i in range(40)]
    table = pa.table({"item": pa.array(rows)})
    for cut in (table.slice(7, 20), table.to_batches()[0].slice(7, 20)):
        assert g.rewards(samples[7:27], cut.column("item")) == want[7:27]
    assert g.rewards(samples[7:27], pa.array(rows).slice(7, 20)) == want[7:27]
    assert g.rewards(samples[7:27], pa.Table.from_pylist(rows).slice(7, 20)) == want[7:27]
    whole = gradekit.Grader({"type": "string_check", "name": "w", "operation": "eq",
                             "input": "{{ item.meta }}", "reference": "{{ sample.output_text }}"})
    assert whole.rewards(['{"k":"k9","deep":{"z":9}}'], pa.array(rows).slice(9, 1)) == [1.0]
    # fixed-size lists cut their values too: structs in them, and lists of those
    pair = pa.list_(pa.struct([("k", pa.string())]), 2)
    typ = pa.struct([("hist", pair), ("more", pa.list_(pair))])
    fixed = pa.array([{"hist": r["hist"], "more": [r["hist"]]} for r in rows], type=typ)
    assert g.rewards(samples[7:27], fixed.slice(7, 20)) == [0.0] * 20  # item.meta is missing
    g2 = gradekit.Grader({"type": "string_check", "name": "f", "operation": "eq",
                          "input": "{{ item.hist[1].k }}/{{ item.more[0][1].k }}",
                          "reference": "{{ sample.output_text }}"})
    pairs = ["h%d/h%d" % (i, i if i % 3 else i + 1) for i in range(40)]
    assert g2.rewards(pairs[7:27], fixed.slice(7, 20)) == want[7:27]
    assert g2.rewards(pairs[7:27], pa.Table.from_struct_array(fixed).slice(7, 20)) == want[7:27]


def test_empty_arrow_batches(g):
    pa = pytest.importorskip("pyarrow")
    empty = pa.table({"answer": pa.array([], pa.string())})
    assert g.rewards(pa.chunked_array([], type=pa.string()), empty) == []
    assert g.grade_batch([], empty) == []


def test_arrow_dictionary_columns_every_key_type():
    # Dictionary-encoded columns (pandas categoricals, Parquet) are read key by key.
    pa = pytest.importorskip("pyarrow")
    g = gradekit.Grader({"type": "string_check", "name": "d", "operation": "eq",
                         "input": "{{ sample.output_text }}", "reference": "{{ item.cat }}"})
    values = ["v%d" % (i % 7) for i in range(3000)]
    samples = ["v%d" % (i % 5) for i in range(3000)]
    want = [float(i % 7 == i % 5) for i in range(3000)]
    for key in (pa.int8(), pa.uint8(), pa.int16(), pa.int32(), pa.int64(), pa.uint64()):
        col = pa.array(values).dictionary_encode().cast(pa.dictionary(key, pa.string()))
        assert g.rewards(samples, {"cat": col}) == want
        assert g.rewards(samples[100:200], pa.table({"cat": col}).slice(100, 100)) == want[100:200]
    with_null = pa.DictionaryArray.from_arrays(pa.array([0, None, 1], pa.int32()), pa.array(["v0", "v1"]))
    r = g.grade_batch(["v0", "v0", "v1"], {"cat": with_null})
    assert [x.reward for x in r] == [1.0, 0.0, 1.0] and r[1].errors["invalid_variable_error"]


def test_ctrl_c_lands_quickly():
    import _thread
    import threading
    import time

    slow = gradekit.Grader({"type": "text_similarity", "name": "m", "evaluation_metric": "meteor",
                            "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}, threads=1)
    text = "the quick brown fox jumps over the lazy dog and runs far away " * 4
    ref = "a fast brown fox leaped over lazy dogs and then ran away home " * 4
    n = 2_000_000  # far more than a second of meteor, release build or not
    timer = threading.Timer(0.5, _thread.interrupt_main)
    start = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        slow.rewards([text] * n, {"r": [ref] * n})
    assert time.monotonic() - start < 0.5 + 1.0
    timer.cancel()


def test_batches_with_very_long_strings_keep_order_in_every_shape(g):
    # From the first chunk holding a string of 32 KiB or more, a batch is graded on owned
    # contexts (so Ctrl-C need not wait for a long pair): the switch keeps every row in place.
    long_ref = "x" * (40 << 10)
    samples = ["a"] * 700 + [long_ref] + ["b", long_ref + "y"] * 400
    answers = ["a"] * 700 + [long_ref] + ["b", long_ref] * 400
    want = [1.0 if s == a else 0.0 for s, a in zip(samples, answers)]
    assert g.rewards(samples, [{"answer": a} for a in answers]) == want
    assert g.rewards(samples, {"answer": answers}) == want
    pa = pytest.importorskip("pyarrow")
    assert g.rewards(pa.array(samples), pa.table({"answer": answers})) == want
    r = g.grade_batch(samples, {"answer": answers})
    assert [x.reward for x in r] == want and not any(x.failed for x in r)


def test_ctrl_c_lands_quickly_during_long_fuzzy_pairs():
    import _thread
    import random
    import threading
    import time

    fuzzy = gradekit.Grader({"type": "text_similarity", "name": "f", "evaluation_metric": "fuzzy_match",
                             "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}, threads=1)
    rnd = random.Random(7)
    # 80k characters a side (the metric's limit is ~110k): a pair takes ~0.3 s in a release
    # build, seconds in the dev build CI tests; Ctrl-C must not wait for it
    a = "".join(rnd.choice("abcdefgh ") for _ in range(80_000))
    b = "".join(rnd.choice("abcdefgh ") for _ in range(80_000))
    fired = []
    timer = threading.Timer(0.2, lambda: (fired.append(time.monotonic()), _thread.interrupt_main()))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        fuzzy.rewards([a] * 64, {"r": [b] * 64})
    landed = time.monotonic()
    timer.cancel()
    assert fired and landed - fired[0] < 0.3, landed - fired[0]


def test_ctrl_c_lands_quickly_between_fast_owned_chunks():
    # Strings of 32 KiB or more leave the lean path: chunks of owned contexts, each back long
    # before one signal poll. Ctrl-C must land between chunks, not after the whole batch
    # (before the fix it waited 10-60 s here).
    import _thread
    import threading
    import time

    g = gradekit.Grader({"type": "string_check", "name": "s", "operation": "eq",
                         "input": "{{ sample.output_text }}", "reference": "{{ item.r }}"}, threads=1)
    big = "x" * (40 << 10)
    n = 3_000_000
    samples, items = [big] * n, [{"r": big}] * n
    fired = []
    timer = threading.Timer(0.3, lambda: (fired.append(time.monotonic()), _thread.interrupt_main()))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        g.rewards(samples, items)
    landed = time.monotonic()
    timer.cancel()
    assert fired and landed - fired[0] < 1.0, landed - fired[0]
