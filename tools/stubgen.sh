#!/usr/bin/env bash
# Regenerates the type stubs of the native module (python/custmine/_core/*.pyi, one per
# submodule) from the extension built by tools/dev-build.sh. Needs pybind11-stubgen.
# A folder holding only .pyi files does not shadow the extension at import time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
PYTHONPATH=python pybind11-stubgen custmine._core -o "$out" >/dev/null
rm -rf python/custmine/_core
cp -r "$out/custmine/_core" python/custmine/_core
echo "wrote $(ls python/custmine/_core | wc -l) stub files to python/custmine/_core/"
