#!/usr/bin/env bash
# Incremental behaviour with a real engine and registry: a rerun with nothing changed runs no engine
# command, and editing one context file rebuilds and republishes only the image that uses it.
#   incremental.sh docker|podman Ninja|"Unix Makefiles"
. "$(dirname "$0")/lib.sh"
engine=$1 generator=$2
slug=$(printf '%s' "$engine-$generator" | tr 'A-Z ' 'a-z-')
cp -r "$repo_root/tests/projects/two-images" "$work/src"

step "first publish of two images x three platforms"
configure "$work/src" "$work/build" -G "$generator" \
  -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE="$engine" \
  -DTEST_REGISTRY="$REGISTRY" -DTEST_PREFIX="incremental-$slug"
cmake --build "$work/build" --target image-push -j4
all="linux/amd64 linux/arm/v7 linux/arm64"
assert_eq "$(built_platforms alpha)" "$all" "alpha platforms built"
assert_eq "$(built_platforms beta)" "$all" "beta platforms built"

step "nothing changed: no engine command"
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
assert_eq "$(engine_calls)" 0 "engine invocations"

step "one context file of alpha edited: alpha rebuilt and republished, beta untouched"
sleep 1.1   # coarse file system timestamps: make the edit newer than the records
echo "alpha data, edited" >"$work/src/alpha/data.txt"
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
assert_eq "$(built_platforms alpha)" "$all" "alpha platforms built"
assert_eq "$(engine_calls_matching "/beta[:@]")" 0 "engine commands naming beta"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/incremental-$slug/alpha:2.0.0" | jq -r '[.manifests[].digest] | sort | join(" ")')" \
  "$(jq -r '[.platforms[].digest] | sort | join(" ")' "$work/build/multiarch-image/alpha/metadata.json")" "alpha's published index"

step "a file added to beta's context rebuilds beta"
sleep 1.1
echo new >"$work/src/beta/added.txt"
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
assert_eq "$(built_platforms beta)" "$all" "beta platforms built"
assert_eq "$(engine_calls_matching "/alpha[:@]")" 0 "engine commands naming alpha"

step "files excluded by .dockerignore do not count"
sleep 1.1
mkdir -p "$work/src/alpha/notes"; echo x >"$work/src/alpha/notes/todo"; echo x >"$work/src/alpha/scratch.tmp"
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
# Adding entries changes alpha/ itself (a directory the build depends on), so one rebuild happens;
# editing an ignored file afterwards must not cause another.
sleep 1.1
echo y >"$work/src/alpha/notes/todo"; echo y >"$work/src/alpha/scratch.tmp"
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
assert_eq "$(engine_calls)" 0 "engine invocations after editing ignored files"

step "names a depfile cannot carry as they are (x: a tab, a backslash before a space, # and \$) and symlinks"
# Named through stand-in links: the build sees them, a no-op stays a no-op, and an edit of one of
# them rebuilds exactly the image that sends it.
sleep 1.1
odd=("x:" $'tab\there' 'back\ slash' 'hash#1' 'dollar$x')
for name in "${odd[@]}"; do echo one >"$work/src/beta/$name"; done
ln -s data.txt "$work/src/beta/link"
ln -s nowhere "$work/src/beta/dangling"
cmake --build "$work/build" --target image-push -j4
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
assert_eq "$(engine_calls)" 0 "engine invocations on the no-op after adding odd names"
for name in "${odd[@]}"; do
  sleep 1.1
  echo two >>"$work/src/beta/$name"
  reset_engine_calls
  cmake --build "$work/build" --target image-push -j4
  assert_eq "$(built_platforms beta)" "$all" "beta platforms built after editing '$name'"
  assert_eq "$(engine_calls_matching "/alpha[:@]")" 0 "engine commands naming alpha after editing '$name'"
done
reset_engine_calls
cmake --build "$work/build" --target image-push -j4
assert_eq "$(engine_calls)" 0 "engine invocations on the no-op after the edits"

step "nothing changed again: no engine command"
cmake --build "$work/build" --target image-push -j4
assert_eq "$(engine_calls)" 0 "engine invocations"
