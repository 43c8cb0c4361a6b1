#!/usr/bin/env bash
# RUNTIME with toolchains that are not Debian's cross gcc: the shipped clang toolchain file (Debian's
# clang with the GCC cross libraries), and clang with a CMAKE_SYSROOT made of Debian's arm64 cross
# packages. examples/cross for linux/arm64 each time: the staged runtime must be arm64's (found where
# the toolchain links from, not where the host's compiler looks), and the image must run. The
# provenance statement names the compiler the sub-build used (clang, not this build's gcc) and the
# toolchain file's SHA-256 as the sub-build last configured with it, after the file changed too.
#   runtime_toolchains.sh
. "$(dirname "$0")/lib.sh"
cp -r "$repo_root/examples/cross" "$work/src"

# A sysroot as a vendor SDK lays it out, made of links to /usr/aarch64-linux-gnu and gcc-cross.
sysroot=$work/sysroot
mkdir -p "$sysroot/usr/lib/gcc/aarch64-linux-gnu" "$sysroot/usr/include" "$sysroot/lib"
ln -s /usr/aarch64-linux-gnu/lib "$sysroot/usr/lib/aarch64-linux-gnu"
ln -s /usr/aarch64-linux-gnu/lib "$sysroot/lib/aarch64-linux-gnu"
ln -s /usr/lib/gcc-cross/aarch64-linux-gnu/12 "$sysroot/usr/lib/gcc/aarch64-linux-gnu/12"
ln -s /usr/aarch64-linux-gnu/include "$sysroot/usr/include/aarch64-linux-gnu"
for f in /usr/aarch64-linux-gnu/include/*; do ln -s "$f" "$sysroot/usr/include/$(basename "$f")"; done
cat >"$work/clang-sysroot.cmake" <<CMAKE
include("$repo_root/cmake/toolchains/aarch64-linux-gnu-clang.cmake")
set(CMAKE_SYSROOT "$sysroot")
set(CMAKE_FIND_ROOT_PATH "$sysroot")
CMAKE
declare -A toolchain=([clang]=$repo_root/cmake/toolchains/aarch64-linux-gnu-clang.cmake [sysroot]=$work/clang-sysroot.cmake)

for variant in clang sysroot; do
  step "RUNTIME for linux/arm64 with the $variant toolchain"
  build=$work/build-$variant
  repository=$REGISTRY/e2e/runtime-$variant
  configure "$work/src" "$build" \
    -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE=docker -DCROSS_HELLO_REPOSITORY="$repository" \
    -DCROSS_HELLO_PLATFORMS=linux/arm64 "-DCROSS_HELLO_TOOLCHAINS=linux/arm64=${toolchain[$variant]}" \
    "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root" >"$work/configure-$variant.log"
  cmake --build "$build" --target image-push >"$work/publish-$variant.log" 2>&1 \
    || fail "publish with the $variant toolchain failed:\n$(tail -30 "$work/publish-$variant.log")"
  compiler=$(ls "$build"/multiarch-image-cross/linux-arm64-*/CMakeFiles/*/CMakeCXXCompiler.cmake)
  grep -q 'set(CMAKE_CXX_COMPILER_ID "Clang")' "$compiler" || fail "the sub-build did not compile with clang"
  [[ $variant != sysroot ]] || grep -q "set(CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES \"$sysroot/" "$compiler" \
    || fail "the sub-build does not link from the sysroot"
  stage=$build/multiarch-image/cross-hello/context/.multiarch-stage/linux-arm64
  for f in lib/libc.so.6 lib/libstdc++.so.6 lib/libgcc_s.so.1 lib/ld-linux-aarch64.so.1 usr/local/bin/hello_server; do
    [[ -f $stage/$f ]] || fail "$variant: $f not staged"
    assert_eq "$(readelf -h "$stage/$f" | sed -n 's/^ *Machine: *//p')" AArch64 "$variant: $f machine"
  done
  leaks=$(grep -rlF "$work" "$stage" || true)
  [[ -z $leaks ]] || fail "staged files hold the build's paths: $leaks"
  output=$(run_image docker "$repository:1.0.0" linux/arm64 </dev/null)
  assert_eq "$output" "hello server from the greeting library 1.0.0 built for linux/arm64" "docker run ($variant)"

  # What the statement says compiled it: the sub-build's clang and its toolchain file, as it is now.
  if [[ $variant == sysroot ]]; then
    # The file changes: the sub-build configures again; the next push names the new file's SHA-256.
    printf '# changed after the first publish\n' >>"${toolchain[$variant]}"
    rm "$build/multiarch-image/cross-hello/push-linux-arm64.json"
    cmake --build "$build" --target image-push >"$work/republish.log" 2>&1 ||
      fail "the publish after the toolchain changed failed:\n$(tail -30 "$work/republish.log")"
  fi
  provenance=$(jq -r '.platforms[0].provenance' "$build/multiarch-image/cross-hello/metadata.json")
  manifest=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/e2e/runtime-$variant/manifests/$provenance")
  internal=$(curl -sf "http://$REGISTRY/v2/e2e/runtime-$variant/blobs/$(jq -r '.layers[0].digest' <<<"$manifest")" |
    jq -c .predicate.buildDefinition.internalParameters)
  [[ $(jq -r .compiler <<<"$internal") == Clang\ * ]] || fail "$variant: the statement names $(jq -r .compiler <<<"$internal"), not clang"
  echo "ok: $variant: the statement's compiler is $(jq -r .compiler <<<"$internal")"
  assert_eq "$(jq -r .toolchain.file <<<"$internal")" "${toolchain[$variant]}" "$variant: the statement's toolchain file"
  assert_eq "$(jq -r .toolchain.sha256 <<<"$internal")" "$(sha256sum "${toolchain[$variant]}" | cut -d' ' -f1)" \
    "$variant: the statement's toolchain SHA-256"
done
