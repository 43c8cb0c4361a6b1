#!/usr/bin/env bash
# REGISTRY_CACHE INLINE with docker's BuildKit, as CI runners with empty daemons meet it: a first build
# tree publishes tests/projects/registry_cache (a RUN step that writes a random marker, then a file the
# test edits; two platforms); a second and a third build tree, each on a daemon started empty for it,
# publish the source after an edit of that file, and each platform's images keep the RUN step's layer
# the first published for that platform: the step was taken from the registry, not run again (its
# marker would differ). The third runner is the one an imported cache failed (moby/buildkit#1981:
# every other build ran the step again). Each build was told its own platform's image, by digest.
# A rerun runs no engine command.
. "$(dirname "$0")/lib.sh"
services=$repo_root/tests/e2e/services.sh
repository=$REGISTRY/e2e/registry-cache
mkdir -p "$work/context"
cp /bin/busybox "$work/context/"
echo "first" >"$work/context/edited.txt"
settings=(-DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE=docker -DTEST_REPOSITORY="$repository"
          -DTEST_CONTEXT="$work/context")
pushed() { jq -r .digest "$1/multiarch-image/cached/push-$2.json"; }   # pushed BUILD PLATFORM-SUFFIX
layers() {  # layers BUILD PLATFORM-SUFFIX: the layers of the platform's image as the registry has it
  skopeo inspect --raw --tls-verify=false "docker://$repository@$(pushed "$1" "$2")" | jq -r '.layers[].digest'
}
marker() { layers "$@" | sed -n 2p; }  # the RUN step's layer

step "a first runner publishes: nothing to read a cache from yet, the cache written into each image"
configure "$repo_root/tests/projects/registry_cache" "$work/first" "${settings[@]}" >"$work/configure.log"
cmake --build "$work/first" --target image-push >"$work/first.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/first.log")"
assert_eq "$(engine_calls_matching '^docker build .*--build-arg BUILDKIT_INLINE_CACHE=1 ')" 2 "builds that write the cache inline"
assert_eq "$(engine_calls_matching ' --cache-from ')" 0 "builds told a cache before anything was published"
grep -q "REGISTRY_CACHE: nothing is published as $repository:1 yet" "$work/first.log" ||
  fail "the first build did not say why it had no cache:\n$(grep REGISTRY_CACHE "$work/first.log")"

runner=first
for next in second third; do
  step "the $next runner, its daemon new and empty, publishes the source after an edit"
  "$services" dockerd-start "$work/d-$next"
  on_exit "\"$services\" dockerd-stop \"$work/d-$next\""
  daemon=$(cat "$work/d-$next/docker.host")
  assert_eq "$(DOCKER_HOST=$daemon "$MULTIARCH_TEST_DOCKER" images -q | wc -l)" 0 "images in the $next runner's daemon"
  echo "$next" >"$work/context/edited.txt"
  reset_engine_calls
  DOCKER_HOST=$daemon configure "$repo_root/tests/projects/registry_cache" "$work/$next" "${settings[@]}" >>"$work/configure.log"
  DOCKER_HOST=$daemon cmake --build "$work/$next" --target image-push >"$work/$next.log" 2>&1 ||
    fail "the $next publish failed:\n$(tail -30 "$work/$next.log")"
  for platform in linux-amd64 linux-arm64; do
    # The platform's own image: the index's entry for it is what the last push record names.
    assert_eq "$(grep -E "^docker build .*--platform ${platform/-//} " "$work/engine-calls.log" |
                 grep -cF -- "--cache-from $repository@$(pushed "$work/$runner" $platform) ")" 1 \
      "$platform: the $next runner's build told the cache of the platform's image the $runner published"
    [[ $(layers "$work/$next" $platform | tail -1) != $(layers "$work/$runner" $platform | tail -1) ]] ||
      fail "$platform: the edited file's layer did not change"
    assert_eq "$(marker "$work/$next" $platform)" "$(marker "$work/first" $platform)" \
      "$platform: the $next runner's RUN layer (the marker the first runner's step wrote)"
  done
  runner=$next
done
[[ $(marker "$work/first" linux-amd64) != $(marker "$work/first" linux-arm64) ]] ||
  fail "both platforms have one marker layer: each platform's cache could not be told apart"

third_daemon=$(cat "$work/d-third/docker.host")
step "a rerun with nothing changed runs no engine command"
reset_engine_calls
DOCKER_HOST=$third_daemon cmake --build "$work/third" --target image-push >>"$work/third.log" 2>&1
assert_eq "$(engine_calls)" 0 "engine commands of the no-op rerun"
