# Shared by the end-to-end tests: assertions, per-test engine wrappers that count invocations, and
# the services' environment. Source it; it expects MULTIARCH_TEST_STATE (set by ctest).
set -euo pipefail

: "${MULTIARCH_TEST_STATE:?run through ctest (the e2e services fixture sets it)}"
# shellcheck disable=SC1091
. "$MULTIARCH_TEST_STATE/env"
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
test_name=$(basename "$0" .sh)

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '\n=== [%ss] %s\n' "$SECONDS" "$*"; }  # with the seconds since the test began: where its time goes
assert_eq() {  # assert_eq ACTUAL EXPECTED WHAT
  [[ $1 == "$2" ]] || fail "$3: expected [$2], got [$1]"
  printf 'ok: %s = %s\n' "$3" "$2"
}

# shellcheck source=wait.sh
. "$repo_root/tests/e2e/wait.sh"

# A private working directory, removed when the test ends (kept on failure for inspection).
work=$(mktemp -d "$MULTIARCH_TEST_STATE/$test_name-XXXXXX")

# on_exit COMMAND: run COMMAND (a string, evaluated) when the test ends, whatever its outcome; the
# last one registered runs first. Then the work directory goes, or stays with a hint on failure.
exit_actions=()
on_exit() { exit_actions=("$1" "${exit_actions[@]}"); }
# The process list, every 50 ms, appended to $work/ps.txt until stop_watching_processes (and at the
# latest when the test ends): a watcher told to stop finishes its last `ps` first, where one killed
# could leave a `ps` running that lists the secret searches that follow.
watch_processes() {
  rm -f "$work/ps.stop"
  ( while [[ ! -e $work/ps.stop ]]; do ps -eo args >>"$work/ps.txt"; sleep 0.05; done ) &
  process_watcher=$!
  on_exit stop_watching_processes
}
stop_watching_processes() {
  [[ -n ${process_watcher:-} ]] || return 0
  touch "$work/ps.stop"
  wait "$process_watcher" 2>/dev/null || true
  process_watcher=""
}
run_exit_actions() {
  local status=$? action
  for action in "${exit_actions[@]}"; do eval "$action" || true; done
  if [[ $status == 0 ]]; then
    rm -rf "$work"
  else  # listed, so that stopping the services spares it
    echo "$work" >>"$MULTIARCH_TEST_STATE/kept"
    echo "work dir kept: $work" >&2
  fi
  exit "$status"
}
trap run_exit_actions EXIT

# configure SOURCE_DIR BUILD_DIR [CMAKE_ARGS...]: the test's engines and helper, Ninja unless the
# arguments name another generator.
configure() {
  local src=$1 build=$2; shift 2
  local generator=(-G Ninja)
  for arg in "$@"; do [[ $arg == -G* ]] && generator=(); done
  cmake -S "$src" -B "$build" "${generator[@]}" "${engine_settings[@]}" "${helper_settings[@]}" "$@"
}

