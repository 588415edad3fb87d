#!/usr/bin/env bash
# Runs every test of custmine on a fresh Debian 12 machine (this is what CI runs):
#  1. setup (system + Python requirements, pip install .)
#  2. C++: build with tests and benchmarks, ctest
#  3. install the C++ package and build/run examples/cpp through find_package(custmine)
#  4. Python: pytest (tests/python) and every notebook (nbmake), then `custmine demo`
#  5. benchmarks at smoke size: Google Benchmark kernels and each benchmarks/python/compare_*.py --smoke
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
section() { printf '\n==== %s (%s) ====\n' "$1" "$(date +%T)"; }

section "setup"
bash tools/setup.sh

section "C++ build"
cmake -S . -B build/ci -DCMAKE_BUILD_TYPE=Release -DCUSTMINE_BUILD_TESTS=ON -DCUSTMINE_BUILD_BENCHMARKS=ON \
  -DCMAKE_INSTALL_PREFIX="$ROOT/build/ci-prefix" >/dev/null
cmake --build build/ci -j2

section "C++ tests (ctest)"
ctest --test-dir build/ci --output-on-failure -j2

section "find_package(custmine) example"
cmake --install build/ci >/dev/null
cmake -S examples/cpp -B build/example -DCMAKE_PREFIX_PATH="$ROOT/build/ci-prefix" >/dev/null
cmake --build build/example -j2
./build/example/custmine_example

section "Python tests (pytest) and notebooks (nbmake)"
# Run from the tests folder so that `import custmine` is the installed package.
"$PY" -m pytest -q -p no:cacheprovider tests/python --nbmake notebooks

section "the main job: custmine demo"
custmine demo --out build/demo-report --quiet

section "benchmarks (smoke size)"
for b in build/ci/benchmarks/cpp/bench_*; do
  [ -x "$b" ] || continue
  "$b" --benchmark_min_time=0.01 --benchmark_format=console
done
for b in benchmarks/python/compare_*.py; do
  echo "--- $b --smoke"
  "$PY" "$b" --smoke
done

section "all tests passed"
