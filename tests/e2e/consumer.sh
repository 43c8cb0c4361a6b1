#!/usr/bin/env bash
# A consumer project adopts the module in one of the three supported ways, builds and publishes an
# image of its own program (linux/arm64 cross-compiled with the toolchain file that way of adoption
# brings) from a subdirectory (where find_package is called), and does not build or install our
# tests, examples or files. With add_subdirectory, of a copy of this repository the consumer vendors:
# an edit of a helper source in a subfolder of helper/src rebuilds the consumer's helper, once.
#   consumer.sh find_package|fetchcontent|subdirectory
. "$(dirname "$0")/lib.sh"
mode=$1
settings=(-DMODE="$mode" -DCONSUMER_REGISTRY="$REGISTRY" -DMULTIARCH_IMAGE_ENGINE=docker "${engine_settings[@]}")

case $mode in
  find_package)
    step "install cmake-multiarch-image into a prefix"
    # The build tree this suite runs from, built already: its install rules are what a packager runs.
    cmake --install "${MULTIARCH_TEST_BUILD_DIR:?}" --prefix "$work/prefix"
    [[ -x $work/prefix/bin/multiarch-image ]] || fail "the helper was not installed"
    [[ -f $work/prefix/share/cmake/MultiArchImage/MultiArchImageConfigVersion.cmake ]] || fail "no version file installed"
    settings+=(-DCMAKE_PREFIX_PATH="$work/prefix")

    step "a package from a build that names its helper: no helper built, find_package still works"
    cmake -S "$repo_root" -B "$work/self-nohelper" -G Ninja -DMULTIARCH_IMAGE_BUILD_TESTING=OFF \
      -DMULTIARCH_IMAGE_HELPER="$MULTIARCH_TEST_HELPER" >/dev/null
    # The list first: with pipefail, `grep -q` leaving a pipe early can fail its writer, and the check.
    targets=$(cmake --build "$work/self-nohelper" --target help)
    if grep -q '^multiarch-image:' <<<"$targets"; then fail "the helper is built anyway"; fi
    cmake --install "$work/self-nohelper" --prefix "$work/prefix-nohelper" >/dev/null
    [[ ! -e $work/prefix-nohelper/bin/multiarch-image ]] || fail "a helper was installed"
    cmake -S "$repo_root/tests/projects/consumer" -B "$work/nohelper" -G Ninja -DMODE=find_package \
      -DCMAKE_PREFIX_PATH="$work/prefix-nohelper" -DMULTIARCH_IMAGE_HELPER="$MULTIARCH_TEST_HELPER" >/dev/null \
      || fail "find_package of a package without the helper failed"
    echo "ok: the package without a helper is found and uses MULTIARCH_IMAGE_HELPER"
    ;;
  fetchcontent)
    # With a prebuilt helper (MULTIARCH_IMAGE_HELPER): the helper's own build tree is the same code for
    # FetchContent and add_subdirectory, and the subdirectory case builds it.
    settings+=(-DMULTIARCH_IMAGE_GIT="$repo_root" -DMULTIARCH_IMAGE_GIT_TAG="$(git -C "$repo_root" rev-parse HEAD)"
               -DMULTIARCH_IMAGE_HELPER="$MULTIARCH_TEST_HELPER")
    ;;
  subdirectory)
    # The consumer's own copy of this repository, as a project vendors it: the files of this checkout
    # (tracked and new, not its build trees). The test edits one of its sources below.
    step "vendor a copy of cmake-multiarch-image"
    vendored=$work/cmake-multiarch-image
    mkdir -p "$vendored"
    git -C "$repo_root" ls-files -z --cached --others --exclude-standard |
      tar -C "$repo_root" --null --ignore-failed-read -T - -cf - | tar -C "$vendored" -xf -
    [[ -f $vendored/CMakeLists.txt && -d $vendored/helper/src ]] || fail "the copy of the repository is incomplete"
    settings+=(-DMULTIARCH_IMAGE_SOURCE_DIR="$vendored")
    step "a build type the helper is not built with is refused, naming the valid ones"
    if output=$(cmake -S "$repo_root/tests/projects/consumer" -B "$work/bad-type" -G Ninja "${settings[@]}" \
                  -DMULTIARCH_IMAGE_HELPER_BUILD_TYPE=Fast 2>&1); then
      fail "MULTIARCH_IMAGE_HELPER_BUILD_TYPE=Fast was accepted"
    fi
    # (CMake wraps a message's lines: read as one)
    grep -q "MULTIARCH_IMAGE_HELPER_BUILD_TYPE \`Fast\` is not a build type.*valid: Release, RelWithDebInfo, Debug, MinSizeRel, None" \
      <<<"$(tr -s ' \n' ' ' <<<"$output")" ||
      fail "unexpected message: $output"
    echo "ok: MULTIARCH_IMAGE_HELPER_BUILD_TYPE=Fast is refused"
    # None: the compiler's defaults, no optimizer; the quickest compile of the helper (a third less
    # than Release here), which this test makes from scratch. What is tested does not depend on it.
    settings+=(-DMULTIARCH_IMAGE_HELPER_BUILD_TYPE=None)
    step "a cross-compiling consumer must name a host helper"
    cross=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 -DCMAKE_CXX_COMPILER=aarch64-linux-gnu-g++)
    if output=$(cmake -S "$repo_root/tests/projects/consumer" -B "$work/cross" -G Ninja "${settings[@]}" "${cross[@]}" 2>&1); then
      fail "configuring a cross-compiling consumer without a host helper succeeded"
    fi
    grep -q "this project cross-compiles" <<<"$output" || fail "unexpected message: $output"
    echo "ok: cross-compiling without a host helper is refused with an explanation"
    cmake -S "$repo_root/tests/projects/consumer" -B "$work/cross" -G Ninja "${settings[@]}" "${cross[@]}" \
      -DMULTIARCH_IMAGE_HELPER="$MULTIARCH_TEST_HELPER" >/dev/null
    echo "ok: with MULTIARCH_IMAGE_HELPER it configures"
    ;;
