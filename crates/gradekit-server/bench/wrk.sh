#!/usr/bin/env bash
# Throughput of `gradekit serve` over loopback (BENCHMARKS.md "Server"): string_check /run under
# 32 connections with wrk, and a 1,000-sample run_batch timed with curl.
#   bash crates/gradekit-server/bench/wrk.sh [path/to/gradekit]   (default target/release/gradekit)
# Needs wrk (Debian: apt-get install wrk) and curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${1:-$root/target/release/gradekit}
log=$(mktemp)
"$bin" serve --port 0 2> "$log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log" "$log.batch"' EXIT
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's#.*listening on http://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$log" | head -1)
  [ -n "$port" ] && break; sleep 0.1
done
[ -n "$port" ] || { cat "$log"; exit 1; }
url=http://127.0.0.1:$port
echo "== wrk warm-up (5 s)"
wrk -t2 -c32 -d5s -s "$here/run_string_check.lua" "$url" > /dev/null
echo "== wrk -t2 -c32 -d20s --latency (string_check /run)"
wrk -t2 -c32 -d20s --latency -s "$here/run_string_check.lua" "$url"
python3 "$here/run_batch_1000.py" > "$log.batch"
echo "== run_batch, 1,000 samples, 20 sequential requests (seconds per request)"
for _ in $(seq 1 20); do
  curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
    --data-binary "@$log.batch" "$url/v1/graders/run_batch"
done | sort -n | awk '{a[NR]=$1} END {printf "min %.4f  median %.4f  max %.4f\n", a[1], a[int((NR+1)/2)], a[NR]}'
