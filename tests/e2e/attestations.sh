#!/usr/bin/env bash
# An engine that pushes an index per platform: docker 29's containerd image store gives every plain
# `docker build` BuildKit's default provenance, so the pushed platform tag holds an OCI index of the
# image and an attestation manifest, and `docker push` prints the index's digest. That engine cannot
# be installed here; its push is made in the test: the real push, then tests/tools/provenance.sh
# writes what docker 29 would have pushed and prints what it would have printed (podman: the
# --digestfile gets the index's digest). The published list must list each image followed by its
# attestation (as `buildx imagetools create` lays them out), verify, record both digests, and run.
#   attestations.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
repository=$REGISTRY/e2e/attest-$engine
provenance=$repo_root/tests/tools/provenance.sh

step "an engine whose push leaves an index with provenance under each platform tag"
case $engine in
  docker) real=$MULTIARCH_TEST_DOCKER ;;
  podman) real=/usr/bin/podman ;;
esac
cat >"$work/bin/$engine" <<SH
#!/usr/bin/env bash
printf '%s\n' "$engine \$*" >>"$work/engine-calls.log"
pushing=0 digestfile=
for ((i = 1; i <= \$#; i++)); do
  [[ \${!i} == push ]] && pushing=1
  if [[ \${!i} == --digestfile ]]; then j=\$((i + 1)); digestfile=\${!j}; fi
done
[[ \$pushing == 1 ]] || exec "$real" "\$@"
"$real" "\$@" || exit
reference=\${!#}
line=\$("$provenance" "\${reference#docker://}") || exit
printf '%s\n' "\$line"
[[ -z \$digestfile ]] || printf '%s' "\$(cut -d' ' -f3 <<<"\$line")" >"\$digestfile"
SH
chmod +x "$work/bin/$engine"

step "publish examples/hello with $engine"
configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$repository" -DHELLO_TAGS=1.0.0
cmake --build "$work/build" --target image-push -j3 | tee "$work/publish.log"

step "each platform tag holds an index of the image and its attestation"
records=$work/build/multiarch-image/hello
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  pushed=$(jq -r .digest "$records/push-${platform//\//-}.json")
  served=$(skopeo inspect --tls-verify=false --raw "docker://$repository@$pushed")
  assert_eq "$(jq -r .mediaType <<<"$served")" application/vnd.oci.image.index.v1+json "what the $platform push left"
done

step "the list: each image followed by its attestation, annotated with the image's digest"
index=$(skopeo inspect --tls-verify=false --raw "docker://$repository:1.0.0")
metadata=$records/metadata.json
assert_eq "$(jq -r .mediaType <<<"$index")" application/vnd.oci.image.index.v1+json "the list's media type"
assert_eq "$(jq '.manifests | length' <<<"$index")" 6 "entries in the list"
i=0
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  IFS=/ read -r os arch variant <<<"$platform"
  pushed=$(jq -r .digest "$records/push-${platform//\//-}.json")
  image=$(jq -r ".manifests[$i].digest" <<<"$index")
  assert_eq "$(jq -r ".manifests[$i].platform | \"\(.os)/\(.architecture)\(if .variant then \"/\" + .variant else \"\" end)\"" <<<"$index")" \
    "$platform" "entry $i"
  attestation=$(jq -r ".manifests[$((i + 1))].digest" <<<"$index")
  assert_eq "$(jq -r ".manifests[$((i + 1))].platform | \"\(.os)/\(.architecture)\"" <<<"$index")" unknown/unknown "entry $((i + 1))"
  assert_eq "$(jq -r ".manifests[$((i + 1))].annotations[\"vnd.docker.reference.digest\"]" <<<"$index")" "$image" \
    "the attestation of $platform names its image"
  # The image is the one inside what the push made, not the pushed index.
  inner=$(skopeo inspect --tls-verify=false --raw "docker://$repository@$pushed" | jq -r '.manifests[0].digest')
  assert_eq "$image" "$inner" "$platform image in the list vs inside its pushed index"
  assert_eq "$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .digest' "$metadata")" "$image" "metadata digest"
  assert_eq "$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .pushed_digest' "$metadata")" "$pushed" \
    "metadata pushed_digest"
  assert_eq "$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .attestations | join(" ")' "$metadata")" \
    "$attestation" "metadata attestations"
  i=$((i + 2))
done

step "each platform, pulled from the list, runs as itself"
for runner in docker podman; do
  for platform in linux/amd64 linux/arm64 linux/arm/v7; do
    output=$(run_image "$runner" "$repository:1.0.0" "$platform")
    assert_eq "$(head -1 <<<"$output" | cut -d' ' -f1-3)" "hello from $platform" "$runner run $platform"
  done
done

step "a rerun with nothing changed runs no engine command"
reset_engine_calls
cmake --build "$work/build" --target image-push -j3
assert_eq "$(engine_calls)" 0 "engine invocations on the no-op rerun"
