#!/usr/bin/env bash
# The manifest step's own registry client against the real registry, per transport and auth mode:
#   tls     TLS with a CA the test makes (trusted through certs.d, as users trust a private CA)
#   basic   the same TLS, plus htpasswd Basic auth
#   bearer  the same TLS, plus Bearer tokens from a token service on loopback (distribution's
#           `auth: token`, JWTs signed with a key the test makes)
#   mtls    the same TLS, and the registry asks for a client certificate (certs.d client.cert/.key);
#           podman only: dockerd shows no client certificate to a registry it treats as insecure,
#           as it treats every loopback registry
# The list is published by the helper, never by an engine's `manifest` command; then each platform is
# pulled and run by docker and by podman, and skopeo reads the list with TLS verification on. With
# wrong credentials the manifest step fails at once, naming where they came from, and writes nothing.
# With docker and Bearer auth, an image the helper assembles with no engine (examples/cross) takes the
# published list as its BASE: the base's layers are mounted under a token for both repositories; then,
# with tokens that live a second, a 24 MB layer goes up with a token renewed before its body.
# Requests are counted in the registry's own access log. With credentials, the password and every
# token the token service issued are searched for, in every form, in the build trees, the logs, and
# what the registry stored and logged.
#   registry_client.sh docker|podman tls|basic|bearer|mtls
. "$(dirname "$0")/lib.sh"
engine=$1 mode=$2
services=$(dirname "$0")/services.sh
reg=$work/registry
mkdir -p "$reg"
password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

step "a CA, a server certificate it signs for 127.0.0.1, and the $mode registry"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=multiarch test CA" -keyout "$reg/ca.key" -out "$reg/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$reg/tls.key" -out "$reg/tls.csr" 2>/dev/null
openssl x509 -req -in "$reg/tls.csr" -CA "$reg/ca.crt" -CAkey "$reg/ca.key" -CAcreateserial -days 1 \
  -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') -out "$reg/tls.crt" 2>/dev/null
issuer_pid=
case $mode in
  mtls)
    openssl req -newkey rsa:2048 -nodes -subj "/CN=multiarch test client" -keyout "$reg/client.key" -out "$reg/client.csr" 2>/dev/null
    openssl x509 -req -in "$reg/client.csr" -CA "$reg/ca.crt" -CAkey "$reg/ca.key" -CAcreateserial -days 1 \
      -out "$reg/client.cert" 2>/dev/null
    cp "$reg/ca.crt" "$reg/clientca.crt" ;;
  basic) printf '%s\n' "$password" | htpasswd -niB ci >"$reg/htpasswd" ;;
  bearer)
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=multiarch token signer" \
      -keyout "$reg/token.key" -out "$reg/token.crt" 2>/dev/null
    printf '%s\n' "$password" >"$reg/password"
    "$MULTIARCH_TEST_TOKEN_ISSUER" --key "$reg/token.key" --cert "$reg/token.crt" --issuer multiarch-test-issuer \
      --service multiarch-test-registry --user ci --password-file "$reg/password" --port-file "$reg/token.port" \
      --log "$work/token.log" --tokens "$work/tokens.txt" &
    issuer_pid=$!
    wait_for 5 "the token service" file_filled "$reg/token.port" || fail "the token service did not start"
    printf 'auth: {token: {realm: "http://127.0.0.1:%s/token", service: multiarch-test-registry, issuer: multiarch-test-issuer, rootcertbundle: %s}}\n' \
      "$(cat "$reg/token.port")" "$reg/token.crt" >"$reg/auth.yml" ;;
esac
"$services" registry-start "$reg"
registry=127.0.0.1:$(cat "$reg/registry.port")
# Keyed by this registry's port (unique while it runs); removed when the test ends.
certs=(/etc/docker/certs.d/$registry /etc/containers/certs.d/$registry)
for d in "${certs[@]}"; do
  mkdir -p "$d" && cp "$reg/ca.crt" "$d/ca.crt"
  [[ $mode == mtls ]] && cp "$reg/client.cert" "$reg/client.key" "$d/"
done
on_exit '"$services" registry-stop "$reg"; rm -rf "${certs[@]}"; [[ -n $issuer_pid ]] && kill "$issuer_pid" 2>/dev/null'
repository=$registry/e2e/client-$engine-$mode
export DOCKER_CONFIG=$work/docker-config REGISTRY_AUTH_FILE=$work/auth.json
mkdir -p "$DOCKER_CONFIG"; echo '{}' >"$DOCKER_CONFIG/config.json"; echo '{"auths": {}}' >"$REGISTRY_AUTH_FILE"
if [[ $mode == basic || $mode == bearer ]]; then
  printf '%s' "$password" | "$MULTIARCH_TEST_DOCKER" login --username ci --password-stdin "$registry" >/dev/null
  printf '%s' "$password" | podman login --username ci --password-stdin "$registry" >/dev/null
  # The secret search at the end is checked where a hit is certain: the credential stores hold base64
  # of ci:password.
  assert_secret_found "the password" "$password" "$DOCKER_CONFIG/config.json"
  assert_secret_found "the password" "$password" "$REGISTRY_AUTH_FILE"
