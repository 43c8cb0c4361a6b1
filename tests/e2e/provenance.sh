#!/usr/bin/env bash
# Build provenance (on by default): every pushed platform gets an in-toto Statement v1 with a SLSA
# Provenance v1 predicate as an OCI 1.1 referrer (the referrers tag schema on distribution 2.8), for
# an image the helper assembles and for a Dockerfile image docker builds. The statement's subject is
# the platform's pushed digest, its commit the checkout's HEAD, its builder the configured one, its
# times SOURCE_DATE_EPOCH's; metadata.json names it, the manifest step verifies it is listed. An
# unchanged rerun adds nothing; a changed image gets new statements for the new digests and the old
# ones stay with the old digests. PROVENANCE OFF (with SBOM OFF) attaches none. A document another
# writer dropped from the referrers tag is listed again by the manifest step. One image built in four
# build trees without SOURCE_DATE_EPOCH (two at once) has one SBOM and one statement per commit.
# Through a front that answers as GitLab's registry (no referrers API, its referrers tag the image
# itself), the image is published, its documents are there by digest, and nothing is written at the tag.
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

step "a document another writer dropped from the referrers tag: the manifest step lists it again"
# As a second build tree that read the list before ours was added and wrote its own over it.
metadata=$work/b/multiarch-image/assembled/metadata.json
pushed=$(jq -r '.platforms[0].pushed_digest' "$metadata") sbom=$(jq -r '.platforms[0].sbom' "$metadata")
tag_url=http://$REGISTRY/v2/e2e/attested-assembled/manifests/sha256-${pushed#sha256:}
curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "$tag_url" | jq -c --arg d "$sbom" '.manifests |= map(select(.digest != $d))' |
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @- "$tag_url"
"$helper" referrers --reference "$REGISTRY/e2e/attested-assembled@$pushed" | grep -q "$sbom" && fail "the SBOM was not dropped"
rm "$metadata"
cmake --build "$work/b" --target image-push -j2 >"$work/relist.log" 2>&1 || fail "the manifest step failed:\n$(tail -20 "$work/relist.log")"
grep -q "lacked $sbom .*listing them again" "$work/relist.log" || fail "no word of the dropped SBOM:\n$(grep -i warning "$work/relist.log")"
assert_eq "$("$helper" referrers --reference "$REGISTRY/e2e/attested-assembled@$pushed" | grep -c "$sbom")" 1 "the SBOM listed again"

step "one image built in four build trees (two at once) keeps one SBOM, and gains a statement only when a commit changes"
# Without SOURCE_DATE_EPOCH, as most CI runs build: the clock made every build's documents differ.
for tree in c1 c2 c3 c4; do configure "$work/src" "$work/$tree" -DMULTIARCH_IMAGE_ENGINE=docker >/dev/null; done
push_tree() { cmake --build "$work/$1" --target assembled-push -j2 >"$work/$1.log" 2>&1 || fail "tree $1 failed:\n$(tail -20 "$work/$1.log")"; }
push_tree c1 & first=$!
push_tree c2 & second=$!
wait "$first" && wait "$second" || fail "a build tree pushing at the same time as another failed"
sleep 1   # a later second
push_tree c3
echo "a file outside the image" >"$work/src/NOTES.txt"
git -C "$work/src" -c user.name=t -c user.email=t@example.invalid add NOTES.txt
git -C "$work/src" -c user.name=t -c user.email=t@example.invalid commit -qm "notes"
push_tree c4
for platform in "${platforms[@]}"; do
  digests=$(for tree in c1 c2 c3 c4; do
    jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .pushed_digest' "$work/$tree/multiarch-image/assembled/metadata.json"
  done | sort -u)
  assert_eq "$(wc -l <<<"$digests")" 1 "$platform: one digest from four build trees"
  listed=$("$helper" referrers --reference "$REGISTRY/e2e/attested-assembled@$digests")
  assert_eq "$(jq -r 'select(.artifactType == "application/vnd.cyclonedx+json") | .digest' <<<"$listed" | wc -l)" 1 "$platform: SBOMs"
  assert_eq "$(jq -r 'select(.artifactType == "application/vnd.in-toto+json") | .digest' <<<"$listed" | wc -l)" 2 \
    "$platform: statements (one per commit)"
  for tree in c1 c2 c3 c4; do
    entry=$(jq -c --arg p "$platform" '.platforms[] | select(.platform == $p)' "$work/$tree/multiarch-image/assembled/metadata.json")
    grep -q "$(jq -r .sbom <<<"$entry")" <<<"$listed" || fail "$tree $platform: its SBOM is not the listed one"
    grep -q "$(jq -r .provenance <<<"$entry")" <<<"$listed" || fail "$tree $platform: its statement is not listed"
  done
  assert_eq "$(statement_of e2e/attested-assembled "$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .provenance' \
    "$work/c4/multiarch-image/assembled/metadata.json")" | jq -r '.predicate.buildDefinition.externalParameters.source.commit')" \
    "$(git -C "$work/src" rev-parse HEAD)" "$platform: the new commit's statement"
