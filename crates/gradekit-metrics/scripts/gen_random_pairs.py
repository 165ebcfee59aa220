"""Differential vectors for bleu, gleu and rouge_*: random and adversarial
(input, reference) pairs scored by the Python reference (primary variants of
shared/reference/refmetrics.py: NLTK 3.9.1 sentence_bleu method4 /
sentence_gleu on azure's nltk_tokenize, rouge-score 0.1.2 F-measure without
stemmer).

Writes fixtures/vectors/random_<metric>.jsonl for metric in bleu, gleu,
rouge_1..rouge_5, rouge_l. Each metric gets its own deterministic stream of
pairs (seed 20261125 + metric index), so the files together cover more ground
than one shared list. One JSON object per line:

    {"id", "kind", "input", "reference", "score"}

and for bleu/gleu also "input_tokens" / "reference_tokens": the reference
tokenizer's tokens joined by single spaces (tokens never contain whitespace),
so the metric arithmetic can be checked apart from tokenizer parity.

Text sources: the reference sentences of fixtures/bench/pairs-10k.jsonl and
the pairs of fixtures/vectors/dev_pairs.jsonl (both in the repo), perturbed
and mixed with hand-picked adversarial material: Unicode case corners
(U+0130, Kelvin sign, final sigma, ß, ligatures), combining marks, CJK,
Hangul, RTL scripts, emoji (ZWJ sequences, flags, skin tones), straight and
typographic quotes, punctuation runs, XML entities and NIST's <skipped>,
unusual whitespace, repeated words, empty/whitespace sides, long texts.

Run from the repository root:

    .venv-ref/bin/python crates/gradekit-metrics/scripts/gen_random_pairs.py

The reference code path is imported from ../shared/reference (override with
REFMETRICS_DIR). Pairs on which the reference raises are skipped and counted.
"""

from __future__ import annotations

import json
import os
import random
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REF_DIR = os.environ.get("REFMETRICS_DIR",
                         os.path.abspath(os.path.join(ROOT, "..", "shared", "reference")))
sys.path.insert(0, REF_DIR)
import refmetrics as R  # noqa: E402

OUT_DIR = os.path.join(ROOT, "fixtures", "vectors")
SEED = 20261125
METRICS = ["bleu", "gleu", "rouge_1", "rouge_2", "rouge_3", "rouge_4", "rouge_5", "rouge_l"]
PAIRS = {"bleu": 1800, "gleu": 1800}  # others: DEFAULT_PAIRS
DEFAULT_PAIRS = 3000
MAX_BYTES = 1_900_000


