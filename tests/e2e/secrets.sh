#!/usr/bin/env bash
# A registry with htpasswd Basic auth, over TLS (a certificate the test makes for 127.0.0.1) or plain
# HTTP. After `login --password-stdin` the publish works; the password appears in no record, log,
# generated build file, nor in the process list taken during the push. Without credentials the push
# fails at once (no retries) with a clear message.
#   secrets.sh docker|podman tls|plain
. "$(dirname "$0")/lib.sh"
engine=$1 transport=$2
services=$(dirname "$0")/services.sh
password="pw-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
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

configure "$repo_root/examples/hello" "$work/build" \
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
  docker) printf '%s' "$password" | "$MULTIARCH_TEST_DOCKER" login --username ci --password-stdin "$registry" >/dev/null ;;
  podman) printf '%s' "$password" | podman login --tls-verify=false --username ci --password-stdin "$registry" >/dev/null ;;
esac
( while :; do ps -eo args >>"$work/ps.txt"; sleep 0.05; done ) & watcher=$!
cmake --build "$work/build" --target image-push -j3 >"$work/push.log" 2>&1 || { kill "$watcher"; fail "publish failed:\n$(tail -20 "$work/push.log")"; }
kill "$watcher"; wait "$watcher" 2>/dev/null || true
grep -q "published and verified" "$work/push.log" || fail "no verified publish"
assert_eq "$(grep -c "multiarch-image push" "$work/ps.txt" | awk '{ print ($1 > 0) ? "seen" : "not seen" }')" seen \
  "the process list was taken while pushes ran"

step "the password is nowhere: records, logs, generated build files, process list"
hits=$( (grep -rlaF -- "$password" "$work/build" "$work"/*.log "$work/ps.txt" 2>/dev/null || true) | wc -l | tr -d ' ')
assert_eq "$hits" 0 "files that contain the password"
