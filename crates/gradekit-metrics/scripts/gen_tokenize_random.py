#!/usr/bin/env python3
"""Write adversarial tokenizer test cases with NLTK 3.9.1's expected tokens.

    /work/main/.venv-ref/bin/python crates/gradekit-metrics/scripts/gen_tokenize_random.py

Output: fixtures/vectors/tokenize_random.jsonl (repository root), one JSON object per line,
`{"text": ..., "tokens": [...]}`, where tokens = azure-ai-evaluation's `nltk_tokenize`
(NLTK `word_tokenize` if `text.isascii()` else `NISTTokenizer().international_tokenize`),
computed by the shared reference (`../shared/reference/refmetrics.py`).  Deterministic:
fixed seed, no dependence on hash order.  Read by tests/tokenize_random.rs.

The strings mix the things that stress Punkt and the Treebank/NIST regexes: known
abbreviations and initials, sentence starters, ordinals and numbers, ellipses in all
spellings, every kind of quote and bracket, clitics and MacIntyre contractions, URLs and
e-mail addresses, Python-only whitespace (U+001C..U+001F, \\v, \\f), newlines and blank
lines, XML entities and `<skipped>`, accents, combining marks, CJK, emoji, and raw
random characters.
"""

from __future__ import annotations

import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
REF = os.path.normpath(os.path.join(ROOT, "..", "shared", "reference"))
sys.path.insert(0, os.environ.get("GRADEKIT_REFERENCE", REF))

import refdata  # noqa: E402

refdata.ensure_data()

import nltk  # noqa: E402
import refmetrics  # noqa: E402
from nltk.tokenize.punkt import PunktTokenizer  # noqa: E402

assert nltk.__version__ == "3.9.1", nltk.__version__

SEED = 20261125
N_CASES = 6000
OUT = os.path.join(ROOT, "fixtures", "vectors", "tokenize_random.jsonl")

_params = PunktTokenizer("english")._params
ABBREVS = sorted(_params.abbrev_types)
STARTERS = sorted(_params.sent_starters)
COLLOC = sorted(_params.collocations)
ORTHO = sorted(_params.ortho_context)

WORDS = ("the cat sat on mat and a dog ran to house it was very good I we you they he she "
         "said that this is not what but Smith John London Washington York New States "
         "model answer question result data value test run time year people").split()
ABBR_SURFACE = ["Dr.", "Mr.", "Mrs.", "Ms.", "U.S.", "U.K.", "p.m.", "a.m.", "e.g.", "i.e.",
                "etc.", "vs.", "Inc.", "Corp.", "Jan.", "Feb.", "St.", "Co.", "Ltd.", "No.",
                "Gen.", "Sen.", "Jr.", "Sr.", "Prof.", "Mt.", "ft.", "approx.", "U.N.", "D.C."]
NUMBERS = ["3.14", "1,000", "-5", ".5", "1.", "2nd", "10", "0.5%", "$3.88", "3,36", "1-2",
           "12:30", "1.000.000", "-1.5", ",5", "7.", "1990s", "42", "3-4", "2,"]
PUNCT = [".", ",", ";", ":", "!", "?", "...", "..", ". . .", ".. .", "--", "-", "---", "'", '"',
         "`", "``", "''", "(", ")", "[", "]", "{", "}", "<", ">", "*", "@", "#", "$", "%", "&",
         "/", "\\", "|", "~", "^", "=", "+", "_", "!!", "?!", "!?", "....", ",,", "::", ".'",
         '."', ".)", "?)", "!\"", "'.", "\".", ").", "''.", ".''", "'s", "'", "'S", "n't"]
CONTRACTIONS = ["don't", "can't", "won't", "I'm", "you're", "we've", "they'll", "he'd", "it's",
                "It's", "cannot", "Cannot", "gonna", "gotta", "wanna", "gimme", "lemme", "d'ye",
                "more'n", "'tis", "'Twas", "whaddya", "whatcha", "y'all", "o'clock", "rock'n'roll",
                "DON'T", "CAN'T", "I'LL", "YOU'RE", "WE'VE", "she's", "John's", "dogs'", "'em",
                "'cause", "'hello'", "'a", "'x'", "'re", "'ll", "'t", "'d", "n'T", "N'T", "wannabe"]
