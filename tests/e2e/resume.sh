#!/usr/bin/env bash
# A push that fails because the registry is down leaves no push record and no manifest; once the
# registry is back, the next build pushes and publishes without rebuilding anything.
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