esac

step "configure and publish the consumer's image ($mode)"
cmake -S "$repo_root/tests/projects/consumer" -B "$work/build" -G Ninja "${settings[@]}"
targets=$(cmake --build "$work/build" --target help)
for unwanted in multiarch-image-unit-tests hello-build; do
  if grep -q "^$unwanted:" <<<"$targets"; then fail "the consumer's build has our target $unwanted"; fi
done
echo "ok: no tests or examples of ours in the consumer's build"
cmake --build "$work/build" --target image-push 2>&1 | tee "$work/publish.log"
# The helper compiled in the consumer's build (subdirectory: a unity build) prints no warnings there.
if grep -E "helper/src/.*warning:" "$work/publish.log"; then fail "the helper's compile warned in the consumer's build"; fi
for platform in linux/amd64 linux/arm64; do
  output=$(run_image docker "$REGISTRY/consumer/greeter-$mode:3.1.0" "$platform")
  assert_eq "$output" "greetings from a consumer project" "the consumer's image runs ($platform)"
done
staged=$work/build/multiarch-image/greeter/context/.multiarch-stage/linux-arm64/usr/local/bin/greeter
assert_eq "$(readelf -h "$staged" | sed -n 's/^ *Machine: *//p')" AArch64 "the arm64 image's program, cross-compiled"

if [[ $mode != find_package ]]; then
  step "the consumer's no-op never looks at Boost (subdirectory: the helper built in a tree of its own)"
  if [[ $mode == subdirectory ]]; then
    helper_build=$work/build/multiarch-image/helper-build
    [[ -x $helper_build/multiarch-image ]] || fail "no helper in $helper_build"
    grep -qx 'CMAKE_BUILD_TYPE:STRING=None' "$helper_build/CMakeCache.txt" ||
      fail "the helper was not built with MULTIARCH_IMAGE_HELPER_BUILD_TYPE's None"
  else
    [[ ! -e $work/build/_deps/multiarch_image-build/helper-build ]] || fail "a helper was built although one was named"
  fi
  # Ninja's answers first (a failing ninja must not read as "no Boost header"), each holding what it must.
  deps=$(ninja -C "$work/build" -t deps) || fail "ninja -t deps failed"
  grep -q "greeter" <<<"$deps" || fail "the consumer's deps log does not list the greeter's objects:\n$deps"
  inputs=$(ninja -C "$work/build" -t inputs image-push) || fail "ninja -t inputs image-push failed"
  grep -q "spec.json" <<<"$inputs" || fail "image-push's inputs do not list the image's spec:\n$inputs"
  assert_eq "$(grep -c '/boost/' <<<"$deps" || true)" 0 "Boost headers in the consumer's deps log"
  assert_eq "$(grep -c '/boost/' <<<"$inputs" || true)" 0 "Boost headers among image-push's inputs"
  cmake --build "$work/build" --target image-push >"$work/noop.log"
  # (the cross sub-build is asked every time, by design: it answers with nothing to do)
  ! grep -E "multiarch-image: (build [^ ]+ linux/|push |manifest |stage |build the helper)" "$work/noop.log" ||
    fail "the no-op ran steps:\n$(cat "$work/noop.log")"
  echo "ok: a no-op with the helper's own build runs nothing"
