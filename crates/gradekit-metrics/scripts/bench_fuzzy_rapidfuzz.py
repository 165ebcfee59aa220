#!/usr/bin/env python3
"""Time rapidfuzz 3.10.1 `fuzz.WRatio(input, reference, processor=default_process)` (and
`fuzz.ratio`) on the same 10k pairs as `benches/fuzzy.rs`; one call per pair, best of N passes.

Usage: .venv-ref/bin/python crates/gradekit-metrics/scripts/bench_fuzzy_rapidfuzz.py \
           [fixtures/bench/pairs-10k.jsonl] [--repeat 5]
Prints wall and process-CPU µs/pair (CPU time is steadier on a shared machine).
"""
import argparse
import json
import time

import rapidfuzz
from rapidfuzz import fuzz, utils

ap = argparse.ArgumentParser()
ap.add_argument("pairs", nargs="?", default=str(__import__("pathlib").Path(__file__).resolve().parents[3] / "fixtures" / "bench" / "pairs-10k.jsonl"))
ap.add_argument("--repeat", type=int, default=5)
args = ap.parse_args()

pairs = []
with open(args.pairs, encoding="utf-8") as f:
    for line in f:
        v = json.loads(line)
        pairs.append((v["model_sample"], v["item"]["reference"]))


def run(fn):
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu


def wratio_dp():
    dp = utils.default_process
    for a, b in pairs:
        fuzz.WRatio(a, b, processor=dp)


def ratio_raw():
    for a, b in pairs:
        fuzz.ratio(a, b)


print(f"rapidfuzz {rapidfuzz.__version__}, {len(pairs)} pairs, best of {args.repeat}")
for name, fn in [("WRatio+default_process", wratio_dp), ("ratio (raw)", ratio_raw)]:
    wall, cpu = run(fn)
    n = len(pairs)
    print(f"{name:24s} wall {wall / n * 1e6:7.3f} us/pair ({n / wall:,.0f}/s)   "
          f"cpu {cpu / n * 1e6:7.3f} us/pair ({n / cpu:,.0f}/s)")
