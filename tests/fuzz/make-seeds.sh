#!/usr/bin/env bash
# The fuzz targets' seeds (tests/fuzz/seeds/<target>/), made from real sources where the target reads
# something real: ELF files from this machine's toolchains (amd64, arm64, armhf with Debian's gcc; the
# big-endian ppc64, ppc32 and mips64 with clang and lld), and, with `all`, the answers of the e2e
# registry and token service for images docker, podman and the helper publish there, and the spec,
# records, install scripts, Dockerfiles and dpkg answers of a real build tree (examples/cross). Run by
# hand as root on the test machine (Debian 12, tests/machine-setup.sh); it rewrites the files it makes
# and leaves hand-written and regression seeds alone. Usage:
#   tests/fuzz/make-seeds.sh elf
#   tests/fuzz/make-seeds.sh all BUILD_DIR     (BUILD_DIR: multiarch-image and multiarch-token-issuer built)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seeds=$root/tests/fuzz/seeds
what=${1:?usage: make-seeds.sh elf | all BUILD_DIR}
work=$(mktemp -d /tmp/mai-seeds-XXXXXX)
cleanup=("rm -rf $work")
trap 'for c in "${cleanup[@]}"; do eval "$c" || true; done' EXIT
log() { printf '[seeds] %s\n' "$*" >&2; }
sep=$'\x1e'   # the record separator between the parts of a multi-part input (helper/fuzz/fuzz_support.hpp)

elf_seeds() {
  local d=$work/elf
  mkdir -p "$d" "$seeds/elf" "$seeds/elf_run_path"
  cat >"$d/greet.c" <<'C'
int greet(int x) { return x * 2 + 1; }
C
  cat >"$d/main.c" <<'C'
int greet(int);
int main(int argc, char** argv) { (void)argv; return greet(argc); }
C
  cat >"$d/start.c" <<'C'
int greet(int);
void _start(void) { greet(1); for (;;) {} }
C
  echo 'void __libc_start_main(void) {}' >"$d/libc.c"
  local build_lib=/home/user/project/build/lib
  # A library with DT_SONAME and DT_RPATH, a program with PT_INTERP, two DT_NEEDED and DT_RUNPATH.
  local cc name
  for cc in gcc aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc; do
    name=${cc%gcc}; name=${name:-x86_64-linux-gnu-}; name=${name%-}
    (cd "$d" && "$cc" -Os -s -shared -fPIC -Wl,-soname,libgreet.so.1 -Wl,--disable-new-dtags -Wl,-rpath,$build_lib \
        -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code greet.c -o "$name-libgreet.so.1" &&
      "$cc" -Os -s main.c -L. -l:"$name-libgreet.so.1" -Wl,--enable-new-dtags -Wl,-rpath,"\$ORIGIN/../lib:$build_lib" \
        -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code -o "$name-hello")
  done
  # No PT_INTERP, no dynamic section.
  (cd "$d" && gcc -Os -s -static -nostdlib -Wl,-z,max-page-size=4096 -Wl,-z,noseparate-code start.c greet.c -o x86_64-linux-gnu-static)
  # Big-endian, 64- and 32-bit: clang and lld without a C library (a stub libc.so.6 to link against).
  local target
  for target in powerpc64-linux-gnu powerpc-linux-gnu mips64-linux-gnuabi64; do
    (cd "$d" && clang --target=$target -fuse-ld=lld -nostdlib -Os -s -shared -fPIC -Wl,-soname,libc.so.6 libc.c -o $target-libc.so.6 &&
      clang --target=$target -fuse-ld=lld -nostdlib -Os -s -shared -fPIC -Wl,-soname,libgreet.so.1 -Wl,--disable-new-dtags \
        -Wl,-rpath,$build_lib greet.c -o $target-libgreet.so.1 &&
      clang --target=$target -fuse-ld=lld -nostdlib -Os -s -fPIE -pie start.c -Wl,--dynamic-linker=/lib/ld.so.1 -L. \
        -l:$target-libgreet.so.1 -l:$target-libc.so.6 -Wl,--enable-new-dtags -Wl,-rpath,"\$ORIGIN/../lib:$build_lib" \
        -o $target-hello 2>/dev/null)
  done
  local f
  for f in "$d"/*-hello "$d"/*-libgreet.so.1 "$d"/*-static; do
    install -m 644 "$f" "$seeds/elf/$(basename "$f")"
    # The run path CMake's INSTALL_RPATH would set, and none (removed).
    { printf '%s%s' '$ORIGIN/../lib' "$sep"; cat "$f"; } >"$seeds/elf_run_path/$(basename "$f").install-rpath"
    { printf '%s' "$sep"; cat "$f"; } >"$seeds/elf_run_path/$(basename "$f").removed"
  done
  log "elf: $(ls "$seeds/elf" | wc -l) files, elf_run_path: $(ls "$seeds/elf_run_path" | wc -l)"
}

case $what in
  elf) elf_seeds ;;
  all) elf_seeds; registry_seeds "${2:?usage: make-seeds.sh all BUILD_DIR}"; tree_seeds ;;
  *) echo "usage: make-seeds.sh elf | all BUILD_DIR" >&2; exit 2 ;;
esac
