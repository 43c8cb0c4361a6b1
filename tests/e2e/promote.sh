#!/usr/bin/env bash
# PROMOTE_TO (issue 24, part 3): an assembled image (two platforms, SBOM and provenance by default, a
# signature on its index from SIGN_COMMAND) published to a staging repository that
# MULTIARCH_IMAGE_REPOSITORY_PREFIX chooses, then image-promote copies it to another repository on
# the same registry (blobs mounted) and to a second registry (blobs streamed), which asks for Basic auth
# (the credentials in DOCKER_CONFIG's config.json, as `docker login` leaves them; the password is in no
# record or log; wrong ones fail the promotion naming the registry). On each far side: the
# same index digest under the image's tag, every platform's manifest by digest, the same referrers
# (artifact types) listed for each subject, and skopeo copies the whole image out with every digest
# checked. A second image-promote runs nothing and sends no request; a failed promote leaves no record.
. "$(dirname "$0")/lib.sh"
helper=${MULTIARCH_TEST_HELPER:?}
platforms=(linux/amd64 linux/arm64)

password="promote-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$work/registry2"
printf '%s\n' "$password" | htpasswd -niB robot >"$work/registry2/htpasswd"
"$repo_root/tests/e2e/services.sh" registry-start "$work/registry2"
on_exit '"$repo_root/tests/e2e/services.sh" registry-stop "$work/registry2"'
second=127.0.0.1:$(cat "$work/registry2/registry.port")
second_log=$work/registry2/registry.log
# The destination's credentials as `docker login` stores them; skopeo reads the same file.
login() {  # login PASSWORD
  mkdir -p "$work/docker-config"
  jq -n --arg r "$second" --arg a "$(printf 'robot:%s' "$1" | base64 -w0)" '{auths: {($r): {auth: $a}}}' \
    >"$work/docker-config/config.json"
}
login "$password"
export DOCKER_CONFIG=$work/docker-config REGISTRY_AUTH_FILE=$work/docker-config/config.json

mkdir -p "$work/src/files"
echo "promote me" >"$work/src/files/data.txt"
echo "signed by the test" >"$work/signature.txt"
cat >"$work/src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(promote LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(promo REPOSITORY registry.example.com/team/promo TAGS 1.0 PLATFORMS ${platforms[*]}
  BASE scratch ENTRYPOINT /srv/data.txt FILES files/=/srv/
  SIGN_COMMAND "$helper" attach --reference @REFERENCE@ --artifact-type application/vnd.example.signature.v1
               --file "$work/signature.txt")
CMAKE
git -C "$work/src" init -q
git -C "$work/src" -c user.name=t -c user.email=t@example.invalid add -A
git -C "$work/src" -c user.name=t -c user.email=t@example.invalid commit -qm "one"
build=$work/b
state=$build/multiarch-image/promo
staging=$REGISTRY/staging/team/promo
destinations=("$REGISTRY/prod/promo" "$second/prod/promo")
configure "$work/src" "$build" -DMULTIARCH_IMAGE_SOURCE_DATE_EPOCH=1700000000 -DMULTIARCH_IMAGE_RETRIES=1 \
  "-DMULTIARCH_IMAGE_REPOSITORY_PREFIX=$REGISTRY/staging" "-DMULTIARCH_IMAGE_PROMOTE_TO=${destinations[0]};${destinations[1]}" \
  >/dev/null

step "published to the staging repository the prefix chose"
cmake --build "$build" --target image-push >"$work/push.log" 2>&1 || fail "image-push failed:\n$(tail -30 "$work/push.log")"
assert_eq "$(jq -r .repository "$state/metadata.json")" "$staging" "the repository metadata.json names"
index=$(jq -r .index_digest "$state/metadata.json")
[[ -f $state/promoted.json ]] && fail "image-push promoted (promotion is asked for with image-promote)"

# What each subject has as referrers, by artifact type, sorted: "SUBJECT TYPE" lines.
referrer_types() {  # referrer_types REPOSITORY
  local subject
  for subject in "$index" $(jq -r '.platforms[].digest' "$state/metadata.json"); do
    "$helper" referrers --reference "$1@$subject" | jq -r --arg s "$subject" '"\($s) \(.artifactType)"'
  done | sort
}
source_referrers=$(referrer_types "$staging")
assert_eq "$(wc -l <<<"$source_referrers")" 5 "referrers in staging (an SBOM and a provenance statement per platform, a signature)"

step "image-promote: one repository on the same registry, one on another"
mark=$(registry_mark "$fixture_registry_log")
second_mark=$(registry_mark "$second_log")
start=$EPOCHREALTIME
cmake --build "$build" --target image-promote >"$work/promote.log" 2>&1 ||
  fail "image-promote failed:\n$(tail -30 "$work/promote.log")"
awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "image-promote took %.2f s\n", b - a }'
# What the promotion alone sent (the checks below read the registries too).
requests=$(registry_requests "$fixture_registry_log" "$mark" " /v2/prod/promo/")
second_requests=$(registry_requests "$second_log" "$second_mark" " /v2/prod/promo/")
promote_reads=$(registry_requests "$fixture_registry_log" "$mark" " /v2/staging/team/promo/" | wc -l)
echo "promote's requests: $(wc -l <<<"$requests") to the same registry's destination, $(wc -l <<<"$second_requests") to the" \
  "second registry, $promote_reads to staging; by method at the second: $(cut -d' ' -f1 <<<"$second_requests" | sort | uniq -c | tr -s ' \n' ' ')"
