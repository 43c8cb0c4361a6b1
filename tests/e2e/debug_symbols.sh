#!/usr/bin/env bash
# DEBUG_SYMBOLS: examples/cross's assembled image built RelWithDebInfo (ATTACH by default), amd64 from
# this build and arm64 from a cross sub-build: the images hold stripped programs and libraries (no
# .debug_* section, the GNU build-id kept), their debug information is published beside each
# platform's manifest as an application/vnd.multiarch-image.debug-symbols.v1+tar referrer that
# metadata.json names, and the SBOM names the stripped files' hashes as pulled. `multiarch-image
# symbols` and the <name>-symbols target fetch them into .build-id/ab/cdef….debug; from there
# gdb-multiarch resolves a stripped arm64 program's functions, addresses and lines, and elfutils'
# debuginfod serves them (debuginfod-find answers each build-id, and gdb asks it itself). A
# rerun strips and uploads nothing; an edit strips the edited program alone; DROP publishes no
# symbols and gives the same image digests; the hostile cases (a program without a build-id, a
# stripped file whose symbols no longer match) fail with nothing published.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
helper=${MULTIARCH_TEST_HELPER:?}
repository=$REGISTRY/e2e/symbols
image=cross-hello-assembled
state=$work/b/multiarch-image/$image
platforms=(linux/amd64 linux/arm64)
type=application/vnd.multiarch-image.debug-symbols.v1+tar

cp -r "$repo_root/examples/cross" "$work/src"
source_dir_arg=-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root
configure "$work/src" "$work/b" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$source_dir_arg" "-DCROSS_HELLO_CROSS_ARGS=$source_dir_arg" \
  -DCROSS_HELLO_REPOSITORY="$repository" "-DCROSS_HELLO_PLATFORMS=linux/amd64;linux/arm64" \
  -DCROSS_HELLO_ASSEMBLED_IMAGE=ON >"$work/configure.log" || fail "configure failed:\n$(tail -20 "$work/configure.log")"
assert_eq "$(jq -r .image.debug_symbols "$state/spec.json")" ATTACH "RelWithDebInfo's default DEBUG_SYMBOLS"
publish() {  # publish LOG
  cmake --build "$work/b" --target $image-push -j2 >"$1" 2>&1 || fail "publish failed:\n$(tail -40 "$1")"
}
unpack() {  # unpack REFERENCE PLATFORM DIR: the platform's image pulled with skopeo, its layers as one tree
  rm -rf "$3.oci" "$3" && mkdir -p "$3"
  skopeo copy -q --src-tls-verify=false --override-arch "${2#linux/}" "docker://$1" "oci:$3.oci:x" >/dev/null
  local manifest
  manifest=$(jq -r '.manifests[0].digest' "$3.oci/index.json")
  for layer in $(jq -r '.layers[].digest' "$3.oci/blobs/sha256/${manifest#sha256:}"); do
    tar -xzf "$3.oci/blobs/sha256/${layer#sha256:}" -C "$3"
  done
}
build_id() { readelf -n "$1" | awk '/Build ID:/ { print $3 }'; }
debug_sections() { readelf -SW "$1" | grep -cE ' \.(z)?debug_' || true; }

step "published RelWithDebInfo: stripped images, their symbols beside them"
mark=$(registry_mark "$fixture_registry_log")
publish "$work/publish.log"
for platform in "${platforms[@]}"; do
  grep -q "\[$image $platform\] DEBUG_SYMBOLS ATTACH: 3 files stripped" "$work/publish.log" ||
    fail "$platform: the stage did not say it stripped hello_cli, hello_server and libgreeting:\n$(grep -i strip "$work/publish.log")"