def load_sentences() -> list[str]:
    texts = []
    with open(os.path.join(ROOT, "fixtures", "bench", "pairs-10k.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 2000:
                break
            texts.append(json.loads(line)["item"]["reference"])
    with open(os.path.join(ROOT, "fixtures", "vectors", "dev_pairs.jsonl"), encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            texts += [d["input"], d["reference"]]
    return [t for t in texts if t.strip()]


ADVERSARIAL_WORDS = [
    # case corners of Python's str.lower and rapidfuzz-style processing
    "İstanbul", "KİM", "İ", "\u212aelvin", "\u212a", "\u212b", "ΣΊΣΥΦΟΣ", "straße", "STRASSE",
    "ﬁne", "ǅemal", "Ⅻ", "①②", "ＡＢＣ", "ｆｕｌｌ", "ı", "ǰ",
    # combining marks / normalisation
    "e\u0301cole", "école", "n\u0303", "a\u030a\u0301", "\u0301", "Z\u0351\u0352\u0353algo",
    # CJK, Hangul, Thai, RTL, Indic
    "東京は日本の首都です。", "東京、大阪。", "北京", "中文分词", "かな", "カタカナ", "한국어 문장",
    "ภาษาไทย", "مرحبا بالعالم", "שלום", "हिन्दी", "Привет, мир", "Ελληνικά",
    # emoji
    "🙂", "🍕🍕", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "☃", "❤️", "✔", "🤖!",
    # quotes and apostrophes
    "\"quoted\"", "'single'", "“curly”", "‘curly’", "don't", "don’t", "'tis", "''", "``",
    "«guillemets»", "„low“", "it's", "rock'n'roll", "O'Neil", "y'all'd've",
    # punctuation runs, symbols, numbers
    "!!!", "...", "?!?!", "—", "–", "--", "---", "…", "(", ")", "[x]", "{y}", "<tag>", "a/b",
    "$3.50", "€20", "£", "100%", "3.14", "1,000,000", "10:30", "U.S.", "e.g.", "Mr.", "p.m.",
    "#hashtag", "@user", "x@y.com", "http://ex.com/a?b=c", "C++", "a_b", "~", "^", "|", "=",
    "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "<skipped>", "&#39;", "\\", "`code`",
    # digits and mixed alnum
    "2nd", "A1", "x86_64", "0", "007", "١٢٣", "²",
]

WHITESPACE = [" ", " ", " ", " ", "  ", "\t", "\n", "\n\n", "\u00a0", "\u2028", "\u3000",
              "\u200b", " \u2009", "\r\n", "\x0b", "\x1c", "\u0085"]

CHAR_CLASSES = [
    "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ",
    "ÀÉÎÕÜŒŸ", "İıΣσςß\u212a\u212bǅ", "\u0300\u0301\u0302\u0303\u0308\u0327\u0307",
    "東京大阪日本語中文字", "、。「」・ー", "가나다라마", "ابتثجح", "αβγδεζ", "абвгд",
    "“”‘’«»„‹›", "–—…•·′″", "€£¥₹¢", "←→↑⇒∀∃∑√∞≠≤", "🙂🍕👍🏽🇫🇷❤️☃✔🤖",
    " \t\n\u00a0\u2028\u3000\u200b",
]


class Gen:
    def __init__(self, seed: int, sentences: list[str]):
        self.r = random.Random(seed)
        self.sentences = sentences
        words = []
        for s in sentences[:800]:
            words += s.split()
        self.words = words

    # ---------------------------------------------------------------- texts
    def sentence(self) -> str:
        return self.r.choice(self.sentences)

    def passage(self, lo: int, hi: int) -> str:
        want = self.r.randint(lo, hi)
        out = []
        while len(out) < want:
            out += self.sentence().split()
        return " ".join(out[:want])

    def word_soup(self, n: int) -> str:
        r = self.r
        parts = []
        for _ in range(n):
            x = r.random()
            if x < 0.55:
                w = r.choice(self.words)
            elif x < 0.85:
                w = r.choice(ADVERSARIAL_WORDS)
            else:
                w = self.random_chars(r.randint(1, 6))
            parts.append(w)
            parts.append(r.choice(WHITESPACE) if r.random() < 0.25 else " ")
        return "".join(parts).strip(" ") if r.random() < 0.8 else "".join(parts)

    def random_chars(self, n: int) -> str:
        r = self.r
        classes = r.sample(CHAR_CLASSES, r.randint(1, 3))
        return "".join(r.choice(r.choice(classes)) for _ in range(n))

    def repeated(self) -> str:
        r = self.r
        w = r.choice(["the", "a", "yes", "no", "The", "THE", "🙂", "東京", "...", "is", "cat"])
        k = r.randint(1, 60)
        sep = r.choice([" ", ", ", "\n", " the "])
        return sep.join([w] * k)

    def base_text(self) -> tuple[str, str]:
        r = self.r
        x = r.random()
        if x < 0.35:
            return "sentence", self.sentence()
        if x < 0.60:
            return "passage", self.passage(15, 50)
        if x < 0.625:
            return "long", self.passage(120, 350)
        if x < 0.84:
            return "soup", self.word_soup(r.randint(1, 40))
        if x < 0.92:
            return "chars", self.random_chars(r.randint(0, 80))
        return "repeated", self.repeated()

    # -------------------------------------------------------- perturbations
    def perturb(self, text: str) -> tuple[str, str]:
        r = self.r
        ops = []
        for _ in range(r.randint(1, 3)):
            op = r.choice(["drop", "swap", "dup", "case", "punct", "smart", "insert_adv",
                           "insert_word", "truncate", "ws", "combine", "repeat_word",
                           "lower", "upper", "emoji", "cjk", "entity"])
            ops.append(op)
            words = text.split(" ")
            if op == "drop" and len(words) > 1:
                for _ in range(r.randint(1, max(1, len(words) // 5))):
                    if len(words) > 1:
                        del words[r.randrange(len(words))]
                text = " ".join(words)
            elif op == "swap" and len(words) > 1:
                i = r.randrange(len(words) - 1)
                words[i], words[i + 1] = words[i + 1], words[i]
                text = " ".join(words)
            elif op == "dup" and words:
                i = r.randrange(len(words))
                words.insert(i, words[i])
                text = " ".join(words)
            elif op == "case" and words:
                i = r.randrange(len(words))
                words[i] = words[i].swapcase() if r.random() < 0.5 else words[i].capitalize()
                text = " ".join(words)
            elif op == "punct":
                table = {".": r.choice(["", "!", "...", " ."]), ",": r.choice(["", ";", " ,"]),
                         "'": r.choice(["’", "", "'"]), "\"": r.choice(["“", "''", ""])}
                text = "".join(table.get(c, c) if r.random() < 0.5 else c for c in text)
            elif op == "smart":
                text = (text.replace("'", "’").replace(" \"", " “").replace("\"", "”")
                        .replace("--", "—"))
            elif op == "insert_adv" and words is not None:
                words.insert(r.randint(0, len(words)), r.choice(ADVERSARIAL_WORDS))
                text = " ".join(words)
            elif op == "insert_word":
                words.insert(r.randint(0, len(words)), r.choice(self.words))
                text = " ".join(words)
            elif op == "truncate" and len(text) > 2:
                text = text[: r.randint(1, len(text) - 1)]
            elif op == "ws":
                text = "".join(r.choice(WHITESPACE) if c == " " and r.random() < 0.3 else c
                               for c in text)
            elif op == "combine":
                chars = list(text)
                for _ in range(r.randint(1, 3)):
                    chars.insert(r.randint(0, len(chars)), r.choice("\u0301\u0308\u0307\u0327"))
                text = "".join(chars)
            elif op == "repeat_word" and words:
                w = r.choice(words)
                words.insert(r.randint(0, len(words)), " ".join([w] * r.randint(2, 6)))
                text = " ".join(words)
            elif op == "lower":
                text = text.lower()
            elif op == "upper":
                text = text.upper()
            elif op == "emoji":
                words.insert(r.randint(0, len(words)), r.choice(["🙂", "👍🏽", "🍕", "🇫🇷", "☃"]))
                text = " ".join(words)
            elif op == "cjk":
                words.insert(r.randint(0, len(words)), r.choice(["東京", "日本語。", "한국어", "中文"]))
                text = " ".join(words)
            elif op == "entity":
                text = text.replace("&", "&amp;") + r.choice(["", " &lt;b&gt;", " <skipped>", " &quot;x&quot;"])
        return "+".join(ops), text

    def pair(self) -> tuple[str, str, str]:
        r = self.r
        kind, ref = self.base_text()
        x = r.random()
        if x < 0.06:
            return f"{kind}:identical", ref, ref
        if x < 0.10:
            return f"{kind}:edge", r.choice(["", " ", "\n", "...", "🙂", ref[:1]]), ref
        if x < 0.14:
            return f"{kind}:edge_ref", ref, r.choice(["", " ", "\t", "!!!", "東京"])
        if x < 0.24:
            k2, other = self.base_text()
            return f"{kind}|{k2}:unrelated", other, ref
        ops, inp = self.perturb(ref)
        if r.random() < 0.5:
            return f"{kind}:{ops}", inp, ref
        return f"{kind}:{ops}:swapped", ref, inp


def main() -> None:
    sentences = load_sentences()
    os.makedirs(OUT_DIR, exist_ok=True)
    for mi, metric in enumerate(METRICS):
        fn = R.VARIANTS[metric][0][1]
        assert R.VARIANTS[metric][0][0] == "primary"
        gen = Gen(SEED + mi, sentences)
        want = PAIRS.get(metric, DEFAULT_PAIRS)
        path = os.path.join(OUT_DIR, f"random_{metric}.jsonl")
        lines, errors, size = [], 0, 0
        while len(lines) < want:
            kind, inp, ref = gen.pair()
            try:
                score = fn(inp, ref)
                rec = {"id": f"{metric}-{len(lines):05d}", "kind": kind, "input": inp,
                       "reference": ref, "score": score}
                if metric in ("bleu", "gleu"):
                    rec["input_tokens"] = " ".join(R.nltk_tokenize(inp))
                    rec["reference_tokens"] = " ".join(R.nltk_tokenize(ref))
            except Exception:  # noqa: BLE001 - reference failures are skipped, counted
                errors += 1
                continue
            line = json.dumps(rec, ensure_ascii=False) + "\n"
            if size + len(line.encode("utf-8")) > MAX_BYTES:
                break
            size += len(line.encode("utf-8"))
            lines.append(line)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(lines)
        print(f"{path}: {len(lines)} pairs, {size} bytes, {errors} reference errors skipped")


if __name__ == "__main__":
    main()