fi

step "publish with $engine; the list is the helper's work"
configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$repository" -DHELLO_TAGS="1.0.0;stable" \
  -DMULTIARCH_IMAGE_RETRY_DELAY=0.1 >"$work/configure.log"
cmake --build "$work/build" --target image-push -j3 >"$work/push.log" 2>&1 || fail "publish failed:\n$(tail -20 "$work/push.log")"
grep -q "published and verified $repository:stable@sha256:" "$work/push.log" || fail "no verified publish"
assert_eq "$(engine_calls_matching '^(docker|podman) manifest |^skopeo ')" 0 "engine manifest and skopeo commands"
metadata=$work/build/multiarch-image/hello/metadata.json
index_digest=$(jq -r .index_digest "$metadata")
if [[ $mode == bearer ]]; then
  assert_eq "$(grep -c 'credentials=valid' "$work/token.log" | awk '{ print ($1 > 0) ? "yes" : "no" }')" yes "tokens issued for credentials"
  assert_eq "$(grep -c 'credentials=wrong' "$work/token.log" || true)" 0 "token requests with wrong credentials"
fi

step "skopeo reads the list with TLS verification on; docker and podman pull and run each platform"
authfile=$REGISTRY_AUTH_FILE
index=$(skopeo inspect --raw --authfile "$authfile" "docker://$repository:1.0.0")
assert_eq "sha256:$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)" "$index_digest" "skopeo's index digest vs metadata.json"
assert_eq "$(jq '.manifests | length' <<<"$index")" 3 "platforms in the index"
runners=(docker podman)
[[ $mode == mtls ]] && runners=(podman)
for runner in "${runners[@]}"; do
  for platform in linux/amd64 linux/arm64 linux/arm/v7; do
    output=$(run_image "$runner" "$repository:stable" "$platform")
    assert_eq "$(head -1 <<<"$output" | cut -d' ' -f1-3)" "hello from $platform" "$runner run $platform"
  done
done

step "a rerun publishes nothing: the registry already holds the same list"
rm "$metadata"
reset_engine_calls
mark=$(registry_mark "$reg/registry.log")
cmake --build "$work/build" --target image-push >"$work/again.log" 2>&1 || fail "rerun failed:\n$(tail -20 "$work/again.log")"
grep -q "unchanged and verified $repository:1.0.0@$index_digest" "$work/again.log" || fail "the rerun changed the list:\n$(tail "$work/again.log")"
assert_eq "$(engine_calls)" 0 "engine invocations on the manifest-only rerun"
# As the registry saw it: the list and the platforms read, nothing written.
registry_requests "$reg/registry.log" "$mark" >"$work/again.requests"
assert_eq "$(grep -cE '^(PUT|POST|PATCH|DELETE) ' "$work/again.requests" || true)" 0 "writes the registry received on the rerun"
assert_eq "$(grep -cE "^GET /v2/e2e/client-$engine-$mode/manifests/1\.0\.0 200" "$work/again.requests" || true)" 1 \
  "reads of the list's tag the registry answered on the rerun"