done
metadata=$state/metadata.json
declare -A digest_of
for platform in "${platforms[@]}"; do
  suffix=${platform//\//-}
  entry=$(jq -c --arg p "$platform" '.platforms[] | select(.platform == $p)' "$metadata")
  digest=$(jq -r .digest <<<"$entry")
  digest_of[$platform]=$digest
  symbols=$(jq -c .debug_symbols <<<"$entry")
  artifact=$(jq -r .artifact <<<"$symbols")
  [[ $artifact == sha256:* ]] || fail "$platform: metadata.json names no debug symbols: $entry"
  assert_eq "$(jq -r .artifact_type <<<"$symbols")" "$type" "$platform: metadata.json's artifact type"
  assert_eq "$(jq -r '[.files[].path] | sort | join(" ")' <<<"$symbols")" \
    "/usr/lib/libgreeting.so.1 /usr/local/bin/hello_cli /usr/local/bin/hello_server" "$platform: the stripped files it names"

  # A referrer of the platform's manifest, of its own artifact type, whose one layer is the archive.
  listed=$("$helper" referrers --reference "$repository-assembled@$digest")
  assert_eq "$(jq -r --arg t "$type" 'select(.artifactType == $t) | .digest' <<<"$listed")" "$artifact" \
    "$platform: the one debug-symbols referrer"
  manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
               "http://$REGISTRY/v2/e2e/symbols-assembled/manifests/$artifact")
  assert_eq "$(jq -r '.subject.digest + " " + .artifactType + " " + .layers[0].mediaType' <<<"$manifest")" \
    "$digest $type $type" "$platform: its subject and types"
  assert_eq "$(jq -r .layers[0].digest <<<"$manifest")" "$(jq -r .archive <<<"$symbols")" "$platform: its archive"

  # The image: stripped files with their build-id, as the SBOM names them; no debug section anywhere.
  unpack "$repository-assembled@$digest" "$platform" "$work/rootfs-$suffix"
  root=$work/rootfs-$suffix
  for path in /usr/local/bin/hello_server /usr/local/bin/hello_cli /usr/lib/libgreeting.so.1; do
    assert_eq "$(debug_sections "$root$path")" 0 "$platform: .debug_* sections in $path as pulled"
    id=$(build_id "$root$path")
    assert_eq "$(jq -r --arg p "$path" '.files[] | select(.path == $p) | .build_id' <<<"$symbols")" "$id" \
      "$platform: $path's build-id, in metadata.json"
  done
  sbom=$(jq -r .sbom <<<"$entry")
  layer=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
            "http://$REGISTRY/v2/e2e/symbols-assembled/manifests/$sbom" | jq -r '.layers[0].digest')
  curl -sf "http://$REGISTRY/v2/e2e/symbols-assembled/blobs/$layer" >"$work/sbom-$suffix.json"
  for path in /usr/local/bin/hello_server /usr/lib/libgreeting.so.1; do
    assert_eq "$(jq -r --arg l "$path" '[.. | objects | select(.evidence?.occurrences?[0].location == $l)][0].hashes[] |
                                          select(.alg == "SHA-256") | .content' "$work/sbom-$suffix.json")" \
      "$(sha256sum "$root$path" | cut -d' ' -f1)" "$platform: the SBOM's hash of $path, the stripped file pulled"
  done
done
# What went up: each platform's symbols archive once.
uploads=$(registry_requests "$fixture_registry_log" "$mark" | uploaded_blobs)
for platform in "${platforms[@]}"; do
  archive=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .debug_symbols.archive' "$metadata")
  grep -qx "$archive" <<<"$uploads" || fail "$platform: the symbols archive $archive was not uploaded"
done

step "multiarch-image symbols fetches them; gdb-multiarch resolves the stripped arm64 program with them"
"$helper" symbols "$repository-assembled:1.0.0" --platform linux/arm64 --out "$work/symbols-arm64" >"$work/symbols.out" ||
  fail "symbols failed"
