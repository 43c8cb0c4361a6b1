#!/usr/bin/env bash
# SIGN_COMMAND: a signer that really signs (openssl, with a key the test makes and passes through the
# environment only) runs once per published index, as part of image-push, and attaches its signature
# with `multiarch-image attach` as an OCI 1.1 referrer of the index (the referrers tag schema on the
# distribution 2.8 registry, which has no referrers API); the test verifies the signature it reads
# back. An unchanged rerun signs nothing; a failing signer fails the build with its output and no
# record, and the rerun runs the signer alone; a referrers tag that holds something else is reported
# and left as it is.
. "$(dirname "$0")/lib.sh"
helper=${MULTIARCH_TEST_HELPER:?}
repository=$REGISTRY/e2e/signed
mkdir -p "$work/src/files" "$work/keys"
echo "version 1" >"$work/src/files/data.txt"
openssl genpkey -algorithm ed25519 -out "$work/keys/signer.pem" 2>/dev/null
openssl pkey -in "$work/keys/signer.pem" -pubout -out "$work/keys/signer.pub"
cat >"$work/sign.sh" <<'SIGNER'
#!/bin/sh
# The test's signer: signs the reference it is given with the key in $SIGNER_KEY (the environment,
# never an argument), then attaches the signature to it.
set -e
echo "signing $1" >>"$SIGNER_LOG"
if [ -n "$SIGNER_FAIL" ]; then echo "the signer says no: $SIGNER_FAIL" >&2; exit 3; fi
printf '%s' "$1" >"$SIGNER_OUT/payload"
openssl pkeyutl -sign -inkey "$SIGNER_KEY" -rawin -in "$SIGNER_OUT/payload" -out "$SIGNER_OUT/signature"
"$HELPER" attach --reference "$1" --artifact-type application/vnd.example.signature.v1 --file "$SIGNER_OUT/signature" \
  --annotation org.example.signed-reference="$1"
SIGNER
chmod +x "$work/sign.sh"
export SIGNER_KEY=$work/keys/signer.pem SIGNER_LOG=$work/signer.log SIGNER_OUT=$work/keys HELPER=$helper
: >"$SIGNER_LOG"
cat >"$work/src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(signed LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(signed REPOSITORY "$repository" TAGS 1.0 PLATFORMS linux/amd64 linux/arm64 BASE scratch
  ENTRYPOINT /srv/data.txt FILES files/=/srv/
  SIGN_COMMAND "$work/sign.sh" @REFERENCE@)
CMAKE
configure "$work/src" "$work/b" >/dev/null
metadata=$work/b/multiarch-image/signed/metadata.json
index() { jq -r .index_digest "$metadata"; }
signatures() {  # signatures DIGEST: the signature referrers of the index, one a line (fails when referrers does)
  local listed
  listed=$("$helper" referrers --reference "$repository@$1") || fail "multiarch-image referrers failed for $1"
  jq -r 'select(.artifactType == "application/vnd.example.signature.v1") | .digest' <<<"$listed"
}
verify() {  # verify DIGEST: the one signature attached to repository@DIGEST is the signer's over that reference
  local artifacts; artifacts=$(signatures "$1")
  assert_eq "$(grep -c . <<<"$artifacts" || true)" 1 "signatures attached to $1"
  local manifest layer
  manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/e2e/signed/manifests/$artifacts")
  assert_eq "$(jq -r .subject.digest <<<"$manifest")" "$1" "the signature's subject"
  layer=$(jq -r '.layers[0].digest' <<<"$manifest")
  curl -sf "http://$REGISTRY/v2/e2e/signed/blobs/$layer" -o "$work/fetched.sig"
  printf '%s' "$repository@$1" >"$work/expected-payload"
  openssl pkeyutl -verify -pubin -inkey "$work/keys/signer.pub" -rawin -in "$work/expected-payload" \
    -sigfile "$work/fetched.sig" >/dev/null || fail "the signature attached to $1 does not verify"
  echo "ok: the signature of $repository@${1:0:19} verifies with the signer's public key"
}

step "image-push publishes, then signs the index; the signature is a referrer that verifies"
cmake --build "$work/b" --target image-push >"$work/first.log" 2>&1 || fail "publish failed:\n$(tail -20 "$work/first.log")"
first=$(index)
grep -F "[signed] sign done" "$work/first.log"
verify "$first"
tag_index=$(skopeo inspect --tls-verify=false --raw "docker://$repository:sha256-${first#sha256:}")
assert_eq "$(jq -r .mediaType <<<"$tag_index")" application/vnd.oci.image.index.v1+json "the referrers tag's media type"
assert_eq "$(jq '.manifests | length' <<<"$tag_index")" 1 "entries in the referrers tag"
[[ -f $work/b/multiarch-image/signed/signed.json ]] || fail "no sign record"
grep -q "$SIGNER_KEY" "$work/b/multiarch-image/signed/signed.json" "$work/first.log" && fail "the key's path in a record or log"

step "an unchanged rerun signs nothing"
cmake --build "$work/b" --target image-push >"$work/noop.log" 2>&1
assert_eq "$(wc -l <"$SIGNER_LOG")" 1 "signer runs"
! grep -q "multiarch-image: sign" "$work/noop.log" || fail "the sign step ran again:\n$(cat "$work/noop.log")"

step "a changed image and a failing signer: the build fails with the signer's output, no record"
echo "version 2" >"$work/src/files/data.txt"
SIGNER_FAIL="key locked" cmake --build "$work/b" --target image-push >"$work/fail.log" 2>&1 && fail "a failing signer passed"
grep -q "the signer says no: key locked" "$work/fail.log" || fail "the signer's output is missing:\n$(tail -20 "$work/fail.log")"
[[ ! -f $work/b/multiarch-image/signed/signed.json ]] || fail "a record after a failed signing"
second=$(index)
[[ $second != "$first" ]] || fail "the index did not change"
listed=$(signatures "$second")
assert_eq "$(grep -c . <<<"$listed" || true)" 0 "signatures of the new index after the failure"

step "the rerun runs the signer alone"
cmake --build "$work/b" --target image-push >"$work/retry.log" 2>&1 || fail "the retry failed:\n$(tail -20 "$work/retry.log")"
! grep -E "\] (build|push) started|multiarch-image: manifest" "$work/retry.log" || fail "the retry redid more than signing"
verify "$second"
verify "$first"   # the old index keeps its own signature

step "a referrers tag that holds something else is reported, never overwritten"
echo "version 3" >"$work/src/files/data.txt"
cmake --build "$work/b" --target signed-manifest >/dev/null 2>&1
third=$(index)
platform=$(jq -r '.platforms[0].digest' "$metadata")
skopeo copy --src-tls-verify=false --dest-tls-verify=false "docker://$repository@$platform" \
  "docker://$repository:sha256-${third#sha256:}" >/dev/null
cmake --build "$work/b" --target image-push >"$work/hostile.log" 2>&1 && fail "signing over a foreign referrers tag passed"
grep -q "is not an OCI image index of referrers; left as it is" "$work/hostile.log" ||
  fail "unclear message:\n$(tail -20 "$work/hostile.log")"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$repository:sha256-${third#sha256:}" | jq -r .mediaType)" \
  "$(skopeo inspect --tls-verify=false --raw "docker://$repository@$platform" | jq -r .mediaType)" "the foreign tag, unchanged"
