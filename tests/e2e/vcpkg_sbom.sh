#!/usr/bin/env bash
# A program linking a static library from a vcpkg port (issue 26): the SBOM names the port from vcpkg's
# own SPDX document, and the stage reads that document and the port lists as inputs of its own: an edit
# of either stages again (the same image keeps the SBOM it has; a repository without one gets the new
# document), a no-op runs nothing. vcpkg cannot be fetched here, so the test lays out what
# `vcpkg install` leaves in manifest mode: vcpkg_installed/x64-linux/{include/foo.h,lib/libfoo.a} (compiled
# here), vcpkg_installed/vcpkg/info/foo_1.2.3-1_x64-linux.list naming the port's files, and
# x64-linux/share/foo/vcpkg.spdx.json (SPDX 2.2: the port, its binary package, its upstream source).
# tests/projects/vcpkg-linked links it as an imported target; its image is assembled on scratch and pushed.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
fixture=$repo_root/tests/projects/conan-linked

step "a vcpkg_installed tree, laid out as vcpkg leaves it"
installed=$work/vcpkg_installed
mkdir -p "$installed/x64-linux/include" "$installed/x64-linux/lib" "$installed/x64-linux/share/foo" "$installed/vcpkg/info"
cp "$fixture/foo/foo.h" "$installed/x64-linux/include/"
c++ -O2 -c "$fixture/foo/foo.cpp" -o "$work/foo.o"
ar rcs "$installed/x64-linux/lib/libfoo.a" "$work/foo.o"
printf 'x64-linux/\nx64-linux/include/\nx64-linux/include/foo.h\nx64-linux/lib/\nx64-linux/lib/libfoo.a\nx64-linux/share/foo/vcpkg.spdx.json\n' \
  >"$installed/vcpkg/info/foo_1.2.3-1_x64-linux.list"
spdx() {  # spdx LICENSE: the port's SPDX document
  cat <<JSON
{"spdxVersion": "SPDX-2.2", "SPDXID": "SPDXRef-DOCUMENT", "name": "foo:x64-linux@1.2.3#1 ab12",
 "packages": [
  {"name": "foo", "SPDXID": "SPDXRef-port", "versionInfo": "1.2.3#1", "licenseConcluded": "$1",
   "downloadLocation": "git+https://github.com/Microsoft/vcpkg#ports/foo"},
  {"name": "foo:x64-linux", "SPDXID": "SPDXRef-binary", "versionInfo": "ab12cd34", "downloadLocation": "NONE"},
  {"SPDXID": "SPDXRef-resource-0", "name": "example/foo", "downloadLocation": "git+https://github.com/example/foo@v1.2.3"}]}
JSON
}
spdx MIT >"$installed/x64-linux/share/foo/vcpkg.spdx.json"

step "configure, publish"
configure "$repo_root/tests/projects/vcpkg-linked" "$work/b" -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" \
  -DCMAKE_BUILD_TYPE=Release -DVCPKG_INSTALLED_DIR="$installed" -DVCPKG_LINKED_REPOSITORY="$REGISTRY/e2e/vcpkg-sbom" \
  >"$work/configure.log" 2>&1 || fail "configure failed:\n$(tail -30 "$work/configure.log")"
cmake --build "$work/b" --target app-push >"$work/push.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/push.log")"
repository=e2e/vcpkg-sbom
sbom_of() {  # sbom_of OUT: the SBOM metadata.json names, from $repository of the registry
  local sbom
  sbom=$(jq -r '.platforms[0].sbom' "$work/b/multiarch-image/app/metadata.json")
  [[ $sbom == sha256:* ]] || fail "no SBOM in metadata.json"
  artifact "$repository" "$sbom" >"$1"
}
port_of() { jq -c '.components[] | select(."bom-ref" == "vcpkg:foo:x64-linux")' "$1"; }
sbom_of "$work/sbom.json"

step "the vcpkg port in the SBOM"
foo=$(port_of "$work/sbom.json")
[[ -n $foo ]] || fail "no component vcpkg:foo:x64-linux:\n$(jq -c '.components[] | ."bom-ref"' "$work/sbom.json")"
assert_eq "$(jq -r .version <<<"$foo")" "1.2.3#1" "its version, from vcpkg's document"
assert_eq "$(jq -r .purl <<<"$foo")" "pkg:vcpkg/foo@1.2.3?port_version=1" "its purl"
assert_eq "$(jq -r '.licenses[0].expression' <<<"$foo")" MIT "its license (an SPDX expression), from vcpkg's document"
cyclonedx_validate "$work/sbom.json" || fail "the SBOM is not valid CycloneDX"

step "a rerun with nothing changed"
assert_no_work "$work/b" app-push "$work/noop.log"

step "vcpkg's document changes (same archive): the stage reads it again, its record follows"
spdx Apache-2.0 >"$installed/x64-linux/share/foo/vcpkg.spdx.json"
cmake --build "$work/b" --target app-push >"$work/respdx.log" 2>&1 || fail "the republish failed:\n$(tail -30 "$work/respdx.log")"
grep -q "multiarch-image: stage app linux/amd64" "$work/respdx.log" || fail "the stage did not run again:\n$(cat "$work/respdx.log")"
linked=$work/b/multiarch-image/app/stage-linux-amd64.linked.json
assert_eq "$(jq -r '.components[] | select(.ref == "vcpkg:foo:x64-linux") | .license' "$linked")" Apache-2.0 \
  "the stage's record after the edit"
! grep -qE "multiarch-image: build app|push started" "$work/respdx.log" ||
  fail "the same image was built or pushed again:\n$(cat "$work/respdx.log")"
assert_no_work "$work/b" app-push "$work/noop2.log"
echo "ok: restaged once, the image as it was, then a no-op"
# The same image keeps the SBOM it has where it has one; in a repository without one it gets the new.
configure "$repo_root/tests/projects/vcpkg-linked" "$work/b" -DVCPKG_LINKED_REPOSITORY="$REGISTRY/e2e/vcpkg-sbom-2" \
  >"$work/configure2.log" 2>&1 || fail "configure failed:\n$(tail -30 "$work/configure2.log")"
cmake --build "$work/b" --target app-push >"$work/push2.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/push2.log")"
repository=e2e/vcpkg-sbom-2
sbom_of "$work/sbom2.json"
assert_eq "$(jq -r '.licenses[0].expression' <<<"$(port_of "$work/sbom2.json")")" Apache-2.0 "the new document's license"

step "the port's document removed: the stage runs again and names the port from its list"
rm "$installed/x64-linux/share/foo/vcpkg.spdx.json"
cmake --build "$work/b" --target app-stage-linux-amd64 >"$work/restage.log" 2>&1 || fail "restage failed:\n$(tail -30 "$work/restage.log")"
grep -q "multiarch-image: stage app linux/amd64" "$work/restage.log" || fail "the stage did not run again:\n$(cat "$work/restage.log")"
assert_eq "$(jq -r '.components[] | select(.ref == "vcpkg:foo:x64-linux") | .version' "$linked")" 1.2.3-1 \
  "the version from the list's name"
