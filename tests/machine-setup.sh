#!/usr/bin/env bash
# Installs what the demo and the test suite need on Debian 12, as root. Idempotent: apt-get runs only
# when a package is missing. Package list and reasons: docs/testing.md ("The machine").
set -euo pipefail

packages=(
  cmake ninja-build make g++ git curl jq iproute2 procps file openssl apache2-utils
  docker.io docker-registry podman buildah skopeo          # engines, registry, registry reader
  qemu-user-static binfmt-support                          # foreign-architecture RUN steps
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf            # the examples' static binaries
  clang libclang-rt-14-dev                                 # the clang toolchain files (RUNTIME tests); libFuzzer and the sanitizers' runtimes (tests/fuzz)
  lld                                                      # links the sanitized unit tests and fuzz targets (4x faster than GNU ld)
  clang-format clang-tidy-22                               # the helper's style and lint checks (tests/run.sh)
  umoci oci-image-tool                                     # read the OCI layouts of assembled images
  busybox-static                                           # a merged-/usr base image (e2e.assembled_images)
  pkg-config zlib1g-dev zlib1g-dev:arm64                   # a Debian multiarch library for a cross build
  libssl-dev:arm64                                         # e2e.production: a TLS client cross-compiled for arm64
  gdb-multiarch elfutils debuginfod                        # e2e.debug_symbols: stripped arm64 programs resolved with fetched symbols, served by debuginfod
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev libboost-filesystem1.81-dev libssl-dev
  hyperfine                                                # bench/
  ca-certificates tzdata                                   # what ESSENTIALS takes from this machine (e2e.essentials_for_a_service)
  ccache                                                   # tests that compile the helper again share objects
)
# arm64 packages (Debian multiarch) for the cross-build tests. Not armhf: with it, apt-get update fails
# on every later run here.
update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  update=1
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[machine-setup] installing: ${missing[*]}"
  update=1
fi
if ((update)); then
  apt-get update -qq
fi
if ((${#missing[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
