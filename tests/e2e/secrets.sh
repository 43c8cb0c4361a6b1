#!/usr/bin/env bash
# A registry with htpasswd Basic auth, over TLS (a certificate the test makes for 127.0.0.1) or plain
# HTTP. After `login --password-stdin` the publish works; the password, in every form it takes
# (itself, URL-encoded, base64 as in config.json, auth.json and Authorization headers), appears in no
# record, log or generated build file, in the process list taken during the push, nor in anything the
# registry stored (images, SBOMs, provenance) or logged; nor does the CI job token in the checkout's
# remote URL, which the provenance names without it. Without credentials the push fails at once (no
# retries) with a clear message.
#   secrets.sh docker|podman tls|plain
. "$(dirname "$0")/lib.sh"
engine=$1 transport=$2
services=$(dirname "$0")/services.sh
password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# A CI token in the checkout's remote URL, as GitLab CI writes it (https://gitlab-ci-token:<token>@...).
url_token="glcbt-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
reg=$work/registry
mkdir -p "$reg"
if [[ $transport == tls ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$reg/tls.key" -out "$reg/tls.crt" 2>/dev/null
fi
printf '%s\n' "$password" | htpasswd -niB ci >"$reg/htpasswd"      # password on stdin, never argv
"$services" registry-start "$reg"
registry=127.0.0.1:$(cat "$reg/registry.port")
# Trust the test's certificate as users trust a private CA: docker's certs.d, which the helper's
# registry client reads too. Keyed by this registry's port; removed after.
certs=/etc/docker/certs.d/$registry
[[ $transport == tls ]] && mkdir -p "$certs" && cp "$reg/tls.crt" "$certs/ca.crt"
on_exit '"$services" registry-stop "$reg"; rm -rf "$certs"'
repository=$registry/e2e/secrets-$engine-$transport
export DOCKER_CONFIG=$work/docker-config REGISTRY_AUTH_FILE=$work/auth.json
mkdir -p "$DOCKER_CONFIG"; echo '{}' >"$DOCKER_CONFIG/config.json"; echo '{"auths": {}}' >"$REGISTRY_AUTH_FILE"

# examples/hello in a git checkout of its own, whose remote URL carries the token.
cp -r "$repo_root/examples/hello" "$work/src"
sed -i 's|add_subdirectory("${CMAKE_CURRENT_SOURCE_DIR}/../.." multiarch-image EXCLUDE_FROM_ALL)|add_subdirectory("'"$repo_root"'" multiarch-image EXCLUDE_FROM_ALL)|' \
  "$work/src/CMakeLists.txt"
git -C "$work/src" init -q
git -C "$work/src" add -A && git -C "$work/src" -c user.name=t -c user.email=t@example.invalid commit -qm "hello"
git -C "$work/src" remote add origin "https://gitlab-ci-token:$url_token@git.example.invalid/team/hello.git"
configure "$work/src" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$repository" -DMULTIARCH_IMAGE_RETRIES=5 \
  -DMULTIARCH_IMAGE_RETRY_DELAY=0.1 >"$work/configure.log"
cmake --build "$work/build" --target image-build -j3 >"$work/build.log" 2>&1

step "without credentials the push fails at once, naming the problem"
reset_engine_calls
if cmake --build "$work/build" --target hello-push-linux-amd64 >"$work/unauthorized.log" 2>&1; then
  fail "pushed to an auth registry without credentials"
fi
grep -iqE "no basic auth credentials|unauthorized|authentication required" "$work/unauthorized.log" \
  || fail "unclear message:\n$(tail -5 "$work/unauthorized.log")"
assert_eq "$(engine_calls_matching "^$engine push ")" 1 "push attempts (an auth failure is not retried)"

step "login --password-stdin, then publish while the process list is watched"
case $engine in
  docker) printf '%s' "$password" | "$MULTIARCH_TEST_DOCKER" login --username ci --password-stdin "$registry" >/dev/null
          credentials=$DOCKER_CONFIG/config.json ;;
  podman) printf '%s' "$password" | podman login --tls-verify=false --username ci --password-stdin "$registry" >/dev/null
          credentials=$REGISTRY_AUTH_FILE ;;
esac
watch_processes
cmake --build "$work/build" --target image-push -j3 >"$work/push.log" 2>&1 || fail "publish failed:\n$(tail -20 "$work/push.log")"
stop_watching_processes
grep -q "published and verified" "$work/push.log" || fail "no verified publish"
assert_eq "$(grep -c "multiarch-image push" "$work/ps.txt" | awk '{ print ($1 > 0) ? "seen" : "not seen" }')" seen \
  "the process list was taken while pushes ran"

step "the password and the token are nowhere: records, logs, build files, process list, the registry's storage and log"
# What the registry holds includes the pushed SBOMs and provenance (searched as stored, uncompressed).
for kind in '"bomFormat"' '"predicateType"'; do
  grep -rlaF -- "$kind" "$reg/registry" >/dev/null || fail "no document with $kind in the registry's storage"
done
# The search is checked where a hit is certain: the engine's credential store holds base64 of ci:password.
assert_secret_found "the password" "$password" "$credentials"
assert_secret_found "the token" "$url_token" "$work/src/.git/config"
searched=("$work/build" "$work"/*.log "$work/ps.txt" "$reg")
assert_no_secret "the password" "$password" "${searched[@]}"
assert_no_secret "the remote URL's token" "$url_token" "${searched[@]}"
# The provenance names the repository, without the token (git+https://git.example.invalid/...).
grep -rlaF -- "git+https://git.example.invalid/team/hello.git" "$reg/registry" >/dev/null ||
  fail "no provenance in the registry names the checkout's remote"
