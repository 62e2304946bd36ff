#!/usr/bin/env bash
# Development build: compile the core and the Cython module into build/dev and copy _core
# into src/pmfast, so `PYTHONPATH=src python -m pytest` tests this checkout without installing.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DPMFAST_INPLACE=ON \
      -DPython_EXECUTABLE="$(command -v python3)" >/dev/null
cmake --build build/dev -j "${JOBS:-2}"
