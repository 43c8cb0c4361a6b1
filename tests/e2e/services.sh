#!/usr/bin/env bash
# Test services for one state directory: a private dockerd (own socket and data root, no bridge),
# a registry on a free loopback port, isolated podman storage and QEMU binfmt. Two state directories
# share nothing, so suites can run side by side.
#
#   services.sh start DIR   -> writes DIR/env (source it), returns when everything answers
#   services.sh stop DIR    -> stops what DIR started and removes its data
#   services.sh registry-start DIR | registry-stop DIR   (registry only, e.g. for fault tests; with
#       DIR/tls.crt and DIR/tls.key it serves TLS, with DIR/htpasswd it asks for Basic auth, with
#       DIR/auth.yml that file's one-line `auth:` section, e.g. a token service; with DIR/clientca.crt it
#       asks for client certificates, and DIR/client.cert/.key is the one it is checked with)
#   services.sh dockerd-start DIR | dockerd-stop DIR     (one more daemon; its URL in DIR/docker.host)
set -euo pipefail

cmd=${1:?usage: services.sh start|stop|registry-start|registry-stop|dockerd-start|dockerd-stop DIR}
dir=$(realpath -m "${2:?usage: services.sh $cmd DIR}")
real_docker=${MULTIARCH_TEST_DOCKER:-/usr/bin/docker}   # 20.10: BuildKit built in (see docs/testing.md, "The machine")

log() { printf '[services] %s\n' "$*" >&2; }
# shellcheck source=wait.sh
. "$(dirname "$0")/wait.sh"

# A port below the kernel's ephemeral range, so that no outgoing connection of another test takes it
# while a registry is stopped and started again on it (the resume tests), and no socket uses now.
free_port() {
  local port low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  ((low > 12000)) || low=32768
  for _ in $(seq 1 50); do
    port=$((10000 + RANDOM % (low - 10000)))
    if ! ss -Htan "sport = :$port" | grep -q .; then echo "$port"; return 0; fi
  done
  log "no free port found"; return 1
}

registry_start() {
  mkdir -p "$dir/registry"
  local port
  for _ in 1 2 3; do
    port=$(cat "$dir/registry.port" 2>/dev/null || free_port)
    local tls="" auth="" scheme=http
    local client=()
    if [[ -f $dir/tls.crt ]]; then tls=", tls: {certificate: $dir/tls.crt, key: $dir/tls.key}"; scheme=https; fi
    if [[ -f $dir/clientca.crt ]]; then   # mutual TLS: clients must show a certificate this CA signed
      tls=", tls: {certificate: $dir/tls.crt, key: $dir/tls.key, clientcas: [$dir/clientca.crt]}"
      client=(--cert "$dir/client.cert" --key "$dir/client.key")
    fi
    [[ -f $dir/htpasswd ]] && auth="auth: {htpasswd: {realm: multiarch-test, path: $dir/htpasswd}}"
    [[ -f $dir/auth.yml ]] && auth=$(cat "$dir/auth.yml")
    cat >"$dir/registry.yml" <<YML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $dir/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port$tls}
$auth
YML
    # The registry reads REGISTRY_* variables as configuration (podman's REGISTRY_AUTH_FILE among them).
    local unset=(); for v in $(compgen -e | grep '^REGISTRY_' || true); do unset+=(-u "$v"); done
    env "${unset[@]}" docker-registry serve "$dir/registry.yml" >>"$dir/registry.log" 2>&1 &
    echo $! >"$dir/registry.pid"
    # Up when /v2/ answers at all (401 with auth is an answer).
    if wait_for 10 "registry on 127.0.0.1:$port" curl -sk "${client[@]}" -o /dev/null "$scheme://127.0.0.1:$port/v2/"; then
      echo "$port" >"$dir/registry.port"
      return 0
    fi
    registry_stop; rm -f "$dir/registry.port"   # port taken meanwhile: pick another
  done
  return 1
}

registry_stop() {
  if [[ -f $dir/registry.pid ]]; then
    kill "$(cat "$dir/registry.pid")" 2>/dev/null || true
    wait_gone 5 "$(cat "$dir/registry.pid")" || true
    rm -f "$dir/registry.pid"
  fi
}

dockerd_start() {
  mkdir -p "$dir"
  # Unix socket paths are limited to 108 bytes: keep dockerd's runtime files under a short path.
  local run; run=$(mktemp -d /tmp/mai-XXXXXX); echo "$run" >"$dir/run.path"
  dockerd --host "unix://$run/docker.sock" --data-root "$dir/docker-data" --exec-root "$run/exec" \
          --pidfile "$run/docker.pid" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
          >"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/dockerd.pid"
  echo "unix://$run/docker.sock" >"$dir/docker.host"
  wait_for 60 "dockerd in $dir" "$real_docker" --host "unix://$run/docker.sock" version
}

