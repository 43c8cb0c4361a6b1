#!/usr/bin/env bash
# The shell steps of the CI recipes (github-actions.yml, gitlab-ci.yml): log in without putting the
# password on a command line, configure, publish every image, run the image tests, and keep
# metadata.json for later steps. tests/e2e/ci_recipes.sh runs this very script.
#
# Environment: REGISTRY (host[:port]), REGISTRY_USER, REGISTRY_PASSWORD (a CI secret),
#              SOURCE_DIR (default: .), BUILD_DIR (default: build), and any MULTIARCH_IMAGE_* setting.
set -euo pipefail
: "${REGISTRY:?set REGISTRY}" "${REGISTRY_USER:?set REGISTRY_USER}" "${REGISTRY_PASSWORD:?set REGISTRY_PASSWORD}"
source_dir=${SOURCE_DIR:-.}
build_dir=${BUILD_DIR:-build}
engine=${MULTIARCH_IMAGE_ENGINE:-docker}

# The password goes to the engine on stdin, never as an argument.
case $engine in
  docker) printf '%s' "$REGISTRY_PASSWORD" | "${MULTIARCH_IMAGE_DOCKER:-docker}" login --username "$REGISTRY_USER" --password-stdin "$REGISTRY" ;;
  podman) printf '%s' "$REGISTRY_PASSWORD" | "${MULTIARCH_IMAGE_PODMAN:-podman}" login --username "$REGISTRY_USER" --password-stdin "$REGISTRY" ;;
esac

cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" --target image-plan          # the commands about to run, for the log
cmake --build "$build_dir" --target image-push -j "$(nproc)"
ctest --test-dir "$build_dir" -L multiarch-image --output-on-failure
cat "$build_dir"/multiarch-image/*/metadata.json
