#!/usr/bin/env bash
# Stale state: the local image behind a build record was removed, or the record is corrupt. The push
# step notices, builds that platform again (only that one), and publishes.
#   stale.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
# The images are removed by ID from the daemon the other tests share, and examples/hello builds
# reproducibly: a greeting of this run's own makes IDs no other test has (without it, the amd64 image
# of e2e.signals_stop_the_engine, the same bytes, vanished under that test's push).
configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$REGISTRY/e2e/stale-$engine" -DHELLO_GREETING="stale ${work##*/}"
cmake --build "$work/build" --target image-build -j3 >/dev/null
records=$work/build/multiarch-image/hello
remove_image() {  # remove_image ID: out of the engine's store, as a prune would
  case $engine in
    docker) "$MULTIARCH_TEST_DOCKER" image rm --force "$1" >/dev/null ;;
    podman) podman rmi --force "$1" >/dev/null ;;
  esac
}

step "the arm64 image is removed from the engine; the amd64 record is corrupted"
id=$(jq -r .image_id "$records/build-linux-arm64.json")
remove_image "$id"
echo '{"format": 1, "kind": "build", "trunc' >"$records/build-linux-amd64.json"
touch -d '+1 minute' "$records/build-linux-amd64.json"   # still "up to date" for the build tool

reset_engine_calls
cmake --build "$work/build" --target image-push -j3 >"$work/push.log" 2>&1 || fail "the publish failed:\n$(tail -30 "$work/push.log")"
grep warning "$work/push.log" || true
grep -q "linux/arm64\] warning: image .* is no longer in $engine; building linux/arm64 again" "$work/push.log" \
  || fail "no warning about the removed image"
grep -q "build-linux-amd64.json is corrupt" "$work/push.log" || fail "no warning about the corrupt record"
assert_eq "$(built_platforms "stale-$engine")" "linux/amd64 linux/arm64" "platforms built again"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/e2e/stale-$engine:1.0.0" | jq '.manifests | length')" 3 \
  "platforms published"

step "every line of a whole run carries its step's prefix, nested steps and warnings included"
# The amd64 push record is corrupt but newer than its inputs, and its image is gone from the engine:
# only the manifest step runs. It finds the push record unusable and pushes amd64 itself; that push
# finds the image gone and builds amd64 again, all inside the manifest step.
id=$(jq -r .image_id "$records/build-linux-amd64.json")
remove_image "$id"
echo '{"format": 1, "kind": "push", "trunc' >"$records/push-linux-amd64.json"
touch -d '+3 minutes' "$records/push-linux-amd64.json"
reset_engine_calls
cmake --build "$work/build" --target image-push -j3 >"$work/nested.log" 2>&1 || fail "the publish failed:\n$(tail -30 "$work/nested.log")"
assert_eq "$(built_platforms "stale-$engine")" "linux/amd64" "platforms built again by the nested build"
# Ninja's own lines are "[N/M] description"; every other line comes from the helper.
unprefixed=$(grep -vE '^\[[0-9]+/[0-9]+\] ' "$work/nested.log" | grep -vE '^\[hello( linux/(amd64|arm64|arm/v7))?\] ' || true)
[[ -z $unprefixed ]] || fail "lines without their step's prefix:\n$unprefixed"
for line in '^\[hello\] warning: .*push-linux-amd64.json is corrupt' \
            '^\[hello\] warning: no usable push record for linux/amd64' \
            '^\[hello linux/amd64\] warning: image .* is no longer in' \
            '^\[hello linux/amd64\] build started' '^\[hello linux/amd64\] push done' '^\[hello\] manifest done'; do
  grep -qE "$line" "$work/nested.log" || fail "no line matching $line:\n$(cat "$work/nested.log")"
done
echo "ok: $(wc -l <"$work/nested.log") lines, each with its step's prefix"
