"""Score a JSONL dataset on Ray Data with a gradekit grader (one compile per worker).

    pip install ./crates/gradekit-py 'ray[data]'
    python examples/ray_score_jsonl.py GRADER.json INPUT.jsonl OUT_DIR [--sample-column model_sample] [--workers 2]

Each input line is a row; the sample column holds the model output, the other columns make up
the item (``{{ item.reference }}`` reads the ``reference`` column). Writes JSONL files with a
``reward`` column added (and ``passed`` when the grader has a pass_threshold) to OUT_DIR.
"""

import argparse
import json

import ray

import gradekit.ray

ap = argparse.ArgumentParser()
ap.add_argument("grader")
ap.add_argument("input")
ap.add_argument("out_dir")
ap.add_argument("--sample-column", default="model_sample")
ap.add_argument("--workers", type=int, default=2)
args = ap.parse_args()

with open(args.grader) as f:
    config = json.load(f)
ray.init(include_dashboard=False)
ds = ray.data.read_json(args.input)
scored = gradekit.ray.score_dataset(ds, config, sample_column=args.sample_column,
                                    concurrency=args.workers, with_errors=True)
scored.write_json(args.out_dir)
print(scored.sum("reward") / scored.count(), "mean reward")
