"""Every ```python block of the READMEs runs as written (in a fresh namespace, in a temp dir)."""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
READMES = [ROOT / "README.md", ROOT / "crates" / "gradekit-py" / "README.md"]


def blocks():
    out = []
    for readme in READMES:
        text = readme.read_text()
        for i, m in enumerate(re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)):
            out.append(pytest.param(m.group(1), id="%s#%d" % (readme.relative_to(ROOT), i)))
    return out


@pytest.mark.parametrize("code", blocks())
def test_readme_block_runs(code, tmp_path, monkeypatch, capsys):
    if "import ray" in code:
        pytest.importorskip("ray")
        pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<README>", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out  # every block shows something
