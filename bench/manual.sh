#!/usr/bin/env bash
# The manual way, as people script it today: build each platform, push each, create the manifest
# list, push it. The baseline for bench rows 1 and 4.
#   manual.sh [--no-cache] REPOSITORY TAG CONTEXT PLATFORM...
# Uses $MULTIARCH_IMAGE_DOCKER (default docker) and builds with --network=none.
set -euo pipefail
no_cache=()
[[ $1 == --no-cache ]] && { no_cache=(--no-cache); shift; }
repository=$1 tag=$2 context=$3; shift 3
docker=${MULTIARCH_IMAGE_DOCKER:-docker}
export DOCKER_BUILDKIT=1
refs=()
for platform in "$@"; do
  suffix=$(tr -d / <<<"${platform#*/}")
  "$docker" build -q "${no_cache[@]}" --network=none --platform "$platform" -t "$repository:$tag-$suffix" "$context" >/dev/null
done
for platform in "$@"; do
  suffix=$(tr -d / <<<"${platform#*/}")
  "$docker" push -q "$repository:$tag-$suffix" >/dev/null
  refs+=("$repository:$tag-$suffix")
done
"$docker" manifest rm "$repository:$tag" >/dev/null 2>&1 || true
"$docker" manifest create --insecure "$repository:$tag" "${refs[@]}" >/dev/null
"$docker" manifest push --insecure --purge "$repository:$tag" >/dev/null
