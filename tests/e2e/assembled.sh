#!/usr/bin/env bash
# Images the helper assembles itself (BASE scratch), examples/cross's assembled image: published with
# no engine command; pulled and run by docker and by podman on every platform; its config as
# configured; its layers reproducible tars; its OCI layout valid for oci-image-tool and umoci; the same
# digests from another build directory; after a one-line edit one layer (and the config) per platform
# uploaded; the whole path as an unprivileged user with no engine reachable; and a base image from a
# registry (examples/hello, published here), its layers mounted within a registry and copied across two,
# the image on it loaded and tested; and a merged-/usr base (bin -> usr/bin, from busybox-static) whose
# links our FILES for /bin and /lib go through.
# What was uploaded, mounted or copied is counted in the registries' access logs.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000   # read at configure time (MULTIARCH_IMAGE_SOURCE_DATE_EPOCH)
image=cross-hello-assembled
repository=$REGISTRY/e2e/cross-assembled
platforms=(linux/amd64 linux/arm64 linux/arm/v7)
cp -r "$repo_root/examples/cross" "$work/src"
# The copy's sub-builds find the module where its top level does.
source_dir_arg=-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root
configure "$work/src" "$work/a" "$source_dir_arg" "-DCROSS_HELLO_CROSS_ARGS=$source_dir_arg" \
  -DCROSS_HELLO_REPOSITORY="$REGISTRY/e2e/cross" -DCROSS_HELLO_ASSEMBLED_IMAGE=ON >/dev/null
records=$work/a/multiarch-image/$image
layout=$records/oci

step "published with no engine command"
reset_engine_calls
cmake --build "$work/a" --target $image-push -j2 >"$work/a.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/a.log")"
grep -E "\[$image .*\] (build done|uploaded)" "$work/a.log"
assert_eq "$(engine_calls)" 0 "engine commands while building and publishing"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$repository:1.0.0" | jq '.manifests | length')" 3 "platforms in the index"

step "every platform runs under docker and podman"
for platform in "${platforms[@]}"; do
  for engine in docker podman; do
    out=$(run_image "$engine" "$repository:1.0.0" "$platform" </dev/null)
    grep -q "^hello server from the greeting library 1.0.0 built for $platform" <<<"$out" ||
      fail "$engine $platform printed: $out"
    echo "ok: $engine runs $platform"
  done
done

step "the config is what add_multiarch_image() says"
config=$(skopeo inspect --tls-verify=false --config --override-arch arm --override-variant v7 "docker://$repository:1.0.0")
assert_eq "$(jq -r '.config.User' <<<"$config")" "65532:65532" "User"
assert_eq "$(jq -r '.config.WorkingDir' <<<"$config")" "/srv" "WorkingDir"
assert_eq "$(jq -c '.config.Entrypoint' <<<"$config")" '["/usr/local/bin/hello_server"]' "Entrypoint"
assert_eq "$(jq -c '.config.ExposedPorts' <<<"$config")" '{"8080/tcp":{}}' "ExposedPorts"
assert_eq "$(jq -r '.config.Env | join(" ")' <<<"$config")" \
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GREETING_STYLE=plain" "Env"
assert_eq "$(jq -r '.config.Labels["org.opencontainers.image.source"]' <<<"$config")" "https://example.com/cross-hello" "Labels"
assert_eq "$(jq -r '.created' <<<"$config")" "2023-11-14T22:13:20Z" "created (SOURCE_DATE_EPOCH)"
assert_eq "$(jq -r '[.architecture, .variant] | join("/")' <<<"$config")" "arm/v7" "architecture/variant"
assert_eq "$(jq -r '.rootfs.diff_ids | length' <<<"$config")" 4 "layers (runtime, libraries, executables, FILES)"

