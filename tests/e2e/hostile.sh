#!/usr/bin/env bash
# Hostile and malformed input, table-driven: each case asserts the exit status and the message text,
# and nothing may crash (a signal exit or an uncaught exception fails the case). Spec cases edit a
# valid spec.json by hand the way a person might; build-time cases use the real engines.
. "$(dirname "$0")/lib.sh"
helper=${MULTIARCH_TEST_HELPER:?}
cases=0 failed=0

# expect NAME STATUS REGEX COMMAND...: STATUS is the exit code, or "nonzero"
expect() {
  local name=$1 want=$2 regex=$3; shift 3
  local out status=0
  out=$("$@" 2>&1) || status=$?
  cases=$((cases + 1))
  local ok=true
  if [[ $want == nonzero ]]; then ((status != 0)) || ok=false; else ((status == want)) || ok=false; fi
  ((status >= 128 && status != 130)) && ok=false                   # killed by a signal: a crash
  grep -q "terminate called\|Segmentation\|Aborted" <<<"$out" && ok=false
  tr '\n' ' ' <<<"$out" | tr -s ' ' | grep -qE -- "$regex" || ok=false   # CMake wraps long messages
  if $ok; then
    printf 'ok: %-40s exit %s\n' "$name" "$status"
  else
    failed=$((failed + 1))
    printf 'FAIL: %s: exit %s (wanted %s), output:\n%s\n(wanted /%s/)\n' "$name" "$status" "$want" "$out" "$regex"
  fi
}

# --- spec.json edited by hand ---------------------------------------------------------------------
mkdir -p "$work/ctx"
printf 'FROM scratch\nCOPY Dockerfile /\n' >"$work/ctx/Dockerfile"
base=$(jq -n --arg c "$work/ctx" '{format: 1, name: "h", repository: "127.0.0.1:5000/t/h", tags: ["1"],
  platforms: ["linux/amd64"], context: $c, dockerfile: ($c + "/Dockerfile"), engine: "docker"}')
spec_case() {  # spec_case NAME REGEX JQ-FILTER
  jq "$3" <<<"$base" >"$work/spec-$1.json"
  expect "spec: $1" 3 "$2" "$helper" check-spec --spec "$work/spec-$1.json"
}
spec_case platform_amd65 "invalid platform 'linux/amd65': unknown architecture 'amd65'" '.platforms = ["linux/amd65"]'
spec_case platform_arm_v9 "invalid platform 'linux/arm/v9': unknown variant 'v9' for arm" '.platforms = ["linux/arm/v9"]'
spec_case platform_empty_part "invalid platform 'linux//arm64': empty part" '.platforms = ["linux//arm64"]'
spec_case platform_empty "invalid platform '': empty" '.platforms = [""]'
spec_case platform_duplicate "'linux/x86_64' is listed twice \(as linux/amd64\)" '.platforms = ["linux/amd64", "linux/x86_64"]'
spec_case repository_uppercase "uppercase letters in 'Team'" '.repository = "registry.example.com/Team/x"'
spec_case repository_colon_without_tag "contains a tag" '.repository = "registry.example.com/team/x:"'
spec_case repository_port_range "port '70000' is not a number from 1 to 65535" '.repository = "registry.example.com:70000/x"'
spec_case repository_bad_digest "contains a digest" '.repository = "registry.example.com/x@sha256:zz"'
spec_case tag_with_slash "invalid tag '1/2': character '/' is not allowed" '.tags = ["1/2"]'
spec_case tag_too_long "longer than 128 characters" ".tags = [\"$(printf 'a%.0s' {1..129})\"]"
spec_case no_tags "must list at least one tag" '.tags = []'
spec_case engine_unknown "'rkt' is not one of auto, docker, podman" '.engine = "rkt"'
spec_case context_relative "field 'context': must be an absolute path" '.context = "relative"'
spec_case build_arg_nameless "field 'build_args'" '.build_args = [{"value": "x"}]'
spec_case retries_zero "field 'retries': must be from 1 to 100" '.retries = 0'
spec_case builder_foreign_platform "linux/s390x is not among the platforms" \
  '.builders = [{"platform": "linux/s390x", "builder": "x", "origin": "BUILDERS"}]'
spec_case format_future "field 'format': must be 1" '.format = 2'
spec_case not_an_object "must be a JSON object" '[1, 2]'
printf '{"format": 1, "name": ' >"$work/spec-truncated.json"
expect "spec: truncated" 3 "is not valid JSON" "$helper" check-spec --spec "$work/spec-truncated.json"
expect "spec: missing file" 3 "cannot read" "$helper" check-spec --spec "$work/no-such-spec.json"