fi

if [[ $mode == subdirectory ]]; then
  step "an edit of a source in a subfolder of helper/src rebuilds the consumer's helper; then a no-op again"
  edited=$(cd "$vendored/helper/src" && find . -mindepth 2 -name '*.cpp' | sort | head -n 1)
  edited=${edited#./}
  [[ -n $edited ]] || fail "no source in a subfolder of helper/src"
  touch "$work/before-edit"
  echo "// an edit in the consumer's copy (e2e.consumer.subdirectory)" >>"$vendored/helper/src/$edited"
  cmake --build "$work/build" --target image-push >"$work/edit.log"
  grep -q "multiarch-image: build the helper" "$work/edit.log" || fail "the edit of $edited did not rebuild the helper:\n$(cat "$work/edit.log")"
  # A unity build (the helper's own tree is one): the batch that includes the edited source is compiled.
  batch=$(grep -lF "helper/src/$edited\"" "$helper_build"/CMakeFiles/multiarch-image-core.dir/Unity/unity_*_cxx.cxx) ||
    fail "no unity source of the helper's build includes $edited"
  grep -qF "Unity/$(basename "$batch").o" "$work/edit.log" ||
    fail "the helper's build did not compile $edited (in $(basename "$batch")):\n$(cat "$work/edit.log")"
  [[ $helper_build/multiarch-image -nt $work/before-edit ]] || fail "the helper was not relinked"
  echo "ok: editing helper/src/$edited rebuilt the consumer's helper"
  cmake --build "$work/build" --target image-push >"$work/noop-after-edit.log"
  ! grep -E "multiarch-image: (build [^ ]+ linux/|push |manifest |stage |build the helper)" "$work/noop-after-edit.log" ||
    fail "the build after the helper's rebuild ran steps:\n$(cat "$work/noop-after-edit.log")"
  echo "ok: the build after it runs nothing"

  step "another MULTIARCH_IMAGE_HELPER_BUILD_TYPE rebuilds the helper (a dry run)"
  cmake "$work/build" -DMULTIARCH_IMAGE_HELPER_BUILD_TYPE=RelWithDebInfo >/dev/null
  dry=$(ninja -C "$work/build" -n image-push) || fail "ninja -n image-push failed"
  grep -q "multiarch-image: build the helper" <<<"$dry" || fail "a new build type would not rebuild the helper:\n$dry"
  echo "ok: the helper is out of date once its build type changes"
fi

if [[ $mode == fetchcontent ]]; then
  step "the sub-build used the sources the main build fetched: no clone of its own"
  compgen -G "$work/build/multiarch-image-cross/*/_deps/multiarch_image-src" >/dev/null && fail "the sub-build cloned the module again"
  grep -q "^set(FETCHCONTENT_SOURCE_DIR_MULTIARCH_IMAGE \[=\[$work/build/_deps/multiarch_image-src\]=\]" \
    "$work"/build/multiarch-image-cross/*.cmake || fail "FetchContent's source directory was not forwarded"
  echo "ok: FETCHCONTENT_SOURCE_DIR_MULTIARCH_IMAGE forwarded"
fi

step "the consumer's install has its program and none of our files"
cmake --install "$work/build" --prefix "$work/installed" >/dev/null
[[ -x $work/installed/bin/greeter ]] || fail "the consumer's own program was not installed"
if [[ $mode != find_package ]]; then
  leaked=$(cd "$work/installed" && find . -path ./bin/greeter -prune -o -type f -print)
  [[ -z $leaked ]] || fail "our files in the consumer's install: $leaked"
fi
echo "ok: only the consumer's files installed"