step "every platform's layers are reproducible tars: owner 0/0, no names, SOURCE_DATE_EPOCH, sorted, parents present"
checked=0
for suffix in linux-amd64 linux-arm64 linux-arm-v7; do
  manifest=$(jq -r '.image_id' "$records/build-$suffix.json")
  for layer in $(jq -r '.layers[].digest' "$layout/blobs/sha256/${manifest#sha256:}"); do
    blob=$layout/blobs/sha256/${layer#sha256:}
    [[ $(head -c3 "$blob" | od -An -tx1 | tr -d ' ') == 1f8b08 ]] || fail "$layer is not gzip"
    [[ $(od -An -tx1 -j4 -N4 "$blob" | tr -d ' ') == 00000000 ]] || fail "gzip header mtime of $layer is not 0"
    listing=$(tar --numeric-owner --full-time -tvzf "$blob")
    bad=$(awk '$2 != "0/0" || $4 " " $5 != "2023-11-14 22:13:20"' <<<"$listing")
    [[ -z $bad ]] || fail "entries with another owner or time in $layer:\n$bad"
    names=$(tar -tzf "$blob")
    [[ $(sort <<<"$names") == "$names" ]] || fail "the entries of $layer are not in sorted order:\n$names"
    while read -r name; do
      parent=$(dirname "${name%/}")
      [[ $parent == . ]] || grep -qxF "$parent/" <<<"$names" || fail "$name has no parent entry in $layer"
    done <<<"$names"
    checked=$((checked + 1))
  done
  tar -tvzf "$layout/blobs/sha256/$(jq -r '.layers[3].digest' "$layout/blobs/sha256/${manifest#sha256:}" | cut -d: -f2)" |
    grep -qE '^-rw-r--r-- .* usr/share/cross-hello/motd.txt$' || fail "$suffix: FILES entry missing or not 0644"
done
assert_eq "$checked" 12 "layers checked (four per platform)"

step "the OCI layout passes oci-image-tool and umoci"
# Each document against the OCI schemas (oci-image-tool 1.0.0-rc1's selection by --ref is unreliable:
# it calls unique names ambiguous and accepts digests that are not there).
oci-image-tool validate --type imageIndex "$layout/index.json"
for manifest in $(jq -r '.manifests[].digest' "$layout/index.json"); do
  oci-image-tool validate --type manifest "$layout/blobs/sha256/${manifest#sha256:}"
  config=$(jq -r .config.digest "$layout/blobs/sha256/${manifest#sha256:}")
  oci-image-tool validate --type config "$layout/blobs/sha256/${config#sha256:}"
done
umoci unpack --rootless --image "$layout:1.0.0-armv7" "$work/unpacked" >/dev/null
assert_eq "$(cat "$work/unpacked/rootfs/usr/share/cross-hello/motd.txt")" "$(cat "$work/src/share/motd.txt")" "FILES content"
file "$work/unpacked/rootfs/usr/local/bin/hello_server" | grep -q "ARM, EABI5" || fail "hello_server is not arm/v7"

step "a no-op runs nothing and asks the registry nothing"
reset_engine_calls
mark=$(registry_mark "$fixture_registry_log")
cmake --build "$work/a" --target $image-push -j2 >"$work/noop.log" 2>&1
! grep -E "\] (build|push|manifest) started|stage $image" "$work/noop.log" || fail "the rerun did work:\n$(cat "$work/noop.log")"
assert_eq "$(engine_calls)" 0 "engine commands on the no-op"
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" " /v2/e2e/cross-assembled/" | grep -c . || true)" 0 \
  "requests the registry received for the image on the no-op"
# Settings of how the steps run, not of what they make: changed, they rebuild and republish nothing.
configure "$work/src" "$work/a" -DMULTIARCH_IMAGE_RETRIES=3 -DMULTIARCH_IMAGE_RETRY_DELAY=2 -DMULTIARCH_IMAGE_TIMEOUT=300 \
  "-DMULTIARCH_IMAGE_RUN_OPTIONS=--ulimit;nofile=1024:1024;--ulimit;nproc=1024:1024;--read-only" >/dev/null
mark=$(registry_mark "$fixture_registry_log")
cmake --build "$work/a" --target $image-push -j2 >"$work/settings.log" 2>&1
! grep -E "\] (build|push|manifest) started|stage $image" "$work/settings.log" ||
  fail "changing retries, timeouts and test options did work:\n$(cat "$work/settings.log")"
assert_eq "$(engine_calls)" 0 "engine commands after the settings changed"
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" " /v2/e2e/cross-assembled/" | grep -c . || true)" 0 \
  "requests the registry received after the settings changed"

step "loaded into docker by ctest's image tests and by the load target"
ctest --test-dir "$work/a" -R "^$image\\.image\\." --output-on-failure >"$work/ctest.log" 2>&1 ||
  fail "the image tests failed:\n$(tail -30 "$work/ctest.log")"
assert_eq "$(grep -c "Passed" "$work/ctest.log")" 3 "image tests passed"
assert_eq "$(engine_calls_matching "^docker load ")" 3 "docker loads"
reset_engine_calls
cmake --build "$work/a" --target $image-load-linux-arm64 >/dev/null
out=$("$MULTIARCH_TEST_DOCKER" run --rm --network=none --platform linux/arm64 "$repository:1.0.0-arm64" </dev/null)
grep -q "^hello server from the greeting library 1.0.0 built for linux/arm64" <<<"$out" || fail "the loaded arm64 image printed: $out"
assert_eq "$(engine_calls_matching "^(docker|podman) (buildx )?build ")" 0 "engine builds for the load"

step "another build directory, another repository: the same digests"
configure "$work/src" "$work/a-second-build-directory-elsewhere" "$source_dir_arg" "-DCROSS_HELLO_CROSS_ARGS=$source_dir_arg" \
  -DCROSS_HELLO_REPOSITORY="$REGISTRY/e2e/cross-second" -DCROSS_HELLO_ASSEMBLED_IMAGE=ON >/dev/null
cmake --build "$work/a-second-build-directory-elsewhere" --target $image-push -j2 >"$work/b.log" 2>&1 ||
  fail "second publish failed:\n$(tail -30 "$work/b.log")"
second=$work/a-second-build-directory-elsewhere/multiarch-image/$image
for suffix in linux-amd64 linux-arm64 linux-arm-v7; do
  assert_eq "$(jq -r .image_id "$second/build-$suffix.json")" "$(jq -r .image_id "$records/build-$suffix.json")" "$suffix manifest digest"
done
assert_eq "$(jq -r .index_digest "$second/metadata.json")" "$(jq -r .index_digest "$records/metadata.json")" "index digest"

step "a one-line edit of one program: one layer and the config per platform are uploaded"
declare -A before
for suffix in linux-amd64 linux-arm64 linux-arm-v7; do before[$suffix]=$(jq -c .layers "$records/build-$suffix.json"); done
sed -i 's/greeting::message("server")/greeting::message("server, edited")/' "$work/src/src/server.cpp"
mark=$(registry_mark "$fixture_registry_log")
cmake --build "$work/a" --target $image-push -j2 >"$work/edit.log" 2>&1 || fail "publish after the edit failed:\n$(tail -30 "$work/edit.log")"
assert_eq "$(grep -c "uploaded 2 of 5 blobs" "$work/edit.log")" 3 "platforms saying they uploaded the changed layer and config"
image_blobs="" expected_uploads=""
for suffix in linux-amd64 linux-arm64 linux-arm-v7; do
  changed=$(jq -rn --argjson a "${before[$suffix]}" --argjson b "$(jq -c .layers "$records/build-$suffix.json")" \
    '[range(0; 4) | select($a[.] != $b[.])] | map(tostring) | join(",")')
  assert_eq "$changed" "2" "$suffix: the layers that changed (0 runtime, 1 libraries, 2 executables, 3 FILES)"
  image_blobs+="$(jq -r '.layers[], .config_digest' "$records/build-$suffix.json")"$'\n'
  expected_uploads+="$(jq -r '.layers[2], .config_digest' "$records/build-$suffix.json")"$'\n'
done
# As the registry saw it: of the images' blobs, exactly each platform's new layer and config arrived.
uploads=$(registry_requests "$fixture_registry_log" "$mark" " /v2/e2e/cross-assembled/" | uploaded_blobs)
assert_eq "$(comm -12 <(echo "$uploads") <(sort -u <<<"$image_blobs" | grep .) | tr '\n' ' ')" \
  "$(sort -u <<<"$expected_uploads" | grep . | tr '\n' ' ')" "the images' blobs the registry received (new layer and config per platform)"
# This tree pushed the other blobs: the registry is not asked about them (nor about the documents'
# empty config), and the manifest step reads the configs this tree assembled from its layout.
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" "^(HEAD|GET) /v2/e2e/cross-assembled/blobs/" | grep -c . || true)" 0 \
  "blobs asked about or read after the edit"
out=$(run_image docker "$repository:1.0.0" linux/arm64 </dev/null)
grep -q "^hello server, edited from" <<<"$out" || fail "the edit is not in the published arm64 image: $out"

step "a registry that lost a blob this tree pushed: the push asks about each, and uploads it again"
lost=$(jq -r '.layers[0]' "$records/build-linux-amd64.json")
curl -sf -X DELETE "http://$REGISTRY/v2/e2e/cross-assembled/blobs/$lost" -o /dev/null || fail "could not delete $lost"
sed -i 's/greeting::message("server, edited")/greeting::message("server, edited twice")/' "$work/src/src/server.cpp"
mark=$(registry_mark "$fixture_registry_log")
cmake --build "$work/a" --target $image-push -j2 >"$work/lost.log" 2>&1 || fail "publish after the loss failed:\n$(tail -30 "$work/lost.log")"
grep -q "the registry lacks a blob this tree's last push put there; asking about each" "$work/lost.log" ||
  fail "no push said it asked about each blob again:\n$(grep -i warning "$work/lost.log")"
! grep -q "immutable" "$work/lost.log" || fail "a lost blob was taken for an immutable tag:\n$(grep immutable "$work/lost.log")"
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" " /v2/e2e/cross-assembled/" | uploaded_blobs | grep -c "$lost")" 1 \
  "uploads of the lost runtime layer"
out=$(run_image docker "$repository:1.0.0" linux/amd64 </dev/null)
grep -q "^hello server, edited twice from" <<<"$out" || fail "the second edit is not in the published amd64 image: $out"
# Undone for the images below, whose image tests expect the unedited greeting.
sed -i 's/greeting::message("server, edited twice")/greeting::message("server")/' "$work/src/src/server.cpp"

step "the whole path as an unprivileged user, no engine reachable"
unprivileged=$(mktemp -d /tmp/mai-unprivileged-XXXXXX)
on_exit "rm -rf '$unprivileged'"
cp -r "$repo_root/examples/cross" "$unprivileged/src"
mkdir -p "$unprivileged/home"
chown -R nobody:nogroup "$unprivileged"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env -i PATH=/usr/bin:/bin HOME="$unprivileged/home" "$@"; }
as_nobody test ! -w /var/run/docker.sock || fail "nobody can write the docker socket"
as_nobody cmake -S "$unprivileged/src" -B "$unprivileged/build" -G Ninja "$source_dir_arg" "-DCROSS_HELLO_CROSS_ARGS=$source_dir_arg" \
  "${helper_settings[@]}" -DCROSS_HELLO_REPOSITORY="$REGISTRY/e2e/cross-unprivileged" -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
  -DMULTIARCH_IMAGE_SOURCE_DATE_EPOCH=1700000000 >/dev/null
as_nobody cmake --build "$unprivileged/build" --target $image-push -j2 >"$work/nobody.log" 2>&1 ||
  fail "the unprivileged publish failed:\n$(tail -30 "$work/nobody.log")"
assert_eq "$(jq -r .index_digest "$unprivileged/build/multiarch-image/$image/metadata.json")" \
  "$(jq -r .index_digest "$second/metadata.json")" "index digest published by nobody (the unedited source)"

step "a base image in the same registry: its layers mounted, not copied; its program and ENV kept"
configure "$repo_root/examples/hello" "$work/base" -DHELLO_REPOSITORY="$REGISTRY/e2e/base-hello" -DMULTIARCH_IMAGE_ENGINE=docker \
  >/dev/null
cmake --build "$work/base" --target hello-push -j3 >"$work/base.log" 2>&1 || fail "publishing the base failed:\n$(tail -20 "$work/base.log")"
on_base() {  # on_base BUILD-DIR REPOSITORY
  configure "$work/src" "$1" "$source_dir_arg" "-DCROSS_HELLO_CROSS_ARGS=$source_dir_arg" -DCROSS_HELLO_REPOSITORY="$2" \
    -DCROSS_HELLO_ASSEMBLED_IMAGE=ON -DCROSS_HELLO_ASSEMBLED_BASE="$REGISTRY/e2e/base-hello:1.0.0" >/dev/null
  reset_engine_calls
  mark=$(registry_mark "$fixture_registry_log")
  cmake --build "$1" --target $image-build -j2 >"$1.log" 2>&1 || fail "building on the base failed:\n$(tail -30 "$1.log")"
  registry_requests "$fixture_registry_log" "$mark" >"$1.build-requests"
  mark=$(registry_mark "$fixture_registry_log")
  cmake --build "$1" --target $image-push -j2 >>"$1.log" 2>&1 || fail "publishing on the base failed:\n$(tail -30 "$1.log")"
  assert_eq "$(engine_calls)" 0 "engine commands while publishing on a base"
  registry_requests "$fixture_registry_log" "$mark" >"$1.requests"
  base_layers=$(jq -r '.base_layers[]' "$1/multiarch-image/$image"/build-*.json | sort -u)
  [[ -n $base_layers ]] || fail "no base layers in $1's build records"
  # The build step reads the base's configs (the start of ours) and its layers, once each, into the
  # layout (for its links, and so that the image can be loaded); the push step reads none of them.
  read_by_build=$(sed -nE 's|^GET /v2/e2e/base-hello/blobs/(sha256:[0-9a-f]{64}) 200$|\1|p' "$1.build-requests" | sort)
  assert_eq "$(comm -12 <(sort -u <<<"$read_by_build") <(echo "$base_layers") | tr '\n' ' ')" "$(tr '\n' ' ' <<<"$base_layers")" \
    "base layers the build step read into the layout"
  assert_eq "$(common_lines "$(uniq -d <<<"$read_by_build")" "$base_layers")" 0 "base layers the build step read twice"
  read_from_base=$(sed -nE 's|^GET /v2/e2e/base-hello/blobs/(sha256:[0-9a-f]{64}) 200$|\1|p' "$1.requests" | sort -u)
  assert_eq "$(common_lines "$read_from_base" "$base_layers")" 0 "base layers read by the push step"
}
on_base "$work/on-base" "$REGISTRY/e2e/on-base"
assert_eq "$(grep -cE "base layers: [1-9][0-9]* mounted from $REGISTRY/e2e/base-hello, 0 copied" "$work/on-base.log")" 3 \
  "platforms whose base layers were mounted (none copied)"
# As the registry saw it: every base layer mounted into the new repository, none read or uploaded.
assert_eq "$(grep " /v2/e2e/on-base-assembled/" "$work/on-base.requests" | mounted_blobs e2e/base-hello | tr '\n' ' ')" \
  "$(tr '\n' ' ' <<<"$base_layers")" "the base's layers the registry mounted"
assert_eq "$(common_lines "$(uploaded_blobs <"$work/on-base.requests")" "$base_layers")" 0 "base layers uploaded"
for platform in "${platforms[@]}"; do
  suffix=$(tr / - <<<"$platform")
  assert_eq "$(jq -r .base_digest "$work/on-base/multiarch-image/$image/build-$suffix.json")" \
    "$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .digest' "$work/base/multiarch-image/hello/metadata.json")" \
    "$platform base digest in the build record"
  assert_eq "$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .base_digest' "$work/on-base/multiarch-image/$image/metadata.json")" \
    "$(jq -r .base_digest "$work/on-base/multiarch-image/$image/build-$suffix.json")" "$platform base digest in metadata.json"
  out=$(run_image docker "$REGISTRY/e2e/on-base-assembled:1.0.0" "$platform" </dev/null)
  grep -qE "^hello server from the greeting library 1.0.0 built for $platform" <<<"$out" || fail "$platform printed: $out"
  out=$("$MULTIARCH_TEST_DOCKER" run --rm --network=none --platform "$platform" --entrypoint /hello "$REGISTRY/e2e/on-base-assembled:1.0.0")
  grep -q "^hello from $platform" <<<"$out" || fail "the base's /hello on $platform printed: $out"
done
config=$(skopeo inspect --tls-verify=false --config --override-arch arm64 "docker://$REGISTRY/e2e/on-base-assembled:1.0.0")
assert_eq "$(jq -r '.config.Env | map(select(startswith("HELLO_GREETING=") or startswith("GREETING_STYLE="))) | join(" ")' <<<"$config")" \
  "HELLO_GREETING= GREETING_STYLE=plain" "the base's Env kept, ours added"
base_count=$(skopeo inspect --tls-verify=false --config --override-arch arm64 "docker://$REGISTRY/e2e/base-hello:1.0.0" | jq '.rootfs.diff_ids | length')
assert_eq "$(jq -r '.rootfs.diff_ids | length' <<<"$config")" $((base_count + 4)) "layers: the base's $base_count and our four"
assert_eq "$(skopeo inspect --tls-verify=false --raw --override-arch arm64 "docker://$REGISTRY/e2e/on-base-assembled:1.0.0" | jq -r .mediaType)" \
  "$(skopeo inspect --tls-verify=false --raw --override-arch arm64 "docker://$REGISTRY/e2e/base-hello:1.0.0" | jq -r .mediaType)" \
  "the manifest follows the base's media-type family"

step "on a base image: loaded and run by ctest's image tests and by the load target; the base's layers fetched once"
# The layout holds the base's layers too (fetched by the build step, once per digest), so skopeo can
# copy the image out of it for the engine to load.
reset_engine_calls
ctest --test-dir "$work/on-base" -R "^$image\\.image\\." --output-on-failure >"$work/on-base.ctest.log" 2>&1 ||
  fail "the image tests on a base failed:\n$(tail -30 "$work/on-base.ctest.log")"
assert_eq "$(grep -c "Passed" "$work/on-base.ctest.log")" 3 "image tests on a base passed"
assert_eq "$(engine_calls_matching "^docker load ")" 3 "docker loads"
"$MULTIARCH_TEST_DOCKER" image rm "$REGISTRY/e2e/on-base-assembled:1.0.0-armv7" >/dev/null
cmake --build "$work/on-base" --target $image-load-linux-arm-v7 >/dev/null
out=$("$MULTIARCH_TEST_DOCKER" run --rm --network=none --platform linux/arm/v7 --entrypoint /hello "$REGISTRY/e2e/on-base-assembled:1.0.0-armv7")
grep -q "^hello from linux/arm/v7" <<<"$out" || fail "the loaded image's base program printed: $out"
# The build step again (a new spec): the base is resolved again, its layers are not read again.
mark=$(registry_mark "$fixture_registry_log")
cmake -E touch "$work/on-base/multiarch-image/$image/spec.json"
cmake --build "$work/on-base" --target $image-build -j2 >"$work/on-base.again.log" 2>&1 ||
  fail "building again on the base failed:\n$(tail -30 "$work/on-base.again.log")"
reread=$(registry_requests "$fixture_registry_log" "$mark" "^GET /v2/e2e/base-hello/blobs/" |
  sed -nE 's|^GET [^ ]*/blobs/(sha256:[0-9a-f]{64}) 200$|\1|p' | sort -u)
assert_eq "$(common_lines "$reread" "$base_layers")" 0 "base layers read again by a second build step"

step "a base in another registry: its layers copied across, digests checked"
"$repo_root/tests/e2e/services.sh" registry-start "$work/registry2"
on_exit '"$repo_root/tests/e2e/services.sh" registry-stop "$work/registry2"'
second_registry=127.0.0.1:$(cat "$work/registry2/registry.port")
second_mark=$(registry_mark "$work/registry2/registry.log")
on_base "$work/on-base-elsewhere" "$second_registry/e2e/on-base"
assert_eq "$(grep -cE "base layers: 0 mounted from $REGISTRY/e2e/base-hello, [1-9][0-9]* copied" "$work/on-base-elsewhere.log")" 3 \
  "platforms whose base layers were copied"
# As the registries saw it: each base layer read from the first (by the build step, into the layout)
# and uploaded to the second (from the layout).
assert_eq "$(common_lines "$(sort -u <<<"$read_by_build")" "$base_layers")" "$(grep -c . <<<"$base_layers")" \
  "base layers read from the base's registry"
copied=$(registry_requests "$work/registry2/registry.log" "$second_mark" " /v2/e2e/on-base-assembled/" | uploaded_blobs)
assert_eq "$(common_lines "$copied" "$base_layers")" "$(grep -c . <<<"$base_layers")" "base layers the second registry received"
out=$("$MULTIARCH_TEST_DOCKER" run --rm --pull always --network=none --platform linux/arm/v7 --entrypoint /hello \
  "$second_registry/e2e/on-base-assembled:1.0.0")
grep -q "^hello from linux/arm/v7" <<<"$out" || fail "the copied base's /hello printed: $out"

step "on a merged-/usr base (bin -> usr/bin): FILES for /bin and /lib go through its links; its /bin/sh runs"
# The base: busybox-static in /usr/bin with Debian's top-level links, assembled and published by the
# helper itself; then an image on it, loaded and run by ctest's image test, by docker and by podman.
merged=$work/merged-usr
configure "$repo_root/tests/projects/merged-usr" "$merged" "$source_dir_arg" -DTEST_REGISTRY="$REGISTRY" >/dev/null
cmake --build "$merged" --target merged-usr-base-push >"$merged.log" 2>&1 || fail "publishing the merged-/usr base failed:\n$(tail -20 "$merged.log")"
cmake --build "$merged" --target merged-usr-app-build >>"$merged.log" 2>&1 || fail "building on the merged-/usr base failed:\n$(tail -20 "$merged.log")"
grep -E "paths placed through the base's links \(/bin/entry.sh is /usr/bin/entry.sh\)" "$merged.log" ||
  fail "the build does not say it placed /bin/entry.sh through the base's link:\n$(tail -20 "$merged.log")"
app_records=$merged/multiarch-image/merged-usr-app
app_manifest=$app_records/oci/blobs/sha256/$(jq -r '.image_id | ltrimstr("sha256:")' "$app_records/build-linux-amd64.json")
ours=$(jq -r '.layers[-1].digest | ltrimstr("sha256:")' "$app_manifest")
listing=$(tar -tzf "$app_records/oci/blobs/sha256/$ours")
! grep -qxE 'bin/?|lib/?' <<<"$listing" || fail "our layer replaces the base's links:\n$listing"
grep -qx usr/bin/entry.sh <<<"$listing" || fail "entry.sh is not at usr/bin/entry.sh in our layer:\n$listing"
ctest --test-dir "$merged" -R '^merged-usr-app\.image\.' --output-on-failure >"$merged.ctest.log" 2>&1 ||
  fail "the image test on the merged-/usr base failed:\n$(tail -30 "$merged.ctest.log")"
cmake --build "$merged" --target merged-usr-app-push >>"$merged.log" 2>&1 || fail "publishing on the merged-/usr base failed:\n$(tail -20 "$merged.log")"
for engine in docker podman; do
  out=$(run_image "$engine" "$REGISTRY/e2e/merged-usr-app:1" linux/amd64 </dev/null)
  assert_eq "$out" $'bin -> usr/bin\nlib -> usr/lib\n/usr/bin/entry.sh\n/usr/lib/merged-usr/marker.txt\nbusybox kept\nuser 1000' \
    "what $engine's container sees of the merged /usr"
done