# --- the helper's command line --------------------------------------------------------------------
jq . <<<"$base" >"$work/spec.json"
expect "cli: unknown subcommand" 2 "unknown subcommand 'biuld'; did you mean 'build'\?" "$helper" biuld
expect "cli: missing option" 2 "--spec is required once" "$helper" check-spec
expect "cli: unknown option" 2 "unknown argument '--spce'" "$helper" check-spec --spce x
expect "cli: platform not in spec" 2 "platform linux/arm64 is not among the image's platforms" \
  "$helper" build --spec "$work/spec.json" --platform linux/arm64 --record "$work/r.json" --depfile "$work/r.d"

# --- configure time -------------------------------------------------------------------------------
configure_case() {  # configure_case NAME REGEX CMAKE-ARGS...
  local name=$1 regex=$2; shift 2
  expect "configure: $name" 1 "$regex" configure "$repo_root/tests/projects/two-images" "$work/cfg-$name" \
    -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" "$@"
}
configure_case bad_platform "unknown platform .linux/amd65.: unknown architecture .amd65." "-DTEST_PLATFORMS=linux/amd64;linux/amd65"
configure_case uppercase_repository "REPOSITORY .127.0.0.1:5000/Demo/alpha. has uppercase letters" -DTEST_PREFIX=Demo
configure_case port_out_of_range "has port 99999, not a number from 1 to 65535" -DTEST_REGISTRY=127.0.0.1:99999
configure_case retries_not_a_number "MULTIARCH_IMAGE_RETRIES .many. is not a number" -DMULTIARCH_IMAGE_RETRIES=many

# --- build time, real engines ---------------------------------------------------------------------
hello() {  # hello DIR CMAKE-ARGS...: configure examples/hello for linux/amd64 only
  local dir=$1; shift
  configure "$repo_root/examples/hello" "$dir" \
    -DHELLO_PLATFORMS=linux/amd64 "$@" >/dev/null
}
hello "$work/no-engine" -DMULTIARCH_IMAGE_ENGINE=docker -DMULTIARCH_IMAGE_DOCKER=/nonexistent/docker \
  -DHELLO_REPOSITORY="$REGISTRY/hostile/a"
expect "build: engine not on PATH" nonzero "'/nonexistent/docker' was not found" \
  cmake --build "$work/no-engine" --target image-build
hello "$work/no-daemon" -DMULTIARCH_IMAGE_ENGINE=docker -DHELLO_REPOSITORY="$REGISTRY/hostile/b"
expect "build: daemon not running" nonzero "\[hello linux/amd64\] docker build for linux/amd64 failed.*[Cc]annot connect to the Docker daemon" \
  env DOCKER_HOST=unix:///nonexistent/docker.sock cmake --build "$work/no-daemon" --target image-build
hello "$work/no-engine-auto" -DMULTIARCH_IMAGE_ENGINE=auto -DMULTIARCH_IMAGE_PODMAN=/nonexistent/podman \
  -DHELLO_REPOSITORY="$REGISTRY/hostile/c"
expect "build: auto finds no engine" nonzero "ENGINE auto: neither docker nor podman answered" \
  env DOCKER_HOST=unix:///nonexistent/docker.sock cmake --build "$work/no-engine-auto" --target image-build
hello "$work/invalid-registry" -DMULTIARCH_IMAGE_ENGINE=docker -DHELLO_REPOSITORY=registry.invalid/hostile/d \
  -DMULTIARCH_IMAGE_RETRIES=3 -DMULTIARCH_IMAGE_RETRY_DELAY=0
reset_engine_calls
expect "push: registry name that cannot resolve" nonzero "\[hello linux/amd64\] docker push registry.invalid/hostile/d:1.0.0-amd64 failed" \
  cmake --build "$work/invalid-registry" --target image-push
# A name that does not resolve is an answer no retry changes: one push, though 3 tries were allowed.
expect "push: registry name that cannot resolve, not retried" 0 "" \
  test "$(engine_calls_matching '^docker push registry\.invalid/')" == 1
hello "$work/removed-dockerfile" -DMULTIARCH_IMAGE_ENGINE=docker -DHELLO_REPOSITORY="$REGISTRY/hostile/e"
rm "$work/removed-dockerfile/context/Dockerfile"
expect "build: Dockerfile removed after configure" nonzero "context/Dockerfile., needed by .*build-linux-amd64.json., missing" \
  cmake --build "$work/removed-dockerfile" --target image-build
hello "$work/edited-spec" -DMULTIARCH_IMAGE_ENGINE=docker -DHELLO_REPOSITORY="$REGISTRY/hostile/f"
echo '{"format": 1, "name": "hello", "repository": "NOT A REPOSITORY"}' >"$work/edited-spec/multiarch-image/hello/spec.json"
expect "build: spec.json edited into nonsense" nonzero "spec.json: invalid repository 'NOT A REPOSITORY'" \
  cmake --build "$work/edited-spec" --target image-build

