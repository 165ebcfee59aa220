"""Fails when a dependency declares a rust-version newer than the workspace's own.

Reads `cargo metadata --format-version 1` on stdin. The workspace's `rust-version` is a promise
to users; clippy's `incompatible_msrv` lint (run with -D warnings by scripts/test) checks our own
use of std APIs against it, and this checks that every locked dependency can build with it too.
"""

import json
import sys


def version(text):
    return tuple(int(part) for part in text.split("."))


meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
ours = {p["rust_version"] for p in meta["packages"] if p["id"] in members and p.get("rust_version")}
if len(ours) != 1:
    sys.exit(f"workspace crates must share one rust-version (inherit it), found {sorted(ours)}")
msrv = ours.pop()
newer = [
    f"{p['name']} {p['version']} needs {p['rust_version']}"
    for p in meta["packages"]
    if p["id"] not in members and p.get("rust_version") and version(p["rust_version"]) > version(msrv)
]
if newer:
    sys.exit(f"rust-version {msrv} is older than what dependencies need: " + "; ".join(newer))
missing = [p["name"] for p in meta["packages"] if p["id"] in members and not p.get("rust_version")]
if missing:
    sys.exit("crates without rust-version.workspace = true: " + ", ".join(missing))
print(f"rust-version {msrv}: every workspace crate inherits it; no dependency needs newer")
