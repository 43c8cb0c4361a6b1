#!/usr/bin/env bash
# GIT_TAGS: tags come from git when the build runs. A clean commit at v1.2.3 publishes sha-<short>,
# 1.2.3, 1.2, 1 and latest; a new commit publishes its sha tag without reconfiguring; a modified
# tree publishes sha-<short>-dirty and no release tags; with nothing changed nothing runs.
. "$(dirname "$0")/lib.sh"
repository=$REGISTRY/e2e/git-tags
cp -r "$repo_root/tests/projects/git-tags" "$work/src"
git() { command git -C "$work/src" -c user.name=test -c user.email=test@example.invalid "$@"; }
git init -q && git add -A && git commit -qm first && git tag v1.2.3
tags() { skopeo list-tags --tls-verify=false "docker://$repository" | jq -r '.Tags | sort | join(" ")'; }

step "a clean commit at v1.2.3"
configure "$work/src" "$work/build" \
  -DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMULTIARCH_IMAGE_ENGINE=docker -DTEST_REPOSITORY="$repository" >/dev/null
cmake --build "$work/build" --target image-push >/dev/null
first=$(git rev-parse --short=7 HEAD)
# Tags of the referrers tag schema (sha256-<hex>: provenance statements) are no manifest lists.
lists=$(tags | tr ' ' '\n' | grep -vE -- '-(amd64|arm64)$|^sha256-' | tr '\n' ' ' | sed 's/ $//')
assert_eq "$lists" "$(printf '%s\n' 1 1.2 1.2.3 latest "sha-$first" | sort | tr '\n' ' ' | sed 's/ $//')" "manifest lists"
for tag in 1.2.3 latest "sha-$first"; do
  assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$repository:$tag" | jq '.manifests | length')" 2 "platforms under $tag"
done

step "nothing changed: nothing runs"
reset_engine_calls
cmake --build "$work/build" --target image-push >/dev/null
assert_eq "$(engine_calls)" 0 "engine invocations"

step "a new commit (outside the context) gets its tag without reconfiguring"
echo notes >"$work/src/NOTES.md" && git add NOTES.md && git commit -qm second
second=$(git rev-parse --short=7 HEAD)
cmake --build "$work/build" --target image-push >/dev/null
tags | grep -qw "sha-$second" || fail "no sha-$second tag: $(tags)"
assert_eq "$(jq -r '.tags | join(" ")' "$work/build/multiarch-image/tagged/metadata.json")" "sha-$second" "metadata tags"

step "a modified tree is marked dirty, never tagged as a release"
echo v2 >"$work/src/image/data.txt"
cmake --build "$work/build" --target image-push >/dev/null
assert_eq "$(jq -r '.tags | join(" ")' "$work/build/multiarch-image/tagged/metadata.json")" "sha-$second-dirty" "metadata tags"
tags | grep -qw "sha-$second-dirty" || fail "no dirty tag: $(tags)"
