#!/usr/bin/env bash
# SBOM (on by default): every pushed platform gets a CycloneDX 1.6 document as an OCI 1.1 referrer
# (the referrers tag schema on distribution 2.8), for a Dockerfile image with TARGETS and for one the
# helper assembles on a base from the registry (examples/cross, amd64 natively and arm64 in a cross
# sub-build, RUNTIME). Checked for each platform: one SBOM and one provenance among the referrers;
# the document passes the CycloneDX project's own schema validator (npm); every file it lists is in
# the pulled image with that SHA-256; the runtime's packages are the Debian packages installed here,
# at their installed versions; the DT_NEEDED edges; the project, its version and HEAD; the base by
# digest. Then: an unchanged rerun attaches nothing, a changed program gets a new SBOM for its new
# digest and the old digests keep theirs, a Dockerfile's FROM base is resolved to its digest with
# the build arguments that are not secret (a name that says it holds one is left out, a URL's
# credentials are), a base the engine keeps an older copy of is pulled so that the image is made from
# the digest the SBOM names (docker and podman), and an image podman builds and pushes gets both
# documents.
# What the programs link (issue 26): hello_zlib links Debian's static zlib (zlib1g-dev, and
# zlib1g-dev:arm64 in the cross sub-build) and a static library FetchContent clones from a git
# repository made here, through a URL holding a token (git's insteadOf leads it to the local
# repository): each platform's SBOM lists zlib1g-dev at its installed version with its purl, the fetched
# repository at its commit with its purl, and the edges hello_zlib -> both; the token is in no
# document, record or log; a new commit of the fetched library that changes none of its code
# changes the SBOM (the commit) and nothing of the image.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
helper=${MULTIARCH_TEST_HELPER:?}
platforms=(linux/amd64 linux/arm64)
git_t() { git -C "$work/src" -c user.name=t -c user.email=t@example.invalid "$@"; }

step "the CycloneDX validator from npm"
validator=$MULTIARCH_TEST_STATE/cyclonedx
if [[ ! -d $validator/node_modules/@cyclonedx/cyclonedx-library ]]; then
  # Beside the fixture's other state, once per run; a second test installing at once gets its own copy.
  mkdir -p "$work/npm" && npm install --no-audit --no-fund --silent --prefix "$work/npm" \
    @cyclonedx/cyclonedx-library@10.3.0 ajv@8 ajv-formats@3 ajv-formats-draft2019@1 >/dev/null
  mv -T "$work/npm" "$validator" 2>/dev/null || validator=$work/npm
fi
validate() { NODE_PATH=$validator/node_modules node "$repo_root/tests/tools/validate-cyclonedx.cjs" "$@"; }
echo '{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"name": "x"}]}' >"$work/invalid.json"
! validate "$work/invalid.json" >/dev/null || fail "the validator accepts a component without a type"
echo "ok: the validator rejects an invalid document"

# The library hello_zlib fetches, in a repository of its own; the URL the project declares holds a
# token (from the environment, as a CI job's), and git's insteadOf leads that URL here.
token=glpat-e2e-$RANDOM$RANDOM-do-not-leak
fetched_url=https://git.example.invalid/team/fetched.git
mkdir -p "$work/fetched"
printf 'cmake_minimum_required(VERSION 3.21)\nproject(fetched CXX)\nadd_library(fetched STATIC fetched.cpp)\ntarget_include_directories(fetched PUBLIC .)\n' \
  >"$work/fetched/CMakeLists.txt"
printf 'namespace fetched { const char* name(); }\n' >"$work/fetched/fetched.hpp"
printf '#include "fetched.hpp"\nconst char* fetched::name() { return "fetched"; }\n' >"$work/fetched/fetched.cpp"
fetched_git() { git -C "$work/fetched" -c user.name=t -c user.email=t@example.invalid "$@"; }
git -C "$work/fetched" init -q && fetched_git add -A && fetched_git commit -qm "fetched 1"
fetched_commit=$(fetched_git rev-parse HEAD)
printf '[url "file://%s"]\n\tinsteadOf = https://ci:%s@git.example.invalid/team/fetched.git\n' "$work/fetched" "$token" \
  >"$work/gitconfig"
