#!/usr/bin/env python3
"""Random and adversarial pairs for the fuzzy scorers, scored by rapidfuzz 3.10.1.

Writes fixtures/vectors/random_fuzzy.jsonl (one pair per line):
  {"id", "kind", "input", "reference", "scores": {name: float, ...}}
where "fuzzy_match" = fuzz.WRatio(input, reference, processor=utils.default_process) (0-100)
and every other name is the rapidfuzz `fuzz` scorer of that name without a processor.

Texts: sentences of the shared dev vectors (natural English) plus generated strings that stress
default_process (case, punctuation runs, accents, combining marks, CJK, emoji, exotic spaces,
curly quotes), length ratios at and around WRatio's thresholds 1.5 and 8, substrings,
needles around 64 code points, long texts (up to a few thousand code points) and small
alphabets (many equal-score windows). Deterministic (seed 20261125).

Usage (repo root): .venv-ref/bin/python crates/gradekit-metrics/scripts/gen_fuzzy_vectors.py
"""
import json
import random
import sys
from pathlib import Path

import rapidfuzz
from rapidfuzz import fuzz, utils

assert rapidfuzz.__version__ == "3.10.1", rapidfuzz.__version__

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "fixtures" / "vectors" / "random_fuzzy.jsonl"
DEV = ROOT / "fixtures" / "vectors" / "dev.jsonl"

rng = random.Random(20261125)

corpus = []
for line in DEV.read_text(encoding="utf-8").splitlines():
    v = json.loads(line)
    if v["metric"] == "fuzzy_match" and v["variant"] == "primary":
        for t in (v["input"], v["reference"]):
            if t and t not in corpus:
                corpus.append(t)

SPECIAL = (
    "éèêëàâäçñøåÉÈÀÇÑØÅßẞİıKΩÅ"  # accents, İ, dotless i, Kelvin, Ohm, Angstrom
    "ΑΒΓΔΣσςαβγδ"  # Greek incl. final sigma
    "АБВГДабвгдЁё"  # Cyrillic
    "中文字漢語日本語한국어"  # CJK, Hangul
    "🙂😀👍🏽🇫🇷✨"  # emoji incl. modifier and flags
    "\u0301\u0308\u0327"  # combining marks
    "‘’“”«»–—…·•"  # typography
    "\u00a0\u0085\u2003\u3000\u200b\t\n\r\x0b\x0c\x1c\x1f"  # exotic spaces
    "²³¹¼½ªº٣४๓Ⅳⅻ①"  # numbers that are alnum or not
    "ǅǄǆᾈᾀ"  # titlecase
    "\ufeff\u00ad\u200d"  # format characters
)
ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
WORDS = " ".join(corpus).split()


def rand_word(alpha="abcdefghijklmnopqrstuvwxyz", lo=1, hi=9):
    return "".join(rng.choice(alpha) for _ in range(rng.randint(lo, hi)))


