#!/usr/bin/env bash
# One registry quirk (the argument): an image the helper assembles (for GitLab and immutable tags, one
# docker or podman builds from a Dockerfile too; for an account's rate limit, only that), two platforms, SBOM and provenance on (the defaults), published through the fault
# proxy's --quirk front, which answers as another registry does, before the fixture's real registry.
# Each ends in an image published and verified (skopeo copies every platform from the real registry,
# digests checked) with its documents in the registry, and a rerun that writes nothing; or in a clear
# message naming the registry's limit and what works there, with no record claiming success.
# docs/registries.md has the table.
#   quirks.sh gitlab-referrers-tag | immutable-tags | immutable-tags-denied | rate-limit | rate-limit-account
#           | no-chunked-upload | head-405 | no-digest-header | manifest-content-type | docker-media-types-only | no-mount
#           | referrers-api
. "$(dirname "$0")/lib.sh"
quirk=${1:?which quirk}
helper=${MULTIARCH_TEST_HELPER:?}
platforms=(linux/amd64 linux/arm64)
repository_path=e2e/quirk-$quirk

start_proxy front --quirk "$quirk"
front=127.0.0.1:$(cat "$work/front.port")

mkdir -p "$work/src/files"
echo "version 1" >"$work/src/files/data.txt"
cat >"$work/src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(quirks LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
set(QUIRK_TAG 1.0 CACHE STRING "")
set(QUIRK_BASE scratch CACHE STRING "")
set(QUIRK_INDEX_FORMAT auto CACHE STRING "")
add_multiarch_image(q REPOSITORY "$front/$repository_path" TAGS \${QUIRK_TAG} PLATFORMS ${platforms[*]}
  BASE \${QUIRK_BASE} ENTRYPOINT /srv/data.txt FILES files/=/srv/ INDEX_FORMAT \${QUIRK_INDEX_FORMAT})
CMAKE
git -C "$work/src" init -q
commit() {
  git -C "$work/src" -c user.name=t -c user.email=t@example.invalid add -A
  git -C "$work/src" -c user.name=t -c user.email=t@example.invalid commit -qm "$1"
}
commit "version 1"
build=$work/b
state=$build/multiarch-image/q
configure "$work/src" "$build" -DMULTIARCH_IMAGE_SOURCE_DATE_EPOCH=1700000000 >/dev/null

