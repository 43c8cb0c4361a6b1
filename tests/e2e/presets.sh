#!/usr/bin/env bash
# The workflow preset of CMakePresets.json that a newcomer runs first: configure examples/hello,
# publish it to $REGISTRY, run its per-platform image tests.
. "$(dirname "$0")/lib.sh"
cd "$repo_root"
rm -rf build/preset-demo
cmake --workflow --preset demo | tee "$work/workflow.log"
grep -q "100% tests passed, 0 tests failed out of 3" "$work/workflow.log" || fail "the image tests did not pass"
assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$REGISTRY/demo/hello:1.0.0" | jq '.manifests | length')" 3 \
  "platforms published by the demo workflow"
rm -rf build/preset-demo
