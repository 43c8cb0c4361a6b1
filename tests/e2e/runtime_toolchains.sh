#!/usr/bin/env bash
# RUNTIME with toolchains that are not Debian's cross gcc: the shipped clang toolchain file (Debian's
# clang with the GCC cross libraries), and clang with a CMAKE_SYSROOT made of Debian's arm64 cross
# packages. examples/cross for linux/arm64 each time: the staged runtime must be arm64's (found where
# the toolchain links from, not where the host's compiler looks), and the image must run.
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
done