if [[ $mode == bearer && $engine == docker ]]; then
  step "an image with no engine on that list as BASE, under Bearer auth: the base's layers mounted, not copied"
  # The token for a mount names the push scope of our repository first, then the pull scope of the base's.
  cp -r "$repo_root/examples/cross" "$work/cross"
  : >"$work/token.log"
  configure "$work/cross" "$work/assembled" "-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root" \
    "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root" "-DCROSS_HELLO_PLATFORMS=linux/amd64;linux/arm64" \
    -DCROSS_HELLO_REPOSITORY="$registry/e2e/cross" -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
    -DCROSS_HELLO_ASSEMBLED_BASE="$repository:1.0.0" >/dev/null
  reset_engine_calls
  mark=$(registry_mark "$reg/registry.log")
  cmake --build "$work/assembled" --target cross-hello-assembled-push -j2 >"$work/assembled.log" 2>&1 ||
    fail "publishing on the base failed:\n$(tail -30 "$work/assembled.log")"
  assert_eq "$(engine_calls)" 0 "engine commands"
  grep -E "base layers: " "$work/assembled.log"
  assert_eq "$(grep -cE "base layers: [1-9][0-9]* mounted from $repository, 0 copied" "$work/assembled.log")" 2 \
    "platforms whose base layers were mounted"
  # As the registry saw it: each of the base's layers mounted (201), none refused (202), none read
  # from the base's repository or uploaded.
  registry_requests "$reg/registry.log" "$mark" >"$work/assembled.requests"
  base_layers=$(jq -r '.base_layers[]' "$work/assembled/multiarch-image/cross-hello-assembled"/build-*.json | sort -u)
  [[ -n $base_layers ]] || fail "no base layers in the build records"
  assert_eq "$(mounted_blobs "${repository#*/}" <"$work/assembled.requests")" "$base_layers" "the base's layers the registry mounted"
  assert_eq "$(grep -cE '^POST /v2/e2e/cross-assembled/blobs/uploads/\?mount=.* 202$' "$work/assembled.requests" || true)" 0 \
    "mounts the registry refused"
  # The build step reads the base's configs (the start of ours) and each of its layers once, under the
  # token's pull scope, into the layout (to place our paths through the base's links); the push
  # mounts them, so none is read twice.
  read_from_base=$(sed -nE "s|^GET /v2/${repository#*/}/blobs/(sha256:[0-9a-f]{64}) .*|\1|p" "$work/assembled.requests" | sort)
  assert_eq "$(common_lines "$(sort -u <<<"$read_from_base")" "$base_layers")" "$(wc -l <<<"$base_layers" | tr -d ' ')" \
    "base layers the build step read into the layout"
  assert_eq "$(common_lines "$(uniq -d <<<"$read_from_base")" "$base_layers")" 0 "base layers read twice"
  assert_eq "$(common_lines "$(uploaded_blobs <"$work/assembled.requests")" "$base_layers")" 0 "base layers uploaded"
  assembled=$(skopeo inspect --raw --authfile "$authfile" "docker://$registry/e2e/cross-assembled:1.0.0")
  assert_eq "$(jq '.manifests | length' <<<"$assembled")" 2 "platforms skopeo reads with TLS verification and a token"
  for platform in linux/amd64 linux/arm64; do
    output=$(run_image podman "$registry/e2e/cross-assembled:1.0.0" "$platform")
    grep -q "^hello server from the greeting library 1.0.0 built for $platform" <<<"$output" || fail "podman $platform printed: $output"
    output=$(podman run --rm --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --platform "$platform" \
      --entrypoint /hello "$registry/e2e/cross-assembled:1.0.0")
    assert_eq "$(cut -d' ' -f1-3 <<<"$output")" "hello from $platform" "the base's program on $platform"
  done
fi

if [[ $mode == bearer && $engine == docker ]]; then
  step "tokens that live a second: each renewed before a 24 MB body goes, none lets a body out without one"
  # The token service again on its port, now issuing tokens for 1 s: past their time after one use.
  # A body sent with no token meets distribution's 401 while it is still on its way, and a closed
  # connection: the client would see a broken pipe, five times over.
  kill "$issuer_pid"; wait "$issuer_pid" 2>/dev/null || true
  "$MULTIARCH_TEST_TOKEN_ISSUER" --key "$reg/token.key" --cert "$reg/token.crt" --issuer multiarch-test-issuer \
    --service multiarch-test-registry --user ci --password-file "$reg/password" --port-file "$reg/token.port.again" \
    --port "$(cat "$reg/token.port")" --lifetime 1 --log "$work/token.log" --tokens "$work/tokens.txt" &
  issuer_pid=$!
  wait_for 5 "the token service" file_filled "$reg/token.port.again" || fail "the token service did not start again"
  mkdir -p "$work/short/files"
  head -c 24000000 /dev/urandom >"$work/short/files/noise.bin"   # one PUT of 24 MB (uploads go whole up to 32 MiB)
  cat >"$work/short/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(short LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(short REPOSITORY "$registry/e2e/short-tokens" TAGS 1.0 PLATFORMS linux/amd64
  BASE scratch ENTRYPOINT /srv/noise.bin FILES files/=/srv/ SBOM OFF PROVENANCE OFF)
