#!/usr/bin/env bash
# Installs what custmine needs on a fresh Debian 12 machine, then builds and installs the
# Python package (which also provides the `custmine` command). Safe to run again: it only
# installs what is missing and rebuilds incrementally.
#   tools/setup.sh            runtime + test requirements, then `pip install .`
#   CUSTMINE_SKIP_INSTALL=1   only the system and Python requirements
set -euo pipefail
cd "$(dirname "$0")/.."

# libblis-serial-dev: the large dense products (custmine/core/blas.hpp); a single-threaded,
# reentrant BLAS because custmine threads by itself.
APT_PACKAGES=(g++ cmake make ccache git libeigen3-dev libboost1.81-dev libboost-json1.81-dev
              libgtest-dev libbenchmark-dev libblis-serial-dev)
missing=()
# PySpark (custmine.spark and its tests) runs on a Java runtime.
command -v java >/dev/null 2>&1 || APT_PACKAGES+=(openjdk-17-jre-headless)
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
# Python packages come from PyPI only: Debian's python3-sklearn/statsmodels pull in Boost 1.74.
req_args=()
for f in requirements/*.txt; do req_args+=(-r "$f"); done
echo "setup: pip requirements (${req_args[*]})"
"$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore "${req_args[@]}"

if [ "${CUSTMINE_SKIP_INSTALL:-0}" != "1" ]; then
  echo "setup: building and installing custmine (pip install .)"
  # A development build (tools/dev-build.sh) leaves its extension beside the sources;
  # keep it out of the wheel, which carries the one built now.
  rm -f python/custmine/_core*.so
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-2}"
  "$PY" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-build-isolation .
fi
