#!/usr/bin/env bash
# ESSENTIALS ALL on scratch (tests/projects/essentials, amd64 and arm64 from a cross sub-build, the
# program linked with Debian's libssl3, staged by RUNTIME): run as `USER nonroot` (a name, found in
# the image's /etc/passwd) under docker and podman on both platforms (arm64 under QEMU), the program
# finds its account and home with getpwuid, writes into /tmp (1777), reads Europe/Berlin from the
# time zone database, and verifies a TLS server on the container's loopback through OpenSSL's default
# CA path, with a CA the test made and added to the bundle the image takes (MULTIARCH_IMAGE_CA_BUNDLE).
# GNU tar lists the essentials' layer (owners, modes, links, the bundle byte for byte, times). The
# SBOM lists the time zones inside tzdata at its installed version, and, once the image takes this
# machine's own bundle, the bundle inside ca-certificates at its installed version; with that bundle
# the test's server is no longer trusted. An unchanged rerun runs nothing and asks the registry
# nothing; a changed bundle rebuilds that one layer. ESSENTIALS accounts on a base with accounts of
# its own fails the build, with nothing published.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
repository=$REGISTRY/e2e/essentials
platforms=(linux/amd64 linux/arm64)
cp -r "$repo_root/tests/projects/essentials" "$work/src"

step "a CA and a certificate for localhost, the CA added to a copy of this machine's bundle"
mkdir -p "$work/certs"
(
  cd "$work/certs"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=essentials test CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null
) || fail "openssl could not make the certificates"
cat /etc/ssl/certs/ca-certificates.crt "$work/certs/ca.pem" >"$work/bundle.crt"
configure "$work/src" "$work/b" "-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root" "-DESSENTIALS_REPOSITORY=$repository" \
  "-DESSENTIALS_CERTS=$work/certs" "-DMULTIARCH_IMAGE_CA_BUNDLE=$work/bundle.crt" >/dev/null

step "published for amd64 and arm64"
cmake --build "$work/b" --target essentials-push -j2 >"$work/push.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/push.log")"

# The layers of PLATFORM's image in the layout, lowest first.
layers() {
  local manifest
  manifest=$(jq -r '.image_id' "$work/b/multiarch-image/essentials/build-${1//\//-}.json")
  jq -r '.layers[].digest' "$work/b/multiarch-image/essentials/oci/blobs/sha256/${manifest#sha256:}"
}
blob() { echo "$work/b/multiarch-image/essentials/oci/blobs/sha256/${1#sha256:}"; }

step "GNU tar: the essentials' layer, first, with distroless's owners and modes, the bundle as it is"
for platform in "${platforms[@]}"; do
  first=$(layers "$platform" | head -1)
  listing=$(tar --numeric-owner --full-time -tvzf "$(blob "$first")")
  for expected in "-rw-r--r-- 0/0 .* etc/passwd" "-rw-r--r-- 0/0 .* etc/group" "drwx------ 0/0 .* root/" \
                  "drwxr-xr-x 0/0 .* home/" "drwx------ 65532/65532 .* home/nonroot/" "drwxrwxrwt 0/0 .* tmp/" \
                  "-rw-r--r-- 0/0 .* etc/ssl/certs/ca-certificates.crt" \
                  "lrwxrwxrwx 0/0 .* usr/lib/ssl/cert.pem -> ../../../etc/ssl/certs/ca-certificates.crt" \
                  "lrwxrwxrwx 0/0 .* etc/ssl/cert.pem -> certs/ca-certificates.crt" \
                  "-rw-r--r-- 0/0 .* usr/share/zoneinfo/Europe/Berlin"; do
    grep -qE -- "^${expected/ /.? +}\$" <<<"$listing" || fail "$platform: no entry \`$expected\` in the first layer"
    echo "ok: $platform: $expected"
  done
  ! grep -q "usr/share/zoneinfo/localtime" <<<"$listing" || fail "$platform: Debian's link to /etc/localtime was kept"
  assert_eq "$(awk '{print $4 " " $5}' <<<"$listing" | sort -u)" "2023-11-14 22:13:20" "$platform: every entry's time"
  mkdir -p "$work/root-${platform//\//-}"
  tar -xzf "$(blob "$first")" -C "$work/root-${platform//\//-}"
  cmp "$work/root-${platform//\//-}/etc/ssl/certs/ca-certificates.crt" "$work/bundle.crt" ||
    fail "$platform: the image's bundle is not MULTIARCH_IMAGE_CA_BUNDLE"
  [[ $(tar -tzf "$(blob "$first")" | grep -c '^usr/share/zoneinfo/.*[^/]$') -ge 500 ]] || fail "$platform: the time zones are not all there"