export GIT_CONFIG_GLOBAL=$work/gitconfig CROSS_HELLO_FETCH_TOKEN=$token

cp -r "$repo_root/examples/cross" "$work/src"
git -C "$work/src" init -q && git_t add -A && git_t commit -qm "version 1"
source_dir_arg=-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root
configure "$work/src" "$work/b" "$source_dir_arg" "-DCROSS_HELLO_CROSS_ARGS=$source_dir_arg" \
  -DCROSS_HELLO_FETCHED_REPOSITORY=$fetched_url -DCROSS_HELLO_FETCHED_TAG="$fetched_commit" \
  -DCROSS_HELLO_REPOSITORY="$REGISTRY/e2e/sbom" "-DCROSS_HELLO_PLATFORMS=linux/amd64;linux/arm64" \
  -DCROSS_HELLO_ASSEMBLED_IMAGE=ON -DCROSS_HELLO_ASSEMBLED_BASE="$REGISTRY/e2e/sbom:1.0.0" -DMULTIARCH_IMAGE_ENGINE=docker >/dev/null
publish() {  # publish LOG: the Dockerfile image, then the image assembled on it
  cmake --build "$work/b" --target cross-hello-push -j2 >"$1" 2>&1 && 
    cmake --build "$work/b" --target cross-hello-assembled-push -j2 >>"$1" 2>&1 || fail "publish failed:\n$(tail -30 "$1")"
}
unpack() {  # unpack REFERENCE DIR: the image's layers, in order, as one tree
  rm -rf "$2.oci" "$2" && mkdir -p "$2"
  skopeo copy -q --src-tls-verify=false "docker://$1" "oci:$2.oci:x" >/dev/null
  local manifest
  manifest=$(jq -r '.manifests[0].digest' "$2.oci/index.json")
  for layer in $(jq -r '.layers[].digest' "$2.oci/blobs/sha256/${manifest#sha256:}"); do
    tar -xzf "$2.oci/blobs/sha256/${layer#sha256:}" -C "$2" 2>/dev/null || tar -xf "$2.oci/blobs/sha256/${layer#sha256:}" -C "$2"
  done
}
check() {  # check IMAGE: every platform's SBOM, against the registry, the pulled image and dpkg
  local image=$1 path=e2e/${1/cross-hello/sbom} metadata=$work/b/multiarch-image/$1/metadata.json
  for platform in "${platforms[@]}"; do
    local suffix=${platform//\//-} entry pushed digest sbom listed doc root
    entry=$(jq -c --arg p "$platform" '.platforms[] | select(.platform == $p)' "$metadata")
    pushed=$(jq -r .pushed_digest <<<"$entry") digest=$(jq -r .digest <<<"$entry") sbom=$(jq -r .sbom <<<"$entry")
    [[ $sbom == sha256:* ]] || fail "$image $platform: no SBOM in metadata.json"
    listed=$("$helper" referrers --reference "$REGISTRY/$path@$pushed")
    assert_eq "$(jq -r 'select(.artifactType == "application/vnd.cyclonedx+json") | .digest' <<<"$listed")" "$sbom" \
      "$image $platform: the one SBOM referrer"
    assert_eq "$(jq -r 'select(.artifactType == "application/vnd.in-toto+json") | .digest' <<<"$listed" | wc -l)" 1 \
      "$image $platform: one provenance referrer"
    doc=$work/sbom-$image-$suffix.json
    artifact "$path" "$sbom" >"$doc"
    documents+=("$doc")
    assert_eq "$(jq -r .specVersion "$doc")" 1.6 "$image $platform: specVersion"
    root=$(jq -c .metadata.component "$doc")
    assert_eq "$(jq -r '.name + " " + .version' <<<"$root")" "cross_hello 1.0.0" "$image $platform: the project"
    assert_eq "$(jq -r '.properties[] | select(.name == "cmake-multiarch-image:git-commit") | .value' <<<"$root")" \
      "$(git -C "$work/src" rev-parse HEAD)" "$image $platform: the commit"
    assert_eq "$(jq -r '.metadata.properties[] | select(.name == "cmake-multiarch-image:image-digest") | .value' "$doc")" \
      "$pushed" "$image $platform: the image it describes"

    # Every file it lists (each component "file:<path>", nested ones too) has a SHA-256, and is in the
    # image with that hash.
    unpack "$REGISTRY/$path@$digest" "$work/rootfs"
    local files=0 location hash
    while read -r location hash; do
      [[ $hash =~ ^[0-9a-f]{64}$ ]] || fail "$image $platform: $location is listed without a SHA-256 ($hash)"
      [[ -f $work/rootfs$location ]] || fail "$image $platform: $location is listed but not in the image"
      assert_eq "$(sha256sum "$work/rootfs$location" | cut -d' ' -f1)" "$hash" "$image $platform: $location's SHA-256" >/dev/null
      files=$((files + 1))
    done < <(jq -r '.. | objects | select((."bom-ref"? // "") | startswith("file:")) |
                    (.evidence.occurrences[0].location // ."bom-ref"[5:]) + " " +
                    ([.hashes[]? | select(.alg == "SHA-256") | .content][0] // "none")' "$doc")
    for expected in /usr/local/bin/hello_server /usr/local/bin/hello_cli /usr/lib/libgreeting.so.1 /lib/libc.so.6 /lib/libstdc++.so.6; do
      jq -e --arg l "$expected" '[.. | objects | select(.evidence?.occurrences?[0].location == $l)] | length == 1' "$doc" >/dev/null ||
        fail "$image $platform: $expected is not listed"
    done
    ((files >= 5)) || fail "$image $platform: only $files files listed"
    echo "ok: $image $platform: $files files listed, each with a SHA-256, each in the image with it"

    # The runtime's packages are what dpkg says is installed here.
    local packages=0 name version arch
    while read -r name version arch; do
      assert_eq "$(dpkg-query -W -f '${Version}' "$name:$arch" 2>/dev/null || dpkg-query -W -f '${Version}' "$name")" "$version" \
        "$image $platform: $name's installed version" >/dev/null
      packages=$((packages + 1))
    done < <(jq -r '.components[] | select(.purl? // "" | startswith("pkg:deb/debian/")) |
                    .name + " " + .version + " " + (.properties[] | select(.name == "cmake-multiarch-image:package-architecture") | .value)' "$doc")
    ((packages >= 2)) || fail "$image $platform: $packages runtime packages named"
    local libc=libc6
    [[ $platform == linux/arm64 ]] && libc=libc6-arm64-cross
    jq -e --arg n "$libc" '[.components[] | select(.name == $n and (.components | length) >= 2)] | length == 1' "$doc" >/dev/null ||
      fail "$image $platform: libc.so.6 and the loader are not inside $libc"
    echo "ok: $image $platform: $packages Debian packages at their installed versions"

    # What hello_zlib links: Debian's static zlib by its package, the fetched library by its commit.
    local arch=${platform#linux/} zlib fetched
    zlib=$(jq -c --arg r "deb:zlib1g-dev:$arch" '.components[] | select(."bom-ref" == $r)' "$doc")
    [[ -n $zlib ]] || fail "$image $platform: zlib1g-dev is not listed"
    assert_eq "$(jq -r .version <<<"$zlib")" "$(dpkg-query -W -f '${Version}' "zlib1g-dev:$arch")" "$image $platform: zlib1g-dev's version"
    assert_eq "$(jq -r .purl <<<"$zlib")" \
      "pkg:deb/debian/zlib1g-dev@$(jq -rn --arg v "$(dpkg-query -W -f '${Version}' "zlib1g-dev:$arch")" '$v | @uri')?arch=$arch&distro=debian-12" \
      "$image $platform: zlib1g-dev's purl"
    jq -e '.components[0].hashes[0].content | length == 64' <<<"$zlib" >/dev/null ||
      fail "$image $platform: libz.a is listed without its SHA-256"
    fetched=$(jq -c '.components[] | select(.name == "fetched")' "$doc")
    assert_eq "$(jq -r .version <<<"$fetched")" "$fetched_commit" "$image $platform: the fetched library's commit"
    assert_eq "$(jq -r .purl <<<"$fetched")" \
      "pkg:generic/fetched@$fetched_commit?vcs_url=git%2Bhttps%3A%2F%2Fgit.example.invalid%2Fteam%2Ffetched.git%40$fetched_commit" \
      "$image $platform: the fetched library's purl"
    assert_eq "$(jq -r '.externalReferences[0].url' <<<"$fetched")" "$fetched_url" "$image $platform: its repository, no token"
    assert_eq "$(jq -r '.dependencies[] | select(.ref == "file:/usr/local/bin/hello_zlib") | .dependsOn[] |
                        select(startswith("file:") | not)' "$doc" | sort | tr '\n' ' ')" \
      "deb:zlib1g-dev:$arch vcs:$fetched_url@$fetched_commit " "$image $platform: hello_zlib -> zlib, fetched (and its runtime)"
    echo "ok: $image $platform: hello_zlib links zlib1g-dev $(jq -r .version <<<"$zlib") and fetched at ${fetched_commit:0:12}"

    # program -> project library -> C++ runtime, from DT_NEEDED.
    jq -e '.dependencies[] | select(.ref == "file:/usr/local/bin/hello_server") | .dependsOn | index("file:/usr/lib/libgreeting.so.1")' \
      "$doc" >/dev/null || fail "$image $platform: no edge hello_server -> libgreeting"
    jq -e '.dependencies[] | select(.ref == "file:/usr/lib/libgreeting.so.1") | .dependsOn | index("file:/lib/libstdc++.so.6")' \
      "$doc" >/dev/null || fail "$image $platform: no edge libgreeting -> libstdc++"
  done
}

step "image-push attaches an SBOM to every platform of both kinds of image"
publish "$work/first.log"
documents=()
check cross-hello
check cross-hello-assembled
for platform in "${platforms[@]}"; do
  base=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .digest' "$work/b/multiarch-image/cross-hello/metadata.json")
  doc=$work/sbom-cross-hello-assembled-${platform//\//-}.json
  assert_eq "$(jq -r '.components[] | select(.type == "container") | .version' "$doc")" "$base" "the assembled image's base ($platform)"
  [[ $(jq -r '.components[] | select(.type == "container") | .purl' "$doc") == "pkg:oci/sbom@sha256%3A${base#sha256:}?arch=${platform#linux/}&"* ]] ||
    fail "the base's purl: $(jq -r '.components[] | select(.type == "container") | .purl' "$doc")"
done
validate "${documents[@]}" || fail "an SBOM is not valid CycloneDX 1.6"
before=$(jq -r '.platforms[] | .pushed_digest + " " + .sbom' "$work/b/multiarch-image/cross-hello/metadata.json")

step "an unchanged rerun attaches nothing"
publish "$work/noop.log"
! grep -E "SBOM sha256|\] push started" "$work/noop.log" || fail "the rerun attached again:\n$(cat "$work/noop.log")"
echo "ok: nothing pushed, nothing attached"

step "a changed program: new SBOMs for the new digests, the old ones left with the old digests"
sed -i "s/greeting::message(\"server\")/greeting::message(\"server v2\")/" "$work/src/src/server.cpp"
git_t commit -qam "version 2"
cmake --build "$work/b" --target cross-hello-push -j2 >"$work/edit.log" 2>&1 || fail "republish failed:\n$(tail -30 "$work/edit.log")"
documents=()
check cross-hello
while read -r digest sbom; do
  listed=$("$helper" referrers --reference "$REGISTRY/e2e/sbom@$digest" | jq -r 'select(.artifactType == "application/vnd.cyclonedx+json") | .digest')
  assert_eq "$listed" "$sbom" "the old digest's SBOM, still its only SBOM"
  grep -q "$digest" "$work/b/multiarch-image/cross-hello/metadata.json" && fail "the digest did not change"
done <<<"$before"

step "a Dockerfile's FROM base by digest, its build arguments without the secret one"
mkdir -p "$work/from"
printf 'ARG BASE=scratch\nFROM ${BASE}\nARG GREETING\nLABEL greeting=${GREETING}\n' >"$work/from/Dockerfile"
printf 'FROM scratch\nCOPY Dockerfile /\n' >"$work/from/Dockerfile.podman"
cat >"$work/from/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(from_base VERSION 2.5 LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(derived REPOSITORY "$REGISTRY/e2e/sbom-derived" TAGS 1 PLATFORMS linux/amd64
  BUILD_ARGS BASE=$REGISTRY/e2e/sbom:1.0.0 GREETING=hi SIGNING_KEY=hunter2 DB_PASS=hunter3 MYSQL_PWD=hunter4
             GH_PAT=hunter5 REGISTRY_CREDS=hunter6 PIP_INDEX_URL=https://pipuser:hunter7@pypi.example.invalid/simple
  PROVENANCE OFF)
add_multiarch_image(podman-built REPOSITORY "$REGISTRY/e2e/sbom-podman" TAGS 1 PLATFORMS linux/amd64 linux/arm64
  ENGINE podman DOCKERFILE Dockerfile.podman)
CMAKE
configure "$work/from" "$work/from-b" -DMULTIARCH_IMAGE_ENGINE=docker >/dev/null
cmake --build "$work/from-b" --target image-push >"$work/from.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/from.log")"
entry=$(jq -c '.platforms[0]' "$work/from-b/multiarch-image/derived/metadata.json")
assert_eq "$(jq -r .provenance <<<"$entry")" "" "PROVENANCE OFF: no statement"
doc=$work/sbom-derived.json
artifact e2e/sbom-derived "$(jq -r .sbom <<<"$entry")" >"$doc"
base=$(jq -r '.platforms[] | select(.platform == "linux/amd64") | .digest' "$work/b/multiarch-image/cross-hello/metadata.json")
assert_eq "$(jq -r '.components[] | select(.type == "container") | .version' "$doc")" "$base" "FROM resolved to the platform's digest"
assert_eq "$(jq -r '.metadata.properties[] | select(.name == "cmake-multiarch-image:build-arg:GREETING") | .value' "$doc")" hi \
  "a build argument"
for secret in hunter2 hunter3 hunter4 hunter5 hunter6 hunter7 pipuser; do
  ! grep -q "$secret" "$doc" || fail "a secret build argument ($secret) is in the SBOM"
done
for name in SIGNING_KEY DB_PASS MYSQL_PWD GH_PAT REGISTRY_CREDS; do
  assert_eq "$(jq -r --arg n "cmake-multiarch-image:build-arg:$name" '[.metadata.properties[] | select(.name == $n)] | length' "$doc")" 0 \
    "$name, a name that says it holds a secret, listed"
done
assert_eq "$(jq -r '.metadata.properties[] | select(.name == "cmake-multiarch-image:build-arg:PIP_INDEX_URL") | .value' "$doc")" \
  https://pypi.example.invalid/simple "PIP_INDEX_URL, without its credentials"
assert_eq "$(jq -r '.metadata.component.name + " " + .metadata.component.version' "$doc")" "from_base 2.5" "the project"

step "a FROM base the engine keeps an older copy of: built from what the registry holds, which the SBOM names"
# The registry's moving:1 is "two"; docker's own moving:1 is still "one" (as on a machine that pulled
# it last week). With the SBOM on, the build pulls: the image is made from the base the SBOM names.
moving=$REGISTRY/e2e/sbom-moving
for version in one two; do
  mkdir -p "$work/moving-$version"
  echo "$version" >"$work/moving-$version/v"
  printf 'FROM scratch\nCOPY v /v\n' >"$work/moving-$version/Dockerfile"
  DOCKER_BUILDKIT=1 "$MULTIARCH_TEST_DOCKER" build -q --network=none -t "$moving:$version" "$work/moving-$version" >/dev/null
done
"$MULTIARCH_TEST_DOCKER" tag "$moving:two" "$moving:1"
"$MULTIARCH_TEST_DOCKER" push -q "$moving:1" >/dev/null
"$MULTIARCH_TEST_DOCKER" tag "$moving:one" "$moving:1"
mkdir -p "$work/on-moving"
printf 'FROM %s\nLABEL derived=yes\n' "$moving:1" >"$work/on-moving/Dockerfile"
cat >"$work/on-moving/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(on_moving LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(on-moving REPOSITORY "$REGISTRY/e2e/sbom-on-moving" TAGS 1 PLATFORMS linux/amd64 PROVENANCE OFF)
CMAKE
configure "$work/on-moving" "$work/on-moving-b" -DMULTIARCH_IMAGE_ENGINE=docker >/dev/null
cmake --build "$work/on-moving-b" --target image-push >"$work/on-moving.log" 2>&1 ||
  fail "publish on the moved base failed:\n$(tail -30 "$work/on-moving.log")"
grep -q "FROM bases pulled from their registries, as the SBOM names them: $moving:1" "$work/on-moving.log" ||
  fail "the build does not say it pulled the base:\n$(cat "$work/on-moving.log")"
entry=$(jq -c '.platforms[0]' "$work/on-moving-b/multiarch-image/on-moving/metadata.json")
artifact e2e/sbom-on-moving "$(jq -r .sbom <<<"$entry")" >"$work/sbom-on-moving.json"
named=$(jq -r '.components[] | select(.type == "container") | .version' "$work/sbom-on-moving.json")
assert_eq "$named" "$(skopeo inspect --tls-verify=false --raw "docker://$moving:1" | sha256sum | sed 's/^/sha256:/; s/ .*//')" \
  "the base the SBOM names (the registry's moving:1)"
base_layer=$(skopeo inspect --tls-verify=false --config "docker://$moving@$named" | jq -r '.rootfs.diff_ids[0]')
assert_eq "$(skopeo inspect --tls-verify=false --config "docker://$REGISTRY/e2e/sbom-on-moving@$(jq -r .pushed_digest <<<"$entry")" |
  jq -r '.rootfs.diff_ids[0]')" "$base_layer" "the image's first layer: the named base's, not the engine's older copy"

step "the same with podman: its older copy of the base is not what the image is made from"
"$MULTIARCH_TEST_DOCKER" push -q "$moving:one" >/dev/null
podman pull -q --tls-verify=false "$moving:one" >/dev/null
podman tag "$moving:one" "$moving:1"
mkdir -p "$work/on-moving-podman"
cp "$work/on-moving/Dockerfile" "$work/on-moving-podman/"
cat >"$work/on-moving-podman/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(on_moving_podman LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(on-moving-podman REPOSITORY "$REGISTRY/e2e/sbom-on-moving-podman" TAGS 1 PLATFORMS linux/amd64
  ENGINE podman PROVENANCE OFF)
CMAKE
configure "$work/on-moving-podman" "$work/on-moving-podman-b" >/dev/null
cmake --build "$work/on-moving-podman-b" --target image-push >"$work/on-moving-podman.log" 2>&1 ||
  fail "podman's publish on the moved base failed:\n$(tail -30 "$work/on-moving-podman.log")"
grep -q -- "--pull=always" "$work/engine-calls.log" || fail "podman build was not told to pull"
entry=$(jq -c '.platforms[0]' "$work/on-moving-podman-b/multiarch-image/on-moving-podman/metadata.json")
artifact e2e/sbom-on-moving-podman "$(jq -r .sbom <<<"$entry")" >"$work/sbom-on-moving-podman.json"
assert_eq "$(jq -r '.components[] | select(.type == "container") | .version' "$work/sbom-on-moving-podman.json")" "$named" \
  "podman: the base the SBOM names (the registry's moving:1)"
assert_eq "$(skopeo inspect --tls-verify=false --config \
  "docker://$REGISTRY/e2e/sbom-on-moving-podman@$(jq -r .pushed_digest <<<"$entry")" | jq -r '.rootfs.diff_ids[0]')" \
  "$base_layer" "podman: the image's first layer, the named base's, not podman's older copy"

step "an image podman builds and pushes gets its SBOM and provenance too"
for platform in linux/amd64 linux/arm64; do
  entry=$(jq -c --arg p "$platform" '.platforms[] | select(.platform == $p)' "$work/from-b/multiarch-image/podman-built/metadata.json")
  listed=$("$helper" referrers --reference "$REGISTRY/e2e/sbom-podman@$(jq -r .pushed_digest <<<"$entry")")
  assert_eq "$(jq -r '.artifactType' <<<"$listed" | sort | tr '\n' ' ')" \
    "application/vnd.cyclonedx+json application/vnd.in-toto+json " "podman $platform: the referrers"
  artifact e2e/sbom-podman "$(jq -r .sbom <<<"$entry")" >"$work/sbom-podman-${platform//\//-}.json"
  documents+=("$work/sbom-podman-${platform//\//-}.json")
done
validate "$doc" "${documents[@]}" || fail "an SBOM is not valid CycloneDX 1.6"

step "a new commit of the fetched library, its code the same: the SBOM names it, the image is the same"
echo "notes" >"$work/fetched/README" && fetched_git add README && fetched_git commit -qm "fetched 1, documented"
old_commit=$fetched_commit
fetched_commit=$(fetched_git rev-parse HEAD)
old_doc=$work/sbom-cross-hello-linux-amd64.json
cp "$old_doc" "$work/old-sbom.json"
old_digests=$(jq -r '.platforms[] | .platform + " " + .pushed_digest' "$work/b/multiarch-image/cross-hello/metadata.json")
configure "$work/src" "$work/b" -DCROSS_HELLO_FETCHED_TAG="$fetched_commit" >"$work/recommit-configure.log" 2>&1 ||
  fail "configure failed:\n$(tail -30 "$work/recommit-configure.log")"
cmake --build "$work/b" --target cross-hello-push -j2 >"$work/recommit.log" 2>&1 || fail "rebuild failed:\n$(tail -30 "$work/recommit.log")"
! grep -E "\] push started|multiarch-image: build cross-hello" "$work/recommit.log" ||
  fail "the image was built or pushed again for a commit that changed none of its bytes:\n$(cat "$work/recommit.log")"
for platform in "${platforms[@]}"; do
  jq -e --arg c "$fetched_commit" '.components[] | select(.kind == "repository") | .commit == $c' \
    "$work/b/multiarch-image/cross-hello/stage-${platform//\//-}.linked.json" >/dev/null ||
    fail "$platform: the stage's record does not name the new commit"
done
# The same image in a repository that has no SBOM for it yet gets the new document.
configure "$work/src" "$work/b" -DCROSS_HELLO_REPOSITORY="$REGISTRY/e2e/sbom-recommit" >"$work/recommit-configure.log" 2>&1 ||
  fail "configure failed:\n$(tail -30 "$work/recommit-configure.log")"
cmake --build "$work/b" --target cross-hello-push -j2 >>"$work/recommit.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/recommit.log")"
assert_eq "$(jq -r '.platforms[] | .platform + " " + .pushed_digest' "$work/b/multiarch-image/cross-hello/metadata.json")" \
  "$old_digests" "the images' digests after a commit that changed no byte"
new_doc=$work/recommit-sbom.json
artifact e2e/sbom-recommit "$(jq -r '.platforms[] | select(.platform == "linux/amd64") | .sbom' "$work/b/multiarch-image/cross-hello/metadata.json")" \
  >"$new_doc"
# Everything but the commit (and the serial number and the repository the document names) is as it was.
strip() { jq -S 'del(.serialNumber) | del(.metadata.properties)' "$1" | sed "s/$old_commit/COMMIT/g; s/$fetched_commit/COMMIT/g"; }
diff <(strip "$work/old-sbom.json") <(strip "$new_doc") || fail "the SBOM changed in more than the commit"
! cmp -s <(jq -S 'del(.serialNumber) | del(.metadata.properties)' "$work/old-sbom.json") \
  <(jq -S 'del(.serialNumber) | del(.metadata.properties)' "$new_doc") || fail "the SBOM does not name the new commit"
grep -q "$fetched_commit" "$new_doc" || fail "the new SBOM does not name $fetched_commit"
documents=("$new_doc")
validate "${documents[@]}" || fail "the new SBOM is not valid CycloneDX 1.6"
echo "ok: the new commit is in the SBOM, the image's digests are the same"

step "the token in the fetched library's URL is in no document, record or log of ours"
# FetchContent keeps the URL it was given in its own sub-build (_deps), and git in the clone's
# .git/config: those are theirs. Everything else of the build trees, every log, every document
# fetched, and everything the registry stores.
leaks=$(grep -rl --exclude-dir=_deps -e "$token" "$work" "$MULTIARCH_TEST_STATE/registry" 2>/dev/null | grep -v "^$work/gitconfig$" || true)
[[ -z $leaks ]] || fail "the token is in:\n$leaks"
grep -rq -e "$token" "$work/b/_deps" || fail "the token never reached FetchContent: this check proves nothing"
echo "ok: no trace of the token"