# publish LOG [JOBS]: image-push through the front.
publish() { cmake --build "$build" --target image-push -j"${2:-2}" >"$work/$1.log" 2>&1; }
# published TAG: the index at TAG, read from the real registry, lists every platform; skopeo copies
# the whole image out (each blob's digest checked); each platform's SBOM and provenance are manifests
# in the registry whose subject is the platform's digest.
published() {
  local tag=$1 ref=$REGISTRY/$repository_path:$1
  assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$ref" | jq '.manifests | length')" ${#platforms[@]} "platforms at $tag"
  rm -rf "$work/copy"
  skopeo copy -q --all --src-tls-verify=false "docker://$ref" "oci:$work/copy:$tag" >/dev/null ||
    fail "skopeo could not copy $ref"
  echo "ok: skopeo copied $ref, every digest checked"
  local entry pushed document artifact
  for platform in "${platforms[@]}"; do
    entry=$(jq -c --arg p "$platform" '.platforms[] | select(.platform == $p)' "$state/metadata.json")
    pushed=$(jq -r .pushed_digest <<<"$entry")
    for document in sbom provenance; do
      [[ $(jq -r ".$document" <<<"$entry") == sha256:* ]] || fail "$platform: no $document in metadata.json"
      artifact=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$REGISTRY/v2/$repository_path/manifests/$(jq -r ".$document" <<<"$entry")") ||
        fail "$platform: the $document is not in the registry"
      assert_eq "$(jq -r .subject.digest <<<"$artifact")" "$pushed" "$platform: the $document's subject"
    done
  done
}
# rerun_writes_nothing: image-push again, nothing changed: no request that writes reaches the registry.
rerun_writes_nothing() {
  local mark
  mark=$(registry_mark "$fixture_registry_log")
  publish rerun || fail "the rerun failed:\n$(tail -20 "$work/rerun.log")"
  assert_eq "$(registry_requests "$fixture_registry_log" "$mark" "^(PUT|POST|PATCH|DELETE) /v2/$repository_path/" | wc -l)" 0 \
    "writes on a rerun with nothing changed"
}
# no_record_claims_success: after a failed publish, no push record (and no metadata.json when nothing
# was ever published; an earlier publish's stays, true of what the tags still hold).
no_record_claims_success() {
  local records
  records=$(find "$state" -maxdepth 1 \( -name 'push-*.json' -o -name metadata.json \) | sort | tr '\n' ' ')
  assert_eq "$records" "${1:-}" "records after the failure"
}
# dockerfile_image ENGINE [CMAKE_ARGS...]: a project whose image ENGINE builds from a Dockerfile (FROM
# scratch, one file) and pushes itself through the front; sets repository_path, build and state.
dockerfile_image() {
  local engine=$1 src=$work/dsrc-$1
  shift
  mkdir -p "$src/ctx"
  printf 'FROM scratch\nCOPY data.txt /srv/data.txt\n' >"$src/ctx/Dockerfile"
  echo "built by $engine" >"$src/ctx/data.txt"
  # (No digits in the name: the message must come from what the registry said, not from "head-405".)
  repository_path=e2e/quirk-${quirk//[0-9]/x}-dockerfile-$engine
  cat >"$src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(quirks_dockerfile LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(d REPOSITORY "$front/$repository_path" TAGS 1.0 PLATFORMS ${platforms[*]} CONTEXT ctx ENGINE $engine)
CMAKE
  build=$work/d-$engine
  state=$build/multiarch-image/d
  configure "$src" "$build" -DMULTIARCH_IMAGE_SOURCE_DATE_EPOCH=1700000000 "$@" >/dev/null
}
# dockerfile_published ENGINE: such an image published through the front, as the assembled one is.
dockerfile_published() {
  step "the same for an image $1 builds from a Dockerfile and pushes itself"
  dockerfile_image "$1"
  publish "dockerfile-$1" || fail "$1's publish failed:\n$(tail -30 "$work/dockerfile-$1.log")"
  published 1.0
  rerun_writes_nothing
}
# dockerfile_refused ENGINE LIMIT WORKS: ENGINE's push of such an image fails at once, with a message
# naming the registry's limit (a regex) and what works there; no record claims success.
dockerfile_refused() {
  step "an image $1 builds from a Dockerfile: its push refused, said as the registry's limit"
  dockerfile_image "$1"
  ! publish "dockerfile-$1" 1 || fail "$1 pushed through a registry that cannot take its push"
  expect_in "$work/dockerfile-$1.log" "$1 push $front/$repository_path:1\.0-(amd64|arm64) was refused \(exit [0-9]+\): $2" \
    "$1: the message names the registry's limit"
  expect_in "$work/dockerfile-$1.log" "$3" "$1: the message says what works there"
  assert_eq "$(grep -c "attempt [0-9]* of [0-9]* failed" "$work/dockerfile-$1.log" || true)" 0 "$1: pushes tried again"
  no_record_claims_success
}
expect_in() {  # expect_in FILE REGEX WHAT
  grep -qE -- "$2" "$1" || fail "$3: no line matches /$2/ in $1:\n$(tail -30 "$1")"
  echo "ok: $3"
}

case $quirk in
  gitlab-referrers-tag)
    step "GitLab: the referrers tag is the image itself; published, documents by digest, nothing written at the tag"
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    expect_in "$work/first.log" "warning: .*answers its referrers tag with the subject itself" "the warning says where the documents went"
    assert_eq "$(jq -r '[.platforms[].referrers_index] | unique | join(" ")' "$state/metadata.json")" none "referrers_index"
    assert_eq "$(grep -cE "^quirk gitlab-referrers-tag (PUT|DELETE) " "$work/front.log" || true)" 0 "writes at a referrers tag"
    rerun_writes_nothing

    step "the same for an image docker builds from a Dockerfile (GitLab CI's docker executor)"
    # docker pushes the image through the front itself; the helper attaches its documents there.
    dockerfile_image docker
    writes=$(grep -cE "^quirk gitlab-referrers-tag (PUT|DELETE) " "$work/front.log" || true)
    publish dockerfile || fail "publish failed:\n$(tail -30 "$work/dockerfile.log")"
    published 1.0
    grep -qE "^docker (image )?push " "$work/engine-calls.log" || fail "docker did not push the image itself"
    expect_in "$work/dockerfile.log" "warning: .*answers its referrers tag with the subject itself" "the warning, for the Dockerfile image"
    assert_eq "$(jq -r '[.platforms[].referrers_index] | unique | join(" ")' "$state/metadata.json")" none "referrers_index"
    assert_eq "$(grep -cE "^quirk gitlab-referrers-tag (PUT|DELETE) " "$work/front.log" || true)" "$writes" "writes at a referrers tag"
    rerun_writes_nothing ;;

  immutable-tags | immutable-tags-denied)
    step "a first publish writes new tags: accepted"
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0

    step "a changed image under the same tags: refused, and the message names the tag and the rule"
    echo "version 2" >"$work/src/files/data.txt"
    commit "version 2"
    ! publish refused || fail "a changed image replaced an immutable tag:\n$(tail -20 "$work/refused.log")"
    expect_in "$work/front.log" "^quirk $quirk PUT /v2/$repository_path/manifests/1\.0-(amd64|arm64) refused" "the front refused the tag"
    expect_in "$work/refused.log" "refused to replace the tag 1\.0-(amd64|arm64) of $front/$repository_path, which holds sha256:[0-9a-f]{64}: its tags are immutable" \
      "the message names the tag and the rule"
    expect_in "$work/refused.log" "set PLATFORM_TAGS OFF \(or MULTIARCH_IMAGE_PLATFORM_TAGS=OFF\)" "the message names the option"
    no_record_claims_success "$state/metadata.json "

    step "PLATFORM_TAGS OFF and a new tag: published by digest, no tag written but the new one, no referrers tag"
    # A signer attaching to the index (SIGN_COMMAND) writes no referrers tag either.
    echo "a signature" >"$work/signature"
    cmake -DMULTIARCH_IMAGE_PLATFORM_TAGS=OFF -DQUIRK_TAG=1.1 \
      "-DMULTIARCH_IMAGE_SIGN_COMMAND=$helper;attach;--reference;@REFERENCE@;--artifact-type;application/vnd.example.signature;--file;$work/signature" \
      "$build" >/dev/null
    mark=$(registry_mark "$fixture_registry_log")
    publish digests || fail "publish by digest failed:\n$(tail -30 "$work/digests.log")"
    published 1.1
    assert_eq "$(registry_requests "$fixture_registry_log" "$mark" "^PUT /v2/$repository_path/manifests/" |
      grep -vE "/manifests/(sha256:[0-9a-f]{64}|1\.1) " | wc -l)" 0 "tags written besides 1.1"
    assert_eq "$(jq -r '[.platforms[].referrers_index] | unique | join(" ")' "$state/metadata.json")" none \
      "referrers_index (documents by digest)"
    assert_eq "$(jq -r '.references[0]' "$state/push-linux-amd64.json")" \
      "$front/$repository_path@$(jq -r .digest "$state/push-linux-amd64.json")" "the push record's reference: by digest"
    # What the push remembers for the next: no "none" that PLATFORM_TAGS OFF wrote, which a push with
    # it ON would take for a registry that lists nowhere (and write no referrers tag, ever).
    [[ -f $state/pushed-linux-amd64.json ]] || fail "no push memory at $state/pushed-linux-amd64.json"
    assert_eq "$(jq -r .referrers_index "$state/pushed-linux-amd64.json")" "" "the push memory's referrers index"
    expect_in "$work/digests.log" "attached application/vnd\.example\.signature sha256:[0-9a-f]{64} to .* \(listed nowhere: the registry keeps it by digest\)" \
      "the signature attached by digest"
    rerun_writes_nothing

    # docker (ECR's answer) or podman (DENIED) pushes the image under its per-platform tags itself.
    engine=docker
    [[ $quirk == immutable-tags-denied ]] && engine=podman
    step "an image $engine builds from a Dockerfile, changed under the same tags: $engine's push refused, said as such"
    mkdir -p "$work/dsrc/ctx"
    printf 'FROM scratch\nCOPY data.txt /srv/data.txt\n' >"$work/dsrc/ctx/Dockerfile"
    echo "built by $engine, version 1" >"$work/dsrc/ctx/data.txt"
    # (A name without the registry's words: the message must come from what the registry said.)
    repository_path=e2e/kept-tags-dockerfile-$engine
    cat >"$work/dsrc/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(quirks_dockerfile LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(d REPOSITORY "$front/$repository_path" TAGS 1.0 PLATFORMS ${platforms[*]} CONTEXT ctx ENGINE $engine)