done
assert_eq "$(layers linux/amd64 | head -1)" "$(layers linux/arm64 | head -1)" "the essentials' layer of both platforms: one blob"

expected="user nonroot (uid 65532), home /home/nonroot owned by 65532, mode 0700
/tmp mode 1777, written
1700000000 in Europe/Berlin: 2023-11-14 23:13 CET
TLS to localhost verified through /usr/lib/ssl/cert.pem"
step "run as USER nonroot: its account, /tmp, a time zone, TLS verified (docker and podman, amd64 and arm64)"
for platform in "${platforms[@]}"; do
  for engine in docker podman; do
    out=$(run_image $engine "$repository:latest" "$platform" 2>"$work/run.err") ||
      fail "$engine $platform: the program failed:\n$out\n$(cat "$work/run.err")"
    assert_eq "$out" "$expected" "$engine $platform"
  done
done

# The platform's SBOM from the registry, as metadata.json names it.
sbom() {
  local digest layer
  digest=$(jq -r --arg p "$1" '.platforms[] | select(.platform == $p) | .sbom' "$work/b/multiarch-image/essentials/metadata.json")
  layer=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/e2e/essentials/manifests/$digest" |
    jq -r '.layers[0].digest')
  curl -sf "http://$REGISTRY/v2/e2e/essentials/blobs/$layer"
}
# The package component PACKAGE in the SBOM on stdin: "<version> <files inside it>".
package_in() { jq -r --arg r "deb:$1:all" '.components[] | select(."bom-ref" == $r) | .version + " " + (.components | length | tostring)'; }