QUOTED = ['"hello"', "'hi'", "`x`", "``y''", '"A', 'B"', "('quoted')", '["x"]', "{'k': 1}",
          '<"a">', "\"'nested'\"", "''double''", '"', '" ', ' "']
URLS = ["http://example.com/a?b=c&d=e", "https://www.nltk.org/", "www.example.co.uk",
        "a.b@c.com", "user@example.org", "file.txt", "v1.2.3", "node.js", "e.g.,", "i.e.:",
        "C++", "C#", "#hashtag", "@user", "50%", "A&B", "x<y", "a->b", "--flag", "~/.bashrc"]
WS = [" ", " ", " ", " ", "  ", "\n", "\n\n", "\t", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d",
      "\x1e", "\x1f", " \n ", "\n \n", ""]
NON_ASCII = ["café", "naïve", "“quoted”", "‘single’", "don’t", "it’s", "—", "–", "…", "«", "»",
             "„", "東京は日本の首都です。", "東京、大阪。", "日本語", "🍕", "🍕🍕", "🙂", "👍🏽",
             "e\u0301", "n\u0303o", "\u00a0", "\u2028", "\u3000", "\u2009", "\u200b", "½", "²",
             "€", "£5", "¥", "☃", "™", "©", "°C", "×", "÷", "±", "→", "∑", "Привет", "мир.",
             "Ελληνικά", "مرحبا", "עברית", "हिन्दी", "한국어", "ä", "Ö", "ß", "ﬁ", "Ⅻ", "①",
             "٣", "१२", "¿Qué?", "¡Hola!", "§", "¶", "•", "′", "″", "‰", "\u0085", "\ufeff",
             "\U0001d400", "\U00010400", "ǅ", "İstanbul", "K", "µ"]
ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#124;", "&#91;", "&#93;",
            "&amp;lt;", "&&lt;", "<skipped>", "<skip<skipped>ped>", "&", "&#x41;"]


