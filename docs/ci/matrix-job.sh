#!/usr/bin/env bash
# The shell steps of the matrix recipes (github-actions-matrix.yml, gitlab-ci-matrix.yml): one job per
# platform on a runner of that architecture, then a merge job that builds nothing.
#
#   matrix-job.sh push <platform>   build and push the platform of every image by digest (no list),
#                                   run its image tests, and copy its push and build records into
#                                   RECORDS_DIR, laid out as in the build tree, for the CI artifact
#   matrix-job.sh merge             publish, verify (and sign) each image's list over exactly the
#                                   digests the records in RECORDS_DIR name; print metadata.json
#
# tests/e2e/ci_matrix.sh runs this very script. Environment: REGISTRY (host[:port]), REGISTRY_USER,
# REGISTRY_PASSWORD (a CI secret), SOURCE_DIR (default: .), BUILD_DIR (default: build), RECORDS_DIR
# (default: records; the artifacts of every job extracted into one directory), REGISTRY_LOGIN
# (login.sh), CMAKE_GENERATOR (default Ninja; Unix Makefiles and Ninja Multi-Config work too, the
# Release configuration built in each), and any MULTIARCH_IMAGE_* setting.
set -euo pipefail
mode=${1:-}
source_dir=${SOURCE_DIR:-.}
build_dir=${BUILD_DIR:-build}
records_dir=${RECORDS_DIR:-records}
mkdir -p "$records_dir"
records_dir=$(cd "$records_dir" && pwd)   # the build runs elsewhere: an absolute path
generator=${CMAKE_GENERATOR:-Ninja}

case $mode in
  push)
    platform=${2:?usage: matrix-job.sh push <platform>}
    . "$(dirname "${BASH_SOURCE[0]}")/login.sh"    # copy it beside this script
    cmake -S "$source_dir" -B "$build_dir" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
      -DMULTIARCH_IMAGE_ONLY_PLATFORMS="$platform" -DMULTIARCH_IMAGE_MERGE_RECORDS=
    cmake --build "$build_dir" --config Release --target image-plan
    cmake --build "$build_dir" --config Release --target image-push -j "$(nproc)"
    ctest --test-dir "$build_dir" -C Release -L multiarch-image --output-on-failure
    # <image>/push-<platform>.json (and the build record beside it, which the summary reads)
    (cd "$build_dir/multiarch-image" && shopt -s nullglob && records=(*/push-*.json *"/build-"*.json) &&
      [[ ${#records[@]} -gt 0 ]] && cp --parents "${records[@]}" "$records_dir/") ||
      { echo "no push record in $build_dir/multiarch-image" >&2; exit 1; }
    ls -R "$records_dir"
    ;;
  merge)
    . "$(dirname "${BASH_SOURCE[0]}")/login.sh"
    cmake -S "$source_dir" -B "$build_dir" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
      -DMULTIARCH_IMAGE_ONLY_PLATFORMS= -DMULTIARCH_IMAGE_MERGE_RECORDS="$records_dir"
    cmake --build "$build_dir" --config Release --target image-push
    cat "$build_dir"/multiarch-image/*/metadata.json
    ;;
  *) echo "usage: matrix-job.sh push <platform> | merge" >&2; exit 2 ;;
esac