step "the SBOM: the time zones inside tzdata at its installed version; the project's bundle as a file of its own"
tzdata=$(dpkg-query -W -f '${Version}' tzdata)
for platform in "${platforms[@]}"; do
  sbom "$platform" >"$work/sbom-${platform//\//-}.json"
  read -r version files < <(package_in tzdata <"$work/sbom-${platform//\//-}.json")
  assert_eq "$version" "$tzdata" "$platform: tzdata's version"
  ((files >= 500)) || fail "$platform: only $files files inside tzdata"
  assert_eq "$(jq -r '.. | objects | select(.name? == "/usr/share/zoneinfo/Europe/Berlin") | .hashes[0].content' \
                 "$work/sbom-${platform//\//-}.json")" \
    "$(sha256sum "$work/root-${platform//\//-}/usr/share/zoneinfo/Europe/Berlin" | cut -d' ' -f1)" "$platform: Europe/Berlin's SHA-256"
  bundle=$(jq -c '.. | objects | select(."bom-ref"? == "file:/etc/ssl/certs/ca-certificates.crt")' "$work/sbom-${platform//\//-}.json")
  assert_eq "$(jq -r '.hashes[0].content' <<<"$bundle")" "$(sha256sum "$work/bundle.crt" | cut -d' ' -f1)" "$platform: the bundle's SHA-256"
  assert_eq "$(jq -r '.properties[] | select(.name == "cmake-multiarch-image:source") | .value' <<<"$bundle")" "$work/bundle.crt" \
    "$platform: the bundle's source"
  assert_eq "$(package_in ca-certificates <"$work/sbom-${platform//\//-}.json")" "" "$platform: no ca-certificates package for the project's bundle"
done
cyclonedx_validate "$work"/sbom-*.json || fail "an SBOM is not valid CycloneDX 1.6"

step "an unchanged rerun runs nothing and asks the registry nothing"
mark=$(registry_mark "$fixture_registry_log")
cmake --build "$work/b" --target essentials-push -j2 >"$work/noop.log" 2>&1 || fail "the rerun failed:\n$(cat "$work/noop.log")"
! grep -E "\] (build|push|manifest) started|stage essentials" "$work/noop.log" || fail "the rerun did work:\n$(cat "$work/noop.log")"
assert_eq "$(registry_requests "$fixture_registry_log" "$mark" " /v2/e2e/essentials/" | grep -c . || true)" 0 "requests on the no-op"

step "a changed bundle rebuilds the essentials' layer and nothing else"
before=$(layers linux/amd64)
printf '\n' >>"$work/bundle.crt"
cmake --build "$work/b" --target essentials-push -j2 >"$work/bundle.log" 2>&1 || fail "republish failed:\n$(tail -30 "$work/bundle.log")"
assert_eq "$(grep -c "\] build started" "$work/bundle.log")" 2 "build steps run"
! grep -q "stage essentials" "$work/bundle.log" || fail "the bundle restaged the program"
after=$(layers linux/amd64)
[[ $(head -1 <<<"$before") != $(head -1 <<<"$after") ]] || fail "the essentials' layer did not change"
assert_eq "$(tail -n +2 <<<"$after")" "$(tail -n +2 <<<"$before")" "the layers above it"

step "this machine's own bundle: inside ca-certificates at its installed version, and the test's CA no longer trusted"
configure "$work/src" "$work/b" -DMULTIARCH_IMAGE_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt >/dev/null
cmake --build "$work/b" --target essentials-push -j2 >"$work/system.log" 2>&1 || fail "republish failed:\n$(tail -30 "$work/system.log")"
for platform in "${platforms[@]}"; do
  sbom "$platform" >"$work/sbom-system.json"
  assert_eq "$(package_in ca-certificates <"$work/sbom-system.json")" "$(dpkg-query -W -f '${Version}' ca-certificates) 1" \
    "$platform: ca-certificates' version, the bundle inside it"
  assert_eq "$(jq -r '.. | objects | select(."bom-ref"? == "file:/etc/ssl/certs/ca-certificates.crt") | .hashes[0].content' \
                 "$work/sbom-system.json")" "$(sha256sum /etc/ssl/certs/ca-certificates.crt | cut -d' ' -f1)" "$platform: its SHA-256"
  status=0
  out=$(run_image docker "$repository:latest" "$platform" 2>"$work/run.err") || status=$?
  assert_eq "$status/$(tail -1 <<<"$out")" "1/FAIL TLS to localhost not verified: unable to get local issuer certificate" \
    "$platform: the test's server, with this machine's bundle"
done

step "ESSENTIALS accounts on a base with accounts of its own: refused, nothing published"
configure "$work/src" "$work/b" -DESSENTIALS_ON_BASE=ON >/dev/null
status=0
cmake --build "$work/b" --target essentials-on-base-push >"$work/base.log" 2>&1 || status=$?
[[ $status != 0 ]] || fail "the build on the base succeeded:\n$(tail -20 "$work/base.log")"
grep -F "ESSENTIALS accounts: the base $repository:latest has its own /etc/passwd (root, nobody, nonroot), which accounts would replace" \
  "$work/base.log" || fail "the error does not say why:\n$(tail -20 "$work/base.log")"
! skopeo inspect --tls-verify=false --raw "docker://$repository-on-base:latest" >/dev/null 2>&1 || fail "the refused image was published"
echo "ok: refused, and $repository-on-base has no image"
