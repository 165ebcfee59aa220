#!/usr/bin/env bash
# Prints the site-packages directory of a venv holding scripts/requirements-ml.txt (torch, TRL,
# transformers, Ray, pyarrow…), installing it first when missing. The venv lives outside the
# clone, under ${GRADEKIT_CACHE:-~/.cache/gradekit}/ml-<hash of the requirements>, so CI on a
# clean clone of this machine reuses it (a fresh machine installs it once: ~5 min, ~6 GB).
# Test venvs see it through a .pth file (scripts/link_ml_venv.sh) and keep their own gradekit
# wheel, so several checkouts share one copy of the big packages.
set -euo pipefail
cd "$(dirname "$0")/.."
req=scripts/requirements-ml.txt
hash=$(sha256sum "$req" | cut -c1-12)
cache=${GRADEKIT_CACHE:-$HOME/.cache/gradekit}
dir=$cache/ml-$hash
mkdir -p "$cache"
exec 9>"$cache/ml-$hash.lock"
flock 9
if [ ! -f "$dir/.complete" ]; then
  echo "== installing the ML stack into $dir (first time only: ~5 min, ~6 GB)" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
  touch "$dir/.complete"
fi
"$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
