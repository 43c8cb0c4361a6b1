#!/usr/bin/env bash
# The whole test suite on a Debian 12 machine, as root: installs what is missing, builds the helper
# and its unit tests, runs the unit tests under AddressSanitizer and UBSan, then runs every test with
# ctest (services are started and stopped by ctest fixtures). Usage: tests/run.sh [build-dir]
# (default: build/dev, the dev preset's tree, which the workflow.check test then finds built)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/dev}

# Each phase's wall time, the CPU time its processes used (user + system, of the children this script
# waited for: a daemon's own is not in it) and the share of the machine's CPU time nobody used (idle
# and waiting for I/O, from /proc/stat: what more parallel work could have had), printed as it ends
# and kept in $build/run-times.txt.
mkdir -p "$build"
: >"$build/run-times.txt"
phase_name="" phase_wall=0 phase_cpu=0 phase_idle="0 0"
idle_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit }' /proc/stat 2>/dev/null || echo "0 0"; }
# The bookkeeping never decides the outcome: a failure in it (a build dir removed, a full disk) is
# ignored, and the EXIT trap hands back the status the run had, which a failing command in a trap
# under `set -e` would otherwise replace.
phase() {  # `times` in this shell, not in a $(...) subshell, whose children would be others
  local now cpu=0 idle; now=$SECONDS idle=$(idle_ticks)
  times >"$build/.times" 2>/dev/null &&
    cpu=$(awk 'NR == 2 { c = 0; for (i = 1; i <= 2; i++) { split($i, ms, "m"); sub("s", "", ms[2]); c += ms[1] * 60 + ms[2] }
               printf "%d", c }' "$build/.times" 2>/dev/null) || cpu=0
  [[ -z $phase_name ]] ||
    printf '[run.sh] %-28s %5d s wall %6d s CPU %4s idle\n' "$phase_name" $((now - phase_wall)) $((cpu - phase_cpu)) \
      "$(awk -v a="$phase_idle" -v b="$idle" 'BEGIN { split(a, x); split(b, y); t = y[2] - x[2]
                                                     if (t > 0) printf "%d%%", 100 * (y[1] - x[1]) / t; else printf "?" }')" |
    tee -a "$build/run-times.txt" 2>/dev/null || true
  phase_name=${1:-} phase_wall=$now phase_cpu=$cpu phase_idle=$idle
}
trap 'status=$?; set +e; phase; printf "[run.sh] %-28s %5d s wall\n" total "$SECONDS" | tee -a "$build/run-times.txt"; exit $status' EXIT

phase machine-setup
"$root/tests/machine-setup.sh"
phase format
# The helper's style (.clang-format) and lint (.clang-tidy): checked before anything is built.
mapfile -t sources < <(cd "$root" && find helper tests/tools -name '*.cpp' -o -name '*.hpp' | sort)
# With no file named, clang-format would read stdin and pass: an empty list is an error.
((${#sources[@]} > 0)) || { echo "no C++ sources found under $root/helper and $root/tests/tools" >&2; exit 1; }
(cd "$root" && clang-format --dry-run --Werror "${sources[@]}")

phase build
# The dev preset's build type, with line tables and function names rather than full debug info
# (-g1): a stack trace still names file and line, and the compile of Boost's headers takes a third
# less time (45 s against 32 s of CPU for the registry's exchange code alone). A tree configured before
# keeps its flags.
# The core as a unity build (batches of sources that parse Boost's headers once: 171 s of CPU instead
# of 313 s here), as a consumer's helper tree builds it.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMULTIARCH_IMAGE_BUILD_TESTING=ON \
  -DCMAKE_UNITY_BUILD=ON "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
cmake --build "$build"
phase clang-tidy
# The lint reads one compile command per source (a unity batch hides its sources from clang-tidy's
# checks), from a tree only configured for it; every finding in helper/src fails the run (.clang-tidy
# lists the checks). clang-tidy 22 leaves the code of system headers (Boost's, the standard library's)
# unread: 183 s of CPU for the helper's sources against 323 s with Debian 12's default clang-tidy 14. In a phase of its own: run beside the phases below at the lowest priority (its
# session's autogroup niced too), it took as long again from them as it saved here (clean-clone runs:
# 1612 s in all this way, 1615 s and 1640 s beside them).
cmake -S "$root" -B "$build-lint" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMULTIARCH_IMAGE_BUILD_TESTING=ON \
  -DCMAKE_UNITY_BUILD=OFF -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
run-clang-tidy-22 -clang-tidy-binary clang-tidy-22 -p "$build-lint" -j "$(nproc)" -quiet "$root/helper/src/.*\.cpp\$" \
  >"$build/clang-tidy.log" 2>&1 ||
  { grep -E "(warning|error):" "$build/clang-tidy.log" | sort -u; echo "clang-tidy found the above (log: $build/clang-tidy.log)"; exit 1; }

# The unit tests once more, built with clang, AddressSanitizer and UBSan: the helper parses what
# registries, ELF files and build contexts hand it, and an out-of-bounds read must fail a test, not pass
# unseen. The same objects (instrumented for coverage too) make the fuzz targets, one per parser of
# untrusted bytes, which then replay their seeds and corpus and fuzz for 90 s in all, one per core
# (MULTIARCH_IMAGE_FUZZ_SECONDS; about one minute of wall time with each target's start): an input that once found
# a defect, or a new finding, fails the run (docs/reliability.md, "Fuzzing"). Only these targets are
# built in this tree, not the helper.
phase sanitizers
# -O1 and line tables only (-gline-tables-only instead of Debug's -g): what a sanitizer's report needs.
cmake -S "$root" -B "$build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 -DCMAKE_CXX_FLAGS_DEBUG=-gline-tables-only -DCMAKE_CXX_COMPILER=clang++ \
  -DMULTIARCH_IMAGE_BUILD_TESTING=ON -DMULTIARCH_IMAGE_FUZZ=ON -DCMAKE_UNITY_BUILD=ON >/dev/null
cmake --build "$build-fuzz" --target multiarch-image-unit-tests multiarch-image-fuzzers
(cd "$build-fuzz" && ctest -R '^unit$' --no-tests=error --output-on-failure)
phase fuzz
"$root/tests/fuzz/run.sh" --build "$build-fuzz" --jobs "$(nproc)" --seconds "${MULTIARCH_IMAGE_FUZZ_SECONDS:-90}"

phase ctest
cd "$build"
# workflow.check runs the README's `cmake --workflow --preset check`, whose test step is the unit and
# cmake.* tests of this same tree: they run there, once (the unit tests ran sanitized above too), and
# not a second time beside it. Without CMake 3.25 there is no workflow test, and they run here.
skip=()
listed=$(ctest -N -R '^workflow\.check$')  # read whole: `grep -q` on a pipe could fail its writer
if grep -q '^Total Tests: 1$' <<<"$listed"; then skip=(-E '^(unit|cmake\..*)$'); fi
ctest --output-on-failure --no-tests=error --timeout 1200 -j2 "${skip[@]}"
