#!/usr/bin/env bash
# Build provenance (on by default): every pushed platform gets an in-toto Statement v1 with a SLSA
# Provenance v1 predicate as an OCI 1.1 referrer (the referrers tag schema on distribution 2.8), for
# an image the helper assembles and for a Dockerfile image docker builds. The statement's subject is
# the platform's pushed digest, its commit the checkout's HEAD, its builder the configured one, its
# times SOURCE_DATE_EPOCH's; metadata.json names it, the manifest step verifies it is listed. An
# unchanged rerun adds nothing; a changed image gets new statements for the new digests and the old
# ones stay with the old digests. PROVENANCE OFF (with SBOM OFF) attaches none.
. "$(dirname "$0")/lib.sh"
helper=${MULTIARCH_TEST_HELPER:?}
platforms=(linux/amd64 linux/arm64)
mkdir -p "$work/src/files"
echo "version 1" >"$work/src/files/data.txt"
printf 'FROM scratch\nCOPY files/ /srv/\n' >"$work/src/Dockerfile"
cat >"$work/src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(attested LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(assembled REPOSITORY "$REGISTRY/e2e/attested-assembled" TAGS 1.0 PLATFORMS ${platforms[*]}
  BASE scratch ENTRYPOINT /srv/data.txt FILES files/=/srv/)
add_multiarch_image(dockerfile REPOSITORY "$REGISTRY/e2e/attested-dockerfile" TAGS 1.0 PLATFORMS ${platforms[*]})
add_multiarch_image(plain REPOSITORY "$REGISTRY/e2e/attested-plain" TAGS 1.0 PLATFORMS linux/amd64
  BASE scratch ENTRYPOINT /srv/data.txt FILES files/=/srv/ PROVENANCE OFF SBOM OFF)
CMAKE
git -C "$work/src" init -q
git -C "$work/src" -c user.name=t -c user.email=t@example.invalid add -A
git -C "$work/src" -c user.name=t -c user.email=t@example.invalid commit -qm "version 1"
configure "$work/src" "$work/b" -DMULTIARCH_IMAGE_ENGINE=docker -DMULTIARCH_IMAGE_SOURCE_DATE_EPOCH=1700000000 \
  -DMULTIARCH_IMAGE_BUILDER_ID=https://ci.example.invalid/builders/e2e >/dev/null
statement_of() {  # statement_of REPOSITORY-PATH ARTIFACT-DIGEST: the statement the artifact carries
  local manifest layer
  manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/$1/manifests/$2")
  assert_eq "$(jq -r .artifactType <<<"$manifest")" application/vnd.in-toto+json "$2's artifactType" >&2
  layer=$(jq -r '.layers[0].digest' <<<"$manifest")
  curl -sf "http://$REGISTRY/v2/$1/blobs/$layer"
}
check() {  # check IMAGE: every platform's provenance, as metadata.json and the registry say
  local image=$1 path=e2e/attested-$1 metadata=$work/b/multiarch-image/$1/metadata.json
  for platform in "${platforms[@]}"; do
    local entry digest provenance listed statement
    entry=$(jq -c --arg p "$platform" '.platforms[] | select(.platform == $p)' "$metadata")
    digest=$(jq -r .pushed_digest <<<"$entry") provenance=$(jq -r .provenance <<<"$entry")
    [[ $provenance == sha256:* ]] || fail "$image $platform: no provenance in metadata.json"
    listed=$("$helper" referrers --reference "$REGISTRY/$path@$digest" | jq -r 'select(.artifactType == "application/vnd.in-toto+json") | .digest')
    assert_eq "$listed" "$provenance" "$image $platform: the one provenance referrer"
    statement=$(statement_of "$path" "$provenance")
    assert_eq "$(jq -r '._type' <<<"$statement")" https://in-toto.io/Statement/v1 "$image $platform: _type"
    assert_eq "$(jq -r '.predicateType' <<<"$statement")" https://slsa.dev/provenance/v1 "$image $platform: predicateType"
    assert_eq "sha256:$(jq -r '.subject[0].digest.sha256' <<<"$statement")" "$digest" "$image $platform: subject"
    assert_eq "$(jq -r '.predicate.buildDefinition.externalParameters.source.commit' <<<"$statement")" \
      "$(git -C "$work/src" rev-parse HEAD)" "$image $platform: the commit"
    assert_eq "$(jq -r '.predicate.buildDefinition.externalParameters.platform' <<<"$statement")" "$platform" "$image $platform: platform"
    assert_eq "$(jq -r '.predicate.buildDefinition.resolvedDependencies[0].digest.gitCommit' <<<"$statement")" \
      "$(git -C "$work/src" rev-parse HEAD)" "$image $platform: the resolved source"
    assert_eq "$(jq -r '.predicate.runDetails.builder.id' <<<"$statement")" https://ci.example.invalid/builders/e2e "$image $platform: builder"
    assert_eq "$(jq -r '.predicate.runDetails.metadata.startedOn' <<<"$statement")" 2023-11-14T22:13:20Z "$image $platform: time"
    assert_eq "$(jq -r '.predicate.buildDefinition.internalParameters.cmake.version' <<<"$statement")" \
      "$(cmake --version | sed -n 's/^cmake version //p')" "$image $platform: CMake"
  done
}

step "image-push attaches a provenance statement to every platform of both kinds of image"
reset_engine_calls
cmake --build "$work/b" --target image-push -j2 >"$work/first.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/first.log")"
check assembled
check dockerfile
assert_eq "$(jq -r '.platforms[0].provenance + .platforms[0].sbom' "$work/b/multiarch-image/plain/metadata.json")" "" \
  "PROVENANCE OFF, SBOM OFF: none recorded"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY/v2/e2e/attested-plain/manifests/sha256-$(jq -r '.platforms[0].digest' "$work/b/multiarch-image/plain/metadata.json" | cut -d: -f2)")" \
  404 "PROVENANCE OFF, SBOM OFF: no referrers tag"
before=$(jq -r '.platforms[] | .pushed_digest + " " + .provenance' "$work/b/multiarch-image/assembled/metadata.json")

step "an unchanged rerun adds nothing"
cmake --build "$work/b" --target image-push -j2 >"$work/noop.log" 2>&1
! grep -E "provenance sha256|\] push started" "$work/noop.log" || fail "the rerun attached again:\n$(cat "$work/noop.log")"

step "a changed image: new statements for the new digests, the old ones left with the old digests"
echo "version 2" >"$work/src/files/data.txt"
git -C "$work/src" -c user.name=t -c user.email=t@example.invalid commit -qam "version 2"
cmake --build "$work/b" --target image-push -j2 >"$work/edit.log" 2>&1 || fail "republish failed:\n$(tail -30 "$work/edit.log")"
check assembled
while read -r digest provenance; do
  listed=$("$helper" referrers --reference "$REGISTRY/e2e/attested-assembled@$digest" |
    jq -r 'select(.artifactType == "application/vnd.in-toto+json") | .digest')
  assert_eq "$listed" "$provenance" "the old digest's provenance, still its only statement"
done <<<"$before"
