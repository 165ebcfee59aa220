"""Expected values for gradekit's METEOR and Porter-stemmer differential tests, from NLTK.

Run from the project root with the reference venv:

    .venv-ref/bin/python crates/gradekit-metrics/scripts/gen_meteor_fixtures.py

Writes (deterministic, fixed seed; rerunning rewrites them byte for byte):

* fixtures/vectors/porter_words.jsonl -- one `[word, stem]` per line:
  `PorterStemmer().stem(word)` (NLTK_EXTENSIONS) for every WordNet 3.0 lemma
  without "_", every token of the dev vectors, inflected forms built to reach
  each suffix rule, and adversarial words (case, non-ASCII, runs of "y",
  one- and two-letter words, NLTK's literal "*d" suffix test).
* fixtures/vectors/random_meteor.jsonl -- one pair per line:
  `{"id", "hyp", "ref", "score", "stages"}` with token lists and
  `meteor_score([ref], hyp, alpha=0.9, beta=3.0, gamma=0.5)`; `stages` counts
  the exact / stem / synonym matches NLTK made (for reading, not checked).
  Pairs are built from a synonym-rich vocabulary (WordNet synsets with several
  one-word names, their inflections and exception-list forms), with repeated
  words, case variants, punctuation, non-ASCII tokens and long lists.

NLTK data comes from ../shared/reference/refdata.py (REFERENCE_DIR overrides).
"""

from __future__ import annotations

import json
import os
import random
import sys

SEED = 20261125
N_RANDOM = 4000


def _root() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.dirname(os.path.dirname(here)))


def _reference_dir() -> str:
    return os.environ.get("REFERENCE_DIR") or os.path.join(
        os.path.dirname(_root()), "shared", "reference")


sys.path.insert(0, _reference_dir())
import refdata  # noqa: E402

refdata.ensure_data()
from nltk.corpus import wordnet as wn  # noqa: E402
from nltk.stem.porter import PorterStemmer  # noqa: E402
from nltk.translate import meteor_score as M  # noqa: E402

STEMMER = PorterStemmer()

SUFFIXES = [
    "s", "es", "ies", "sses", "ss", "ed", "ied", "eed", "ing", "ly", "y", "ness", "ful",
    "fulness", "ization", "ational", "tional", "enci", "anci", "izer", "bli", "alli",
    "entli", "eli", "ousli", "ation", "ator", "alism", "iveness", "ousness", "aliti",
    "iviti", "biliti", "fulli", "logi", "icate", "ative", "alize", "iciti", "ical",
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
    "ion", "sion", "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll",
    "at", "bl", "iz", "ings", "ers", "est",
]

ADVERSARIAL = [
    "", "a", "A", "ab", "Ab", "is", "IS", "y", "yy", "yyy", "yyyy", "yyyyyyyyyyyy",
    "syzygy", "toy", "toys", "yay", "ayyyb", "byyyyy", "sky", "Sky", "SKIES", "skies",
    "dying", "Dying", "lying", "tying", "news", "NEWS", "innings", "howe", "proceed",
    "exceeded", "succeeding", "ies", "dies", "ties", "spied", "died", "cied", "feed",
    "agreed", "bleed", "foo*ded", "a*d", "x*ding", "b*d", "*d", "**d", "ba*ded",
    "café", "cafés", "naïve", "naïveté", "straße", "İstanbul", "ΣΑΣ", "Σ", "ǅemal",
    "größer", "résumés", "crème", "fiancée", "émigrés", "日本語", "tokyo's", "n't", "'s",
    "don't", "3.14", "1990s", "--", "...", "U.S.", "e.g.", "state-of-the-art",
    "Running", "RUNNING", "generalization", "generalizations", "hopefulness",
    "electricity", "electrical", "conditional", "rational", "analogousli", "vileli",
    "radicalli", "differentli", "archaeology", "geology", "theology", "KELVIN", "\u212a",
    "ﬁne", "ǈ", "controlling", "rolling", "filing", "failing", "hopping", "hissing",
    "fizzed", "tanned", "conflated", "troubled", "sized", "motoring", "plastered",
    "happy", "enjoy", "enjoyment", "spy", "fly", "flies", "try", "tried",
]


def porter_words() -> list[list[str]]:
    rng = random.Random(SEED)
    wn.ensure_loaded()
    lemmas = sorted(l for l in wn._lemma_pos_offset_map if "_" not in l)
    words: list[str] = []
    seen: set[str] = set()

    def add(w: str) -> None:
        if w not in seen:
            seen.add(w)
            words.append(w)

    for w in ADVERSARIAL:
        add(w)
    for w in lemmas:
        add(w)
    pairs_path = os.path.join(_root(), "fixtures", "vectors", "dev_pairs.jsonl")
    with open(pairs_path, encoding="utf-8") as f:
        for line in f:
            p = json.loads(line)
            for t in p["input_nltk_tokens"] + p["reference_nltk_tokens"]:
                add(t)
    alpha = [l for l in lemmas if l.isalpha() and l.islower() and len(l) >= 3]
    for base in rng.sample(alpha, 4000):
        for suf in rng.sample(SUFFIXES, 4):
            add(base + suf)
        if rng.random() < 0.1:
            add(base.capitalize())
    return [[w, STEMMER.stem(w)] for w in words]


