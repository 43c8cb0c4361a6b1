#!/usr/bin/env bash
# Benchmark: the arm64 image of examples/cross made (a) by compiling inside an emulated arm64
# container and (b) with TOOLCHAINS (Debian's cross compiler in a sub-build). Both from scratch, in
# the same run, on the same private dockerd; prints both wall times and their ratio (goal: >= 8x).
# The compiler image of (a) is a Debian arm64 root made with debootstrap (cached in
# build/bench/arm64-root, or BENCH_ARM64_ROOT) and imported into the engine.
#   bench/cross.sh [runs]     (default 2 runs of each way)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/build/bench/cross
runs=${1:-2}
arm64_root=${BENCH_ARM64_ROOT:-$root/build/bench/arm64-root}

"$root/tests/machine-setup.sh"
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
if [[ ! -x $arm64_root/usr/bin/g++ ]]; then
  echo "making a Debian arm64 root with g++ and cmake in $arm64_root (debootstrap, a few minutes)"
  rm -rf "$arm64_root"
  debootstrap --arch=arm64 --variant=minbase --include=g++,make,cmake bookworm "$arm64_root" \
    http://deb.debian.org/debian >"$work.debootstrap.log" 2>&1 || { tail "$work.debootstrap.log"; exit 1; }
fi
rm -rf "$work"; mkdir -p "$work"
cmake -S "$root" -B "$work/helper" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMULTIARCH_IMAGE_BUILD_TESTING=OFF >/dev/null
cmake --build "$work/helper" >/dev/null
services=$work/services
"$root/tests/e2e/services.sh" start "$services" 2>/dev/null
trap '"$root/tests/e2e/services.sh" stop "$services" 2>/dev/null || true' EXIT
# shellcheck disable=SC1091
. "$services/env"
docker=$MULTIARCH_TEST_DOCKER

# The emulated build's context: the arm64 root (hard links) and the example's sources.
mkdir -p "$work/emulated"
cp -al "$arm64_root" "$work/emulated/root"
cp -r "$root/examples/cross" "$work/emulated/src"
rm -f "$work/emulated/src/.dockerignore"
emulated_build() {  # emulated_build RUN_ID [docker build options...]
  local id=$1; shift
  DOCKER_BUILDKIT=1 "$docker" build --network=none --platform linux/arm64 -q --build-arg "RUN_ID=$id" \
    -f "$root/bench/cross/Dockerfile.emulated" "$@" "$work/emulated" >/dev/null
}
echo "making the arm64 compiler stage (untimed)"
emulated_build warm --target gxx

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
emulated=() toolchains=()
for run in $(seq 1 "$runs"); do
  start=$(now)
  emulated_build "$run-$(date +%s%N)" -t "localhost/bench/emulated:$run"
  emulated+=("$(elapsed "$start" "$(now)")")
  echo "(a) emulated compile, run $run: ${emulated[-1]} s"

  build=$work/toolchains-$run
  start=$(now)
  cmake -S "$root/examples/cross" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DMULTIARCH_IMAGE_HELPER="$work/helper/helper/multiarch-image" -DMULTIARCH_IMAGE_ENGINE=docker \
    -DMULTIARCH_IMAGE_DOCKER="$docker" -DMULTIARCH_IMAGE_NETWORK=none \
    -DCROSS_HELLO_PLATFORMS=linux/arm64 -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/cross" >/dev/null
  CMAKE_BUILD_PARALLEL_LEVEL=2 cmake --build "$build" --target cross-hello-build -j2 >"$build.log" 2>&1 \
    || { tail -20 "$build.log"; exit 1; }
  toolchains+=("$(elapsed "$start" "$(now)")")
  echo "(b) TOOLCHAINS, run $run: ${toolchains[-1]} s"
done
# The no-op price of TARGETS: every build asks each sub-build whether anything changed. Measured
# against examples/hello (3 platforms, no TARGETS), both fully built and published.
echo "no-op rebuilds: examples/cross (3 platforms, 2 sub-builds) vs examples/hello (3 platforms)"
common=(-G Ninja -DMULTIARCH_IMAGE_HELPER="$work/helper/helper/multiarch-image" -DMULTIARCH_IMAGE_ENGINE=docker
        -DMULTIARCH_IMAGE_DOCKER="$docker" -DMULTIARCH_IMAGE_NETWORK=none)
cmake -S "$root/examples/cross" -B "$work/noop-cross" "${common[@]}" -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/noop-cross" >/dev/null
cmake -S "$root/examples/hello" -B "$work/noop-hello" "${common[@]}" -DHELLO_REPOSITORY="$REGISTRY/bench/noop-hello" >/dev/null
cmake --build "$work/noop-cross" --target image-push -j2 >/dev/null 2>&1
cmake --build "$work/noop-hello" --target image-push -j2 >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 30 --export-json "$work/noop.json" \
  "cmake --build $work/noop-cross --target image-push" "cmake --build $work/noop-hello --target image-push" >/dev/null
noop_cross=$(jq -r '.results[0].mean' "$work/noop.json") noop_hello=$(jq -r '.results[1].mean' "$work/noop.json")

mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.1f", s / NR }'; }
a=$(mean "${emulated[@]}") b=$(mean "${toolchains[@]}")
ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", a / b }')
{
  echo "| way | wall time (mean of $runs) |"
  echo "| --- | --- |"
  echo "| (a) compile inside an emulated arm64 container | $a s |"
  echo "| (b) TOOLCHAINS: cross-compiled sub-build, staged | $b s |"
  echo "| ratio (a)/(b) | ${ratio}x (goal: >= 8x) |"
  awk -v c="$noop_cross" -v h="$noop_hello" 'BEGIN { printf "| no-op image-push: examples/cross (2 sub-builds asked) vs examples/hello | %.1f ms vs %.1f ms (%.1fx) |\n", c * 1000, h * 1000, c / h }' 
} | tee "$work/results.md"
