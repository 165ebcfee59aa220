#!/usr/bin/env bash
# Makes the packages of the cached ML venv (scripts/ml_venv.sh) visible in VENV through a .pth
# file; VENV's own packages (the gradekit wheel, pytest, maturin) come first on sys.path.
#   bash scripts/link_ml_venv.sh VENV
set -euo pipefail
venv=$1
ml=$(bash "$(dirname "$0")/ml_venv.sh")
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ml" > "$site/gradekit-ml-stack.pth"
