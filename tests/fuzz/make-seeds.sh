#!/usr/bin/env bash
# The fuzz targets' seeds (tests/fuzz/seeds/<target>/), made from real sources where the target reads
# something real: ELF files from this machine's toolchains (amd64, arm64, armhf with Debian's gcc; the
# big-endian ppc64, ppc32 and mips64 with clang and lld), and, with `all`, the answers of the e2e
# registry and token service for images docker, podman and the helper publish there, and the spec,
# records, install scripts, Dockerfiles and dpkg answers of a real build tree (examples/cross). Run by
# hand as root on the test machine (Debian 12, tests/machine-setup.sh); it rewrites the files it makes
# and leaves hand-written and regression seeds alone. Usage:
#   tests/fuzz/make-seeds.sh elf
#   tests/fuzz/make-seeds.sh all BUILD_DIR     (BUILD_DIR: multiarch-image and multiarch-token-issuer built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seeds=$root/tests/fuzz/seeds
what=${1:?usage: make-seeds.sh elf | all BUILD_DIR}
work=$(mktemp -d /tmp/mai-seeds-XXXXXX)
cleanup=("rm -rf $work")
[[ -n ${MAI_SEEDS_KEEP:-} ]] && cleanup=("echo kept $work >&2")
trap 'for c in "${cleanup[@]}"; do eval "$c" || true; done' EXIT
log() { printf '[seeds] %s\n' "$*" >&2; }
sep=$'\x1e'   # the record separator between the parts of a multi-part input (helper/fuzz/fuzz_support.hpp)