CMAKE
  configure "$work/short" "$work/short-build" -DMULTIARCH_IMAGE_RETRY_DELAY=0.1 >/dev/null
  : >"$work/token.log"
  cmake --build "$work/short-build" --target image-push >"$work/short.log" 2>&1 ||
    fail "the publish with short-lived tokens failed:\n$(tail -20 "$work/short.log")"
  assert_eq "$(grep -c "attempt [0-9]* of" "$work/short.log" || true)" 0 "retries"
  renewals=$(grep -c "scopes=repository:e2e/short-tokens:pull,push" "$work/token.log" || true)
  ((renewals >= 3)) || fail "the push scope's token was asked for $renewals times: nothing was renewed"
  echo "ok: the push scope's token was asked for $renewals times"
fi

if [[ $mode == tls ]]; then
  step "the certificate is verified: without the CA the step fails; with it as a system CA it passes"
  rm -rf "${certs[@]}" "$metadata"
  env -u SSL_CERT_FILE -u SSL_CERT_DIR cmake --build "$work/build" --target image-push >"$work/untrusted.log" 2>&1 \
    && fail "the manifest step trusted a certificate no CA vouches for"
  grep -q "the certificate of 127.0.0.1:.* is not trusted" "$work/untrusted.log" || fail "unclear message:\n$(tail -5 "$work/untrusted.log")"
  grep -m1 "is not trusted" "$work/untrusted.log"
  SSL_CERT_FILE=$reg/ca.crt cmake --build "$work/build" --target image-push >"$work/system-ca.log" 2>&1 \
    || fail "the CA given as SSL_CERT_FILE was not used:\n$(tail -5 "$work/system-ca.log")"
  grep -q "unchanged and verified $repository:1.0.0@$index_digest" "$work/system-ca.log" || fail "no verified list with the system CA"
  echo "ok: verification needs the CA, from certs.d or the system's store"
fi

if [[ $mode == mtls ]]; then
  step "without the client certificate in certs.d the registry refuses the manifest step"
  rm "$metadata"; for d in "${certs[@]}"; do rm "$d/client.cert" "$d/client.key"; done
  cmake --build "$work/build" --target image-push >"$work/no-client-cert.log" 2>&1 \
    && fail "the manifest step got through without a client certificate"
  grep -m1 "multiarch-image: error" "$work/no-client-cert.log"
  grep -q "multiarch-image: error: .*(if the registry asks for a client certificate, put client.cert and client.key in /etc/docker/certs.d/$registry/)" \
    "$work/no-client-cert.log" || fail "the error is not the refused client certificate:\n$(tail -5 "$work/no-client-cert.log")"
  ! grep -q "attempt 2 of" "$work/no-client-cert.log" || fail "a refused client certificate was retried"
  [[ ! -e $metadata ]] || fail "metadata.json written by a failed manifest step"
  echo "ok: the client certificate is what let the manifest step in"
fi

if [[ $mode == basic || $mode == bearer ]]; then
  step "wrong credentials: the manifest step fails at once, says whose they were, and writes nothing"
  rm "$metadata"
  wrong=$(printf 'ci:wrong-%s' "$password" | base64 -w0)
  jq --arg r "$registry" --arg a "$wrong" '.auths[$r].auth = $a' "$DOCKER_CONFIG/config.json" >"$work/config.json"
  jq --arg r "$registry" --arg a "$wrong" '.auths[$r].auth = $a' "$REGISTRY_AUTH_FILE" >"$work/auth-wrong.json"
  cp "$work/config.json" "$DOCKER_CONFIG/config.json"; cp "$work/auth-wrong.json" "$REGISTRY_AUTH_FILE"
  if cmake --build "$work/build" --target image-push >"$work/wrong.log" 2>&1; then fail "published with wrong credentials"; fi
  grep -qE "refused the credentials from .*(config|auth)\.json: auths\[\"$registry\"\]" "$work/wrong.log" \
    || fail "unclear message:\n$(tail -5 "$work/wrong.log")"
  grep -m1 "refused the credentials" "$work/wrong.log"
  grep -q "attempt 2 of" "$work/wrong.log" && fail "an auth failure was retried"
  [[ ! -e $metadata ]] || fail "metadata.json written by a failed manifest step"

  step "the password and every token issued are nowhere: build trees, logs, the registry's storage and log"
  searched=("$work/build" "$work"/*.log "$reg/registry" "$reg/registry.log")
  [[ $mode == bearer && $engine == docker ]] && searched+=("$work/assembled" "$work/short-build")
  assert_no_secret "the password" "$password" "${searched[@]}"
  if [[ $mode == bearer ]]; then
    # Each whole token, and its signature alone (its header and claims are no secret).
    { cat "$work/tokens.txt"; sed 's/.*\.//' "$work/tokens.txt"; } >"$work/token-secrets"
    assert_no_secret "any of the $(grep -c . "$work/tokens.txt") tokens issued" "@$work/token-secrets" "${searched[@]}"
  fi
fi