dockerd_stop() { dockerd_kill; dockerd_clean; }
dockerd_kill() {
  if [[ -f $dir/dockerd.pid ]]; then
    local pid; pid=$(cat "$dir/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    wait_gone 15 "$pid" || true
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/dockerd.pid"
  fi
}
# dockerd's runtime directory holds podman's too (runroot, tmp_dir): after podman is done with it.
dockerd_clean() {
  local run; run=$(cat "$dir/run.path" 2>/dev/null || true)
  # Overlay mounts must go before their directories can.
  grep -E " ($dir|${run:-/nonexistent})/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir/docker-data" ${run:+"$run"}
}

start() {
  # A run killed before its stop leaves its state: a registry whose storage still holds the referrers
  # of images a reproducible build pushes again with the same digests. Start from nothing.
  if [[ -e $dir/env || -d $dir/registry ]]; then
    log "an earlier run's state in $dir: stopping it first"
    stop
  fi
  mkdir -p "$dir"/{docker-config,podman}
  echo '{"auths": {}}' >"$dir/podman/auth.json"

  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
  update-binfmts --enable qemu-arm 2>/dev/null || true

  dockerd_start
  local run; run=$(cat "$dir/run.path")

  cat >"$dir/podman/storage.conf" <<CONF
[storage]
driver = "overlay"
runroot = "$run/podman-run"
graphroot = "$dir/podman/root"
CONF
  cat >"$dir/podman/containers.conf" <<CONF
[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
tmp_dir = "$run/podman-tmp"
CONF

  registry_start
  cat >"$dir/env" <<ENV
export DOCKER_HOST=$(cat "$dir/docker.host")
export DOCKER_CONFIG=$dir/docker-config
export CONTAINERS_STORAGE_CONF=$dir/podman/storage.conf
export CONTAINERS_CONF=$dir/podman/containers.conf
export REGISTRY_AUTH_FILE=$dir/podman/auth.json
export REGISTRY=127.0.0.1:$(cat "$dir/registry.port")
export MULTIARCH_TEST_STATE=$dir
export MULTIARCH_TEST_DOCKER=$real_docker
export MULTIARCH_IMAGE_DOCKER=$real_docker
export MULTIARCH_IMAGE_NETWORK=none
ENV
  # shellcheck disable=SC1091
  . "$dir/env"
  log "dockerd at $DOCKER_HOST, registry at $REGISTRY, state in $dir"
}

stop() {
  # The registry and dockerd stop while podman's storage is reset: the suite's last test waits for
  # this, with the other core idle (10 s one after another at the end of a CI run). What dockerd
  # leaves mounted or in its runtime directory goes once podman, which keeps its own files there, is done.
  local started=$SECONDS registry_job dockerd_job failed=0
  registry_stop & registry_job=$!
  dockerd_kill & dockerd_job=$!
  if [[ -d $dir/podman/root ]] &&
     ! CONTAINERS_STORAGE_CONF=$dir/podman/storage.conf podman system reset --force >"$dir/podman-reset.log" 2>&1; then
    log "podman system reset failed: $(tail -n 3 "$dir/podman-reset.log")"
  fi
  wait "$registry_job" || failed=1
  wait "$dockerd_job" || failed=1
  ((failed == 0)) || log "stopping the registry or dockerd failed"
  dockerd_clean
  log "registry, podman and dockerd stopped in $((SECONDS - started)) s"
  # The work directories of tests that failed stay for inspection (each named in $dir/kept); all else goes.
  if [[ -s $dir/kept ]]; then
    local entry
    for entry in "$dir"/* "$dir"/.[!.]*; do
      [[ -e $entry ]] || continue
      grep -qxF "$entry" "$dir/kept" || [[ $entry == "$dir/kept" ]] || rm -rf "$entry"
    done
    log "kept for inspection: $(tr '\n' ' ' <"$dir/kept")"
  else
    rm -rf "$dir"
  fi
  log "stopped in $((SECONDS - started)) s"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  registry-start) registry_start ;;
  registry-stop) registry_stop ;;
  dockerd-start) dockerd_start ;;
  dockerd-stop) dockerd_stop ;;
  *) echo "usage: services.sh start|stop|registry-start|registry-stop|dockerd-start|dockerd-stop DIR" >&2; exit 2 ;;
esac
