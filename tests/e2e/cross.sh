#!/usr/bin/env bash
# examples/cross: two programs and the shared library they link, compiled for linux/amd64 by this
# build and for linux/arm64 and linux/arm/v7 by Debian's cross compilers in sub-builds (TOOLCHAINS),
# staged with their runtime (RUNTIME) and published, with a second image (hello_cli alone) sharing
# the sub-builds. Then: each platform pulled and run (QEMU for the
# foreign ones) by docker and by podman; readelf on the staged files; and the incremental claims,
# shown by counting compiler, linker and engine invocations.
#   cross.sh docker|podman Ninja|"Unix Makefiles"
. "$(dirname "$0")/lib.sh"
engine=$1 generator=$2
slug=$(printf '%s' "$engine-$generator" | tr 'A-Z ' 'a-z-')
repository=$REGISTRY/e2e/cross-$slug
platforms=(linux/amd64 linux/arm64 linux/arm/v7)

# Compiler and linker launchers that log each invocation ("compile <source>" / "link <output>").
cat >"$work/bin/count-compile" <<SH
#!/bin/sh
for a; do case \$a in *.cpp) echo "compile \$a" >>"$work/compiler-calls.log" ;; esac; done
exec "\$@"
SH
cat >"$work/bin/count-link" <<SH
#!/bin/sh
prev=; for a; do [ "\$prev" = -o ] && echo "link \$(basename "\$a")" >>"$work/compiler-calls.log"; prev=\$a; done
exec "\$@"
SH
chmod +x "$work/bin/count-compile" "$work/bin/count-link"
: >"$work/compiler-calls.log"
launchers="-DCMAKE_CXX_COMPILER_LAUNCHER=$work/bin/count-compile;-DCMAKE_CXX_LINKER_LAUNCHER=$work/bin/count-link"
compiles() { grep -c "^compile .*$1" "$work/compiler-calls.log" || true; }
links() { grep -c "^link $1\$" "$work/compiler-calls.log" || true; }
reset_counts() { : >"$work/compiler-calls.log"; reset_engine_calls; }

# A copy of the example, so the test can edit its sources.
cp -r "$repo_root/examples/cross" "$work/src"
source_dir_arg="-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root"

step "configure: which platforms are cross-compiled, which reuse this build"
configure "$work/src" "$work/build" -G "$generator" "$source_dir_arg" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DCROSS_HELLO_REPOSITORY="$repository" -DCROSS_HELLO_CLI_IMAGE=ON \
  -DCMAKE_CXX_COMPILER_LAUNCHER="$work/bin/count-compile" -DCMAKE_CXX_LINKER_LAUNCHER="$work/bin/count-link" \
  "-DCROSS_HELLO_CROSS_ARGS=$launchers;$source_dir_arg" | tee "$work/configure.log"
grep -q "linux/amd64: TARGETS from this build" "$work/configure.log" || fail "amd64 is not taken from this build"
grep -q "linux/arm64: TARGETS cross-compiled in a sub-build" "$work/configure.log" || fail "arm64 is not cross-compiled"

step "publish with $engine ($generator)"
cmake --build "$work/build" --target image-push -j3 >"$work/publish.log" 2>&1 || fail "publish failed:\n$(tail -30 "$work/publish.log")"
grep -q "published and verified $repository:1.0.0@" "$work/publish.log" || fail "no verified publish"
# The sub-builds' share of the machine: make's job server, or a ninja job pool of one.
! grep -q "jobserver unavailable" "$work/publish.log" || fail "a sub-build ran without the job server:\n$(grep jobserver "$work/publish.log")"
if [[ $generator == Ninja ]]; then
  grep -q "pool = multiarch_sub_builds" "$work/build/build.ninja" || fail "the sub-builds are not in their job pool"
fi
echo "ok: sub-builds share the outer build's parallelism"
grep -q "published and verified $repository-cli:1.0.0@" "$work/publish.log" || fail "no verified publish of the -cli image"
# Each source compiled once per platform, though two images ship hello_cli: greeting.cpp,
# platform.cpp, cli.cpp, server.cpp, counter.cpp; three links (library, two programs) per platform.
assert_eq "$(wc -l <"$work/compiler-calls.log" | tr -d ' ')" $((5 * 3 + 3 * 3)) "compiles and links in the first build"
for source in greeting.cpp counter.cpp cli.cpp; do assert_eq "$(compiles "$source")" 3 "compiles of $source"; done

