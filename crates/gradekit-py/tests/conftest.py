import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SUITE = ROOT / "fixtures" / "suite"


def suite_cases():
    """Every case of fixtures/suite, as pytest params named `<file>-<index>` (`-k` cannot
    take the Rust runner's `<file>#<index>`); each case dict gets that `_key` and its `_name`
    (`<file>#<index> <description>`, which failures show)."""
    cases = []
    for f in sorted(SUITE.glob("*.json")):
        for i, case in enumerate(json.loads(f.read_text())):
            case["_key"] = "%s-%d" % (f.stem, i)
            case["_name"] = "%s#%d %s" % (f.stem, i, case.get("description", ""))
            cases.append(pytest.param(case, id=case["_key"]))
    return cases


# (entry point, reason) -> cases whose wire cannot carry them; printed after the run.
SUITE_SKIPS = {}


def pytest_terminal_summary(terminalreporter):
    if SUITE_SKIPS:
        terminalreporter.write_line("suite entry points skipped (the wire cannot carry the case):")
        for (entry, reason), n in sorted(SUITE_SKIPS.items()):
            terminalreporter.write_line("  %s: %d cases: %s" % (entry, n, reason))


@pytest.fixture
def exact():
    return {
        "type": "string_check",
        "name": "exact",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.answer }}",
        "operation": "eq",
    }
