#!/usr/bin/env bash
# `gradekit score --report` in a real browser: writes the report of fixtures/examples, loads it
# in Debian's headless Chromium with every network request failing (a proxy on a closed port),
# and checks the rendered DOM holds the plots and the tables and that Chromium's net log shows
# no request besides the file itself. Also leaves a screenshot for a person to look at.
#   bash scripts/test.d/report_browser.sh        (scripts/test runs it after cargo test)
# Skips (exit 0, with a message) when Chromium is absent and cannot be installed with apt-get.
# Env: GRADEKIT_BIN (default: builds the debug binary with cargo), REPORT_OUT (where the page,
# the DOM dump and the screenshot go; default a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "== installing Debian's chromium"
    if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
      echo "SKIP report_browser: chromium could not be installed with apt-get"
      exit 0
    fi
    chromium=$(command -v chromium || true)
  fi
fi
if [ -z "$chromium" ]; then
  echo "SKIP report_browser: no chromium, and no apt-get as root to install it"
  exit 0
fi

bin=${GRADEKIT_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q -p gradekit
  bin=${CARGO_TARGET_DIR:-$root/target}/debug/gradekit
fi
out=${REPORT_OUT:-$(mktemp -d)}
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

"$bin" score -q --grader fixtures/examples/multi.json fixtures/examples/outputs.jsonl \
  -o "$out/scored.jsonl" --report "$out/report.html"

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$profile" --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>'
  --log-net-log="$out/netlog.json" --net-log-capture-mode=Default)
url="file://$out/report.html"
if ! timeout 120 "$chromium" "${flags[@]}" --dump-dom "$url" >"$out/dom.html" 2>"$out/chromium.log"; then
  tail -20 "$out/chromium.log"
  echo "report_browser: FAILED (chromium could not load the page)"
  exit 1
fi
if ! timeout 120 "$chromium" "${flags[@]/--log-net-log=*/--log-net-log=$out/netlog2.json}" \
  --window-size=1280,2200 --hide-scrollbars --screenshot="$out/report.png" "$url" \
  >>"$out/chromium.log" 2>&1; then
  echo "(chromium's screenshot run failed; see $out/chromium.log)"
fi

fail=0
need() { # need WHAT PATTERN: the rendered DOM must match PATTERN
  if grep -Eq "$2" "$out/dom.html"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi
}
need "reward histogram plot" '<svg id="reward-histogram"'
need "error breakdown plot" '<svg id="error-breakdown"'
need "sub-grader plot 0" '<svg id="sub-grader-0"'
need "sub-grader plot 1" '<svg id="sub-grader-1"'
need "bars drawn (rect)" '<rect'
need "slowest rows table" 'id="slowest-rows"'
need "failed rows table" 'id="failed-rows"'
need "an invalid line listed" 'invalid_json'
# The DOM must hold the SVGs as SVG elements (parsed, not escaped text).
if grep -q '&lt;svg' "$out/dom.html"; then echo "FAIL svg escaped"; fail=1; fi
# Network: the net log of the page's load must show no request of the page's own. Chromium
# itself still asks for updates, time and accounts at start (IDLE priority, Google hosts) even
# with the flags above; those are not the page's and are ignored. The check is first shown to
# catch a page that does load something (an <img> and a stylesheet on a made-up host).
netcheck() { # netcheck NETLOG: exit 1 when the page made a request
  python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
seen = set()
for m in re.finditer(r'\{[^{}]*"url":\s*"([^"]+)"[^{}]*\}', text):
    url, ev = m.group(1), m.group(0)
    if not re.match(r"(https?|wss?|ftp)://", url):
        continue
    prio = re.search(r'"priority":\s*"([A-Z]+)"', ev)
    host = re.sub(r"^[a-z]+://([^/:?]+).*$", r"\1", url)
    chromium_own = host.endswith((".google.com", ".googleapis.com", ".gvt1.com")) and (
        prio is None or prio.group(1) == "IDLE")
    if not chromium_own:
        seen.add(url)
if seen:
    print("network requests:", sorted(seen))
    sys.exit(1)
EOF
}
printf '<html><head><link rel="stylesheet" href="http://gradekit-probe.invalid/a.css"></head><body><img src="http://gradekit-probe.invalid/x.png"></body></html>' >"$out/probe.html"
timeout 120 "$chromium" "${flags[@]/--log-net-log=*/--log-net-log=$out/netlog-probe.json}" \
  --dump-dom "file://$out/probe.html" >/dev/null 2>>"$out/chromium.log" || true
if netcheck "$out/netlog-probe.json" >/dev/null; then
  echo "FAIL the network check did not see the probe page's requests"; fail=1
elif netcheck "$out/netlog.json"; then
  echo "ok   no network requests by the page (the same check catches a probe page's <img>/<link>)"
else
  echo "FAIL the report page made network requests"; fail=1
fi
if [ -s "$out/report.png" ]; then echo "ok   screenshot $out/report.png"; else echo "FAIL screenshot"; fail=1; fi
if [ "$fail" != 0 ]; then
  echo "report_browser: FAILED (page: $out/report.html, dom: $out/dom.html, log: $out/chromium.log)"
  exit 1
fi
echo "report_browser: passed"
