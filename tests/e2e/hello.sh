#!/usr/bin/env bash
# examples/hello published for three platforms with one engine and one generator, then checked from
# the outside: the registry's index, each platform pulled and run by docker and by podman, a no-op
# rerun, and build args with shell metacharacters arriving unchanged.
#   hello.sh docker|podman Ninja|"Unix Makefiles"
. "$(dirname "$0")/lib.sh"
engine=$1 generator=$2
slug=$(printf '%s' "$engine-$generator" | tr 'A-Z ' 'a-z-')
repository=$REGISTRY/e2e/hello-$slug
pwned=$work/pwned
greeting="it's \"quoted\"; a b  \$(touch $pwned) \`touch $pwned\` \$HOME"

step "configure and publish with $engine ($generator)"
configure "$repo_root/examples/hello" "$work/build" -G "$generator" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$repository" -DHELLO_TAGS="1.0.0;stable" \
  -DHELLO_GREETING="$greeting"
cmake --build "$work/build" --target image-push -j3 | tee "$work/publish.log"
# The list is the helper's own registry client's work: no engine manifest command, no skopeo.
assert_eq "$(engine_calls_matching '^(docker|podman) manifest |^skopeo ')" 0 "engine manifest and skopeo commands"

step "the publish ends with a summary: a row per platform and where metadata.json is"
grep -qE "^\[hello\] platform +digest +size +build +push$" "$work/publish.log" || fail "no summary header"
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  digest=$(jq -r '.digest' "$work/build/multiarch-image/hello/push-${platform//\//-}.json")
  grep -qE "^\[hello\] ${platform//\//\\/} +${digest:0:19} +[0-9.]+ [kMG]?B +[0-9.]+ s +[0-9.]+ s$" "$work/publish.log" \
    || fail "no summary row for $platform"
done
grep -qF "[hello] metadata: $work/build/multiarch-image/hello/metadata.json" "$work/publish.log" || fail "no metadata line"
echo "ok: summary with three rows and the metadata path"

step "metadata.json and the registry agree"
metadata=$work/build/multiarch-image/hello/metadata.json
index=$(skopeo inspect --tls-verify=false --raw "docker://$repository:1.0.0")
assert_eq "$(jq -r '.repository' "$metadata")" "$repository" "metadata repository"
assert_eq "$(jq -r '.tags | join(",")' "$metadata")" "1.0.0,stable" "metadata tags"
assert_eq "$(jq -r '.index_digest' "$metadata")" "$(printf '%s' "$index" | sha256sum | sed 's/^/sha256:/; s/ .*//')" "index digest"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$repository:stable" | sha256sum)" "$(printf '%s' "$index" | sha256sum)" \
  "the stable tag names the same index"
assert_eq "$(jq '.manifests | length' <<<"$index")" 3 "platforms in the index"
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  IFS=/ read -r os arch variant <<<"$platform"
  in_index=$(jq -r --arg a "$arch" --arg v "$variant" \
    '[.manifests[] | select(.platform.architecture == $a and (.platform.variant // "") == $v)] | map(.digest) | join(" ")' <<<"$index")
  recorded=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .digest' "$metadata")
  pushed=$(jq -r '.digest' "$work/build/multiarch-image/hello/push-${platform//\//-}.json")
  assert_eq "$in_index" "$recorded" "$platform digest in the index vs metadata.json"
  assert_eq "$recorded" "$pushed" "$platform digest in metadata.json vs its push record"
done

step "each platform, pulled from the registry, runs as itself (QEMU for foreign ones)"
for runner in docker podman; do
  for platform in linux/amd64 linux/arm64 linux/arm/v7; do
    output=$(run_image "$runner" "$repository:1.0.0" "$platform")
    printf '%s\n' "$output"
    assert_eq "$(head -1 <<<"$output" | cut -d' ' -f1-3)" "hello from $platform" "$runner run $platform"
    assert_eq "$(sed -n 2p <<<"$output")" "greeting: $greeting" "$runner run $platform build arg"
  done
done
[[ ! -e $pwned ]] || fail "a build arg was run by a shell: $pwned exists"
echo "ok: build args stayed literal (no $pwned)"

step "ctest runs each platform's image (TEST_COMMAND --self-test, TEST_EXPECT per platform)"
(cd "$work/build" && ctest -R '^hello\.image\.' --output-on-failure) | tee "$work/ctest.log"
grep -q "100% tests passed, 0 tests failed out of 3" "$work/ctest.log" || fail "the image tests did not all pass"
records=$work/build/multiarch-image/hello
if "$MULTIARCH_TEST_HELPER" test --spec "$records/spec.json" --platform linux/arm64 --build-record "$records/build-linux-arm64.json" \
     --expect "built for linux/s390x" -- --self-test >"$work/mismatch.log" 2>&1; then
  fail "an image test with a wrong expectation passed"
fi
grep -q "does not match TEST_EXPECT 'built for linux/s390x'" "$work/mismatch.log" || fail "unclear mismatch message"
echo "ok: a wrong expectation fails the image test"

step "hello-plan prints every step's engine commands and runs none of them"
reset_engine_calls
cmake --build "$work/build" --target hello-plan | tee "$work/plan.log"
assert_eq "$(grep -vcE "^$engine (buildx )?version" "$work/engine-calls.log" || true)" 0 "engine calls other than version probes"
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  grep -qE "^\[hello\] +\S+$engine (buildx )?build .*--platform $platform " "$work/plan.log" || fail "no build command for $platform"
  grep -qE "^\[hello\] +\S+$engine push .*$repository:1.0.0-" "$work/plan.log" || fail "no push command"
done
grep -qF "PUT /v2/e2e/hello-$slug/manifests/1.0.0, then GET it back" "$work/plan.log" \
  || fail "no manifest request in the plan"
echo "ok: the plan lists build and push commands and the manifest step's registry requests"

step "a rerun with nothing changed runs no engine command"
reset_engine_calls
cmake --build "$work/build" --target image-push -j3
assert_eq "$(engine_calls)" 0 "engine invocations on the no-op rerun"
