#!/usr/bin/env bash
# Installs what the demo and the test suite need on Debian 12, as root. Idempotent: apt-get runs only
# when a package is missing. Package list and reasons: ../shared/engines.md and docs/testing.md.
set -euo pipefail

packages=(
  cmake ninja-build make g++ git curl jq iproute2 procps file openssl apache2-utils
  docker.io docker-registry podman buildah skopeo          # engines, registry, registry reader
  qemu-user-static binfmt-support                          # foreign-architecture RUN steps
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf            # the examples' static binaries
  clang                                                    # the clang toolchain files (RUNTIME tests)
  libboost1.81-dev libboost-json1.81-dev libboost-test1.81-dev libboost-filesystem1.81-dev libssl-dev
  hyperfine                                                # bench/
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[machine-setup] installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
