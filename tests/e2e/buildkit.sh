#!/usr/bin/env bash
# SECRETS, SSH, TARGET_STAGE and PULL with a real engine (docker 20.10's BuildKit, podman 4.3), on
# tests/projects/buildkit: each secret (a variable, a file) reaches its RUN step, and its value is in
# no layer, config or history of the image, no record or log of the build tree, and not in this test's
# own output; an SSH agent is forwarded to the step that mounts it; the image is the target stage's;
# PULL ALWAYS builds from the registry's base, not the engine's older copy, PULL MISSING (docker) and
# NEVER (podman) from that copy; a rerun, also with new secret values, runs nothing.
#   buildkit.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
# What ctest shows of this test, kept to be searched for the secrets at the end.
exec > >(tee "$work/output.log") 2>&1
case $engine in
  docker) real=("$MULTIARCH_TEST_DOCKER"); export DOCKER_BUILDKIT=1 ;;
  podman) real=(podman) ;;
esac
repository=$REGISTRY/e2e/buildkit-$engine
base=$REGISTRY/e2e/buildkit-base-$engine
tls=(); [[ $engine == podman ]] && tls=(--tls-verify=false)

step "a base in the registry (\"new\"), and an older copy of it (\"old\") in $engine under the same tag"
for version in old new; do
  mkdir -p "$work/base-$version"
  cp /bin/busybox "$work/base-$version/"
  echo "$version" >"$work/base-$version/version"
  printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY version /base-version\n' >"$work/base-$version/Dockerfile"
  "${real[@]}" build -q --network=none -t "$base:$version" "$work/base-$version" >/dev/null
done
"${real[@]}" tag "$base:new" "$base:1"
"${real[@]}" push -q "${tls[@]}" "$base:1" >/dev/null
"${real[@]}" tag "$base:old" "$base:1"

# Secret values made for this run, never printed; the variable's reaches the build through the environment.
token="bk-token-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
file_secret="bk-file-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s' "$file_secret" >"$work/secret-file"
chmod 600 "$work/secret-file"
export BUILDKIT_TEST_TOKEN=$token
# An SSH agent of the test's own (no key needed: the RUN step checks that its socket is forwarded).
eval "$(ssh-agent -a "$work/agent.sock")" >/dev/null
on_exit "kill $SSH_AGENT_PID"

step "PULL ALWAYS, two secrets, TARGET_STAGE with-secrets"
configure "$repo_root/tests/projects/buildkit" "$work/build" -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE="$engine" \
  -DTEST_REPOSITORY="$repository" -DTEST_BASE="$base:1" -DTEST_SECRET_FILE="$work/secret-file" -DTEST_PULL=ALWAYS \
  >"$work/configure.log"
cmake --build "$work/build" --target image-push >"$work/build.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/build.log")"
grep -E "^$engine (buildx )?build " "$work/engine-calls.log" | grep -q -- "--target with-secrets" ||
  fail "the build was not given --target with-secrets"
digest=$(jq -r .digest "$work/build/multiarch-image/buildkit/push-linux-amd64.json")
mkdir -p "$work/image"
skopeo copy -q --src-tls-verify=false --dest-decompress "docker://$repository@$digest" "dir:$work/image"
# Each layer unpacked, to read its files.
layer_with() {  # the first layer (a tar in $work/image) that holds FILE
  local blob
  # grep reads the whole list: with pipefail, grep -q quitting early fails tar with SIGPIPE.
  for blob in "$work"/image/*; do
    tar -tf "$blob" 2>/dev/null | grep -x "$1" >/dev/null && { echo "$blob"; return; }
  done
}
stage=$(tar -xOf "$(layer_with stage)" stage)
assert_eq "$stage" "with-secrets" "the image's stage (TARGET_STAGE, not the last one)"
assert_eq "$(tar -xOf "$(layer_with ssh)" ssh)" "agent-forwarded" "SSH default: the agent's socket in the RUN step that mounts it"
sums=$(tar -xOf "$(layer_with secrets.sha256)" secrets.sha256)
assert_eq "$(awk '$2 == "token" {print $1}' <<<"$sums")" "$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)" \
  "the SHA-256 the RUN step saw of the secret token (from BUILDKIT_TEST_TOKEN)"
assert_eq "$(awk '$2 == "file" {print $1}' <<<"$sums")" "$(printf '%s' "$file_secret" | sha256sum | cut -d' ' -f1)" \
  "the SHA-256 the RUN step saw of the secret file"
assert_eq "$(tar -xOf "$(layer_with base-version)" base-version)" "new" "PULL ALWAYS: the base the image is made from"
[[ -z $(layer_with run/secrets/token) && -z $(layer_with run/secrets/file) ]] || fail "a secret's mount point is in a layer"

step "a rerun with nothing changed, and one with new secret values, run no engine command"
reset_engine_calls
cmake --build "$work/build" --target image-push >>"$work/build.log" 2>&1
assert_eq "$(engine_calls)" 0 "engine commands of the no-op rerun"
BUILDKIT_TEST_TOKEN=another-$token cmake --build "$work/build" --target image-push >>"$work/build.log" 2>&1
assert_eq "$(engine_calls)" 0 "engine commands after a new secret value (a rotated token changes no image)"

# docker: MISSING. podman 4.3 asks the registry under MISSING whenever --platform is given (every
# build here gives one), and takes its newer base: NEVER is how podman keeps its own copy.
policy=MISSING; [[ $engine == podman ]] && policy=NEVER
step "PULL $policy: the engine's own copy of the base"
# podman's pull above may have replaced its copy; docker's BuildKit pulled into a store of its own.
"${real[@]}" tag "$base:old" "$base:1"
configure "$repo_root/tests/projects/buildkit" "$work/build" -DTEST_PULL=$policy >>"$work/configure.log"
cmake --build "$work/build" --target buildkit-build >>"$work/build.log" 2>&1 ||
  fail "the build with PULL $policy failed:\n$(tail -30 "$work/build.log")"
built=$(jq -r .image_id "$work/build/multiarch-image/buildkit/build-linux-amd64.json")
"${real[@]}" image save -o "$work/missing.tar" "$built" 2>/dev/null ||
  "${real[@]}" save -o "$work/missing.tar" "$built"
mkdir -p "$work/missing" && tar -xf "$work/missing.tar" -C "$work/missing"
version=""
for layer in $(find "$work/missing" -type f); do
  if tar -tf "$layer" 2>/dev/null | grep -x base-version >/dev/null; then version=$(tar -xOf "$layer" base-version); break; fi
done
assert_eq "$version" "old" "PULL $policy: the base the image is made from (the engine's copy)"

step "no secret value anywhere"
"${real[@]}" image inspect "$built" >"$work/inspect.json"
"${real[@]}" history --no-trunc "$built" >"$work/history.txt"
for what in token file_secret; do
  assert_secret_found "the secret $what" "${!what}" <(printf '%s' "${!what}")
  assert_no_secret "the secret $what" "${!what}" "$work/image" "$work/missing" "$work/inspect.json" "$work/history.txt" \
    "$work/build" "$work/build.log" "$work/configure.log" "$work/engine-calls.log" "$work/output.log"
done
