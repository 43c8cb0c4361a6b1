#!/usr/bin/env bash
# A push that fails because the registry is down leaves no push record and no manifest; once the
# registry is back, the next build pushes and publishes without rebuilding anything. The engines' pushes
# meet a registry stopped before they start (an engine retries an upload that breaks for a minute or
# more); then (once, with docker: no engine takes part) an image the helper pushes itself meets a
# registry stopped while its uploads are under way.
#   resume.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
services=$(dirname "$0")/services.sh
"$services" registry-start "$work/registry"          # a registry of this test's own, to stop at will
registry=127.0.0.1:$(cat "$work/registry/registry.port")
on_exit '"$services" registry-stop "$work/registry"'
cp -r "$repo_root/tests/projects/two-images" "$work/src"
configure "$work/src" "$work/build" \
  -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE="$engine" \
  -DTEST_REGISTRY="$registry" -DTEST_PREFIX="resume-$engine"
records=$work/build/multiarch-image

step "everything built, then the registry goes away"
cmake --build "$work/build" --target image-build -j4
"$services" registry-stop "$work/registry"

step "the push fails"
if cmake --build "$work/build" --target image-push -j4 >"$work/failed-push.log" 2>&1; then
  fail "image-push succeeded with the registry stopped"
fi
grep -E "multiarch-image: error: \[(alpha|beta) linux/[a-z0-9/]+\] .*push $registry/resume-$engine/(alpha|beta):2.0.0-" "$work/failed-push.log" \
  || fail "the error does not name the image being pushed:\n$(tail -20 "$work/failed-push.log")"
assert_eq "$(find "$records" -name 'push-*.json' | wc -l | tr -d ' ')" 0 "push records after the failed push"
assert_eq "$(find "$records" -name 'metadata.json' | wc -l | tr -d ' ')" 0 "manifest records after the failed push"
assert_eq "$(find "$records" -name 'build-*.json' | wc -l | tr -d ' ')" 6 "build records still standing"

step "registry back: the rerun pushes and publishes, and builds nothing"
"$services" registry-start "$work/registry"
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
assert_eq "$(engine_calls_matching "^$engine (buildx )?build ")" 0 "engine builds on the rerun"
assert_eq "$(engine_calls_matching "^$engine push ")" 6 "pushes on the rerun"
for image in alpha beta; do
  assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$registry/resume-$engine/$image:2.0.0" | jq '.manifests | length')" \
    3 "$image platforms in the registry"
done

[[ $engine == docker ]] || exit 0
step "the helper's own pushes: the registry stops while they run; no record, no manifest; back, the rerun pushes"
# A proxy holding every chunk 300 ms stands in for the registry, so each push takes seconds.
start_proxy slow --target "$registry" --delay-ms 300
slow_port=$(cat "$work/slow.port")
mkdir -p "$work/assembled/files"
seq 1 50000 >"$work/assembled/files/numbers.txt"
cat >"$work/assembled/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(resumed LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(numbers REPOSITORY "127.0.0.1:$slow_port/resume-assembled/numbers" TAGS 1 BASE scratch
  PLATFORMS linux/amd64 linux/arm64 linux/arm/v7 ENTRYPOINT /srv/numbers.txt FILES files/=/srv/)
CMAKE
configure "$work/assembled" "$work/assembled-build" -DMULTIARCH_IMAGE_RETRIES=2 -DMULTIARCH_IMAGE_RETRY_DELAY=0.1 >/dev/null
cmake --build "$work/assembled-build" --target image-build -j3 >/dev/null
mark=$(registry_mark "$work/registry/registry.log")
cmake --build "$work/assembled-build" --target image-push -j3 >"$work/stopped-during.log" 2>&1 &
pushing=$!
wait_for 30 "an upload at the registry" bash -c "tail -c +$((mark + 1)) '$work/registry/registry.log' | grep -q 'POST /v2/resume-assembled/numbers/blobs/uploads/'" ||
  fail "no upload began:\n$(cat "$work/stopped-during.log")"
"$services" registry-stop "$work/registry"
wait "$pushing" && fail "image-push succeeded though the registry stopped during the pushes"
started=$(grep -c "push started" "$work/stopped-during.log" || true)
((started > 0)) || fail "no push had started when the registry stopped:\n$(cat "$work/stopped-during.log")"
grep -E "multiarch-image: error: \[numbers linux/[a-z0-9/]+\] .*127\.0\.0\.1:$slow_port" "$work/stopped-during.log" ||
  fail "the error does not name the image, its platform and the registry:\n$(tail -20 "$work/stopped-during.log")"
numbers=$work/assembled-build/multiarch-image/numbers
assert_eq "$(find "$numbers" -name 'push-*.json' | wc -l | tr -d ' ')" 0 "push records after $started pushes met the stop"
[[ ! -e $numbers/metadata.json ]] || fail "a manifest record after the failed pushes"
"$services" registry-start "$work/registry"
stop_proxies
start_proxy passthrough --target "$registry" --port "$slow_port"
cmake --build "$work/assembled-build" --target image-push -j3 >"$work/resumed.log" 2>&1 || fail "the rerun failed:\n$(tail -20 "$work/resumed.log")"
assert_eq "$(grep -c "\] build started" "$work/resumed.log" || true) $(grep -c "\] push started" "$work/resumed.log" || true)" "0 3" \
  "builds and pushes on the rerun"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$registry/resume-assembled/numbers:1" | jq '.manifests | length')" 3 \
  "platforms in the registry"
