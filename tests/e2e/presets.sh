#!/usr/bin/env bash
# The workflow preset of CMakePresets.json that a newcomer runs first: configure examples/hello,
# publish it to $REGISTRY, run its per-platform image tests. With the suite's helper named in the
# environment (MULTIARCH_IMAGE_HELPER, as CI names one): the preset's tree then builds none of its own
# (nor needs Boost); the main build compiles the same sources already.
. "$(dirname "$0")/lib.sh"
cd "$repo_root"
rm -rf build/preset-demo
MULTIARCH_IMAGE_HELPER=$MULTIARCH_TEST_HELPER cmake --workflow --preset demo | tee "$work/workflow.log"
grep -q "100% tests passed, 0 tests failed out of 3" "$work/workflow.log" || fail "the image tests did not pass"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/demo/hello:1.0.0" | jq '.manifests | length')" 3 \
  "platforms published by the demo workflow"
compiled=$(find build/preset-demo -name multiarch-image -type f)
if [[ -n $compiled ]] || grep -q "Building CXX object .*multiarch-image" "$work/workflow.log"; then
  fail "a helper was compiled although MULTIARCH_IMAGE_HELPER named one in the environment: $compiled"
fi
# The list first: with pipefail, `grep -q` leaving a pipe early can fail its writer, and the check.
targets=$(cmake --build build/preset-demo --target help)
if grep -q '^multiarch-image:' <<<"$targets"; then
  fail "the demo's tree has a helper target (and looked for Boost) although the environment names a helper"
fi
assert_eq "$(sed -n 's/^MULTIARCH_IMAGE_HELPER:FILEPATH=//p' build/preset-demo/CMakeCache.txt)" "$MULTIARCH_TEST_HELPER" \
  "the helper the demo's tree uses"
echo "ok: no helper compiled; the one named in the environment is used"
rm -rf build/preset-demo
