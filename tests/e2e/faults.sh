#!/usr/bin/env bash
# Pushes and registry reads through a proxy that resets, stalls or answers 503 on a share of
# connections: the publish completes, the index is right, and every injected fault was survived.
#   faults.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
start_proxy flaky --reset 5 --error 5 --stall 2 --stall-seconds 3 --seed 7
proxied=127.0.0.1:$(cat "$work/flaky.port")
configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$proxied/e2e/faults-$engine" \
  -DMULTIARCH_IMAGE_RETRIES=10 -DMULTIARCH_IMAGE_RETRY_DELAY=0.2 -DMULTIARCH_IMAGE_TIMEOUT=30
cmake --build "$work/build" --target image-push -j3 2>&1 | tee "$work/build.log" | grep -E "warning|done in" || true
[[ ${PIPESTATUS[0]} == 0 ]] || fail "the publish did not complete:\n$(tail -30 "$work/build.log")"

faults=$(wc -l <"$work/flaky.log" | tr -d ' ')
printf 'faults injected: %s (reset %s, error %s, stall %s)\n' "$faults" "$(grep -c ^reset "$work/flaky.log" || true)" \
  "$(grep -c ^error "$work/flaky.log" || true)" "$(grep -c ^stall "$work/flaky.log" || true)"
((faults > 0)) || fail "no fault was injected: the test proved nothing"
# Survived: the publish completed and the registry (read directly, not through the proxy) holds the
# verified index with every recorded digest.
index=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/e2e/faults-$engine:1.0.0")
assert_eq "$(jq -r '[.manifests[].digest] | sort | join(" ")' <<<"$index")" \
  "$(jq -r '[.platforms[].digest] | sort | join(" ")' "$work/build/multiarch-image/hello/metadata.json")" \
  "index digests after $faults faults"
echo "ok: all $faults injected faults were survived"
