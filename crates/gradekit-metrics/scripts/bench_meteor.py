"""Times NLTK 3.9.1's METEOR on the benchmark pairs, for comparison with
`cargo run --release -p gradekit-metrics --example meteor_speed`.

Workload: the first N pairs (default 2,000) of ../shared/bench/pairs-10k.jsonl
(or --pairs PATH); input = model_sample, reference = item.reference.
Rows (one process, one pair per call, best and median of --repeat, process CPU time):

  strings   refmetrics.meteor_nltk(input, reference)  (nltk_tokenize + meteor_score)
  tokens    meteor_score([ref_tokens], hyp_tokens, alpha=0.9, beta=3.0, gamma=0.5)
            on tokens prepared beforehand (the metric alone)

Run from the project root:

    .venv-ref/bin/python crates/gradekit-metrics/scripts/bench_meteor.py --n 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REF_DIR = os.environ.get("REFERENCE_DIR", os.path.join(os.path.dirname(ROOT), "shared", "reference"))
sys.path.insert(0, REF_DIR)
import refmetrics as R  # noqa: E402
from nltk.translate.meteor_score import meteor_score  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=os.path.join(os.path.dirname(ROOT), "shared", "bench", "pairs-10k.jsonl"))
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    pairs = []
    with open(a.pairs, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            pairs.append((d["model_sample"], d["item"]["reference"]))
            if len(pairs) >= a.n:
                break
    toks = [(R.nltk_tokenize(i), R.nltk_tokenize(r)) for i, r in pairs]
    meteor_score([["warm"]], ["up"])  # load WordNet outside the timing

    def strings():
        return sum(R.meteor_nltk(i, r) for i, r in pairs)

    def tokens():
        return sum(meteor_score([r], h, alpha=0.9, beta=3.0, gamma=0.5) for h, r in toks)

    for name, fn in [("strings", strings), ("tokens", tokens)]:
        times, total = [], None
        for _ in range(a.repeat):
            c0 = time.process_time()
            total = fn()
            times.append(time.process_time() - c0)
        best, median = min(times), statistics.median(times)
        print(f"nltk meteor {name:8} {len(pairs)} pairs: {best / len(pairs) * 1e6:9.1f} us/pair "
              f"(cpu, best of {a.repeat}), median {median / len(pairs) * 1e6:9.1f}; "
              f"score sum {total:.12f}")


if __name__ == "__main__":
    main()
