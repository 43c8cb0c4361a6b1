#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what is missing, builds the helper
# and its unit tests, runs the unit tests under AddressSanitizer and UBSan, then runs every test with
# ctest (services are started and stopped by ctest fixtures). Usage: tests/run.sh [build-dir]
# (default: build/dev, the dev preset's tree, which the workflow.check test then finds built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/dev}

"$root/tests/machine-setup.sh"
# The helper's style (.clang-format) and lint (.clang-tidy): checked before anything is built.
mapfile -t sources < <(cd "$root" && find helper tests/tools -name '*.cpp' -o -name '*.hpp' | sort)
# With no file named, clang-format would read stdin and pass: an empty list is an error.
((${#sources[@]} > 0)) || { echo "no C++ sources found under $root/helper and $root/tests/tools" >&2; exit 1; }
(cd "$root" && clang-format --dry-run --Werror "${sources[@]}")

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMULTIARCH_IMAGE_BUILD_TESTING=ON \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
cmake --build "$build"
# The lint reads the compile commands; every finding in helper/src fails the run (.clang-tidy lists the checks).
run-clang-tidy -p "$build" -j "$(nproc)" -quiet "$root/helper/src/.*\.cpp\$" >"$build/clang-tidy.log" 2>&1 ||
  { grep -E "(warning|error):" "$build/clang-tidy.log" | sort -u; echo "clang-tidy found the above (log: $build/clang-tidy.log)"; exit 1; }

# The unit tests once more, built with clang, AddressSanitizer and UBSan: the helper parses what
# registries, ELF files and build contexts hand it, and an out-of-bounds read must fail a test, not pass
# unseen. The same objects (instrumented for coverage too) make the fuzz targets, one per parser of
# untrusted bytes, which then replay their seeds and corpus and fuzz for 90 s in all
# (MULTIARCH_IMAGE_FUZZ_SECONDS; about two minutes with each target's start): an input that once found
# a defect, or a new finding, fails the run (docs/reliability.md, "Fuzzing"). Only these targets are
# built in this tree, not the helper.
cmake -S "$root" -B "$build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_COMPILER=clang++ \
  -DMULTIARCH_IMAGE_BUILD_TESTING=ON -DMULTIARCH_IMAGE_FUZZ=ON >/dev/null
cmake --build "$build-fuzz" --target multiarch-image-unit-tests multiarch-image-fuzzers
(cd "$build-fuzz" && ctest -R '^unit$' --no-tests=error --output-on-failure)
"$root/tests/fuzz/run.sh" --build "$build-fuzz" --seconds "${MULTIARCH_IMAGE_FUZZ_SECONDS:-90}"

cd "$build"
ctest --output-on-failure --no-tests=error --timeout 1200 -j2
