#!/usr/bin/env bash
# Native builders per platform: three private dockerds, one per platform. After image-push each
# platform's image is in its assigned daemon's store only, the registry's index holds every platform
# with the recorded digests, and each runs. MULTIARCH_IMAGE_BUILDERS overrides BUILDERS per platform.
# A builder that cannot be reached fails its platform with a message naming it; the others build.
. "$(dirname "$0")/lib.sh"
services=$(dirname "$0")/services.sh
"$services" dockerd-start "$work/d2"
"$services" dockerd-start "$work/d3"
on_exit '"$services" dockerd-stop "$work/d2"; "$services" dockerd-stop "$work/d3"'
d1=$DOCKER_HOST d2=$(cat "$work/d2/docker.host") d3=$(cat "$work/d3/docker.host")
repository=$REGISTRY/e2e/builders
declare -A assigned=([linux/amd64]=$d1 [linux/arm64]=$d2 [linux/arm/v7]=$d3)
declare -A suffix=([linux/amd64]=amd64 [linux/arm64]=arm64 [linux/arm/v7]=armv7)

step "three platforms, three daemons (arm/v7 moved to d3 by MULTIARCH_IMAGE_BUILDERS)"
configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE=docker -DHELLO_REPOSITORY="$repository" \
  -DHELLO_BUILDERS="linux/amd64=$d1;linux/arm64=$d2;linux/arm/v7=$d2" \
  -DMULTIARCH_IMAGE_BUILDERS="linux/arm/v7=$d3;linux/s390x=unix:///unused.sock"
cmake --build "$work/build" --target image-push -j3

step "each image is in its own daemon's store, and only there"
for platform in "${!assigned[@]}"; do
  ref=$repository:1.0.0-${suffix[$platform]}
  for daemon in "$d1" "$d2" "$d3"; do
    if "$MULTIARCH_TEST_DOCKER" --host "$daemon" image inspect "$ref" >/dev/null 2>&1; then has=yes; else has=no; fi
    [[ $daemon == "${assigned[$platform]}" ]] && want=yes || want=no
    assert_eq "$has" "$want" "$platform image in $daemon"
  done
  assert_eq "$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .builder' \
    "$work/build/multiarch-image/hello/metadata.json")" "${assigned[$platform]}" "builder of $platform in metadata.json"
done

step "the registry's index holds all three with the recorded digests, and each runs"
index=$(skopeo inspect --tls-verify=false --raw "docker://$repository:1.0.0")
assert_eq "$(jq -r '[.manifests[].digest] | sort | join(" ")' <<<"$index")" \
  "$(jq -r '[.platforms[].digest] | sort | join(" ")' "$work/build/multiarch-image/hello/metadata.json")" "index digests"
for platform in "${!assigned[@]}"; do
  assert_eq "$(run_image docker "$repository:1.0.0" "$platform" 2>/dev/null | head -1 | cut -d' ' -f1-3)" \
    "hello from $platform" "docker run $platform"
done

step "a builder that cannot be reached fails its platform only, naming the builder and its origin"
cmake "$work/build" -DMULTIARCH_IMAGE_BUILDERS="linux/arm64=unix:///nonexistent/docker.sock" >/dev/null
# Without the records of the first build, a record after this one was written by it.
rm "$work"/build/multiarch-image/hello/build-*.json
if cmake --build "$work/build" --target image-build -- -k 0 >"$work/unreachable.log" 2>&1; then
  fail "the build succeeded with an unreachable builder"
fi
grep -F "[hello linux/arm64] builder 'unix:///nonexistent/docker.sock' for linux/arm64 (set by MULTIARCH_IMAGE_BUILDERS) cannot be reached by docker" \
  "$work/unreachable.log" || fail "no clear message:\n$(grep -i error "$work/unreachable.log")"
for platform in linux/amd64 linux/arm/v7; do
  [[ -f $work/build/multiarch-image/hello/build-${platform//\//-}.json ]] || fail "$platform was not built"
done
[[ ! -f $work/build/multiarch-image/hello/build-linux-arm64.json ]] || fail "linux/arm64 has a build record"
echo "ok: linux/amd64 and linux/arm/v7 built; linux/arm64 failed with a message about its builder"
