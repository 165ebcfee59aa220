"""Times the Python references of bleu, gleu and rouge_* on the benchmark
workload, for comparison with `cargo bench -p gradekit-metrics --bench metrics`.

Workload: fixtures/bench/pairs-10k.jsonl, one line per pair
`{"item": {"reference": …}, "model_sample": …}`; input = model_sample.
One process, one pair per call (as a grader calls it), single thread.
Each row is timed over the whole workload `--repeat` times; the median is
reported as µs/pair, both wall clock (perf_counter) and process CPU time
(process_time, closer to uncontended time on a shared machine).

Rows:
  nltk bleu        refmetrics.bleu_nltk_method4 (nltk_tokenize + sentence_bleu method4)
  nltk gleu        refmetrics.gleu_nltk (nltk_tokenize + sentence_gleu)
  rouge-score      RougeScorer([t], use_stemmer=False).score(reference, input)
  rouge-score-rs   same API from rouge_score_rs (Rust core), per pair; and
                   score_batch over the workload (RAYON_NUM_THREADS=1)

Run from the repository root:

    RAYON_NUM_THREADS=1 .venv-ref/bin/python crates/gradekit-metrics/scripts/bench_reference.py \
        --repeat 5 --json /tmp/bench_reference.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
REF_DIR = os.environ.get("REFMETRICS_DIR",
                         os.path.abspath(os.path.join(ROOT, "..", "shared", "reference")))
sys.path.insert(0, REF_DIR)
import refmetrics as R  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402
import rouge_score_rs  # noqa: E402


def load_pairs(path: str, limit: int) -> list[tuple[str, str]]:
    pairs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            pairs.append((d["model_sample"], d["item"]["reference"]))
            if len(pairs) >= limit:
                break
    return pairs


def time_row(fn, pairs, repeat):
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn(pairs)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    n = len(pairs)
    return statistics.median(walls) / n * 1e6, statistics.median(cpus) / n * 1e6


def per_pair(score):
    def run(pairs):
        for inp, ref in pairs:
            score(inp, ref)
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs-file", default=os.path.join(ROOT, "fixtures", "bench", "pairs-10k.jsonl"))
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated substrings of row names")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    pairs = load_pairs(args.pairs_file, args.pairs)

    rows = {
        "nltk bleu (method4, with nltk_tokenize)": per_pair(R.bleu_nltk_method4),
        "nltk gleu (with nltk_tokenize)": per_pair(R.gleu_nltk),
    }
    types = {"rouge_1": ["rouge1"], "rouge_2": ["rouge2"], "rouge_l": ["rougeL"],
             "rouge all six": ["rouge1", "rouge2", "rouge3", "rouge4", "rouge5", "rougeL"]}
    for name, ts in types.items():
        py = rouge_scorer.RougeScorer(ts, use_stemmer=False)
        rs = rouge_score_rs.RougeScorer(ts, use_stemmer=False)
        rows[f"rouge-score {name}"] = per_pair(lambda i, r, s=py: s.score(r, i))
        rows[f"rouge-score-rs {name}, per pair"] = per_pair(lambda i, r, s=rs: s.score(r, i))

        def batch(ps, s=rs):
            s.score_batch([r for _, r in ps], [i for i, _ in ps])
        rows[f"rouge-score-rs {name}, score_batch"] = batch

    only = [s for s in args.only.split(",") if s]
    results = {}
    print(f"{len(pairs)} pairs, median of {args.repeat} runs, "
          f"RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS')}")
    print(f"{'row':55s} {'wall µs/pair':>13s} {'cpu µs/pair':>12s}")
    for name, fn in rows.items():
        if only and not any(s in name for s in only):
            continue
        wall, cpu = time_row(fn, pairs, args.repeat)
        results[name] = {"wall_us_per_pair": wall, "cpu_us_per_pair": cpu}
        print(f"{name:55s} {wall:13.2f} {cpu:12.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pairs": len(pairs), "repeat": args.repeat, "versions": R.versions(),
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