# Paths with spaces and non-ASCII, and build args with a newline, quotes, ; $(...) and backticks:
# these must work, and the arguments must arrive literally.
odd="$work/src dir/ünïcødé hello"
mkdir -p "$odd" && cp -r "$repo_root/examples/hello/." "$odd/"
sed -i 's|add_subdirectory("${CMAKE_CURRENT_SOURCE_DIR}/../.." multiarch-image EXCLUDE_FROM_ALL)|add_subdirectory("'"$repo_root"'" multiarch-image EXCLUDE_FROM_ALL)|' \
  "$odd/CMakeLists.txt"
greeting=$'two\nlines; "q" \'s\' $(touch '"$work"'/pwned) `touch '"$work"'/pwned`'
configure "$odd" "$odd/build dir" -DMULTIARCH_IMAGE_ENGINE=docker \
  -DHELLO_PLATFORMS="linux/amd64;linux/arm64" -DHELLO_REPOSITORY="$REGISTRY/hostile/odd-paths" -DHELLO_GREETING="$greeting" >/dev/null
expect "paths with spaces and non-ASCII publish" 0 "published and verified" cmake --build "$odd/build dir" --target image-push
expected_output=$(printf 'hello from linux/arm64 (machine aarch64)\ngreeting: %s' "$greeting")
actual_output=$("$MULTIARCH_TEST_DOCKER" run --rm --pull always --network=none --platform linux/arm64 "$REGISTRY/hostile/odd-paths:1.0.0" 2>/dev/null)
expect "build args with a newline arrive literally" 0 "" test "$actual_output" == "$expected_output"
[[ ! -e $work/pwned ]] || { echo "FAIL: a build arg was run by a shell"; failed=$((failed + 1)); }

# --- images the helper assembles (BASE): hostile files and bases, no record left -----------------
assembled() {  # assembled DIR BASE PLATFORM: an image of FILES alone (DIR/src/files), configured
  mkdir -p "$1/src/files"
  echo x >"$1/src/files/ok.txt"
  cat >"$1/src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(hostile_assembled LANGUAGES NONE)
include("$repo_root/cmake/MultiArchImage.cmake")
add_multiarch_image(a REPOSITORY "$REGISTRY/hostile/assembled" PLATFORMS $3 BASE $2 ENTRYPOINT /srv/ok.txt
  FILES files/=/srv/)
CMAKE
  configure "$1/src" "$1/build" >/dev/null
}
no_record() { expect "$1: no build record" 0 "" test ! -e "$2/build/multiarch-image/a/build-$3.json"; }
assembled "$work/link-out" scratch linux/amd64
ln -s /etc/passwd "$work/link-out/src/files/passwd"
expect "assembled: a FILES link out of the tree" nonzero "files/passwd is a symlink to /etc/passwd, outside" \
  cmake --build "$work/link-out/build" --target a-build
no_record "assembled: a FILES link out of the tree" "$work/link-out" linux-amd64
assembled "$work/link-loop" scratch linux/amd64
ln -s b "$work/link-loop/src/files/a" && ln -s a "$work/link-loop/src/files/b"
expect "assembled: a loop of links in FILES" nonzero "in a loop of links that never reaches a file" \
  cmake --build "$work/link-loop/build" --target a-build
no_record "assembled: a loop of links in FILES" "$work/link-loop" linux-amd64
assembled "$work/whiteout" scratch linux/amd64
touch "$work/whiteout/src/files/.wh.ok.txt"
expect "assembled: a whiteout name in FILES" nonzero "files/.wh.ok.txt would be /srv/.wh.ok.txt in the image: a name starting with .wh. is a whiteout" \
  cmake --build "$work/whiteout/build" --target a-build
no_record "assembled: a whiteout name in FILES" "$work/whiteout" linux-amd64
# The list published above (linux/amd64 and linux/arm64) as the base of an arm/v7 image.
assembled "$work/base-platform" "$REGISTRY/hostile/odd-paths:1.0.0" linux/arm/v7
expect "assembled: a base without the platform" nonzero "has no linux/arm/v7 image \(it has linux/amd64, linux/arm64\)" \
  cmake --build "$work/base-platform/build" --target a-build
no_record "assembled: a base without the platform" "$work/base-platform" linux-arm-v7

echo
echo "$((cases - failed)) passed, $failed failed"
((cases >= 44)) || fail "only $cases cases: the table must hold at least 44 (docs/reliability.md says so)"
((failed == 0))
