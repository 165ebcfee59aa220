"""Rewards per second: `gradekit.Grader.rewards()` vs the per-sample Python loops users write
today (nltk, rouge-score, rapidfuzz), on ../shared/bench/pairs-10k.jsonl.

    .venv-py/bin/pip install nltk==3.9.1 rouge-score==0.1.2 rapidfuzz==3.10.1 sacrebleu==2.6.0
    .venv-py/bin/python crates/gradekit-py/bench/bench_rewards.py [--pairs FILE] [--metrics a,b] [--repeat N]

The Python side calls the *primary* variant of each metric from ../shared/reference/refmetrics.py
(nltk sentence_bleu method4 on word_tokenize tokens, rouge-score F-measure, rapidfuzz WRatio with
default_process, ...) in a plain loop, as a TRL reward function would; the gradekit side makes
one `rewards()` call on the whole list (threads=1 and one thread per core). Both sides are fed
the same strings; the largest |difference| between their rewards is printed as a sanity check.
Timings are the best of --repeat runs (wall clock, this process).
"""

import argparse
import json
import os
import pathlib
import sys
import time

import gradekit

HERE = pathlib.Path(__file__).resolve()
ROOT = HERE.parents[3]
SHARED = ROOT.parent / "shared"


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(SHARED / "bench" / "pairs-10k.jsonl"))
    ap.add_argument("--metrics", default="string_check,fuzzy_match,rouge_l,bleu,gleu,meteor")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python-repeat", type=int, default=1)
    args = ap.parse_args()

    rows = [json.loads(l) for l in open(args.pairs) if l.strip()]
    samples = [r["model_sample"] for r in rows]
    items = [r["item"] for r in rows]
    refs = [it["reference"] for it in items]
    n = len(rows)

    sys.path.insert(0, str(SHARED / "reference"))
    try:
        import refmetrics as R  # nltk / rouge-score / rapidfuzz, exactly as configured there
    except Exception as e:  # noqa: BLE001
        print("reference stack unavailable (%s); Python loops skipped" % e, file=sys.stderr)
        R = None

    cores = os.cpu_count() or 1
    print("gradekit %s, %d samples, %d cores, python %s" % (
        gradekit.__version__, n, cores, sys.version.split()[0]))
    print("| metric | Python loop (rewards/s) | gradekit 1 thread (rewards/s) | gradekit %d threads (rewards/s) | speed-up (1 thread) | max abs diff |" % cores)
    print("|---|---:|---:|---:|---:|---:|")
    for metric in args.metrics.split(","):
        if metric == "string_check":
            cfg = {"type": "string_check", "name": "sc", "input": "{{ sample.output_text }}",
                   "reference": "{{ item.reference }}", "operation": "eq"}
            py = lambda: [1.0 if s == r else 0.0 for s, r in zip(samples, refs)]  # noqa: E731
        else:
            cfg = {"type": "text_similarity", "name": metric, "input": "{{ sample.output_text }}",
                   "reference": "{{ item.reference }}", "evaluation_metric": metric}
            if R is None or metric not in R.VARIANTS:
                py = None
            else:
                f = R.VARIANTS[metric][0][1]
                py = lambda f=f: [f(s, r) for s, r in zip(samples, refs)]  # noqa: E731
        try:
            g1 = gradekit.Grader(cfg, threads=1)
            gn = gradekit.Grader(cfg, threads=cores)
        except gradekit.GraderError as e:
            print("| %s | | not in this engine build: %s | | | |" % (metric, e))
            continue
        g1.rewards(samples[:100], items[:100])  # warm-up (lazy tables)
        t1, r1 = best(lambda: g1.rewards(samples, items), args.repeat)
        tn, rn = best(lambda: gn.rewards(samples, items), args.repeat)
        assert r1 == rn
        if py is not None:
            tp, rp = best(py, args.python_repeat)
            diff = max(abs(a - b) for a, b in zip(r1, rp))
            print("| %s | %.0f | %.0f | %.0f | %.1f× | %.1e |" % (
                metric, n / tp, n / t1, n / tn, tp / t1, diff))
        else:
            print("| %s | | %.0f | %.0f | | |" % (metric, n / t1, n / tn))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
