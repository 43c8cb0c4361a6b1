#!/usr/bin/env bash
# The manual way, as people script it today: build each platform, push each, create the manifest
# list, push it. The baseline for bench rows 1 and 4.
#   manual.sh [--no-cache] [--parallel] REPOSITORY TAG CONTEXT PLATFORM...
# --parallel starts every platform's build (then every push) at once: the engine's own floor for
# concurrent builds. Uses $MULTIARCH_IMAGE_DOCKER (default docker), builds with --network=none, and
# passes --build-arg NONCE=$NONCE when NONCE is set.
set -euo pipefail
no_cache=() parallel=false
[[ $1 == --no-cache ]] && { no_cache=(--no-cache); shift; }
[[ $1 == --parallel ]] && { parallel=true; shift; }
[[ -n ${NONCE:-} ]] && no_cache+=(--build-arg "NONCE=$NONCE")
repository=$1 tag=$2 context=$3; shift 3
docker=${MULTIARCH_IMAGE_DOCKER:-docker}
export DOCKER_BUILDKIT=1
refs=()
run() { if $parallel; then "$@" & else "$@"; fi; }
for platform in "$@"; do
  suffix=$(tr -d / <<<"${platform#*/}")
  run "$docker" build -q "${no_cache[@]}" --network=none --platform "$platform" -t "$repository:$tag-$suffix" "$context" >/dev/null
done
wait
for platform in "$@"; do
  suffix=$(tr -d / <<<"${platform#*/}")
  run "$docker" push -q "$repository:$tag-$suffix" >/dev/null
  refs+=("$repository:$tag-$suffix")
done
wait
"$docker" manifest rm "$repository:$tag" >/dev/null 2>&1 || true
"$docker" manifest create --insecure "$repository:$tag" "${refs[@]}" >/dev/null
"$docker" manifest push --insecure --purge "$repository:$tag" >/dev/null
