#!/usr/bin/env bash
# INSTALL: what the project's own install rules put under a prefix, staged per platform, natively and
# in a cross sub-build, for a Dockerfile image (MULTIARCH_STAGE) and for one the helper assembles
# (examples/cross with CROSS_HELLO_INSTALLED_IMAGES: COMPONENTS runtime, configured with
# CMAKE_INSTALL_PREFIX /opt/cross-hello, a prefix the loader does not search). Checked: the staged
# trees hold the runtime component only, library version links as links, the run paths
# `cmake --install` wrote and no path of the build machine; both images run on both platforms, their
# entrypoint (no run path) finding the library through /usr/lib, and `hello_cli --motd` finding the
# data at the CMAKE_INSTALL_FULL_DATADIR baked into it (the arm64 sub-build got the prefix too); a
# no-op runs nothing; an edit of an installed file that is no target restages and republishes.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
images=(cross-hello-installed cross-hello-installed-assembled)
platforms=(linux/amd64 linux/arm64)
cp -r "$repo_root/examples/cross" "$work/src"
source_dir_arg=-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root
prefix=/opt/cross-hello
configure "$work/src" "$work/b" "$source_dir_arg" "-DCROSS_HELLO_CROSS_ARGS=$source_dir_arg" -DCMAKE_INSTALL_PREFIX=$prefix \
  -DCROSS_HELLO_REPOSITORY="$REGISTRY/e2e/cross" "-DCROSS_HELLO_PLATFORMS=linux/amd64;linux/arm64" \
  -DCROSS_HELLO_INSTALLED_IMAGES=ON -DMULTIARCH_IMAGE_ENGINE=docker >/dev/null
publish() {  # publish LOG: both images pushed
  cmake --build "$work/b" --target cross-hello-installed-push cross-hello-installed-assembled-push -j2 >"$1" 2>&1 ||
    fail "publish failed:\n$(tail -30 "$1")"
}

step "both images published from the install rules' output"
publish "$work/first.log"
grep -E "INSTALL: " "$work/first.log" | sort -u

step "the staged trees: component runtime under $prefix, links as links, cmake --install's run paths"
for image in "${images[@]}"; do
  for platform in "${platforms[@]}"; do
    dir=$work/b/multiarch-image/$image/context/.multiarch-stage/$(tr / - <<<"$platform")
    for f in bin/hello_server bin/hello_cli lib/libgreeting.so.1.0.0 share/cross-hello/motd.txt; do
      [[ -f $dir$prefix/$f && ! -L $dir$prefix/$f ]] || fail "$image $platform: $prefix/$f is not a staged file"
    done
    assert_eq "$(readlink "$dir$prefix/lib/libgreeting.so.1")" libgreeting.so.1.0.0 "$image $platform: the SONAME link"
    # hello_server has no run path, and the loader does not look in $prefix/lib: /usr/lib names the library.
    assert_eq "$(readlink "$dir/usr/lib/libgreeting.so.1")" "../..$prefix/lib/libgreeting.so.1" \
      "$image $platform: /usr/lib/libgreeting.so.1"
    [[ ! -e $dir$prefix/include ]] || fail "$image $platform: the development component was staged"
    assert_eq "$(readelf -d "$dir$prefix/bin/hello_cli" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')" '$ORIGIN/../lib' \
      "$image $platform: hello_cli's RUNPATH"
    machine=$(readelf -h "$dir$prefix/bin/hello_server" | sed -n 's/.*Machine: *//p')
    [[ $platform == linux/arm64 && $machine == AArch64 || $platform == linux/amd64 && $machine == *X86-64 ]] ||
      fail "$image $platform: hello_server is for $machine"
    hits=$( (grep -rlaF -- "$work" "$dir" || true) | wc -l)
    assert_eq "$hits" 0 "$image $platform: staged files that name the build directory"
  done
done

step "both images run on both platforms; hello_cli finds its data at the prefix baked into it"
for image in "${images[@]}"; do
  for platform in "${platforms[@]}"; do
    reference=$REGISTRY/e2e/cross-${image#cross-hello-}:1.0.0
    out=$(run_image docker "$reference" "$platform" </dev/null)
    grep -q "^hello server from the greeting library 1.0.0 built for $platform" <<<"$out" || fail "$image $platform printed: $out"
    motd=$("$MULTIARCH_TEST_DOCKER" run --rm --network=none --platform "$platform" --entrypoint "$prefix/bin/hello_cli" \
      "$reference" --motd 2>&1) || fail "$image $platform: hello_cli --motd failed: $motd"
    assert_eq "$motd" "$(cat "$work/src/share/motd.txt")" "$image $platform: hello_cli --motd"
    echo "ok: $image runs on $platform"
  done
done
ctest --test-dir "$work/b" -R "^cross-hello-installed\\.image\\." --output-on-failure >"$work/ctest.log" 2>&1 ||
  fail "the image tests failed:\n$(tail -30 "$work/ctest.log")"
assert_eq "$(grep -c "Passed" "$work/ctest.log")" 2 "image tests of the Dockerfile image passed"

step "a no-op runs nothing"
reset_engine_calls
publish "$work/noop.log"
! grep -E "\] (build|push) started|stage cross-hello-installed|INSTALL: " "$work/noop.log" ||
  fail "the rerun did work:\n$(cat "$work/noop.log")"
assert_eq "$(engine_calls)" 0 "engine commands on the no-op"

step "an edit of an installed file (no target): every platform of both images restaged and republished"
echo "edited for the INSTALL test" >>"$work/src/share/motd.txt"
publish "$work/edit.log"
assert_eq "$(grep -cE "\] build started" "$work/edit.log")" 4 "builds (two images, two platforms)"
assert_eq "$(grep -cE "\] push done" "$work/edit.log")" 4 "pushes"
layout=$work/b/multiarch-image/cross-hello-installed-assembled/oci
manifest=$(jq -r .image_id "$work/b/multiarch-image/cross-hello-installed-assembled/build-linux-arm64.json")
last=$(jq -r '.layers[-1].digest' "$layout/blobs/sha256/${manifest#sha256:}")
tar -xzOf "$layout/blobs/sha256/${last#sha256:}" "${prefix#/}/share/cross-hello/motd.txt" | grep -q "edited for the INSTALL test" ||
  fail "the edited motd.txt is not in the assembled arm64 image's last layer"
echo "ok: the edited file is in the published image"