step "the staged binaries are for each platform's machine (readelf, file)"
stage=$work/build/multiarch-image/cross-hello/context/.multiarch-stage
declare -A machine=([linux/amd64]="Advanced Micro Devices X86-64" [linux/arm64]=AArch64 [linux/arm/v7]=ARM)
declare -A file_says=([linux/amd64]="x86-64" [linux/arm64]="ARM aarch64" [linux/arm/v7]="ARM, EABI5")
for platform in "${platforms[@]}"; do
  dir=$stage/${platform//\//-}
  for f in usr/local/bin/hello_cli usr/local/bin/hello_server usr/lib/libgreeting.so.1; do
    [[ -f $dir/$f ]] || fail "$platform: $f not staged"
    assert_eq "$(readelf -h "$dir/$f" | sed -n 's/^ *Machine: *//p')" "${machine[$platform]}" "$platform $f machine (readelf)"
    file -b "$dir/$f" | grep -qF "${file_says[$platform]}" || fail "$platform $f: file says $(file -b "$dir/$f")"
  done
  readelf -d "$dir/usr/local/bin/hello_server" | grep -q 'Shared library: \[libgreeting.so.1\]' \
    || fail "$platform hello_server does not link the project's shared library"
  # Run paths as `cmake --install` makes them: hello_cli's INSTALL_RPATH, none for the others.
  assert_eq "$(readelf -d "$dir/usr/local/bin/hello_cli" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')" '$ORIGIN/../lib' \
    "$platform hello_cli RUNPATH"
  for f in usr/local/bin/hello_server usr/lib/libgreeting.so.1; do
    assert_eq "$(readelf -d "$dir/$f" | grep -cE '\((RUNPATH|RPATH)\)' || true)" 0 "$platform $f run path entries"
  done
done
echo "ok: file agrees"
# No staged file holds the build tree's path (a writable /tmp in the container would be searched
# before /usr/lib, and images would differ between build trees).
leaks=$(grep -rlF "$work/build" "$stage" || true)
[[ -z $leaks ]] || fail "staged files hold the build directory's path: $leaks"
echo "ok: no staged file contains $work/build"

step "each platform, pulled from the registry, runs as itself and uses the shared library"
for runner in docker podman; do
  for platform in "${platforms[@]}"; do
    output=$(run_image "$runner" "$repository:1.0.0" "$platform" </dev/null)
    assert_eq "$output" "hello server from the greeting library 1.0.0 built for $platform" "$runner run $platform"
  done
done
output=$(run_image docker "$repository-cli:1.0.0" linux/arm/v7 </dev/null)
assert_eq "${output%%:*}" "hello_cli built for linux/arm/v7 running on armv7l" "docker run of the -cli image, linux/arm/v7"
(cd "$work/build" && ctest -R '^cross-hello\.image\.' --output-on-failure) >"$work/ctest.log" 2>&1 \
  || fail "image tests failed:\n$(tail -20 "$work/ctest.log")"
echo "ok: ctest runs each platform's image"

step "a rerun with nothing changed compiles nothing and runs no engine command"
reset_counts
cmake --build "$work/build" --target image-push -j3 >"$work/noop.log" 2>&1
assert_eq "$(wc -l <"$work/compiler-calls.log" | tr -d ' ')" 0 "compiler and linker invocations"
assert_eq "$(engine_calls)" 0 "engine invocations"

step "an edit of one source file recompiles that file for each platform and rebuilds the images"
reset_counts
printf '\n// edited by the test: a new function, so the program changes\nint edited_by_the_test() { return 42; }\n' >>"$work/src/src/counter.cpp"
cmake --build "$work/build" --target image-push -j3 >"$work/edit.log" 2>&1 || fail "rebuild failed:\n$(tail -30 "$work/edit.log")"
cat "$work/compiler-calls.log"
assert_eq "$(compiles counter.cpp)" 3 "compiles of counter.cpp (one per platform)"
assert_eq "$(grep -c '^compile' "$work/compiler-calls.log")" 3 "compiles in all"
assert_eq "$(links hello_server)" 3 "links of hello_server"
assert_eq "$(grep -c '^link' "$work/compiler-calls.log")" 3 "links in all (hello_cli and the library untouched)"
assert_eq "$(built_platforms cross-$slug)" "linux/amd64 linux/arm/v7 linux/arm64" "images built again (each contains hello_server)"
assert_eq "$(engine_calls_matching '^(docker|podman) (buildx )?build ')" 3 "image builds in all"
assert_eq "$(built_platforms cross-$slug-cli)" "" "images of the -cli image built again (hello_cli did not change)"
grep -q "published and verified $repository:1.0.0@" "$work/edit.log" || fail "the edit was not published"
for platform in linux/arm64; do
  assert_eq "$(run_image docker "$repository:1.0.0" "$platform" </dev/null)" \
    "hello server from the greeting library 1.0.0 built for $platform" "docker run $platform after the edit"
done

step "an edit that changes no object file rebuilds no image"
reset_counts
touch "$work/src/src/cli.cpp"
cmake --build "$work/build" --target image-push -j3 >"$work/touch.log" 2>&1 || fail "rebuild failed:\n$(tail -30 "$work/touch.log")"
assert_eq "$(compiles cli.cpp)" 3 "compiles of the touched cli.cpp"
assert_eq "$(engine_calls_matching '^(docker|podman) (buildx )?build ')" 0 "image builds (the staged files are byte-identical)"

step "a platform with neither a toolchain nor this build's architecture is built under emulation, and configure says so"
configure "$work/src" "$work/emulated" -G "$generator" "$source_dir_arg" \
  "-DCROSS_HELLO_PLATFORMS=linux/amd64;linux/s390x" >"$work/emulated.log" 2>&1 || fail "configure failed:\n$(tail "$work/emulated.log")"
grep -q "linux/s390x has no TOOLCHAINS entry and is not this build's platform (linux/amd64): its image is built under emulation" \
  "$work/emulated.log" || fail "no emulation message:\n$(grep add_multiarch_image "$work/emulated.log")"
echo "ok: the emulation message"
