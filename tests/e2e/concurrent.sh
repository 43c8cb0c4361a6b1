#!/usr/bin/env bash
# Two build trees push different tags of the same repository at the same time; both manifest lists
# are right afterwards.
#   concurrent.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
repository=$REGISTRY/e2e/concurrent-$engine
for tree in a b; do
  configure "$repo_root/examples/hello" "$work/$tree" \
    -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$repository" -DHELLO_TAGS="tree-$tree" \
    -DHELLO_GREETING="from tree $tree" >/dev/null
done
cmake --build "$work/a" --target image-push -j2 >"$work/a.log" 2>&1 & a=$!
cmake --build "$work/b" --target image-push -j2 >"$work/b.log" 2>&1 & b=$!
wait "$a" || fail "tree a failed:\n$(tail -20 "$work/a.log")"
wait "$b" || fail "tree b failed:\n$(tail -20 "$work/b.log")"
for tree in a b; do
  index=$(skopeo inspect --tls-verify=false --raw "docker://$repository:tree-$tree")
  assert_eq "$(jq -r '[.manifests[].digest] | sort | join(" ")' <<<"$index")" \
    "$(jq -r '[.platforms[].digest] | sort | join(" ")' "$work/$tree/multiarch-image/hello/metadata.json")" "tree $tree index"
  assert_eq "$(run_image "$engine" "$repository:tree-$tree" linux/arm64 2>/dev/null | sed -n 2p)" "greeting: from tree $tree" \
    "tree $tree's image"
done
