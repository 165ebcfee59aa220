"""Score a JSONL dataset on Ray Data with a gradekit grader (one compile per worker process).

    pip install ./crates/gradekit-py 'ray[data]'
    python examples/ray_score_jsonl.py GRADER.json INPUT.jsonl OUT_DIR [--num-cpus 2]

(``--num-cpus 2``: a new local Ray with 2 CPUs, a laptop's or a CI runner's.)

INPUT.jsonl is read with ``gradekit.ray.read_jsonl``: the file is split into byte ranges parsed
in parallel, and only the columns the grader reads are parsed (``id``, the sample, the item
keys its templates name); a line that is not valid JSON becomes an error row, as in
``gradekit score``. ``--read-json`` uses ``ray.data.read_json`` instead (every column kept,
one task per file; one unreadable line fails the job).

INPUT.jsonl has the lines of `gradekit score`: ``{"id"?, "item": {...}, "model_sample": "..."}``
(or ``"sample"``: a string or a sample object). ``--sample-column`` reads the sample from another
column; when the rows have no ``item`` column, the other columns make up the item
(``{{ item.reference }}`` reads the ``reference`` column). Writes JSONL files to OUT_DIR with
``reward`` (null on a bad row), ``error`` (``{code, message}`` on a bad row), ``errors`` (the
error flags) and ``passed`` (with a pass_threshold) added to the columns read, and prints a
summary. Runs on any
``ray.init``, a 2-CPU laptop included: grading runs in Ray tasks fused with the reads.
"""

import argparse
import json

import ray

import gradekit.ray

ap = argparse.ArgumentParser()
ap.add_argument("grader")
ap.add_argument("input")
ap.add_argument("out_dir")
ap.add_argument("--sample-column", default=None,
                help="the sample column (default: model_sample or sample, as gradekit score)")
ap.add_argument("--item-column", default="item")
ap.add_argument("--num-cpus", type=int, default=None,
                help="start a new local Ray with this many CPUs (default: join the running Ray "
                     "or start one on every CPU)")
ap.add_argument("--concurrency", type=int, default=None, help="at most this many grading tasks")
ap.add_argument("--read-json", action="store_true",
                help="read with ray.data.read_json (keeps every column) instead of read_jsonl")
args = ap.parse_args()

with open(args.grader) as f:
    config = json.load(f)
if args.num_cpus:
    ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False)
else:
    ray.init(include_dashboard=False)
if args.read_json:
    ds = ray.data.read_json(args.input)
else:
    ds = gradekit.ray.read_jsonl(args.input, config, sample_column=args.sample_column,
                                 item_column=args.item_column)
scored = gradekit.ray.score_dataset(ds, config, sample_column=args.sample_column,
                                    item_column=args.item_column, concurrency=args.concurrency,
                                    with_errors=True).materialize()
scored.write_json(args.out_dir)


def bad_rows(batch):  # a pyarrow table; `error` is null on rows that were graded
    return {"bad": [len(batch) - batch["error"].null_count]}


rows = scored.count()
bad = int(scored.map_batches(bad_rows, batch_format="pyarrow").sum("bad") or 0)
graded = rows - bad
mean = (scored.sum("reward") or 0.0) / graded if graded else None
print(json.dumps({"rows": rows, "graded": graded, "bad_rows": bad, "mean_reward": mean}))
