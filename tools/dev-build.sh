#!/usr/bin/env bash
# Developer build: C++ tests and the Python extension in build/dev, with the extension
# copied next to python/custmine so `PYTHONPATH=python pytest tests/python` runs without
# reinstalling. Usage: tools/dev-build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}"
cmake -S . -B build/dev -DCMAKE_BUILD_TYPE=Release -DCUSTMINE_BUILD_TESTS=ON -DCUSTMINE_BUILD_PYTHON=ON \
  -DCUSTMINE_INSTALL=OFF -DPython_EXECUTABLE="$(command -v python3)" \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" "$@" >/dev/null
cmake --build build/dev -j2
cp build/dev/bindings/_core*.so python/custmine/