def cap(w: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return w[:1].upper() + w[1:]
    if r < 0.6:
        return w.upper()
    return w


def ortho_word(rng: random.Random) -> str:
    w = rng.choice(ORTHO)
    if w.startswith("##number##"):
        w = rng.choice(NUMBERS)
    return cap(w, rng)


def fragment(rng: random.Random, non_ascii: bool) -> str:
    r = rng.random()
    if r < 0.22:
        return cap(rng.choice(WORDS), rng) if rng.random() < 0.3 else rng.choice(WORDS)
    if r < 0.32:
        return ortho_word(rng)
    if r < 0.42:
        a = rng.choice(ABBR_SURFACE) if rng.random() < 0.6 else rng.choice(ABBREVS) + "."
        return cap(a, rng) if rng.random() < 0.3 else a
    if r < 0.47:
        return rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz_") + "."  # initials
    if r < 0.52:
        a, b = rng.choice(COLLOC)
        a = rng.choice(NUMBERS) if a == "##number##" else a
        return f"{cap(a, rng)}. {cap(b, rng)}"
    if r < 0.57:
        return cap(rng.choice(STARTERS), rng)
    if r < 0.64:
        return rng.choice(NUMBERS)
    if r < 0.76:
        return rng.choice(PUNCT)
    if r < 0.84:
        return rng.choice(CONTRACTIONS)
    if r < 0.89:
        return rng.choice(QUOTED)
    if r < 0.93:
        return rng.choice(URLS)
    if non_ascii and r < 0.98:
        return rng.choice(NON_ASCII)
    if non_ascii:
        return rng.choice(ENTITIES)
    return rng.choice(WORDS) + rng.choice(PUNCT)


def soup(rng: random.Random, non_ascii: bool, n: int) -> str:
    parts = []
    for _ in range(n):
        parts.append(fragment(rng, non_ascii))
        parts.append(rng.choice(WS) if rng.random() < 0.35 else " ")
    return "".join(parts)


def sentences(rng: random.Random, non_ascii: bool) -> str:
    out = []
    for _ in range(rng.randint(1, 6)):
        n = rng.randint(1, 12)
        words = [fragment(rng, non_ascii) if rng.random() < 0.45 else rng.choice(WORDS)
                 for _ in range(n)]
        words[0] = cap(words[0], rng)
        end = rng.choice([".", ".", ".", "?", "!", "...", ".\"", ".'", ".)", "!!", "?\"", ". . .", ""])
        lead = rng.choice(["", "", "", "\"", "(", "'", "``", "[", "* "])
        out.append(lead + " ".join(words) + end)
    seps = [" ", " ", "  ", "\n", "\n\n", "\t", " \n"]
    return "".join(s + rng.choice(seps) for s in out).rstrip(" ") if rng.random() < 0.5 else \
        rng.choice(seps).join(out)


ASCII_CHARS = [chr(c) for c in range(32, 127)] + ["\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x00", "\x07"]
SPECIAL = ".,;:!?'\"`()[]{}<>-*@#$%&"


def char_soup(rng: random.Random, non_ascii: bool) -> str:
    n = rng.randint(1, 24)
    pool = ASCII_CHARS
    out = []
    for _ in range(n):
        r = rng.random()
        if non_ascii and r < 0.25:
            out.append(rng.choice(NON_ASCII))
        elif r < 0.55:
            out.append(rng.choice(SPECIAL))
        elif r < 0.7:
            out.append(rng.choice("aAsStTdDmMnNlLrReEvV "))
        else:
            out.append(rng.choice(pool))
    return "".join(out)


def unicode_soup(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(1, 16)):
        r = rng.random()
        if r < 0.5:
            cp = rng.randint(0x80, 0x2FFF) if rng.random() < 0.7 else rng.randint(0x3000, 0x10FFFF)
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0xE000
            out.append(chr(cp))
        elif r < 0.8:
            out.append(rng.choice(ASCII_CHARS))
        else:
            out.append(rng.choice(SPECIAL))
    return "".join(out)


ATOMS = ["a", "A", "Dr", "dr", "J", "j", "U.S", "3", "12", "_", ".", ".", ".", "!", "?", " ", " ",
         " ", "\n", "\n\n", "\x1c", "\t", "\r", "\x0b", '"', "'", "''", "``", "`", ")", "(", "]",
         "}", "--", "-", "..", "...", ",", ":", ";", "However", "The", "the", "can", "not", "t",
         "is", "s", "re", "ll", "n't", "gon", "na", "d'ye", "More'n", "wan", "&", "*", "@", "<", ">",
         "1.", "No", "no", "St", "p.m", "Mr", "I", "x", "tis", "N'T", "'S", "e.g"]


def atoms(rng: random.Random, non_ascii: bool) -> str:
    out = [rng.choice(ATOMS) for _ in range(rng.randint(1, 20))]
    if non_ascii:
        out.insert(rng.randrange(len(out) + 1), rng.choice(NON_ASCII + ENTITIES))
    return "".join(out)


def make_case(rng: random.Random, i: int) -> str:
    kind = i % 12
    non_ascii = rng.random() < 0.3
    if kind >= 10:
        return atoms(rng, non_ascii)
    if kind in (0, 1, 2):
        return soup(rng, non_ascii, rng.randint(1, 25))
    if kind in (3, 4, 5):
        return sentences(rng, non_ascii)
    if kind in (6, 7):
        return char_soup(rng, non_ascii)
    if kind == 8:
        return unicode_soup(rng)
    # long multi-paragraph text
    return "\n\n".join(sentences(rng, non_ascii) for _ in range(rng.randint(2, 5)))


def main() -> None:
    # Optional: --seed S --n N --out PATH, for large uncommitted runs
    # (tests/tokenize_random.rs reads TOKENIZE_RANDOM_FILE instead of the fixture).
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    seed = int(args.get("--seed", SEED))
    n_cases = int(args.get("--n", N_CASES))
    out = args.get("--out", OUT)
    rng = random.Random(seed)
    seen = set()
    rows = []
    i = 0
    while len(rows) < n_cases:
        text = make_case(rng, i)
        i += 1
        if text in seen:
            continue
        seen.add(text)
        rows.append({"text": text, "tokens": refmetrics.nltk_tokenize(text)})
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    n_ascii = sum(r["text"].isascii() for r in rows)
    print(f"{out}: {len(rows)} cases ({n_ascii} ASCII), {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
