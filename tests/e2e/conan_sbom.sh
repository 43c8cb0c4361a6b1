#!/usr/bin/env bash
# A program linking a library from a Conan 2 package (issue 26): the SBOM names the package, as Conan's
# own CycloneDX document describes it. Conan cannot be fetched here, so the test lays out what
# `conan install` leaves, in Conan 2's layout: a Conan home whose package folder p/<folder>/p holds
# include/foo.h and lib/libfoo.a (compiled here) beside conaninfo.txt and conanmanifest.txt, and a
# generators folder holding the CMakeDeps files for foo/1.2.3 (Release, x86_64) and the document a
# post_generate hook writes with conan.tools.sbom (tests/projects/conan-linked/generators, README.md
# there). tests/projects/conan-linked finds foo with find_package through those files and links
# foo::foo; its image is assembled on scratch (no engine) and pushed. Checked: the SBOM lists
# conan:foo@1.2.3 with Conan's purl, license, description and website and its recipe revision, the
# archive linked inside it with its SHA-256, the edge from the program to it; it passes the CycloneDX
# validator; a rerun with nothing changed runs no step; with the document gone, the package is still
# named, from CMakeDeps' files alone.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
helper=${MULTIARCH_TEST_HELPER:?}
fixture=$repo_root/tests/projects/conan-linked

step "a Conan home and generators folder, laid out as Conan 2 leaves them"
package=$work/conan2/p/foo3b1f0e9a4c2d7/p
mkdir -p "$package/include" "$package/lib"
cp "$fixture/foo/foo.h" "$package/include/"
c++ -O2 -c "$fixture/foo/foo.cpp" -o "$work/foo.o"
ar rcs "$package/lib/libfoo.a" "$work/foo.o"
printf '[settings]\narch=x86_64\nbuild_type=Release\ncompiler=gcc\nos=Linux\n' >"$package/conaninfo.txt"
printf '1700000000\ninclude/foo.h: 0\nlib/libfoo.a: 0\n' >"$package/conanmanifest.txt"
generators=$work/conan-out/build/Release/generators
mkdir -p "$generators/sbom"
for file in cmakedeps_macros.cmake foo-config.cmake foo-config-version.cmake fooTargets.cmake foo-Target-release.cmake; do
  cp "$fixture/generators/$file" "$generators/"
done
sed "s|@PACKAGE_FOLDER@|$package|" "$fixture/generators/foo-release-x86_64-data.cmake.in" >"$generators/foo-release-x86_64-data.cmake"
cp "$fixture/generators/sbom/sbom.cdx.json" "$generators/sbom/"
archive_sha=$(sha256sum "$package/lib/libfoo.a" | cut -d' ' -f1)

step "configure, publish"
configure "$fixture" "$work/b" -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$generators" -DCONAN_LINKED_REPOSITORY="$REGISTRY/e2e/conan-sbom" >"$work/configure.log" 2>&1 ||
  fail "configure failed:\n$(tail -30 "$work/configure.log")"
cmake --build "$work/b" --target app-push >"$work/push.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/push.log")"
sbom_of() {  # sbom_of OUT: the SBOM metadata.json names, from the registry
  local sbom
  sbom=$(jq -r '.platforms[0].sbom' "$work/b/multiarch-image/app/metadata.json")
  [[ $sbom == sha256:* ]] || fail "no SBOM in metadata.json"
  artifact e2e/conan-sbom "$sbom" >"$1"
}
doc=$work/sbom.json
sbom_of "$doc"

step "the Conan package in the SBOM"
foo=$(jq -c '.components[] | select(."bom-ref" == "conan:foo@1.2.3")' "$doc")
[[ -n $foo ]] || fail "no component conan:foo@1.2.3:\n$(jq -c '.components[] | ."bom-ref"' "$doc")"
assert_eq "$(jq -r .version <<<"$foo")" 1.2.3 "its version"
assert_eq "$(jq -r .purl <<<"$foo")" pkg:conan/foo@1.2.3 "its purl"
assert_eq "$(jq -r '.licenses[0].license.id' <<<"$foo")" MIT "its license, from Conan's document"
assert_eq "$(jq -r .description <<<"$foo")" "A library that knows the answer" "its description"
assert_eq "$(jq -r '.externalReferences[0].url' <<<"$foo")" https://foo.example/ "its website"
property() { jq -r --arg n "cmake-multiarch-image:$2" '.properties[] | select(.name == $n) | .value' <<<"$1"; }
assert_eq "$(property "$foo" conan-source)" cyclonedx "where it was described"
assert_eq "$(property "$foo" conan-bom-ref)" "pkg:conan/foo@1.2.3?rrev=5b2e8f0c9d1a4e7f3c6b8a0d2e4f6a8c" "Conan's bom-ref"
assert_eq "$(property "$foo" conan-sbom-sha256)" "sha256:$(sha256sum "$generators/sbom/sbom.cdx.json" | cut -d' ' -f1)" \
  "the document it came from"
assert_eq "$(jq -r '.components[0].name' <<<"$foo")" "$(realpath "$package/lib/libfoo.a")" "the archive linked, inside it"
assert_eq "$(jq -r '.components[0].hashes[0].content' <<<"$foo")" "$archive_sha" "the archive's SHA-256"
program=$(jq -r '.components[] | select(.type == "application" and .name == "app") | ."bom-ref"' "$doc")
[[ -n $program ]] || fail "no application component app"
jq -e --arg p "$program" '.dependencies[] | select(.ref == $p) | .dependsOn | index("conan:foo@1.2.3")' "$doc" >/dev/null ||
  fail "no edge $program -> conan:foo@1.2.3"
echo "ok: the edge $program -> conan:foo@1.2.3"
jq -e '.dependencies[] | select(.ref == "project") | .dependsOn | index("conan:foo@1.2.3")' "$doc" >/dev/null ||
  fail "the project does not depend on conan:foo@1.2.3"

step "the CycloneDX validator"
echo '{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{"name": "x"}]}' >"$work/invalid.json"
! cyclonedx_validate "$work/invalid.json" >/dev/null || fail "the validator accepts a component without a type"
cyclonedx_validate "$doc" || fail "the SBOM is not valid CycloneDX"

step "a rerun with nothing changed"
assert_no_work "$work/b" app-push "$work/noop.log"

step "without Conan's document: named from CMakeDeps' files alone"
rm "$generators/sbom/sbom.cdx.json"
cmake --build "$work/b" --target app-stage-linux-amd64 >"$work/restage.log" 2>&1 || fail "restage failed:\n$(tail -30 "$work/restage.log")"
linked=$work/b/multiarch-image/app/stage-linux-amd64.linked.json
foo=$(jq -c '.components[] | select(.ref == "conan:foo@1.2.3")' "$linked")
assert_eq "$(jq -r '.kind + " " + .version + " " + (.conan == null | tostring)' <<<"$foo")" "conan 1.2.3 true" \
  "the stage's record, without the document"