def _vocabulary(rng: random.Random) -> tuple[list[list[str]], list[str]]:
    """Synonym groups (one-word names of one synset) and extra tokens."""
    groups = []
    for pos in "nvar":
        for ss in wn.all_synsets(pos):
            names = [n for n in ss.lemma_names() if "_" not in n]
            if len(names) >= 2:
                groups.append(names)
    groups.sort()
    groups = rng.sample(groups, 3000)
    exc = []
    for pos in "nva":
        for form, bases in sorted(wn._exception_map[pos].items()):
            exc.append([form] + bases)
    exc = rng.sample(exc, 600)
    filler = ("the a an of to in and or but is are was were be been it that this with for on "
              "at by from as not no very really quite just , . ; : ! ? ( ) '' `` 's n't - "
              "--").split()
    return groups + exc, filler


def _inflect(rng: random.Random, w: str) -> str:
    r = rng.random()
    if r < 0.5:
        return w
    return w + rng.choice(["s", "es", "ed", "ing", "er", "est", "ly", "ness", "ies", "d"])


def _case(rng: random.Random, w: str) -> str:
    r = rng.random()
    if r < 0.8:
        return w
    if r < 0.9:
        return w.capitalize()
    if r < 0.95:
        return w.upper()
    return w.swapcase()


ODD = ["café", "naïve", "straße", "İstanbul", "ΣΑΣ", "日本", "🙂", "—", "’", "“", "x*ded",
       "yyy", "Sky", "skies", "dying", "ice_cream", "U.S.", "3.14", ""]


def random_pairs() -> list[dict]:
    rng = random.Random(SEED + 1)
    groups, filler = _vocabulary(rng)
    out = []
    for k in range(N_RANDOM):
        mode = rng.random()
        if mode < 0.03:
            n = 0
        elif mode < 0.05:
            n = rng.randint(120, 250)
        else:
            n = rng.randint(1, 30)
        # a small per-pair vocabulary makes repeated words and near-collisions common
        local = [rng.choice(groups) for _ in range(rng.randint(1, 12))]
        ref = []
        for _ in range(n):
            r = rng.random()
            if r < 0.3:
                ref.append(rng.choice(filler))
            elif r < 0.33:
                ref.append(rng.choice(ODD))
            else:
                ref.append(_case(rng, _inflect(rng, rng.choice(rng.choice(local)))))
        hyp = []
        for t in ref:
            r = rng.random()
            if r < 0.1:
                continue
            if r < 0.45:
                # swap in a synonym from any group containing this word (or a random one)
                g = next((g for g in local if t.lower() in g), rng.choice(local))
                hyp.append(_case(rng, _inflect(rng, rng.choice(g))))
            elif r < 0.5:
                hyp.append(rng.choice(filler))
            else:
                hyp.append(_case(rng, t))
            if rng.random() < 0.05:
                hyp.append(hyp[-1])
        if rng.random() < 0.3 and len(hyp) > 3:
            a = rng.randrange(len(hyp))
            b = rng.randrange(len(hyp))
            hyp[a], hyp[b] = hyp[b], hyp[a]
        if rng.random() < 0.05:
            hyp = []
        if rng.random() < 0.5:
            hyp, ref = ref, hyp
        score = M.meteor_score([ref], hyp, alpha=0.9, beta=3.0, gamma=0.5)
        eh, er = M._generate_enums(hyp, ref)
        ex, eh, er = M._match_enums(eh, er)
        st, eh, er = M._enum_stem_match(eh, er)
        sy, eh, er = M._enum_wordnetsyn_match(eh, er)
        out.append({"id": f"rm-{k:04d}", "hyp": hyp, "ref": ref, "score": score,
                    "stages": [len(ex), len(st), len(sy)]})
    return out


def main() -> None:
    vec = os.path.join(_root(), "fixtures", "vectors")
    os.makedirs(vec, exist_ok=True)
    words = porter_words()
    with open(os.path.join(vec, "porter_words.jsonl"), "w", encoding="utf-8") as f:
        for ws in words:
            f.write(json.dumps(ws, ensure_ascii=False) + "\n")
    pairs = random_pairs()
    with open(os.path.join(vec, "random_meteor.jsonl"), "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    syn = sum(1 for p in pairs if p["stages"][2])
    stem = sum(1 for p in pairs if p["stages"][1])
    print(f"porter_words: {len(words)} words; random_meteor: {len(pairs)} pairs, "
          f"{stem} with stem matches, {syn} with synonym matches")


if __name__ == "__main__":
    main()