CMAKE
    build=$work/d
    state=$build/multiarch-image/d
    configure "$work/dsrc" "$build" -DMULTIARCH_IMAGE_SOURCE_DATE_EPOCH=1700000000 >/dev/null
    publish dockerfile || fail "the first publish failed:\n$(tail -30 "$work/dockerfile.log")"
    published 1.0
    echo "built by $engine, version 2" >"$work/dsrc/ctx/data.txt"
    ! publish dockerfile-refused || fail "a changed image replaced an immutable tag:\n$(tail -20 "$work/dockerfile-refused.log")"
    expect_in "$work/front.log" "^quirk $quirk PUT /v2/$repository_path/manifests/1\.0-(amd64|arm64) refused" "the front refused $engine's tag"
    expect_in "$work/dockerfile-refused.log" \
      "$engine push $front/$repository_path:1\.0-(amd64|arm64) was refused \(exit [0-9]+\): the registry keeps the tag 1\.0-(amd64|arm64) for what it holds, its tags are immutable" \
      "the message names the tag and the rule"
    expect_in "$work/dockerfile-refused.log" "give every publish TAGS of its own \(a version, GIT_TAGS\)" "the message says what works"
    assert_eq "$(grep -c "attempt [0-9]* of [0-9]* failed" "$work/dockerfile-refused.log" || true)" 0 "pushes tried again"
    assert_eq "$(jq -r '[.platforms[].digest] | sort | join(" ")' "$state/metadata.json")" \
      "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/$repository_path:1.0" | jq -r '[.manifests[].digest] | sort | join(" ")')" \
      "metadata.json: what the tag still holds" ;;

  rate-limit)
    step "Docker Hub's and GHCR's 429s: waited as Retry-After asks (seconds, an HTTP date), announced with the limit"
    # One platform's push at a time: the front's limit is the registry's, whoever asks.
    publish first 1 || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    expect_in "$work/front.log" "^quirk rate-limit (HEAD|GET) .*/blobs/.* answered 429, Retry-After: 2 \(to multiarch-image/[0-9.]+\)$" \
      "a blob request limited (seconds)"
    expect_in "$work/front.log" "^quirk rate-limit PUT .*/manifests/.* answered 429, Retry-After: [A-Z][a-z]{2}, " "a manifest PUT limited (HTTP date)"
    # (A HEAD's 429 has no body: the headers name the limit.)
    expect_in "$work/first.log" "limits the rate of requests \(HTTP 429(; TOOMANYREQUESTS: [^;]*)?; ratelimit-limit: 100;w=21600, ratelimit-remaining: 0;w=21600\): waiting 2 s as it asks \(Retry-After\) before (HEAD|GET) " \
      "the wait announced with the limit (seconds)"
    expect_in "$work/first.log" "limits the rate of requests \(HTTP 429; TOOMANYREQUESTS: [^;]*; ratelimit-limit: 100;w=21600, ratelimit-remaining: 0;w=21600\): waiting [1-3] s as it asks \(Retry-After\) before PUT " \
      "the wait announced with the limit (HTTP date)"
    assert_eq "$(grep -c "too early" "$work/front.log" || true)" 0 "requests sent again before the registry's time"
    rerun_writes_nothing ;;

  rate-limit-account)
    step "a limit on an account, not on one kind of request: docker's push waits as the registry asks too"
    # docker fails its push at a 429 and passes no Retry-After on: the helper asks the registry.
    dockerfile_image docker
    # One step at a time: the front tells clients apart by their User-Agent, which two helpers share.
    publish dockerfile 1 || fail "publish failed:\n$(tail -30 "$work/dockerfile.log")"
    published 1.0
    expect_in "$work/front.log" "^quirk $quirk (HEAD|GET) .* answered 429, Retry-After: 2 \(to docker/" "docker's push limited (seconds)"
    expect_in "$work/front.log" "^quirk $quirk [A-Z]+ .* answered 429, Retry-After: [A-Z][a-z]{2}, .* \(to docker/" \
      "docker's push limited (HTTP date)"
    expect_in "$work/dockerfile.log" "docker push $front/$repository_path:1\.0-(amd64|arm64) was refused for the rate of requests \(exit [0-9]+\); asking the registry how long to wait" \
      "the refusal read from docker's output"
    expect_in "$work/dockerfile.log" "limits the rate of requests \(HTTP 429[^)]*ratelimit-limit: 100;w=21600[^)]*\): waiting [0-9]+ s as it asks \(Retry-After\) before HEAD .*/blobs/sha256:[0-9a-f]{64}" \
      "the wait the registry asked for, announced with the limit"
    assert_eq "$(grep -c "too early" "$work/front.log" || true)" 0 "requests sent again before the registry's time"
    assert_eq "$(grep -c "attempt [0-9]* of [0-9]* failed" "$work/dockerfile.log" || true)" 0 "pushes sent again by the backoff"
    rerun_writes_nothing ;;

  no-chunked-upload)
    step "a registry that takes no upload in chunks: a layer larger than one PUT goes up whole"
    head -c $((33 << 20)) /dev/urandom >"$work/src/files/large.bin"
    commit "a large file"
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    expect_in "$work/front.log" "^quirk no-chunked-upload PATCH .* answered 405" "the front refused a PATCH"
    expect_in "$work/first.log" "refused an upload in chunks \(HTTP 405; UNSUPPORTED" "the fallback announced"
    rerun_writes_nothing
    for engine in docker podman; do
      dockerfile_refused $engine "the registry takes no upload in chunks" "have it assemble the image \(BASE"
    done ;;

  head-405)
    step "HEAD answered 405: whether a blob is there is asked with a GET"
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    expect_in "$work/front.log" "^quirk head-405 HEAD .*/blobs/.* answered 405" "the front refused a HEAD"
    expect_in "$work/first.log" "answers HEAD with HTTP 405: whether it holds a blob is asked with a GET" "the fallback announced"
    rerun_writes_nothing
    for engine in docker podman; do
      dockerfile_refused $engine "the registry, or a proxy before it, answered a request of the push 405 Method Not Allowed" \
        "have it assemble the image \(BASE"
    done ;;

  no-digest-header)
    step "answers without Docker-Content-Digest: the client's own digests are used"
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    expect_in "$work/front.log" "^quirk no-digest-header PUT .* without Docker-Content-Digest" "the front dropped the header"
    rerun_writes_nothing
    dockerfile_refused docker "the registry's answers lack the Docker-Content-Digest header" "ENGINE podman"
    dockerfile_published podman ;;

  manifest-content-type)
    step "manifests served as application/json: each read by its own mediaType"
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    expect_in "$work/front.log" "^quirk manifest-content-type GET .*/manifests/.* served as application/json" "the front served one so"
    rerun_writes_nothing
    dockerfile_published docker ;;

  docker-media-types-only)
    step "a registry that knows only Docker's media types (old Quay, old Artifactory): a clear message"
    ! publish refused || fail "an OCI image was published to a registry that refuses OCI manifests"
    expect_in "$work/front.log" "^quirk docker-media-types-only PUT .*/manifests/.* refused application/vnd\.oci\." "the front refused it"
    expect_in "$work/refused.log" "refused $front/$repository_path[:@][^ ]+, an application/vnd\.oci\.image\.manifest\.v1\+json \(HTTP 400; MANIFEST_INVALID: manifest invalid\): a registry that takes only Docker media types" \
      "the message names the registry's limit"
    expect_in "$work/refused.log" "INDEX_FORMAT docker" "the message names what works"
    no_record_claims_success

    step "INDEX_FORMAT docker, without the documents (OCI artifacts): published in Docker's format throughout"
    refusals=$(grep -cE "^quirk docker-media-types-only PUT .* refused" "$work/front.log")
    configure "$work/src" "$build" -DQUIRK_INDEX_FORMAT=docker -DMULTIARCH_IMAGE_SBOM=OFF -DMULTIARCH_IMAGE_PROVENANCE=OFF >/dev/null
    publish docker || fail "publish failed:\n$(tail -30 "$work/docker.log")"
    ref=$REGISTRY/$repository_path:1.0
    list=$(skopeo inspect --tls-verify=false --raw "docker://$ref")
    assert_eq "$(jq -r .mediaType <<<"$list")" application/vnd.docker.distribution.manifest.list.v2+json "the list's type"
    assert_eq "$(jq -r '[.manifests[].mediaType] | unique | join(" ")' <<<"$list")" \
      application/vnd.docker.distribution.manifest.v2+json "its platforms' manifests"
    for digest in $(jq -r '.manifests[].digest' <<<"$list"); do
      manifest=$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/$repository_path@$digest")
      assert_eq "$(jq -r '[.config.mediaType] + [.layers[].mediaType] | unique | join(" ")' <<<"$manifest")" \
        "application/vnd.docker.container.image.v1+json application/vnd.docker.image.rootfs.diff.tar.gzip" \
        "the types in $digest"
    done
    rm -rf "$work/copy"
    skopeo copy -q --all --src-tls-verify=false "docker://$ref" "oci:$work/copy:1.0" >/dev/null || fail "skopeo could not copy $ref"
    echo "ok: skopeo copied $ref, every digest checked"
    assert_eq "$(grep -cE "^quirk docker-media-types-only PUT .* refused" "$work/front.log")" "$refusals" \
      "refusals by the front, all of the first publish"
    rerun_writes_nothing

    step "an image docker builds from a Dockerfile, without the documents: Docker's format as docker pushed it"
    dockerfile_image docker -DMULTIARCH_IMAGE_SBOM=OFF -DMULTIARCH_IMAGE_PROVENANCE=OFF
    publish dockerfile || fail "publish failed:\n$(tail -30 "$work/dockerfile.log")"
    assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/$repository_path:1.0" | jq -r .mediaType)" \
      application/vnd.docker.distribution.manifest.list.v2+json "the list's type"
    assert_eq "$(grep -cE "^quirk docker-media-types-only PUT .* refused" "$work/front.log")" "$refusals" "refusals by the front"
    rerun_writes_nothing ;;

  no-mount)
    step "no cross-repository mount: a base's layers answered with a fresh upload session, uploaded there"
    base_repository=$repository_path-base
    mkdir -p "$work/base/files"
    echo "the base" >"$work/base/files/base.txt"
    cat >"$work/base/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(quirk_base LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(base REPOSITORY "$front/$base_repository" TAGS 1.0 PLATFORMS ${platforms[*]}
  BASE scratch FILES files/=/base/ SBOM OFF PROVENANCE OFF)
