#!/usr/bin/env bash
# A TARGETS image linking a Debian multiarch library (zlib1g-dev and zlib1g-dev:arm64): the arm64
# sub-build, with the shipped toolchain file, finds the arm64 library through find_package and through
# pkg-config (never the build machine's), RUNTIME stages it, and the image runs on both platforms.
#   multiarch_lib.sh
. "$(dirname "$0")/lib.sh"
repository=$REGISTRY/e2e/multiarch-lib
configure "$repo_root/tests/projects/multiarch-lib" "$work/build" \
  -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE=docker -DMULTIARCH_LIB_REPOSITORY="$repository" >/dev/null
cmake --build "$work/build" --target image-push >"$work/publish.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/publish.log")"

step "the arm64 sub-build found arm64's zlib both ways"
found=$(cat "$work"/build/multiarch-image-cross/linux-arm64-*/found.txt)
printf '%s\n' "$found"
grep -q '^find_package: /usr/lib/aarch64-linux-gnu/libz.so$' <<<"$found" || fail "find_package found another zlib"
grep -q '^pkg-config: /usr/lib/aarch64-linux-gnu/libz.so$' <<<"$found" || fail "pkg-config answered for another architecture"

step "RUNTIME staged the library for each platform, and each image runs"
stage=$work/build/multiarch-image/zversion/context/.multiarch-stage
declare -A machine=([linux/amd64]="Advanced Micro Devices X86-64" [linux/arm64]=AArch64)
for platform in linux/amd64 linux/arm64; do
  lib=$stage/${platform//\//-}/lib/libz.so.1
  [[ -f $lib ]] || fail "$platform: libz.so.1 not staged"
  assert_eq "$(readelf -h "$lib" | sed -n 's/^ *Machine: *//p')" "${machine[$platform]}" "$platform libz.so.1 machine"
  output=$(run_image docker "$repository:1.0.0" "$platform" </dev/null)
  [[ $output == "zlib 1."* ]] || fail "$platform: the image printed: $output"
  echo "ok: $platform runs: $output"
done