# Engine wrappers for this test only: each logs "NAME argv..." to $work/engine-calls.log, then runs
# the real program with the same argv.
mkdir -p "$work/bin"
for engine in docker:"$MULTIARCH_TEST_DOCKER" podman:/usr/bin/podman skopeo:/usr/bin/skopeo; do
  name=${engine%%:*} real=${engine#*:}
  printf '#!/bin/sh\nprintf "%%s\\n" "%s $*" >>"%s"\nexec %s "$@"\n' "$name" "$work/engine-calls.log" "$real" >"$work/bin/$name"
  chmod +x "$work/bin/$name"
done
: >"$work/engine-calls.log"
engine_settings=(-DMULTIARCH_IMAGE_DOCKER="$work/bin/docker" -DMULTIARCH_IMAGE_PODMAN="$work/bin/podman"
                 -DMULTIARCH_IMAGE_SKOPEO="$work/bin/skopeo" -DMULTIARCH_IMAGE_NETWORK=none
                 "-DMULTIARCH_IMAGE_RUN_OPTIONS=--ulimit;nofile=1024:1024;--ulimit;nproc=1024:1024")
helper_settings=()
[[ -n ${MULTIARCH_TEST_HELPER:-} ]] && helper_settings=(-DMULTIARCH_IMAGE_HELPER="$MULTIARCH_TEST_HELPER")

engine_calls() { wc -l <"$work/engine-calls.log" | tr -d ' '; }
reset_engine_calls() { : >"$work/engine-calls.log"; }
engine_calls_matching() { grep -cE "$1" "$work/engine-calls.log" || true; }
# The platform of each engine build command naming IMAGE (a repository's last component), sorted: a
# platform built twice is listed twice.
built_platforms() {
  grep -E "^(docker|podman) (buildx )?build .*/$1:" "$work/engine-calls.log" | grep -oE -- '--platform [^ ]+' |
    cut -d' ' -f2 | sort | tr '\n' ' ' | sed 's/ $//'
}

# Runs one platform of an image from the registry with docker or podman and prints its output.
run_image() {  # run_image docker|podman REFERENCE PLATFORM
  case $1 in
    docker) "$MULTIARCH_TEST_DOCKER" run --rm --pull always --network=none --platform "$3" "$2" ;;
    podman)
      # podman 4.3 can lose a container's exit code under load ("no such exit code (container in
      # state running)"): a flaw of the checker, not of the image, so that one error is retried.
      local out status
      for attempt in 1 2 3; do
        status=0
        out=$(podman run --rm --pull always --network=none --tls-verify=false --ulimit nofile=1024:1024 \
                --ulimit nproc=1024:1024 --platform "$3" "$2" 2>"$work/podman-run.err") || status=$?
        grep -q "no such exit code" "$work/podman-run.err" || break
        echo "podman lost the exit code (attempt $attempt); running again" >&2
      done
      cat "$work/podman-run.err" >&2
      printf '%s\n' "$out"
      return "$status" ;;
  esac
}

# Requests counted where they arrive: every registry services.sh starts keeps an access log (one
# "METHOD URI HTTP/1.1" STATUS line a request, written before the answer is complete, so a request the
# client saw answered is in it). registry_mark LOG: where the log ends now. registry_requests LOG MARK
# [REGEX]: "METHOD URI STATUS" of each request logged since MARK (those matching REGEX).
registry_mark() { wc -c <"$1" | tr -d ' '; }
# artifact PATH DIGEST: the one document an artifact manifest of the fixture's registry carries.
artifact() {
  local layer
  layer=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$REGISTRY/v2/$1/manifests/$2" | jq -r '.layers[0].digest')
  curl -sf "http://$REGISTRY/v2/$1/blobs/$layer"
}
# assert_no_work BUILD TARGET LOG: building TARGET again runs no step.
assert_no_work() {
  cmake --build "$1" --target "$2" >"$3" 2>&1 || fail "the rerun failed:\n$(cat "$3")"
  grep -q "no work to do" "$3" || fail "the rerun ran steps:\n$(cat "$3")"
  echo "ok: no step ran"
}
fixture_registry_log=$MULTIARCH_TEST_STATE/registry.log   # $REGISTRY's
registry_requests() {
  tail -c +"$(($2 + 1))" "$1" | sed -nE 's/^[0-9.]+ - [^ ]* \[[^]]*\] "([A-Z]+) ([^ ]+) HTTP\/[0-9.]+" ([0-9]+) .*/\1 \2 \3/p' |
    { grep -E -- "${3:-.}" || true; }
}
# The blob digests (sha256:...) that uploads completed, from registry_requests' lines on stdin.
uploaded_blobs() { sed -nE 's|^PUT /v2/.*/blobs/uploads/.*[?&]digest=sha256%3A([0-9a-f]{64}).* 201$|sha256:\1|p' | sort -u; }
# The blob digests mounted (201) from the repository FROM (a path such as e2e/base), from stdin.
mounted_blobs() {
  local from; from=$(jq -rn --arg s "$1" '$s | @uri')
  sed -nE "s|^POST /v2/.*/blobs/uploads/\\?mount=sha256%3A([0-9a-f]{64})&from=$from 201\$|sha256:\\1|p" | sort -u
}
# The lines in both sorted lists, counted: common_lines "$a" "$b".
common_lines() { comm -12 <(printf '%s\n' "$1") <(printf '%s\n' "$2") | grep -c . || true; }

