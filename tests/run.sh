#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what is missing, builds the helper
# and its unit tests, then runs every test with ctest (services are started and stopped by ctest
# fixtures). Usage: tests/run.sh [build-dir]   (default: build/test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/test}

"$root/tests/machine-setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMULTIARCH_IMAGE_BUILD_TESTING=ON
cmake --build "$build"
cd "$build"
ctest --output-on-failure --timeout 1200 -j2