done
grep -q "SBOM sha256:.* kept" "$work/c4.log" || fail "tree c4 did not keep the SBOM:\n$(cat "$work/c4.log")"

step "a registry that lists no referrers (GitLab's: the referrers tag is the subject itself)"
# A front answering as GitLab's registry does: no referrers API, and manifests/sha256-<hex> read as the
# digest. The image is published, its documents are pushed by digest and named in metadata.json, and
# nothing is ever written at the referrers tag, which there is the image itself.
start_proxy gitlab --quirk gitlab-referrers-tag
front=127.0.0.1:$(cat "$work/gitlab.port")
mkdir -p "$work/gitlab"
cp -r "$work/src/files" "$work/gitlab/"
cat >"$work/gitlab/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(gitlab LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(gitlab REPOSITORY "$front/e2e/attested-gitlab" TAGS 1.0 PLATFORMS linux/amd64
  BASE scratch ENTRYPOINT /srv/data.txt FILES files/=/srv/)
CMAKE
configure "$work/gitlab" "$work/gitlab-b" >/dev/null
cmake --build "$work/gitlab-b" --target image-push >"$work/gitlab-push.log" 2>&1 ||
  fail "publish through the GitLab front failed:\n$(tail -20 "$work/gitlab-push.log")"
grep "warning: .*answers its referrers tag with the subject itself" "$work/gitlab-push.log" ||
  fail "no warning says where the documents went:\n$(cat "$work/gitlab-push.log")"
grep -qE "^quirk gitlab-referrers-tag GET .*/manifests/sha256-[0-9a-f]{64} as " "$work/gitlab.log" ||
  fail "the front never served a referrers tag as the subject:\n$(cat "$work/gitlab.log")"
assert_eq "$(grep -cE "^quirk gitlab-referrers-tag (PUT|DELETE) " "$work/gitlab.log" || true)" 0 "writes at a referrers tag"
entry=$(jq -c '.platforms[0]' "$work/gitlab-b/multiarch-image/gitlab/metadata.json")
pushed=$(jq -r .pushed_digest <<<"$entry")
assert_eq "$(jq -r .referrers_index <<<"$entry")" none "metadata.json: where the documents are listed"
assert_eq "$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/e2e/attested-gitlab/manifests/$pushed" |
  sha256sum | cut -d' ' -f1)" "${pushed#sha256:}" "the image, untouched"
for document in sbom provenance; do
  artifact=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/e2e/attested-gitlab/manifests/$(jq -r ".$document" <<<"$entry")") || fail "the $document is not in the registry"
  assert_eq "$(jq -r .subject.digest <<<"$artifact")" "$pushed" "the $document's subject, by digest"
done
# The manifest step's check agrees, and a rerun of it writes nothing.
rm "$work/gitlab-b/multiarch-image/gitlab/metadata.json"
mark=$(registry_mark "$fixture_registry_log")
cmake --build "$work/gitlab-b" --target image-push >"$work/gitlab-again.log" 2>&1 ||
  fail "the manifest step failed through the GitLab front:\n$(tail -20 "$work/gitlab-again.log")"
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" '^(PUT|POST|PATCH|DELETE) /v2/e2e/attested-' | wc -l)" 0 "writes on the manifest step's rerun"
"$helper" referrers --reference "$front/e2e/attested-gitlab@$pushed" >"$work/gitlab-referrers.txt" 2>"$work/gitlab-referrers.err"
assert_eq "$(wc -l <"$work/gitlab-referrers.txt")" 0 "referrers the front lists"
grep -q "lists no referrers" "$work/gitlab-referrers.err" || fail "referrers says nothing of it:\n$(cat "$work/gitlab-referrers.err")"
