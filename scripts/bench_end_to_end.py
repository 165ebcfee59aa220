"""Issue #17's targets in one run: `gradekit score --threads 1` against the Python references,
side by side, and each metric's in-process cost against the cost of tokenizing its two texts.

For each metric: the Python reference loops over pre-read (input, reference) strings of the
first --pairs benchmark pairs, one call per pair (the NLTK metrics through azure-ai-evaluation's
tokenizer as in ../shared/reference/refmetrics.py; rouge_l through rouge-score and
rouge-score-rs; fuzzy_match through rapidfuzz WRatio with default_process). Then
`gradekit score --threads 1` grades a JSONL file of the same pairs repeated --gk-repeat times
(2,000 distinct pairs per period: the per-thread text cache never hits across repeats), end to
end: process start, data parse, read, grade, write rows to a file. A second section does the
same over one pass of --one-pass distinct pairs (default 10,000, the whole bench file, each
read once: process start and first-use costs are not amortised over repeats). Rounds alternate the two
sides; reported are medians of pairs/s by wall time and by CPU time (user+sys of the process;
on a shared machine CPU time is the steadier figure) and the ratios of the medians.

Run from the repository root after `cargo build --release --bin gradekit`:

    .venv-ref/bin/python scripts/bench_end_to_end.py --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REF_DIR = os.environ.get(
    "REFMETRICS_DIR", os.path.abspath(os.path.join(ROOT, "..", "shared", "reference"))
)
sys.path.insert(0, REF_DIR)
import refmetrics as R  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402
import rouge_score_rs  # noqa: E402
from rapidfuzz import fuzz, utils  # noqa: E402

METRICS = ["bleu", "gleu", "meteor", "rouge_l", "fuzzy_match"]

# (metric, reference) -> smallest ratio of gradekit's pairs/s to the reference's (issue #17).
TARGETS = {
    ("bleu", "nltk"): 100.0,
    ("gleu", "nltk"): 100.0,
    ("meteor", "nltk"): 100.0,
    ("rouge_l", "rouge-score"): 150.0,
    ("rouge_l", "rouge-score-rs"): 3.0,
    ("fuzzy_match", "rapidfuzz"): 1.5,
}
# In-process metric cost over the cost of tokenizing its two texts: at most this.
COST_TARGET = 2.0


def references(metric):
    """(name, per-pair function) of the Python side(s) of a metric."""
    if metric == "bleu":
        return [("nltk", R.bleu_nltk_method4)]
    if metric == "gleu":
        return [("nltk", R.gleu_nltk)]
    if metric == "meteor":
        return [("nltk", R.meteor_nltk)]
    if metric == "rouge_l":
        rs = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
        rsr = rouge_score_rs.RougeScorer(["rougeL"], use_stemmer=False)
        return [
            ("rouge-score", lambda i, r: rs.score(r, i)["rougeL"].fmeasure),
            ("rouge-score-rs", lambda i, r: rsr.score(r, i)["rougeL"].fmeasure),
        ]
    if metric == "fuzzy_match":
        return [
            ("rapidfuzz", lambda i, r: fuzz.WRatio(i, r, processor=utils.default_process) / 100)
        ]
    raise ValueError(metric)


def time_python(fn, pairs, min_seconds=0.5):
    """Pairs/s (wall, CPU) of `fn` looped over `pairs`; fast references (rapidfuzz,
    rouge-score-rs: a pass takes milliseconds) loop over the pairs again until the sample
    spans `min_seconds`, so a timer tick or one preemption does not decide the figure."""
    w0, c0 = time.perf_counter(), time.process_time()
    done = 0
    while True:
        for i, r in pairs:
            fn(i, r)
        done += len(pairs)
        if time.perf_counter() - w0 >= min_seconds:
            break
    return done / (time.perf_counter() - w0), done / (time.process_time() - c0)


def time_gradekit(binary, grader, data, lines, out):
    if os.path.exists(out):
        os.unlink(out)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    subprocess.run(
        [binary, "score", "-q", "--threads", "1", "-g", grader, data, "-o", out],
        check=True,
    )
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return lines / wall, lines / cpu


def write_graders(tmp, metrics):
    """The text_similarity grader of each metric, as files in `tmp`."""
    paths = {}
    for metric in metrics:
        paths[metric] = os.path.join(tmp, f"{metric}.json")
        with open(paths[metric], "w") as f:
            json.dump(
                {
                    "type": "text_similarity",
                    "name": metric,
                    "input": "{{sample.output_text}}",
                    "reference": "{{item.reference}}",
                    "evaluation_metric": metric,
                },
                f,
            )
    return paths


def end_to_end(a, tmp, graders, bench_lines, n_pairs, repeat, label):
    """Rounds of gradekit over the first `n_pairs` bench lines repeated `repeat` times against
    the Python references over the same pairs; prints a row per (metric, reference) and
    returns (results, verdicts)."""
    lines = bench_lines[:n_pairs]
    pairs = [(d["model_sample"], d["item"]["reference"]) for d in map(json.loads, lines)]
    data = os.path.join(tmp, f"pairs-{n_pairs}x{repeat}.jsonl")
    with open(data, "w", encoding="utf-8") as f:
        f.write("".join(lines) * repeat)
    n_lines = len(lines) * repeat
    out = os.path.join(tmp, "out.jsonl")
    print(f"== {label}: {len(lines):,} distinct pairs x {repeat} = {n_lines:,} lines", flush=True)
    results, verdicts = {}, []
    for metric, grader in graders.items():
        refs = references(metric)
        rows = {"gradekit": []} | {name: [] for name, _ in refs}
        for _ in range(a.rounds):
            rows["gradekit"].append(time_gradekit(a.binary, grader, data, n_lines, out))
            for name, fn in refs:
                rows[name].append(time_python(fn, pairs))
        med = {
            k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
            for k, v in rows.items()
        }
        results[metric] = {"rounds": rows, "median": med}
        gk = med["gradekit"]
        for name, _ in refs:
            ref = med[name]
            wall, cpu = gk[0] / ref[0], gk[1] / ref[1]
            target = TARGETS[(metric, name)]
            verdict = "PASS" if wall >= target else "FAIL"
            verdicts.append(verdict)
            results[metric].setdefault("ratios", {})[name] = {"wall": wall, "cpu": cpu}
            print(
                f"{metric:12} gradekit {gk[0]:>10,.0f} pairs/s wall {gk[1]:>10,.0f} cpu | "
                f"{name:15} {ref[0]:>9,.0f} wall {ref[1]:>9,.0f} cpu | "
                f"ratio wall {wall:6.1f}x cpu {cpu:6.1f}x | target >= {target:g}x {verdict}",
                flush=True,
            )
    os.unlink(data)
    return results, verdicts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--gk-repeat", type=int, default=50)
    ap.add_argument(
        "--one-pass",
        default="10000,2000",
        help="also time one pass over this many distinct pairs, a comma-separated list (gradekit "
        "reads each once: process start and first-use costs are not amortised; 2,000 is the "
        "issue's own run); 0 to skip",
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--metrics", default=",".join(METRICS))
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "gradekit"))
    ap.add_argument(
        "--speed",
        default=os.path.join(ROOT, "target", "release", "examples", "metrics_speed"),
        help="the metrics_speed example (in-process costs); 'none' to skip",
    )
    ap.add_argument("--bench", default=os.path.join(ROOT, "fixtures", "bench", "pairs-10k.jsonl"))
    ap.add_argument("--json", default=None)
    a = ap.parse_args()

    with open(a.bench, encoding="utf-8") as f:
        bench_lines = f.readlines()
    try:
        one_passes = [int(n) for n in str(a.one_pass).split(",") if int(n) > 0]
    except ValueError:
        sys.exit(f"--one-pass: expected comma-separated pair counts, got {a.one_pass!r}")
    for n in [a.pairs, *one_passes]:
        if n > len(bench_lines):
            sys.exit(f"{a.bench} has {len(bench_lines)} pairs, fewer than {n}")
    tmp = tempfile.mkdtemp(prefix="gk-e2e-")
    R.nltk_tokenize("warm up. The data.")
    R.meteor_nltk("warm up", "warm up")

    for path, build in [
        (a.binary, "cargo build --release --bin gradekit"),
        (a.speed, "cargo build --release -p gradekit-metrics --example metrics_speed"),
    ]:
        if path != "none" and not os.path.exists(path):
            sys.exit(f"{path} is missing: run `{build}` first")
    graders = write_graders(tmp, a.metrics.split(","))
    results, verdicts = end_to_end(
        a, tmp, graders, bench_lines, a.pairs, a.gk_repeat, "repeated pairs"
    )
    for n in one_passes:
        one, one_verdicts = end_to_end(
            a, tmp, graders, bench_lines, n, 1, "one pass over distinct pairs"
        )
        results["one_pass" if n == one_passes[0] else f"one_pass_{n}"] = one
        verdicts += one_verdicts
    if a.speed != "none":
        print("in-process cost (thread CPU, µs per pair) against tokenizing the two texts:")
        out = subprocess.run(
            [a.speed, a.bench, str(a.pairs), "5", a.metrics],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for line in out.splitlines():
            f = line.split()
            if not f or f[0] != "cost":
                continue
            metric, metric_us, tok_us = f[1], float(f[3]), float(f[5])
            ratio = metric_us / tok_us
            verdict = "PASS" if ratio <= COST_TARGET else "FAIL"
            verdicts.append(verdict)
            results.setdefault(metric, {})["cost"] = {"metric_us": metric_us, "tokenize_us": tok_us}
            print(
                f"{metric:12} metric {metric_us:6.2f} µs | tokenize {tok_us:6.2f} µs | "
                f"ratio {ratio:5.2f}x | target <= {COST_TARGET:g}x {verdict}",
                flush=True,
            )
    print(f"targets: {verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL")
    print(f"load: {os.getloadavg()}")
    shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
