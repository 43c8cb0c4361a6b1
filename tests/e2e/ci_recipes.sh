#!/usr/bin/env bash
# The CI recipes' shell steps (docs/ci/publish.sh, which docs/ci/github-actions.yml and
# docs/ci/gitlab-ci.yml both run) against a registry with Basic auth: login on stdin, plan,
# publish, image tests, metadata; the password, in any form, reaches no argv, no file of the build and
# nothing the registry stores or logs.
. "$(dirname "$0")/lib.sh"
for recipe in github-actions.yml gitlab-ci.yml; do
  grep -q "docs/ci/publish.sh" "$repo_root/docs/ci/$recipe" || fail "$recipe does not run docs/ci/publish.sh"
done
start_ci_registry
export DOCKER_CONFIG=$work/docker-config && mkdir -p "$DOCKER_CONFIG"
cp -r "$repo_root/examples/hello" "$work/src"
sed -i 's|add_subdirectory("${CMAKE_CURRENT_SOURCE_DIR}/../.." multiarch-image EXCLUDE_FROM_ALL)|add_subdirectory("'"$repo_root"'" multiarch-image EXCLUDE_FROM_ALL)|' \
  "$work/src/CMakeLists.txt"
export SOURCE_DIR=$work/src BUILD_DIR=$work/build MULTIARCH_IMAGE_ENGINE=docker MULTIARCH_IMAGE_DOCKER=$work/bin/docker \
  MULTIARCH_IMAGE_NETWORK=none MULTIARCH_IMAGE_HELPER=$MULTIARCH_TEST_HELPER
# The recipe configures with defaults: the repository comes from the project's cache variable.
cmake -S "$work/src" -B "$work/build" -G Ninja -DHELLO_REPOSITORY="$REGISTRY/ci/hello" >/dev/null
watch_processes
bash "$repo_root/docs/ci/publish.sh" | tee "$work/recipe.log" || fail "the recipe failed"
stop_watching_processes
grep -q "100% tests passed, 0 tests failed out of 3" "$work/recipe.log" || fail "the image tests did not pass"
grep -q '"kind":"manifest"' "$work/recipe.log" || fail "no metadata printed"
assert_eq "$(skopeo inspect --tls-verify=false --authfile "$DOCKER_CONFIG/config.json" --raw "docker://$REGISTRY/ci/hello:1.0.0" | jq '.manifests | length')" 3 \
  "platforms published by the recipe"
# The password in every form (base64 of robot:password included) in no file of the build, no log, not
# in the process list, nor in what the registry stored (SBOMs and provenance too) or logged; the search
# is checked first in docker's credential store, which holds it.
assert_secret_found "the password" "$password" "$DOCKER_CONFIG/config.json"
assert_no_secret "the password" "$password" "$work/build" "$work"/*.log "$work/ps.txt" "$work/registry"
