import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SUITE = ROOT / "fixtures" / "suite"


def suite_cases():
    cases = []
    for f in sorted(SUITE.glob("*.json")):
        for i, case in enumerate(json.loads(f.read_text())):
            cases.append(pytest.param(case, id="%s#%d" % (f.stem, i)))
    return cases


@pytest.fixture
def exact():
    return {
        "type": "string_check",
        "name": "exact",
        "input": "{{ sample.output_text }}",
        "reference": "{{ item.answer }}",
        "operation": "eq",
    }
