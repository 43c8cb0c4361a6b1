# Shared by the end-to-end tests: assertions, per-test engine wrappers that count invocations, and
# the services' environment. Source it; it expects MULTIARCH_TEST_STATE (set by ctest).
set -euo pipefail

: "${MULTIARCH_TEST_STATE:?run through ctest (the e2e services fixture sets it)}"
# shellcheck disable=SC1091
. "$MULTIARCH_TEST_STATE/env"
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
test_name=$(basename "$0" .sh)

fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '\n=== %s\n' "$*"; }
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
run_exit_actions() {
  local status=$? action
  for action in "${exit_actions[@]}"; do eval "$action" || true; done
  if [[ $status == 0 ]]; then rm -rf "$work"; else echo "work dir kept: $work" >&2; fi
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
# The platforms that engine build commands naming IMAGE (a repository's last component) asked for.
built_platforms() {
  grep -E "^(docker|podman) (buildx )?build .*/$1:" "$work/engine-calls.log" | grep -oE -- '--platform [^ ]+' |
    cut -d' ' -f2 | sort -u | tr '\n' ' ' | sed 's/ $//'
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