elf_seeds() {
  local d=$work/elf
  mkdir -p "$d" "$seeds/elf" "$seeds/elf_run_path"
  cat >"$d/greet.c" <<'C'
int greet(int x) { return x * 2 + 1; }
C
  cat >"$d/main.c" <<'C'
int greet(int);
int main(int argc, char** argv) { (void)argv; return greet(argc); }
C
  cat >"$d/start.c" <<'C'
int greet(int);
void _start(void) { greet(1); for (;;) {} }
C
  echo 'void __libc_start_main(void) {}' >"$d/libc.c"
  local build_lib=/home/user/project/build/lib
  # A library with DT_SONAME and DT_RPATH, a program with PT_INTERP, two DT_NEEDED and DT_RUNPATH.
  local cc name
  for cc in gcc aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc; do
    name=${cc%gcc}; name=${name:-x86_64-linux-gnu-}; name=${name%-}
    (cd "$d" && "$cc" -Os -s -shared -fPIC -Wl,-soname,libgreet.so.1 -Wl,--disable-new-dtags -Wl,-rpath,$build_lib \
        -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code greet.c -o "$name-libgreet.so.1" &&
      "$cc" -Os -s main.c -L. -l:"$name-libgreet.so.1" -Wl,--enable-new-dtags -Wl,-rpath,"\$ORIGIN/../lib:$build_lib" \
        -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code -o "$name-hello")
  done
  # No PT_INTERP, no dynamic section.
  (cd "$d" && gcc -Os -s -static -nostdlib -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code start.c greet.c -o x86_64-linux-gnu-static)
  # Big-endian, 64- and 32-bit: clang and lld without a C library (a stub libc.so.6 to link against).
  local target
  for target in powerpc64-linux-gnu powerpc-linux-gnu mips64-linux-gnuabi64; do
    (cd "$d" && clang --target=$target -fuse-ld=lld -nostdlib -Os -s -shared -fPIC -Wl,-soname,libc.so.6 libc.c -o $target-libc.so.6 &&
      clang --target=$target -fuse-ld=lld -nostdlib -Os -s -shared -fPIC -Wl,-soname,libgreet.so.1 -Wl,--disable-new-dtags \
        -Wl,-rpath,$build_lib greet.c -o $target-libgreet.so.1 &&
      clang --target=$target -fuse-ld=lld -nostdlib -Os -s -fPIE -pie start.c -Wl,--dynamic-linker=/lib/ld.so.1 -L. \
        -l:$target-libgreet.so.1 -l:$target-libc.so.6 -Wl,--enable-new-dtags -Wl,-rpath,"\$ORIGIN/../lib:$build_lib" \
        -o $target-hello 2>/dev/null)
  done
  local f
  for f in "$d"/*-hello "$d"/*-libgreet.so.1 "$d"/*-static; do
    install -m 644 "$f" "$seeds/elf/$(basename "$f")"
    # The run path CMake's INSTALL_RPATH would set, and none (removed).
    { printf '%s%s' '$ORIGIN/../lib' "$sep"; cat "$f"; } >"$seeds/elf_run_path/$(basename "$f").install-rpath"
    { printf '%s' "$sep"; cat "$f"; } >"$seeds/elf_run_path/$(basename "$f").removed"
  done
  log "elf: $(ls "$seeds/elf" | wc -l) files, elf_run_path: $(ls "$seeds/elf_run_path" | wc -l)"
}


# --- the registry's answers --------------------------------------------------------------------------
accept='application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
# fetch PATH REFERENCE NAME: the manifest's body in $m/NAME, its content type in $m/NAME.type
fetch() {
  curl -fsS -H "Accept: $accept" -D "$m/$3.headers" "http://$REGISTRY/v2/$1/manifests/$2" -o "$m/$3"
  tr -d '\r' <"$m/$3.headers" | sed -n 's/^[Cc]ontent-[Tt]ype: //p' >"$m/$3.type"
}
blob() { curl -fsS "http://$REGISTRY/v2/$1/blobs/$2" -o "$m/$3"; }
digest_of() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }
# as_answer NAME: the manifest as fuzz_support.hpp's answer() reads it, its content type first
as_answer() { printf '200\ncontent-type: %s\n\n' "$(cat "$m/$1.type")"; cat "$m/$1"; }
# placeholder FILE DIGEST NAME: FILE's descriptors of DIGEST name @NAME@ and @NAME_SIZE@ instead (what
# a target computes from the document it serves)
placeholder() {
  jq -c --arg d "$2" --arg n "$3" \
    'walk(if type == "object" and .digest == $d then (.digest = "@" + $n + "@") | (if has("size") then .size = "@" + $n + "_SIZE@" else . end) else . end)' \
    "$1" >"$1.tmp" && mv "$1.tmp" "$1"
}
# seed TARGET NAME PART...: the parts joined by the record separator; a size placeholder is a number
seed() {
  local target=$1 name=$2; shift 2
  mkdir -p "$seeds/$target"
  local first=1 part
  { for part in "$@"; do ((first)) || printf '%s' "$sep"; first=0; sed -E 's/"(@[A-Z]+_SIZE@)"/\1/g' "$part"; done; } \
    >"$seeds/$target/$name"
}

# Images published to the e2e registry the way users publish them: examples/cross with TARGETS and
# RUNTIME built by docker (a Docker manifest list), assembled by the helper on that image as BASE,
# installed (INSTALL) by docker and assembled; examples/hello built by podman. SBOM and provenance on.
publish_images() {
  local helper=$1/helper/multiarch-image
  export ASAN_OPTIONS=detect_leaks=0 SOURCE_DATE_EPOCH=1700000000
  cp -r "$root/examples/cross" "$work/src"
  git -C "$work/src" init -q && git -C "$work/src" -c user.name=t -c user.email=t@example.invalid add -A &&
    git -C "$work/src" -c user.name=t -c user.email=t@example.invalid commit -qm v1
  cmake -S "$work/src" -B "$work/b" -G Ninja -DMULTIARCH_IMAGE_SOURCE_DIR="$root" -DCROSS_HELLO_CROSS_ARGS="-DMULTIARCH_IMAGE_SOURCE_DIR=$root" \
    -DMULTIARCH_IMAGE_HELPER="$helper" -DCROSS_HELLO_IMAGE=ON -DCROSS_HELLO_REPOSITORY="$REGISTRY/seed/cross" \
    "-DCROSS_HELLO_PLATFORMS=linux/amd64;linux/arm64;linux/arm/v7" -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
    -DCROSS_HELLO_ASSEMBLED_BASE="$REGISTRY/seed/cross:1.0.0" -DCROSS_HELLO_INSTALLED_IMAGES=ON -DMULTIARCH_IMAGE_ENGINE=docker \
    -DMULTIARCH_IMAGE_DOCKER=/usr/bin/docker -DMULTIARCH_IMAGE_NETWORK=none >"$work/cross.log" 2>&1
  cmake --build "$work/b" --target cross-hello-push -j2 >>"$work/cross.log" 2>&1
  cmake --build "$work/b" --target image-push -j2 >>"$work/cross.log" 2>&1
  cmake -S "$root/examples/hello" -B "$work/hb" -G Ninja -DMULTIARCH_IMAGE_HELPER="$helper" -DMULTIARCH_IMAGE_BUILD_TESTING=OFF \
    -DHELLO_REPOSITORY="$REGISTRY/seed/hello-podman" "-DHELLO_PLATFORMS=linux/amd64;linux/arm64" -DMULTIARCH_IMAGE_ENGINE=podman \
    -DMULTIARCH_IMAGE_NETWORK=none >"$work/hello.log" 2>&1
  cmake --build "$work/hb" --target image-push -j2 >>"$work/hello.log" 2>&1
  # What docker 29 pushes per platform: an index with the image and BuildKit's attestation manifest.
  "$root/tests/tools/provenance.sh" "$REGISTRY/seed/cross:1.0.0-amd64" >/dev/null
  log "published: $(curl -fsS "http://$REGISTRY/v2/_catalog" | jq -c .repositories)"
}

registry_seeds() {
  local build=$1
  "$root/tests/e2e/services.sh" start "$work/svc" >/dev/null 2>&1
  cleanup=("'$root/tests/e2e/services.sh' stop '$work/svc' >/dev/null 2>&1" "${cleanup[@]}")
  # shellcheck disable=SC1091
  . "$work/svc/env"
  publish_images "$build"
  m=$work/m && mkdir -p "$m"
  : >"$m/empty"

  # Indexes and lists as each publisher wrote them; the second part (compared apart from its creation
  # time) the same index once more.
  local repo name
  fetch seed/cross 1.0.0 docker-list                   # the helper's Docker manifest list over docker's images
  fetch seed/cross-assembled 1.0.0 assembled-list      # over the helper's own manifests
  fetch seed/cross-installed-assembled 1.0.0 installed-list
  fetch seed/hello-podman 1.0.0 podman-list            # over podman's manifests
  fetch seed/cross 1.0.0-amd64 buildkit-index          # an image and its attestation manifest
  local subject; subject=$(jq -r '.manifests[0].digest' "$m/docker-list")
  fetch seed/cross "sha256-${subject#sha256:}" referrers-index   # the referrers tag: SBOM and provenance
  for name in docker-list assembled-list installed-list podman-list buildkit-index referrers-index; do
    seed index "$name" "$m/$name"
    seed index "$name.twice" "$m/$name" "$m/$name"
  done

  # The manifest step's reads: each publisher's pushed manifest and config; the BuildKit index around
  # the image and its attestation; what the tag holds already (the list over it).
  local amd64 config
  for name in docker-arm64-for-amd64:seed/cross:1.0.0-arm64 assembled:seed/cross-assembled:1.0.0-amd64 podman:seed/hello-podman:1.0.0-amd64 \
              installed:seed/cross-installed:1.0.0-amd64; do
    IFS=: read -r label repo tag <<<"$name"
    fetch "$repo" "$tag" "$label-image"
    config=$(jq -r .config.digest "$m/$label-image")
    blob "$repo" "$config" "$label-config"
    placeholder "$m/$label-image" "$config" CONFIG
    as_answer "$label-image" >"$m/$label-image.answer"
    seed manifest "$label-pushed-image" "$m/$label-image.answer" "$m/empty" "$m/$label-config"
  done
  # The BuildKit index: the image behind @IMAGE@, its attestation behind @ATTEST@.
  local image attest
  image=$(jq -r '.manifests[0].digest' "$m/buildkit-index")
  attest=$(jq -r '.manifests[1].digest' "$m/buildkit-index")
  fetch seed/cross "$image" bk-image && fetch seed/cross "$attest" bk-attest
  config=$(jq -r .config.digest "$m/bk-image") && blob seed/cross "$config" bk-config
  placeholder "$m/bk-image" "$config" CONFIG
  cp "$m/buildkit-index" "$m/bk-index" && cp "$m/buildkit-index.type" "$m/bk-index.type" && placeholder "$m/bk-index" "$image" IMAGE && placeholder "$m/bk-index" "$attest" ATTEST
  as_answer bk-index >"$m/bk-index.answer"
  as_answer bk-image >"$m/bk-image.answer"
  as_answer bk-attest >"$m/bk-attest.answer"
  seed manifest buildkit-index-with-attestation "$m/bk-index.answer" "$m/bk-image.answer" "$m/bk-config" "$m/bk-attest.answer"
  # The tag holding a list over the pushed platform already (published before).
  cp "$m/docker-list" "$m/current" && placeholder "$m/current" "$(jq -r '.manifests[0].digest' "$m/docker-list")" PUSHED
  fetch seed/cross "$(jq -r '.manifests[0].digest' "$m/docker-list")" amd64-image
  config=$(jq -r .config.digest "$m/amd64-image") && blob seed/cross "$config" amd64-config
  placeholder "$m/amd64-image" "$config" CONFIG && as_answer amd64-image >"$m/amd64-image.answer"
  printf '200\ncontent-type: %s\n\n' "$(cat "$m/docker-list.type")" | cat - "$m/current" >"$m/current.answer"
  seed manifest tag-holds-a-list-already "$m/amd64-image.answer" "$m/empty" "$m/amd64-config" "$m/empty" "$m/current.answer"

  # BASE: the tag's list, the platform's manifest, its config; and a tag holding the manifest itself.
  for name in docker-list assembled-list installed-list podman-list; do
    repo=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$m/$name")
    case $name in
      docker-list) r=seed/cross ;; assembled-list) r=seed/cross-assembled ;;
      installed-list) r=seed/cross-installed-assembled ;; podman-list) r=seed/hello-podman ;;
    esac
    fetch "$r" "$repo" "$name-amd64"
    config=$(jq -r .config.digest "$m/$name-amd64") && blob "$r" "$config" "$name-config"
    cp "$m/$name" "$m/$name.base" && placeholder "$m/$name.base" "$repo" IMAGE
    placeholder "$m/$name-amd64" "$config" CONFIG
    printf '200\ncontent-type: %s\n\n' "$(cat "$m/$name.type")" | cat - "$m/$name.base" >"$m/$name.base.answer"
    as_answer "$name-amd64" >"$m/$name-amd64.answer"
    seed base_config "$name" "$m/$name.base.answer" "$m/$name-amd64.answer" "$m/$name-config"
    seed base_config "$name-manifest-at-the-tag" "$m/$name-amd64.answer" "$m/empty" "$m/$name-config"
  done

  # Referrers: the index at the referrers tag; the same as the referrers API's answer; a tag that
  # holds the subject itself (GitLab answers sha256-<hex> with the manifest of that digest).
  printf '200\ncontent-type: application/vnd.oci.image.index.v1+json\n\n' | cat - "$m/referrers-index" >"$m/referrers.answer"
  printf '404\ncontent-type: application/json\n\n{"errors":[{"code":"NOT_FOUND","message":"not found"}]}' >"$m/api-404"
  seed referrers tag-schema "$m/referrers.answer" "$m/empty"
  seed referrers api "$m/empty" "$m/referrers.answer"
  seed referrers api-404-then-tag "$m/referrers.answer" "$m/api-404"
  seed referrers tag-holds-the-subject "$m/amd64-image.answer" "$m/empty"

  token_seeds "$build"
  layer_seeds
  tree_seeds
}

# A token service (tests/tools/token_issuer.cpp) and a registry that asks for its tokens, a registry
# with Basic auth: their challenges, token answers and error bodies; the logins docker and podman store.
token_seeds() {
  local build=$1 t=$work/treg b=$work/breg
  mkdir -p "$t" "$b"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=seed token signer" -keyout "$t/token.key" -out "$t/token.crt" 2>/dev/null
  echo secret-password >"$t/password"
  "$build/tests/multiarch-token-issuer" --key "$t/token.key" --cert "$t/token.crt" --issuer seed-issuer --service seed-registry \
    --user ci --password-file "$t/password" --port-file "$t/token.port" --log "$t/token.log" &
  local issuer=$!
  cleanup=("kill $issuer" "${cleanup[@]}")
  for _ in $(seq 50); do [[ -s $t/token.port ]] && break; sleep 0.1; done
  local tport; tport=$(cat "$t/token.port")
  printf 'auth: {token: {realm: "http://127.0.0.1:%s/token", service: seed-registry, issuer: seed-issuer, rootcertbundle: %s}}\n' \
    "$tport" "$t/token.crt" >"$t/auth.yml"
  "$root/tests/e2e/services.sh" registry-start "$t" >/dev/null 2>&1
  cleanup=("'$root/tests/e2e/services.sh' registry-stop '$t'" "${cleanup[@]}")
  printf 'secret-password\n' | htpasswd -niB ci >"$b/htpasswd"
  "$root/tests/e2e/services.sh" registry-start "$b" >/dev/null 2>&1
  cleanup=("'$root/tests/e2e/services.sh' registry-stop '$b'" "${cleanup[@]}")
  local treg=127.0.0.1:$(cat "$t/registry.port") breg=127.0.0.1:$(cat "$b/registry.port")
  header() { tr -d '\r' | sed -n "s/^$1: //Ip" | head -1; }
  # What each answers, as answer() reads it: status, headers, body.
  exchange() {  # exchange OUT CURL_ARGS...: the whole answer
    local out=$1; shift
    curl -sS -D "$out.h" -o "$out.b" "$@" || true
    { tr -d '\r' <"$out.h" | sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p'
      tr -d '\r' <"$out.h" | sed -n '2,$p' | grep -iE '^(content-type|www-authenticate|location|docker-content-digest):' || true
      echo; cat "$out.b"; } >"$out"
  }
  local c=$work/c && mkdir -p "$c"
  exchange "$c/v2" "http://$treg/v2/"
  exchange "$c/pull" "http://$treg/v2/seed/app/manifests/1.0" -H "Accept: $accept"
  exchange "$c/push" -X POST "http://$treg/v2/seed/app/blobs/uploads/"
  exchange "$c/mount" -X POST "http://$treg/v2/seed/app/blobs/uploads/?mount=sha256:$(printf x | sha256sum | cut -d' ' -f1)&from=seed/base"
  exchange "$c/basic" "http://$breg/v2/seed/app/manifests/1.0"
  mkdir -p "$seeds/challenge"
  for name in v2 pull push mount basic; do header www-authenticate <"$c/$name.h" >"$seeds/challenge/$name"; done
  # Token answers for one scope and for two (a mount), anonymous and with wrong credentials.
  local scope="repository:seed/app:pull" realm="http://127.0.0.1:$tport/token"
  exchange "$c/token" -u ci:secret-password "$realm?service=seed-registry&scope=$scope"
  exchange "$c/token-two" -u ci:secret-password "$realm?service=seed-registry&scope=repository:seed/app:pull,push&scope=repository:seed/base:pull"
  exchange "$c/token-anonymous" "$realm?service=seed-registry&scope=$scope"
  exchange "$c/token-wrong" -u ci:wrong "$realm?service=seed-registry&scope=$scope"
  local token; token=$(jq -r '.token // .access_token' "$c/token.b")
  exchange "$c/unknown" -H "Authorization: Bearer $token" -H "Accept: $accept" "http://$treg/v2/seed/app/manifests/1.0"
  exchange "$c/blob-unknown" -H "Authorization: Bearer $token" "http://$treg/v2/seed/app/blobs/sha256:$(printf x | sha256sum | cut -d' ' -f1)"
  exchange "$c/insufficient" -X POST -H "Authorization: Bearer $token" "http://$treg/v2/seed/app/blobs/uploads/"
  exchange "$c/manifest" -H "Accept: $accept" "http://$REGISTRY/v2/seed/cross/manifests/1.0.0"
  printf '307\nlocation: /v2/seed/cross/blobs/sha256:%s?redirected=1\n\n' "$(printf x | sha256sum | cut -d' ' -f1)" >"$c/redirect"
  printf p >"$c/password" && printf i >"$c/identity" && printf n >"$c/anonymous"
  local bearer="$c/pull.challenge"; header www-authenticate <"$c/pull.h" >"$bearer"
  local basic="$c/basic.challenge"; header www-authenticate <"$c/basic.h" >"$basic"
  seed token bearer-token-then-manifest "$bearer" "$c/token" "$c/manifest" "$c/password"
  seed token bearer-identity-token "$bearer" "$c/token" "$c/manifest" "$c/identity"
  seed token bearer-anonymous "$bearer" "$c/token-anonymous" "$c/unknown" "$c/anonymous"
  seed token bearer-two-scopes "$bearer" "$c/token-two" "$c/blob-unknown" "$c/password"
  seed token bearer-wrong-credentials "$bearer" "$c/token-wrong" "$m/empty" "$c/password"
  seed token bearer-then-manifest-unknown "$bearer" "$c/token" "$c/unknown" "$c/password"
  seed token bearer-then-insufficient-scope "$bearer" "$c/token" "$c/insufficient" "$c/password"
  seed token bearer-then-redirect "$bearer" "$c/token" "$c/redirect" "$c/password"
  seed token basic-then-manifest "$basic" "$c/manifest" "$c/unknown" "$c/password"
  # Location: an upload session's, against the registry's URL.
  exchange "$c/session" -X POST "http://$REGISTRY/v2/seed/cross/blobs/uploads/"
  mkdir -p "$seeds/url"
  printf 'http://%s/v2/seed/cross/blobs/uploads/%s%s' "$REGISTRY" "$sep" "$(header location <"$c/session.h")" >"$seeds/url/upload-session"
  printf 'http://%s/v2/seed/cross/blobs/uploads/%s%s' "$REGISTRY" "$sep" "$(header location <"$c/session.h" | sed 's|^http://[^/]*||')" \
    >"$seeds/url/upload-session-relative"
  printf '%s%s%s' "$realm" "$sep" "?service=seed-registry&scope=$scope" >"$seeds/url/realm-and-query"
  # The logins docker and podman store, and a credential helper's answer (docker-credential-helpers' protocol).
  mkdir -p "$c/docker" "$seeds/credentials"
  echo secret-password | DOCKER_CONFIG=$c/docker /usr/bin/docker login --username ci --password-stdin "$breg" >/dev/null 2>&1
  echo secret-password | podman login --tls-verify=false --authfile "$c/auth.json" --username ci --password-stdin "$breg" >/dev/null 2>&1
  printf '%s/seed/app' "$breg" >"$c/name"
  printf '{"ServerURL":"%s","Username":"ci","Secret":"secret-password"}\n' "$breg" >"$c/helper-answer"
  printf '{"auths":{},"credHelpers":{"%s":"seed"}}\n' "$breg" >"$c/helpers.json"
  printf '{"auths":{},"credsStore":"seed"}\n' >"$c/store.json"
  printf '{"ServerURL":"%s","Username":"<token>","Secret":"identity-token"}\n' "$breg" >"$c/helper-identity"
  seed credentials docker-login "$c/docker/config.json" "$m/empty" "$m/empty" "$c/name"
  seed credentials podman-login "$m/empty" "$c/auth.json" "$m/empty" "$c/name"
  seed credentials cred-helpers "$c/helpers.json" "$m/empty" "$c/helper-answer" "$c/name"
  seed credentials creds-store-identity-token "$c/store.json" "$m/empty" "$c/helper-identity" "$c/name"
}

# Layers the helper wrote (each small enough), gzip and tar; a tree staged for an image, as the
# round trip's listing.
layer_seeds() {
  mkdir -p "$seeds/tar_reader" "$seeds/layer_round_trip"
  local layout=$work/b/multiarch-image/cross-hello-assembled/oci blob n=0
  for blob in "$layout"/blobs/sha256/*; do
    [[ $(head -c2 "$blob" | od -An -tx1 | tr -d ' ') == 1f8b ]] || continue
    if (($(stat -c %s "$blob") <= 65536)); then cp "$blob" "$seeds/tar_reader/helper-layer-$((n++)).tar.gz"; fi
    if (($(gzip -dc "$blob" | wc -c) <= 65536)); then gzip -dc "$blob" >"$seeds/tar_reader/helper-layer-$((n++)).tar"; fi
  done
  local tree=$work/tree && mkdir -p "$tree/usr/share/$(printf 'd%.0s' {1..120})" "$tree/etc"
  echo motd >"$tree/etc/motd" && ln -s ../etc/motd "$tree/usr/motd" && echo x >"$tree/usr/share/$(printf 'd%.0s' {1..120})/long"
  tar --format=pax --owner=0 --group=0 -C "$tree" -cf "$seeds/tar_reader/gnu-tar-pax.tar" .
  gzip -9n <"$seeds/tar_reader/gnu-tar-pax.tar" >"$seeds/tar_reader/gnu-tar-pax.tar.gz"
  local staged=$work/b/multiarch-image/cross-hello/context/linux-amd64 entry
  [[ -d $staged ]] || staged=$(find "$work/b/multiarch-image/cross-hello/context" -mindepth 1 -maxdepth 1 -type d | head -1)
  {
    echo "@1700000000"
    (cd "$staged" && find . -mindepth 1 | sed 's|^\./||' | sort) | while read -r entry; do
      if [[ -L $staged/$entry ]]; then echo "l- $entry -> $(readlink "$staged/$entry")"
      elif [[ -d $staged/$entry ]]; then echo "d- $entry"
      elif [[ -x $staged/$entry ]]; then echo "fx $entry -> $(basename "$entry") content"
      else echo "f- $entry -> $(basename "$entry") content"; fi
    done
  } >"$seeds/layer_round_trip/staged-tree"
  printf '@0\nf- etc/motd -> hello\nl- usr/motd -> ../etc/motd\nd- var/empty\nfx usr/share/%s/run -> #!/bin/sh\n' \
    "$(printf 'd%.0s' {1..120})" >"$seeds/layer_round_trip/long-name-and-link"
}

# The build tree's own inputs: spec and test files, records, install scripts, Dockerfiles and
# .dockerignore, dpkg's answers about the runtime's files, os-release.
tree_seeds() {
  local image file name
  mkdir -p "$seeds/spec" "$seeds/records" "$seeds/install_sources" "$seeds/dockerfile" "$seeds/dockerignore" "$seeds/dpkg"
  for image in "$work"/b/multiarch-image/*/ "$work"/hb/multiarch-image/*/; do
    name=$(basename "$image")
    for file in spec.json test.json; do [[ -f $image/$file ]] && cp "$image/$file" "$seeds/spec/$name.$file"; done
    for file in "$image"/build-*.json "$image"/push-*.json "$image"/metadata.json "$image"/stage-*.files.json; do
      [[ -f $file ]] && (($(stat -c %s "$file") <= 65536)) && cp "$file" "$seeds/records/$name.$(basename "$file")"
    done
  done
  # @TREE@ for the build tree, whose data/ stands for the sources; a subdirectory's script as sub/.
  local top=$work/b/cmake_install.cmake sub
  sub=$(grep -o '"[^"]*/cmake_install.cmake"' "$top" | head -1 | tr -d '"' || true)
  [[ -n $sub ]] || sub=$m/empty
  for file in "$top" "$sub"; do
    sed -e "s|$work/b/[^\"]*/cmake_install.cmake|$work/b/sub/cmake_install.cmake|" -e "s|$work/src|@TREE@/data|g" -e "s|$work/b|@TREE@|g" "$file" >"$file.seed"
  done
  seed install_sources build-tree "$top.seed" "$sub.seed"
  # A cross-compiling sub-build's (TOOLCHAINS), which INSTALL runs for its platform.
  local cross; cross=$(find "$work/b/multiarch-image-cross" -mindepth 1 -maxdepth 1 -type d | head -1)
  sed -e "s|$cross/[^\"]*/cmake_install.cmake|$cross/sub/cmake_install.cmake|" -e "s|$work/src|@TREE@/data|g" -e "s|$cross|@TREE@|g" \
    "$cross/cmake_install.cmake" >"$work/cross.seed"
  sed -e "s|$work/src|@TREE@/data|g" -e "s|$cross|@TREE@|g" "$cross/multiarch-image/cmake_install.cmake" >"$work/cross-sub.seed"
  seed install_sources cross-sub-build "$work/cross.seed" "$work/cross-sub.seed"
  printf 'GREETING=hello from the seeds\nBASE=%s/seed/cross:1.0.0\n' "$REGISTRY" >"$work/args"
  for file in "$root"/examples/*/Dockerfile* "$root"/tests/projects/*/Dockerfile "$root"/tests/projects/*/*/Dockerfile; do
    name=$(realpath --relative-to="$root" "$file" | tr / -)
    seed dockerfile "$name" "$file" "$work/args"
  done
  (cd "$work/src" && find . -mindepth 1 -not -path './.git*' | sed 's|^\./||' | sort) >"$work/context-paths"
  for file in "$root"/examples/cross/.dockerignore "$root"/tests/projects/two-images/*/.dockerignore; do
    seed dockerignore "$(realpath --relative-to="$root" "$file" | tr / -)" "$file" "$work/context-paths"
  done
  # The files the dpkg target asks about, under each name dpkg may know them by.
  local names=(/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libstdc++.so.6
               /lib/x86_64-linux-gnu/libstdc++.so.6 /lib64/ld-linux-x86-64.so.2 /usr/lib64/ld-linux-x86-64.so.2)
  dpkg-query -S "${names[@]}" >"$work/dpkg-S" 2>/dev/null || true
  local owners; owners=$(sed -n 's|: /.*||p' "$work/dpkg-S" | sort -u)
  # shellcheck disable=SC2086
  dpkg-query -W -f '${binary:Package}\t${Package}\t${Version}\t${Architecture}\n' $owners >"$work/dpkg-W"
  seed dpkg runtime-files "$work/dpkg-S" "$work/dpkg-W" /etc/os-release
  dpkg-query -S /usr/lib/gcc-cross/aarch64-linux-gnu/12/libstdc++.so /bin/sh /usr/share/doc 2>/dev/null >"$work/dpkg-S2" || true
  seed dpkg diversions-and-directories "$work/dpkg-S2" "$work/dpkg-W" /etc/os-release
}

case $what in
  elf) elf_seeds ;;
  all) elf_seeds; registry_seeds "${2:?usage: make-seeds.sh all BUILD_DIR}" ;;
  *) echo "usage: make-seeds.sh elf | all BUILD_DIR" >&2; exit 2 ;;
esac
