#!/usr/bin/env bash
# The jobs dashboard of `gradekit serve` in a real browser: starts the server with a data dir,
# a model registry, a project key and the dashboard's test trainer
# (scripts/test.d/dashboard/trainer.py), creates jobs through the API, and drives Debian's
# headless Chromium with playwright-core (scripts/test.d/dashboard/browser.cjs): refusal
# without a key, sign-in, job list, curves with one point per metrics step and checkpoint
# markers, a live update, escaping, no request off the origin (also checked in Chromium's net
# log, as report_browser.sh does), a screenshot kept under target/dashboard-browser/.
#   bash scripts/test.d/dashboard_browser.sh        (scripts/test runs it after cargo test)
# Skips (exit 0, with a message) when Chromium or Node cannot be installed.
# Env: GRADEKIT_BIN (default: the debug binary, built when missing), DASHBOARD_OUT (artifacts).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}

apt_install() { # apt_install PACKAGE...: as root with apt-get, quietly; false otherwise
  command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 1
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "== installing Debian's chromium"
  apt_install chromium || { echo "SKIP dashboard_browser: chromium could not be installed"; exit 0; }
  chromium=$(command -v chromium || true)
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "== installing node and npm"
  apt_install nodejs npm || { echo "SKIP dashboard_browser: node could not be installed"; exit 0; }
fi
nodedir=$target/dashboard-browser/node
if [ ! -f "$nodedir/node_modules/playwright-core/package.json" ]; then
  echo "== npm install playwright-core (driver only; the browser is Debian's chromium)"
  mkdir -p "$nodedir"
  (cd "$nodedir" && npm install --silent --no-audit --no-fund --no-save playwright-core@1 >/dev/null)
fi

bin=${GRADEKIT_BIN:-}
if [ -z "$bin" ]; then
  bin=$target/debug/gradekit
  if [ ! -x "$bin" ]; then
    echo "== cargo build --bin gradekit"
    cargo build --quiet --bin gradekit
  fi
fi
out=${DASHBOARD_OUT:-$target/dashboard-browser/out}
mkdir -p "$out"
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

key="sk-dashboard-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$work/data" "$work/model" "$work/gates"
printf '[models.tiny]\npath = "%s"\n' "$work/model" >"$work/models.toml"
printf '[projects."proj_dash"]\nkeys = ["%s"]\n' "$key" >"$work/keys.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DASH_GATE_DIR=$work/gates "$bin" serve --port "$port" --data-dir "$work/data" \
  --models "$work/models.toml" --api-keys "$work/keys.toml" \
  --trainer "python3 $root/scripts/test.d/dashboard/trainer.py" >"$out/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
GK_URL="http://127.0.0.1:$port" GK_KEY=$key CHROMIUM=$chromium OUT=$out GATE_DIR=$work/gates \
  NETLOG=$out/netlog.json PW=$nodedir/node_modules/playwright-core \
  timeout 300 node scripts/test.d/dashboard/browser.cjs || status=1

# Chromium's own net log: no request but to the server (Chromium's own background requests to
# Google hosts at IDLE priority aside, as in report_browser.sh).
if [ -s "$out/netlog.json" ]; then
  if python3 - "$out/netlog.json" "127.0.0.1:$port" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
seen = set()
for m in re.finditer(r'\{[^{}]*"url":\s*"([^"]+)"[^{}]*\}', text):
    url, ev = m.group(1), m.group(0)
    if not re.match(r"(https?|wss?|ftp)://", url) or url.startswith("http://" + sys.argv[2] + "/"):
        continue
    prio = re.search(r'"priority":\s*"([A-Z]+)"', ev)
    host = re.sub(r"^[a-z]+://([^/:?]+).*$", r"\1", url)
    if host.endswith((".google.com", ".googleapis.com", ".gvt1.com")) and (prio is None or prio.group(1) == "IDLE"):
        continue
    seen.add(url)
if seen:
    print("requests off the server:", sorted(seen))
    sys.exit(1)
PY
  then echo "ok   chromium's net log: no request but to the server"
  else echo "FAIL chromium's net log shows requests off the server"; status=1
  fi
else
  echo "(no net log written; the in-page request log above still applies)"
fi
if [ "$status" != 0 ]; then
  tail -20 "$out/server.log"
  echo "dashboard_browser: FAILED (artifacts in $out)"
  exit 1
fi
echo "dashboard_browser: passed (screenshot $out/dashboard.png)"