server=$work/rootfs-linux-arm64/usr/local/bin/hello_server
server_id=$(build_id "$server")
debug=$work/symbols-arm64/.build-id/${server_id:0:2}/${server_id:2}.debug
[[ -f $debug ]] || fail "no $debug after the fetch:\n$(cat "$work/symbols.out")"
grep -qx "$debug" "$work/symbols.out" || fail "the subcommand did not name $debug:\n$(cat "$work/symbols.out")"
assert_eq "$(find "$work/symbols-arm64" -type f | wc -l)" 3 "debug files fetched for arm64"
[[ $(debug_sections "$debug") -gt 0 ]] || fail "$debug has no debug sections"
assert_eq "$(readelf -h "$debug" | awk '/Machine:/ { $1 = ""; print substr($0, 2) }')" AArch64 "the debug file's machine"
gdb_line() {  # gdb_line SYMBOL-DIRECTORY PROGRAM LOCATION: gdb's answer to `info line LOCATION`
  gdb-multiarch -batch -nx -iex "set debug-file-directory $1" -iex 'set debuginfod enabled off' -ex "info line $3" "$2" 2>&1 |
    tail -1
}
inside_main() {  # inside_main PROGRAM: an address 8 bytes into main, as a stack trace names one (the
  # symbol table stays in a stripped file: the address is known without the symbols, its line is not)
  local at
  at=$(gdb-multiarch -batch -nx -iex 'set debuginfod enabled off' -ex 'info address main' "$1" 2>&1 | grep -oE '0x[0-9a-f]+' | head -1)
  [[ -n $at ]] || fail "no address of main in $1"
  printf '*0x%x' $((at + 8))
}
location=$(inside_main "$server")
without=$(gdb_line /nonexistent "$server" "$location")
[[ $without == *"No line number information"* ]] || fail "gdb resolved $location without the symbols: $without"
with=$(gdb_line "$work/symbols-arm64" "$server" "$location")
[[ $with =~ ^Line\ [0-9]+\ of\ \".*/src/server\.cpp\" ]] || fail "gdb did not resolve $location in main with the symbols: $with"
echo "ok: gdb-multiarch, stripped arm64 hello_server, $location: $with"
with=$(gdb_line "$work/symbols-arm64" "$server" main)
[[ $with =~ ^Line\ [0-9]+\ of\ \" ]] || fail "gdb did not resolve main's line with the symbols: $with"
# The shared library, from its own debug file: a source line to its address.
library=$work/rootfs-linux-arm64/usr/lib/libgreeting.so.1
greeting=$(gdb_line "$work/symbols-arm64" "$library" greeting.cpp:8)
[[ $greeting =~ ^Line\ 8\ of\ \".*/src/greeting\.cpp\"\ starts\ at\ address ]] || fail "gdb did not resolve greeting.cpp:8: $greeting"
echo "ok: gdb-multiarch, stripped arm64 libgreeting.so.1: $greeting"

step "the <name>-symbols target fetches every platform's into the build tree"
cmake --build "$work/b" --target $image-symbols >"$work/target.log" 2>&1 || fail "$image-symbols failed:\n$(tail -20 "$work/target.log")"
for platform in "${platforms[@]}"; do
  suffix=${platform//\//-}
  for path in /usr/local/bin/hello_server /usr/local/bin/hello_cli /usr/lib/libgreeting.so.1; do
    id=$(build_id "$work/rootfs-$suffix$path")
    cmp -s "$state/symbols/$suffix/.build-id/${id:0:2}/${id:2}.debug" \
      "$state/stage-$suffix.debug/.build-id/${id:0:2}/${id:2}.debug" || fail "$platform: $path's symbols not fetched as staged"
  done
done
cli=$work/rootfs-linux-amd64/usr/local/bin/hello_cli
amd64=$(gdb_line "$state/symbols/linux-amd64" "$cli" "$(inside_main "$cli")")
[[ $amd64 =~ ^Line\ [0-9]+\ of\ \".*/src/cli\.cpp\" ]] || fail "gdb did not resolve amd64 hello_cli's main: $amd64"
echo "ok: gdb-multiarch, stripped amd64 hello_cli: $amd64"

step "debuginfod serves the fetched directory"
port=$(for _ in $(seq 1 50); do p=$((20000 + RANDOM % 10000)); ss -Htan "sport = :$p" | grep -q . || { echo $p; break; }; done)
debuginfod -F "$work/symbols-arm64" -p "$port" -d "$work/debuginfod.sqlite" -t 1 >"$work/debuginfod.log" 2>&1 &
debuginfod_pid=$!
on_exit "kill $debuginfod_pid 2>/dev/null; wait $debuginfod_pid 2>/dev/null"
export DEBUGINFOD_CACHE_PATH=$work/debuginfod-cache
ask() {  # ask BUILD-ID: debuginfod-find's answer, not its cached 404 from before the scan
  rm -rf "$DEBUGINFOD_CACHE_PATH"
  DEBUGINFOD_URLS="http://127.0.0.1:$port" debuginfod-find debuginfo "$1"
}
for path in /usr/local/bin/hello_server /usr/local/bin/hello_cli /usr/lib/libgreeting.so.1; do
  id=$(build_id "$work/rootfs-linux-arm64$path")
  wait_for 60 "debuginfod answers $id" ask "$id" || fail "debuginfod never answered $id:\n$(tail -20 "$work/debuginfod.log")"
  served=$(ask "$id")
  cmp -s "$served" "$work/symbols-arm64/.build-id/${id:0:2}/${id:2}.debug" || fail "debuginfod served other bytes for $path"
  echo "ok: debuginfod-find debuginfo $id ($path) answers with the fetched file"
done
# gdb asks debuginfod itself, with no symbol directory.
rm -rf "$DEBUGINFOD_CACHE_PATH"
through=$(DEBUGINFOD_URLS="http://127.0.0.1:$port" gdb-multiarch -batch -nx -iex 'set debuginfod enabled on' \
            -ex "info line $location" "$server" 2>&1 | tail -1)
[[ $through =~ ^Line\ [0-9]+\ of\ \".*/src/server\.cpp\" ]] || fail "gdb through debuginfod did not resolve main: $through"
echo "ok: gdb-multiarch through debuginfod: $through"

step "a rerun with nothing changed strips and uploads nothing"
stamps=$(stat -c '%n %Y.%y' "$state"/stage-*.debug.json "$state"/debug-symbols-*.tar)
mark=$(registry_mark "$fixture_registry_log")
publish "$work/noop.log"
# This test's repositories only: the fixture's registry serves the tests running beside this one.
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" ' /v2/e2e/symbols' | wc -l)" 0 "registry requests of the rerun"
grep -q "stripped" "$work/noop.log" && fail "the rerun stripped:\n$(grep stripped "$work/noop.log")"
assert_eq "$(stat -c '%n %Y.%y' "$state"/stage-*.debug.json "$state"/debug-symbols-*.tar)" "$stamps" "the records and archives"

step "an edit of one program strips that program alone, and its new symbols go up"
sed -i 's/no message of the day at /no message of the day (edited) at /' "$work/src/src/cli.cpp"
mark=$(registry_mark "$fixture_registry_log")
publish "$work/edit.log"
for platform in "${platforms[@]}"; do
  grep -q "\[$image $platform\] DEBUG_SYMBOLS ATTACH: 1 files stripped" "$work/edit.log" ||
    fail "$platform: not exactly hello_cli stripped again:\n$(grep -i strip "$work/edit.log")"
done
uploads=$(registry_requests "$fixture_registry_log" "$mark" | uploaded_blobs)
for platform in "${platforms[@]}"; do
  archive=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .debug_symbols.archive' "$metadata")
  grep -qx "$archive" <<<"$uploads" || fail "$platform: the new symbols archive was not uploaded"
done

step "DROP: the same images, no symbols published"
for platform in "${platforms[@]}"; do
  digest_of[$platform]=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .digest' "$metadata")
done
configure "$work/src" "$work/b" -DMULTIARCH_IMAGE_DEBUG_SYMBOLS=DROP >/dev/null
publish "$work/drop.log"
for platform in "${platforms[@]}"; do
  entry=$(jq -c --arg p "$platform" '.platforms[] | select(.platform == $p)' "$metadata")
  assert_eq "$(jq -r .digest <<<"$entry")" "${digest_of[$platform]}" "$platform: the image's digest with DROP (symbols are not in it)"
  assert_eq "$(jq -r '.debug_symbols // "none"' <<<"$entry")" none "$platform: metadata.json's debug symbols with DROP"
  [[ ! -e $state/stage-${platform//\//-}.debug ]] || fail "$platform: DROP left debug files beside the stage"
done

step "KEEP: the programs as built, with their debug sections"
configure "$work/src" "$work/b" -DMULTIARCH_IMAGE_DEBUG_SYMBOLS=KEEP >/dev/null
publish "$work/keep.log"
for platform in "${platforms[@]}"; do
  suffix=${platform//\//-}
  digest=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .digest' "$metadata")
  [[ $digest != "${digest_of[$platform]}" ]] || fail "$platform: KEEP gave the stripped image's digest"
  unpack "$repository-assembled@$digest" "$platform" "$work/kept-$suffix"
  [[ $(debug_sections "$work/kept-$suffix/usr/local/bin/hello_server") -gt 0 ]] || fail "$platform: KEEP stripped hello_server"
  echo "ok: $platform: KEEP keeps hello_server's $(debug_sections "$work/kept-$suffix/usr/local/bin/hello_server") debug sections"
done

step "hostile: a stripped file whose symbols no longer match fails the push, nothing published"
configure "$work/src" "$work/b" -DMULTIARCH_IMAGE_DEBUG_SYMBOLS=ATTACH >/dev/null
publish "$work/attach-again.log"
dir=$state/stage-linux-arm64.debug
server_id=$(build_id "$state/context/.multiarch-stage/linux-arm64/usr/local/bin/hello_server")
cli_id=$(build_id "$state/context/.multiarch-stage/linux-arm64/usr/local/bin/hello_cli")
cp "$dir/.build-id/${cli_id:0:2}/${cli_id:2}.debug" "$dir/.build-id/${server_id:0:2}/${server_id:2}.debug"
rm -f "$state/push-linux-arm64.json"
mark=$(registry_mark "$fixture_registry_log")
if cmake --build "$work/b" --target $image-push >"$work/mismatch.log" 2>&1; then fail "the push of mismatched symbols succeeded"; fi
grep -q "no longer matches the stripped file, so nothing was published" "$work/mismatch.log" ||
  fail "no clear message:\n$(tail -20 "$work/mismatch.log")"
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" '^(PUT|POST|PATCH|DELETE) /v2/e2e/symbols' | wc -l)" 0 \
  "registry writes of the failed push"
# The stage made again (its input touched) puts the right symbols back, and the push goes through.
touch "$work/src/src/server.cpp"
publish "$work/repaired.log"

step "hostile: a program linked without a build-id fails the stage under ATTACH, nothing published"
configure "$work/src" "$work/b" "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--build-id=none" >/dev/null
mark=$(registry_mark "$fixture_registry_log")
if cmake --build "$work/b" --target $image-push >"$work/no-id.log" 2>&1; then fail "a program without a build-id was published"; fi
grep -q "has no GNU build-id" "$work/no-id.log" || fail "no clear message:\n$(tail -20 "$work/no-id.log")"
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" '^(PUT|POST|PATCH|DELETE) /v2/e2e/symbols' | wc -l)" 0 \
  "registry writes after the failed stage"