def mutate(s):
    ops = rng.randint(1, 4)
    s = list(s)
    for _ in range(ops):
        op = rng.randrange(9)
        if not s:
            s = list(rand_word())
        i = rng.randrange(len(s))
        if op == 0:
            del s[i]
        elif op == 1:
            s.insert(i, rng.choice(SPECIAL))
        elif op == 2:
            s.insert(i, rng.choice(ASCII_PUNCT) * rng.randint(1, 5))
        elif op == 3:
            s[i] = s[i].upper() if rng.random() < 0.5 else s[i].lower()
        elif op == 4:
            j = rng.randrange(len(s))
            s[i], s[j] = s[j], s[i]
        elif op == 5:
            s.insert(i, " " * rng.randint(1, 4))
        elif op == 6:
            s = list("".join(s).swapcase())
        elif op == 7:
            s.insert(i, rng.choice(WORDS) + " ")
        else:
            s[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(s)


def shuffle_words(s):
    w = s.split()
    rng.shuffle(w)
    if w and rng.random() < 0.5:
        w.append(rng.choice(w))  # duplicate word
    return " ".join(w)


def sentence():
    return rng.choice(corpus)


def long_text(n):
    out = []
    while sum(len(x) for x in out) < n:
        out.append(sentence())
    return " ".join(out)[:n]


def special_text(n):
    pool = SPECIAL + ASCII_PUNCT + "abcdefghij ABCDEFG 0123456789   "
    return "".join(rng.choice(pool) for _ in range(n))


def exact_len(n, alpha="abcdefgh"):
    return "".join(rng.choice(alpha) for _ in range(n))


def pair(kind):
    if kind == "sentence_mutated":
        s = sentence()
        return mutate(s), s
    if kind == "sentence_shuffled":
        s = sentence()
        return shuffle_words(s), s
    if kind == "unrelated":
        return sentence(), sentence()
    if kind == "special":
        return special_text(rng.randint(0, 40)), special_text(rng.randint(0, 40))
    if kind == "special_mutated":
        s = special_text(rng.randint(1, 60))
        return mutate(s), s
    if kind == "case_punct":
        s = sentence()
        t = "".join(c.upper() if rng.random() < 0.3 else c for c in s)
        t = t.replace(" ", rng.choice([" ", "  ", "...", " -- ", "\u00a0", "_"]))
        return t, s
    if kind == "substring":
        s = long_text(rng.randint(30, 600))
        i = rng.randrange(len(s))
        j = rng.randint(i, min(len(s), i + rng.randint(1, 200)))
        sub = s[i:j]
        if rng.random() < 0.5:
            sub = mutate(sub)
        return (sub, s) if rng.random() < 0.5 else (s, sub)
    if kind == "ratio_1_5":
        m = rng.randint(2, 80)
        n = (3 * m) // 2 + rng.choice([-1, 0, 0, 1])
        if rng.random() < 0.5:
            m -= m % 2
            n = 3 * m // 2
        return exact_len(max(m, 1)), exact_len(max(n, 1))
    if kind == "ratio_8":
        m = rng.randint(1, 40)
        n = 8 * m + rng.choice([-1, 0, 0, 1])
        a = exact_len(m, "abc")
        b = exact_len(n, "abcd")
        if rng.random() < 0.5:
            k = rng.randrange(max(1, n - m))
            b = b[:k] + a + b[k + m:]
        return a, b
    if kind == "needle_64":
        m = rng.choice([63, 64, 65, 127, 128, 129]) + rng.randint(-2, 2)
        n = m * rng.choice([2, 3, 5]) + rng.randint(0, 20)
        text = long_text(n + m)
        i = rng.randrange(n - m)
        needle = mutate(text[i:i + m])
        return needle, text[:n]
    if kind == "long":
        a = long_text(rng.randint(500, 3000))
        b = mutate(a) if rng.random() < 0.5 else long_text(rng.randint(500, 3000))
        return a, b
    if kind == "long_partial":
        b = long_text(rng.randint(1000, 3000))
        m = rng.randint(len(b) // 7, len(b) // 2)
        i = rng.randrange(len(b) - m)
        return mutate(b[i:i + m]), b
    if kind == "small_alphabet":
        m = rng.randint(1, 40)
        n = rng.randint(m, 160)
        return exact_len(m, "ab "), exact_len(n, "ab ")
    if kind == "tokens":
        ws = [rand_word("abc", 1, 3) for _ in range(rng.randint(1, 8))]
        vs = [rand_word("abc", 1, 3) for _ in range(rng.randint(1, 8))]
        return " ".join(ws), " ".join(vs)
    if kind == "equal_len":
        n = rng.randint(1, 70)
        return exact_len(n, "abcde "), exact_len(n, "abcde ")
    if kind == "whitespace":
        spaces = " \t\n\u00a0\u0085\u2003\u3000\x1c"
        return "".join(rng.choice(spaces + "ab") for _ in range(rng.randint(0, 12))), \
            "".join(rng.choice(spaces + "ab") for _ in range(rng.randint(0, 12)))
    raise ValueError(kind)


KINDS = {
    "sentence_mutated": 600, "sentence_shuffled": 250, "unrelated": 150, "special": 300,
    "special_mutated": 300, "case_punct": 200, "substring": 400, "ratio_1_5": 250,
    "ratio_8": 250, "needle_64": 200, "long": 60, "long_partial": 60, "small_alphabet": 400,
    "tokens": 300, "equal_len": 250, "whitespace": 150,
}
FIXED = [
    ("", ""), ("a", ""), ("", "a"), ("!!!", "..."), ("   ", "   "), ("Cat", "cat"),
    ("a", "aaaaaaaa"), ("ab", "xxxxxxxxxxxxxxab"), ("abc", "abcabc"), ("İstanbul", "istanbul"),
    ("\u212a", "k"), ("straße", "STRASSE"), ("école primaire", "e\u0301cole primaire"),
    ("🙂", "🙂"), ("a\u00a0b", "b a"), ("a\u0085b", "b a\u0100"), ("new york mets", "new YORK mets!!"),
]
SCORERS = ["ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio", "token_ratio",
           "partial_token_sort_ratio", "partial_token_set_ratio", "partial_token_ratio", "WRatio"]


def scores(a, b):
    out = {"fuzzy_match": fuzz.WRatio(a, b, processor=utils.default_process)}
    for name in SCORERS:
        out[name.lower() if name == "WRatio" else name] = getattr(fuzz, name)(a, b)
    return out


def main():
    rows = []
    for a, b in FIXED:
        rows.append(("fixed", a, b))
    for kind, count in KINDS.items():
        for _ in range(count):
            a, b = pair(kind)
            if rng.random() < 0.5:
                a, b = b, a
            rows.append((kind, a, b))
    with OUT.open("w", encoding="utf-8") as f:
        for i, (kind, a, b) in enumerate(rows):
            rec = {"id": f"rf-{i:05d}", "kind": kind, "input": a, "reference": b, "scores": scores(a, b)}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} pairs to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
