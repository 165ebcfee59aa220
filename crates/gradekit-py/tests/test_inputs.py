"""Inputs people actually pass: odd values, wrong types, and what the errors say."""

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
    with pytest.raises(ValueError, match=r"item\.x: integer too large for a JSON number"):
        g.grade("a", {"x": 10**400})
    with pytest.raises(ValueError, match=r"items\[1\]\.answer: integer too large"):
        g.rewards(["a", "b"], [{"answer": "a"}, {"answer": 10**400}])


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
