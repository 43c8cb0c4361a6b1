#!/usr/bin/env bash
# The shell steps of the CI recipes (github-actions.yml, gitlab-ci.yml): log in without putting the
# password on a command line, configure, publish every image, run the image tests, and keep
# metadata.json for later steps. tests/e2e/ci_recipes.sh runs this very script.
#
# Environment: REGISTRY (host[:port]), REGISTRY_USER, REGISTRY_PASSWORD (a CI secret),
#              SOURCE_DIR (default: .), BUILD_DIR (default: build), REGISTRY_LOGIN (login.sh), and any
#              MULTIARCH_IMAGE_* setting.
set -euo pipefail
source_dir=${SOURCE_DIR:-.}
build_dir=${BUILD_DIR:-build}
. "$(dirname "${BASH_SOURCE[0]}")/login.sh"    # copy it beside this script

cmake -S "$source_dir" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" --target image-plan          # the commands about to run, for the log
cmake --build "$build_dir" --target image-push -j "$(nproc)"
ctest --test-dir "$build_dir" -L multiarch-image --output-on-failure
cat "$build_dir"/multiarch-image/*/metadata.json
