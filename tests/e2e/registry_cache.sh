#!/usr/bin/env bash
# REGISTRY_CACHE INLINE with docker's BuildKit, as CI runners with empty daemons meet it: a first build
# tree publishes tests/projects/registry_cache (a RUN step that writes a random marker, two platforms);
# a second build tree, on a second daemon started empty for it, publishes the same source, and each
# platform's image has the very layers the first published for that platform: its RUN step was taken
# from the registry, not run again (its marker would differ). Each build was told its own platform's
# image, by digest. A rerun runs no engine command.
. "$(dirname "$0")/lib.sh"
services=$repo_root/tests/e2e/services.sh
repository=$REGISTRY/e2e/registry-cache
mkdir -p "$work/context"
cp /bin/busybox "$work/context/"
settings=(-DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE=docker -DTEST_REPOSITORY="$repository"
          -DTEST_CONTEXT="$work/context")
pushed() { jq -r .digest "$1/multiarch-image/cached/push-$2.json"; }   # pushed BUILD PLATFORM-SUFFIX
layers() {  # layers BUILD PLATFORM-SUFFIX: the layers of the platform's image as the registry has it
  skopeo inspect --raw --tls-verify=false "docker://$repository@$(pushed "$1" "$2")" | jq -r '.layers[].digest'
}

step "a first runner publishes: nothing to read a cache from yet, the cache written into each image"
configure "$repo_root/tests/projects/registry_cache" "$work/first" "${settings[@]}" >"$work/configure.log"
cmake --build "$work/first" --target image-push >"$work/first.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/first.log")"
assert_eq "$(engine_calls_matching '^docker build .*--build-arg BUILDKIT_INLINE_CACHE=1 ')" 2 "builds that write the cache inline"
assert_eq "$(engine_calls_matching ' --cache-from ')" 0 "builds told a cache before anything was published"
grep -q "REGISTRY_CACHE: nothing is published as $repository:1 yet" "$work/first.log" ||
  fail "the first build did not say why it had no cache:\n$(grep REGISTRY_CACHE "$work/first.log")"

step "a second runner, its daemon new and empty, publishes the same source"
"$services" dockerd-start "$work/d2"
on_exit '"$services" dockerd-stop "$work/d2"'
second_daemon=$(cat "$work/d2/docker.host")
assert_eq "$(DOCKER_HOST=$second_daemon "$MULTIARCH_TEST_DOCKER" images -q | wc -l)" 0 "images in the second daemon"
reset_engine_calls
DOCKER_HOST=$second_daemon configure "$repo_root/tests/projects/registry_cache" "$work/second" "${settings[@]}" >>"$work/configure.log"
DOCKER_HOST=$second_daemon cmake --build "$work/second" --target image-push >"$work/second.log" 2>&1 ||
  fail "the second publish failed:\n$(tail -30 "$work/second.log")"
for platform in linux-amd64 linux-arm64; do
  first=$(pushed "$work/first" $platform)
  # The platform's own image: the index's entry for it is what the first push record names.
  assert_eq "$(grep -E "^docker build .*--platform ${platform/-//} " "$work/engine-calls.log" | grep -cF -- "--cache-from $repository@$first ")" 1 \
    "$platform: the build told the cache of the platform's published image"
  assert_eq "$(layers "$work/second" $platform)" "$(layers "$work/first" $platform)" \
    "$platform: the second runner's layers (the RUN step's marker from the registry's cache)"
done
[[ $(layers "$work/first" linux-amd64 | tail -1) != $(layers "$work/first" linux-arm64 | tail -1) ]] ||
  fail "both platforms have one marker layer: each platform's cache could not be told apart"

step "a rerun with nothing changed runs no engine command"
reset_engine_calls
DOCKER_HOST=$second_daemon cmake --build "$work/second" --target image-push >>"$work/second.log" 2>&1
assert_eq "$(engine_calls)" 0 "engine commands of the no-op rerun"
