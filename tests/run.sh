#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what is missing, builds the helper
# and its unit tests, runs the unit tests under AddressSanitizer and UBSan, then runs every test with
# ctest (services are started and stopped by ctest fixtures). Usage: tests/run.sh [build-dir]   (default: build/test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/test}

"$root/tests/machine-setup.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMULTIARCH_IMAGE_BUILD_TESTING=ON
cmake --build "$build"

# The unit tests once more, built with AddressSanitizer and UBSan: the helper parses what registries,
# ELF files and build contexts hand it, and an out-of-bounds read must fail a test, not pass unseen.
cmake -S "$root" -B "$build-sanitize" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMULTIARCH_IMAGE_BUILD_TESTING=ON \
  -DMULTIARCH_IMAGE_SANITIZE=ON >/dev/null
cmake --build "$build-sanitize" --target multiarch-image-unit-tests
(cd "$build-sanitize" && ctest -R '^unit$' --output-on-failure)

cd "$build"
ctest --output-on-failure --timeout 1200 -j2