CMAKE
    configure "$work/base" "$work/base-b" -DMULTIARCH_IMAGE_SOURCE_DATE_EPOCH=1700000000 >/dev/null
    cmake --build "$work/base-b" --target image-push -j2 >"$work/base.log" 2>&1 || fail "the base:\n$(tail -20 "$work/base.log")"
    cmake -DQUIRK_BASE="$front/$base_repository:1.0" "$build" >/dev/null
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    expect_in "$work/front.log" "^quirk no-mount POST /v2/$repository_path/blobs/uploads/\?mount=.* as /v2/$repository_path/blobs/uploads/" \
      "the front turned a mount into an upload session"
    expect_in "$work/first.log" "base layers: 0 mounted from $front/$base_repository, [1-9] copied" "the layers uploaded in the session"
    rerun_writes_nothing
    dockerfile_published docker ;;

  referrers-api)
    step "a registry with the referrers API (Harbor, Zot, ECR): used, and no referrers tag written"
    mark=$(registry_mark "$fixture_registry_log")
    publish first || fail "publish failed:\n$(tail -30 "$work/first.log")"
    published 1.0
    assert_eq "$(registry_requests "$fixture_registry_log" "$mark" "^PUT /v2/$repository_path/manifests/sha256-" | wc -l)" 0 \
      "referrers tags written"
    assert_eq "$(jq -r '[.platforms[].referrers_index] | unique | join(" ")' "$state/metadata.json")" api "referrers_index"
    expect_in "$work/front.log" "^quirk referrers-api GET /v2/$repository_path/referrers/sha256:[0-9a-f]{64} answered 200" \
      "the client asked the referrers API"
    for platform in "${platforms[@]}"; do
      pushed=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .pushed_digest' "$state/metadata.json")
      assert_eq "$("$helper" referrers --reference "$front/$repository_path@$pushed" | jq -r .artifactType | sort | tr '\n' ' ')" \
        "application/vnd.cyclonedx+json application/vnd.in-toto+json " "$platform: the referrers the API lists"
    done
    rerun_writes_nothing
    dockerfile_published docker ;;

  *) fail "unknown quirk $quirk" ;;
esac