# The forms a secret can leak in, one a line: itself, URL-encoded, and its base64 and base64url at
# each of the three offsets it can start at inside a longer encoded text (so base64 of
# "user:password", as config.json, auth.json and an Authorization header carry it, is found too).
secret_forms() {  # secret_forms SECRET
  local secret=$1 k full encoded
  printf '%s\n' "$secret" "$(jq -rn --arg s "$secret" '$s | @uri')"
  for k in 0 1 2; do
    full=$(((k + ${#secret}) / 3 * 4))   # the characters that no byte around the secret changes
    encoded=$( { head -c "$k" /dev/zero; printf '%s' "$secret"; } | base64 -w0)
    encoded=${encoded:0:full}
    ((k == 0)) || encoded=${encoded:4}
    printf '%s\n' "$encoded" "$(tr '+/' '-_' <<<"$encoded")"
  done | grep .
}
# assert_no_secret WHAT SECRET PATH...: no file under the PATHs (each must exist) holds SECRET in
# any of its forms. SECRET "@FILE": each line of FILE is a secret.
assert_no_secret() {
  local what=$1 secret=$2 path hits; shift 2
  for path in "$@"; do [[ -e $path ]] || fail "$path, to be searched for $what, does not exist"; done
  local forms line
  if [[ $secret == @* ]]; then
    forms=$(while read -r line; do secret_forms "$line"; done <"${secret#@}")
  else
    forms=$(secret_forms "$secret")
  fi
  [[ -n $forms ]] || fail "no secret to search for ($what)"
  hits=$(grep -rlaF --devices=skip -f <(printf '%s\n' "$forms") -- "$@" || true)
  [[ -z $hits ]] || fail "$what found in:\n$hits"
  echo "ok: $what in no form in $(find "$@" -type f | wc -l | tr -d ' ') files searched"
}
# assert_secret_found WHAT SECRET FILE: the search finds SECRET in FILE, which holds it (the search is
# checked where a hit is certain).
assert_secret_found() {
  grep -qaF -f <(secret_forms "$2") -- "$3" || fail "the search does not find $1 in $3, which holds it"
}

# The registry of a CI recipe's test, with Basic auth: its own, in $work/registry (access log
# registry.log there), stopped when the test ends; user robot with a random password. Exports REGISTRY,
# REGISTRY_USER, REGISTRY_PASSWORD as a CI would, and sets `password`.
start_ci_registry() {
  local services=$repo_root/tests/e2e/services.sh
  password="ci-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  mkdir -p "$work/registry"
  printf '%s\n' "$password" | htpasswd -niB robot >"$work/registry/htpasswd"
  "$services" registry-start "$work/registry"
  on_exit '"$repo_root/tests/e2e/services.sh" registry-stop "$work/registry"'
  export REGISTRY=127.0.0.1:$(cat "$work/registry/registry.port") REGISTRY_USER=robot REGISTRY_PASSWORD=$password
}

# A fault proxy in front of the fixture's registry: start_proxy NAME [proxy options...]; its port is in
# $work/NAME.port, its fault log in $work/NAME.log. Stopped when the test ends.
proxy_pids=()
start_proxy() {
  local name=$1; shift
  rm -f "$work/$name.port"
  "$MULTIARCH_TEST_FAULT_PROXY" --target "$REGISTRY" --port-file "$work/$name.port" --log "$work/$name.log" "$@" &
  proxy_pids+=($!)
  wait_for 5 "fault proxy $name" file_filled "$work/$name.port" || fail "fault proxy $name did not start"
}
stop_proxies() { ((${#proxy_pids[@]})) && kill "${proxy_pids[@]}" 2>/dev/null; proxy_pids=(); }
on_exit stop_proxies

# cyclonedx_validate DOCUMENT...: the CycloneDX project's own schema validator (npm, installed once per
# run beside the fixture's state; a second test installing at once gets its own copy) accepts each.
cyclonedx_validate() {
  local validator=$MULTIARCH_TEST_STATE/cyclonedx
  if [[ ! -d $validator/node_modules/@cyclonedx/cyclonedx-library ]]; then
    mkdir -p "$work/npm" && npm install --no-audit --no-fund --silent --prefix "$work/npm" \
      @cyclonedx/cyclonedx-library@10.3.0 ajv@8 ajv-formats@3 ajv-formats-draft2019@1 >/dev/null
    mv -T "$work/npm" "$validator" 2>/dev/null || validator=$work/npm
  fi
  NODE_PATH=$validator/node_modules node "$repo_root/tests/tools/validate-cyclonedx.cjs" "$@"
}
