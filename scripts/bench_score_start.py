"""Start-up and warm-up of `gradekit score --threads 1` (issue #17, helper `warm5`): median wall
time, CPU (user+sys of the whole process, from `wait4`) and minor page faults of short runs,
where process start and the first thousands of lines are most of the run: an empty input, the
first 2,000 bench pairs and the 10,000 bench pairs (fixtures/bench/pairs-10k.jsonl) with the
cheap graders (rouge_l, fuzzy_match; they show the overhead best), each run writing a new
output file (removed, untimed, before each run, as `perf stat --pre "rm -f OUT"` does).

With `--baseline OTHER_BINARY` the two binaries run alternately, round by round, and the ratio
of the medians (new / baseline) is printed: on a shared machine compare ratios, not figures
(`chrt -f 10` in front keeps other work from deciding them).

Run from the repository root after `cargo build --release --bin gradekit`:

    python3 scripts/bench_score_start.py [--rounds 40] [--baseline /path/to/old/gradekit]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def grader(metric: str) -> dict:
    return {
        "type": "text_similarity",
        "name": metric,
        "input": "{{sample.output_text}}",
        "reference": "{{item.reference}}",
        "evaluation_metric": metric,
    }


def run(binary: str, g: str, inp: str, out: str, devnull: int) -> tuple[float, float, int]:
    """One run: wall ms, CPU ms, minor faults."""
    try:
        os.unlink(out)
    except FileNotFoundError:
        pass
    argv = [binary, "score", "-q", "--threads", "1", "-g", g, inp, "-o", out]
    t = time.perf_counter()
    pid = os.posix_spawn(binary, argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"{binary} exited with status {status} on {inp}")
    return wall * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_minflt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "gradekit"))
    ap.add_argument("--baseline", help="another gradekit binary, run alternately")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--bench", default=os.path.join(ROOT, "fixtures", "bench", "pairs-10k.jsonl"))
    a = ap.parse_args()
    bins = [("new", os.path.abspath(a.binary))]
    if a.baseline:
        bins.insert(0, ("baseline", os.path.abspath(a.baseline)))
    devnull = os.open(os.devnull, os.O_WRONLY)
    with tempfile.TemporaryDirectory() as d:
        lines = open(a.bench, "rb").read().splitlines(keepends=True)
        files = {"empty": b"", "2k": b"".join(lines[:2000]), "10k": b"".join(lines)}
        paths = {}
        for name, data in files.items():
            paths[name] = os.path.join(d, f"{name}.jsonl")
            open(paths[name], "wb").write(data)
        graders = {}
        for m in ("rouge_l", "fuzzy_match"):
            graders[m] = os.path.join(d, f"{m}.json")
            open(graders[m], "w").write(json.dumps(grader(m)))
        out = os.path.join(d, "out.jsonl")
        cases = [("rouge_l", "empty"), ("rouge_l", "2k"), ("fuzzy_match", "2k"),
                 ("rouge_l", "10k"), ("fuzzy_match", "10k")]
        print(f"{'case':20s} " + "  ".join(f"{n:>30s}" for n, _ in bins)
              + ("   new/baseline wall" if a.baseline else ""))
        for m, f in cases:
            rounds = a.rounds if f != "10k" else max(5, a.rounds // 2)
            got = {n: ([], [], []) for n, _ in bins}
            for r in range(rounds):
                order = bins if r % 2 == 0 else bins[::-1]
                for n, b in order:
                    w, c, pf = run(b, graders[m], paths[f], out, devnull)
                    got[n][0].append(w)
                    got[n][1].append(c)
                    got[n][2].append(pf)
            med = {n: tuple(statistics.median(x) for x in got[n]) for n, _ in bins}
            cells = "  ".join(f"{med[n][0]:7.3f} ms {med[n][1]:7.3f} cpu {med[n][2]:5.0f} pf" for n, _ in bins)
            ratio = f"   {med['new'][0] / med['baseline'][0]:.3f}" if a.baseline else ""
            print(f"{m + ' ' + f:20s} {cells}{ratio}", flush=True)


if __name__ == "__main__":
    main()
