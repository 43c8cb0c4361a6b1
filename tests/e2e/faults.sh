#!/usr/bin/env bash
# Pushes and registry reads through a proxy that resets, stalls or answers 503: the first three
# connections get one fault of each kind, then a random share of the rest. The publish completes, the
# index is right, and each kind was injected. Then (once, with docker: no engine takes part) the
# helper's own registry client under a 2 s MULTIARCH_IMAGE_TIMEOUT, through the proxy reading each
# request: a reset, a 503, a request never answered and an answer whose body stops after 16 bytes,
# each survived long before the 600 s stall would end; and an upload whose body is cut 1 MB in (the
# registry keeps that much of it, and refuses the upload's old Location): the upload goes on.
#   faults.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
start_proxy flaky --first reset,error,stall --reset 5 --error 5 --stall 2 --stall-seconds 3 --seed 7
proxied=127.0.0.1:$(cat "$work/flaky.port")
configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$proxied/e2e/faults-$engine" \
  -DMULTIARCH_IMAGE_RETRIES=10 -DMULTIARCH_IMAGE_RETRY_DELAY=0.2 -DMULTIARCH_IMAGE_TIMEOUT=30
status=0
cmake --build "$work/build" --target image-push -j3 >"$work/build.log" 2>&1 || status=$?
grep -E "warning|done in" "$work/build.log" || true
[[ $status == 0 ]] || fail "the publish did not complete (exit $status):\n$(tail -30 "$work/build.log")"

faults=$(wc -l <"$work/flaky.log" | tr -d ' ')
printf 'faults injected: %s (reset %s, error %s, stall %s)\n' "$faults" "$(grep -c ^reset "$work/flaky.log" || true)" \
  "$(grep -c ^error "$work/flaky.log" || true)" "$(grep -c ^stall "$work/flaky.log" || true)"
for kind in reset error stall; do
  grep -q "^$kind " "$work/flaky.log" || fail "no $kind was injected: the test proved nothing about it"
done
# Survived: the publish completed and the registry (read directly, not through the proxy) holds the
# verified index with every recorded digest.
index=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/e2e/faults-$engine:1.0.0")
assert_eq "$(jq -r '[.manifests[].digest] | sort | join(" ")' <<<"$index")" \
  "$(jq -r '[.platforms[].digest] | sort | join(" ")' "$work/build/multiarch-image/hello/metadata.json")" \
  "index digests after $faults faults"
echo "ok: all $faults injected faults were survived"

[[ $engine == docker ]] || exit 0
step "the helper's own client, 2 s per attempt: a reset, a 503, no answer, a body cut on its way up, a body that stops"
# Per request, in this order: the first request is reset, its retry answered 503, the next never
# answered; the first request with more than 1 MB of body (a layer of 8 MB) reaches the registry
# 1 MB far, then both sides are reset; the first answer with more than 16 bytes of body stops after
# 16 of them. Stalls last 600 s, and the build is given 120: only the helper's own timeout can make
# it pass.
start_proxy stalling --http --first reset,error,stall,reset-body,stall-body --reset-body-after 1000000 \
  --stall-body-after 16 --stall-seconds 600
mkdir -p "$work/stalled/files"
echo "the helper's timeout" >"$work/stalled/files/data.txt"
head -c 8000000 /dev/urandom >"$work/stalled/files/noise.bin"   # does not compress: an 8 MB layer
cat >"$work/stalled/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(stalled LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(stalled REPOSITORY "127.0.0.1:$(cat "$work/stalling.port")/e2e/stalled" TAGS 1.0 PLATFORMS linux/amd64
  BASE scratch ENTRYPOINT /srv/data.txt FILES files/=/srv/)
CMAKE
configure "$work/stalled" "$work/stalled-build" -DMULTIARCH_IMAGE_TIMEOUT=2 -DMULTIARCH_IMAGE_RETRY_DELAY=0.1 >/dev/null
status=0
timeout 120 cmake --build "$work/stalled-build" --target image-push >"$work/stalled.log" 2>&1 || status=$?
grep -E "warning" "$work/stalled.log" || true
((status != 124)) || fail "the build hung on a stalled registry (stopped after 120 s):\n$(tail -20 "$work/stalled.log")"
[[ $status == 0 ]] || fail "the publish did not complete (exit $status):\n$(tail -30 "$work/stalled.log")"
for kind in reset error stall reset-body stall-body; do
  line=$(grep -m1 "^$kind " "$work/stalling.log") || fail "no $kind was injected:\n$(cat "$work/stalling.log")"
  echo "injected: $line"
done
grep -q "^reset-body PUT .*/blobs/uploads/.* after 1000000 body bytes" "$work/stalling.log" ||
  fail "the cut body was not an upload's: $(grep "^reset-body" "$work/stalling.log")"
grep -E "uploading sha256:.*(resuming at byte|refused to resume)" "$work/stalled.log" ||
  fail "no word of the broken upload's session:\n$(grep warning "$work/stalled.log")"
assert_eq "$(grep -c "timed out; attempt [0-9]* of" "$work/stalled.log")" 2 \
  "attempts the helper stopped at its 2 s timeout (the unanswered request and the stopped body)"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/e2e/stalled:1.0" | jq -r '.manifests[0].digest')" \
  "$(jq -r '.platforms[0].digest' "$work/stalled-build/multiarch-image/stalled/metadata.json")" "the published index"