grep -E "multiarch-image: (build|push|manifest|sign) " "$work/promote.log" && fail "image-promote rebuilt or republished"
grep "promoted to" "$work/promote.log"
for destination in "${destinations[@]}"; do
  raw=$(skopeo inspect --tls-verify=false --raw "docker://$destination:1.0")
  assert_eq "sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)" "$index" "$destination:1.0's digest"
  for digest in $(jq -r '.platforms[].digest' "$state/metadata.json"); do
    served=$(curl -sf -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      --netrc-file <(printf 'machine 127.0.0.1 login robot password %s\n' "$password") \
      "http://${destination%%/*}/v2/${destination#*/}/manifests/$digest") || true
    assert_eq "$served" 200 "$destination@${digest:0:19}"
  done
  assert_eq "$(referrer_types "$destination")" "$source_referrers" "$destination: referrers by subject and artifact type"
  rm -rf "$work/copy"
  skopeo copy -q --all --src-tls-verify=false "docker://$destination@$index" "oci:$work/copy:x" >/dev/null ||
    fail "skopeo could not copy $destination@$index"
  echo "ok: skopeo copied $destination@$index, every digest checked"
done
mounted=$(mounted_blobs staging/team/promo <<<"$requests" | grep -c . || true)
echo "same registry: $(wc -l <<<"$requests") requests, $mounted blobs mounted; second registry: $(wc -l <<<"$second_requests") requests"
[[ $mounted -ge 5 ]] || fail "blobs mounted from staging on the same registry: $mounted\n$requests"
assert_eq "$(uploaded_blobs <<<"$requests" | grep -c . || true)" 0 "blobs uploaded within the same registry"
assert_eq "$(mounted_blobs staging/team/promo <<<"$second_requests" | grep -c . || true)" 0 "mounts on the second registry"
streamed=$(uploaded_blobs <<<"$second_requests")
assert_eq "$(common_lines "$streamed" "$(uploaded_blobs <<<"$(registry_requests "$fixture_registry_log" 0 " /v2/staging/team/promo/")")")" \
  "$(grep -c . <<<"$streamed")" "blobs streamed to the second registry (each one staging received)"
[[ $(grep -c . <<<"$streamed") -ge 5 ]] || fail "too few blobs streamed to the second registry: $streamed"
jq -e --arg i "$index" '[.destinations[].reference | endswith($i)] | all and length == 2' "$state/promoted.json" >/dev/null ||
  fail "promoted.json: $(cat "$state/promoted.json")"

step "a second image-promote runs nothing"
mark=$(registry_mark "$fixture_registry_log")
second_mark=$(registry_mark "$second_log")
cmake --build "$build" --target image-promote >"$work/again.log" 2>&1 || fail "the rerun failed:\n$(tail -30 "$work/again.log")"
grep -q "multiarch-image:" "$work/again.log" && fail "the rerun ran a step:\n$(cat "$work/again.log")"
# This test's repositories only: the fixture's registry serves the tests running beside this one.
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" ' /v2/(staging/team|prod)/promo' | wc -l)" 0 \
  "requests to the first registry on the rerun"
assert_eq "$(registry_requests "$second_log" "$second_mark" | wc -l)" 0 "requests to the second registry on the rerun"

step "a promote that fails leaves no record; the next one succeeds"
"$repo_root/tests/e2e/services.sh" registry-stop "$work/registry2"
cmake "$build" "-DMULTIARCH_IMAGE_PROMOTE_TO=$second/prod/promo;$second/prod/again" >/dev/null
cmake --build "$build" --target image-promote >"$work/failed.log" 2>&1 && fail "image-promote succeeded without its registry"
grep -iE "refused|connect" "$work/failed.log" | head -3 || true
[[ -f $state/promoted.json ]] && fail "a failed promote left promoted.json"
echo "ok: no record after the failure"
"$repo_root/tests/e2e/services.sh" registry-start "$work/registry2"
cmake --build "$build" --target image-promote >"$work/after.log" 2>&1 || fail "image-promote failed:\n$(tail -30 "$work/after.log")"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$second/prod/again:1.0" | sha256sum | cut -d' ' -f1)" "${index#sha256:}" \
  "$second/prod/again:1.0's digest"

step "wrong credentials for the destination: the promotion fails naming the registry, with no record"
login "not-$password"
cmake "$build" "-DMULTIARCH_IMAGE_PROMOTE_TO=$second/prod/third" >/dev/null
cmake --build "$build" --target image-promote >"$work/unauthorized.log" 2>&1 &&
  fail "image-promote succeeded with wrong credentials"
grep -E "$second.*(401|UNAUTHORIZED|unauthorized)|(401|UNAUTHORIZED|unauthorized).*$second" "$work/unauthorized.log" ||
  fail "the failure does not name the registry's refusal:\n$(tail -20 "$work/unauthorized.log")"
[[ -f $state/promoted.json ]] && fail "a refused promote left promoted.json"
echo "ok: refused, no record"
leaks=$(grep -rlaF -- "$password" "$build" "$work"/*.log 2>/dev/null || true)
[[ -z $leaks ]] || fail "the destination's password is in: $leaks"
echo "ok: the password is in no file of the build tree and no log"
