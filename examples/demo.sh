#!/usr/bin/env bash
# The demo, on a Debian 12 machine as root: installs what is missing, starts a private dockerd and a
# registry on loopback, builds examples/hello for linux/amd64, linux/arm64 and linux/arm/v7, pushes
# it, publishes the manifest list, prints the published index and runs each platform; then does the
# same for examples/cross, a C++ project whose programs are cross-compiled for each platform
# (TOOLCHAINS), once through a Dockerfile and once as an image the helper assembles with no engine
# (BASE scratch); then stops what it started. ENGINE=podman examples/demo.sh uses podman instead of docker.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
engine=${ENGINE:-docker}
work=$root/build/demo
services=$work/services

"$root/tests/machine-setup.sh"
mkdir -p "$work"
"$root/tests/e2e/services.sh" start "$services"
trap '"$root/tests/e2e/services.sh" stop "$services"' EXIT
# shellcheck disable=SC1091
. "$services/env"

cmake -S "$root/examples/hello" -B "$work/hello" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DHELLO_REPOSITORY="$REGISTRY/demo/hello" -DMULTIARCH_IMAGE_ENGINE="$engine"
cmake --build "$work/hello" --target image-push -j3

echo; echo "== the published index: $REGISTRY/demo/hello:1.0.0"
skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/demo/hello:1.0.0" | jq .
echo; echo "== metadata for CI steps: $work/hello/multiarch-image/hello/metadata.json"
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  printf '%-14s ' "$platform:"
  "$MULTIARCH_TEST_DOCKER" run --rm --network=none --platform "$platform" "$REGISTRY/demo/hello:1.0.0" 2>/dev/null | head -1
done
echo; echo "== a second build with nothing changed does nothing:"
cmake --build "$work/hello" --target image-push

echo; echo "== examples/cross: a C++ project's programs and shared library, cross-compiled per platform"
# The same programs twice: through a Dockerfile, and assembled by the helper itself (no engine).
cmake -S "$root/examples/cross" -B "$work/cross" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCROSS_HELLO_REPOSITORY="$REGISTRY/demo/cross-hello" -DMULTIARCH_IMAGE_ENGINE="$engine" \
  -DCROSS_HELLO_ASSEMBLED_IMAGE=ON
cmake --build "$work/cross" --target image-push -j3
for image in cross-hello cross-hello-assembled; do
  echo; echo "== $REGISTRY/demo/$image:1.0.0"
  for platform in linux/amd64 linux/arm64 linux/arm/v7; do
    printf '%-14s ' "$platform:"
    "$MULTIARCH_TEST_DOCKER" run --rm --network=none --platform "$platform" "$REGISTRY/demo/$image:1.0.0" </dev/null 2>/dev/null
  done
done
