"""Per-line cost of `gradekit score --threads 1` (issue #17 item 3): lines/s by wall time and CPU
µs per line (user+sys of the whole process: reader, grading and writer threads) for a
string_check grader (almost pure pipeline overhead: the check is ~50 ns) and rouge_l, over the
2,000 bench pairs repeated 50× (100,000 lines of ~530 bytes; rows ~1.1 KB), written to a file.

With `--baseline OTHER_BINARY` both binaries run alternately, round by round, on the same file
and the ratios of the medians are printed (on a shared machine, compare ratios, not figures).

Run from the repository root after `cargo build --release --bin gradekit`:

    python3 scripts/bench_score_lines.py [--rounds 7] [--baseline /path/to/old/gradekit]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GRADERS = {
    "string_check": {
        "type": "string_check",
        "name": "sc",
        "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}",
        "operation": "eq",
    },
    "rouge_l": {
        "type": "text_similarity",
        "name": "rouge_l",
        "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}",
        "evaluation_metric": "rouge_l",
    },
}


def run(binary, grader, data, out, lines):
    if os.path.exists(out):
        os.unlink(out)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    subprocess.run(
        [binary, "score", "-q", "--threads", "1", "-g", grader, data, "-o", out], check=True
    )
    wall = time.perf_counter() - w0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return lines / wall, cpu / lines * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "gradekit"))
    ap.add_argument("--baseline", default=None, help="another gradekit binary to compare")
    ap.add_argument("--bench", default=os.path.join(ROOT, "fixtures", "bench", "pairs-10k.jsonl"))
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    if not os.path.exists(a.binary):
        raise SystemExit(f"{a.binary} is missing: run `cargo build --release --bin gradekit`")
    with open(a.bench, encoding="utf-8") as f:
        head = [next(f) for _ in range(a.pairs)]
    tmp = tempfile.mkdtemp(prefix="gk-lines-")
    try:
        data = os.path.join(tmp, "lines.jsonl")
        with open(data, "w", encoding="utf-8") as f:
            f.write("".join(head) * a.repeat)
        n = a.pairs * a.repeat
        out = os.path.join(tmp, "out.jsonl")
        sides = [("new", a.binary)] + ([("baseline", a.baseline)] if a.baseline else [])
        for name, g in GRADERS.items():
            grader = os.path.join(tmp, f"{name}.json")
            with open(grader, "w") as f:
                json.dump(g, f)
            rows = {side: [] for side, _ in sides}
            for _ in range(a.rounds):
                for side, binary in sides:
                    rows[side].append(run(binary, grader, data, out, n))
            med = {
                s: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
                for s, v in rows.items()
            }
            for side, _ in sides:
                w, c = med[side]
                print(
                    f"{name:12} {side:8} {w:>10,.0f} lines/s wall ({1e6 / w:5.2f} µs/line) "
                    f"| CPU {c:5.2f} µs/line",
                    flush=True,
                )
            if a.baseline:
                (wn, cn), (wb, cb) = med["new"], med["baseline"]
                print(f"{name:12} new/baseline: wall speed {wn / wb:4.2f}x, CPU per line {cn / cb:4.2f}x")
        print(f"load: {os.getloadavg()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
