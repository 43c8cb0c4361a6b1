#!/usr/bin/env bash
# The matrix recipes' shell steps (docs/ci/matrix-job.sh, which docs/ci/github-actions-matrix.yml and
# docs/ci/gitlab-ci-matrix.yml run) against a registry with Basic auth, on tests/projects/matrix (an
# image the helper assembles: no engine, no emulation, no privileges): two build trees as the jobs of
# two runners, each pushing one platform and no list (one tree with Unix Makefiles, one with Ninja
# Multi-Config, as CMAKE_GENERATOR chooses); a third as the merge job (Ninja), handed the jobs'
# artifacts, publishing the list over exactly the digests they pushed with each platform's SBOM and
# provenance listed; refusals of records that do not fit; the password nowhere.
. "$(dirname "$0")/lib.sh"
job=$repo_root/docs/ci/matrix-job.sh
grep -q 'docs/ci/matrix-job.sh push' "$repo_root/docs/ci/github-actions-matrix.yml" || fail "the GitHub recipe does not run the job step"
grep -q 'docs/ci/matrix-job.sh merge' "$repo_root/docs/ci/github-actions-matrix.yml" || fail "the GitHub recipe does not run the merge step"
grep -q 'docs/ci/matrix-job.sh push' "$repo_root/docs/ci/gitlab-ci-matrix.yml" || fail "the GitLab recipe does not run the job step"
grep -q 'docs/ci/matrix-job.sh merge' "$repo_root/docs/ci/gitlab-ci-matrix.yml" || fail "the GitLab recipe does not run the merge step"
start_ci_registry
# No engine: the jobs log in by writing the credentials file the helper reads (REGISTRY_LOGIN=file).
export DOCKER_CONFIG=$work/docker-config REGISTRY_LOGIN=file
repository=$REGISTRY/ci/greeting
auth=(--tls-verify=false --authfile "$DOCKER_CONFIG/config.json")
cp -r "$repo_root/tests/projects/matrix" "$work/src"
export SOURCE_DIR=$work/src
settings=(-DMULTIARCH_IMAGE_SOURCE_DIR="$repo_root" -DMATRIX_REPOSITORY="$repository")

watch_processes

step "two jobs, one platform each: each pushes its platform by digest and no list"
declare -A pushed
declare -A generator=([linux/amd64]="Unix Makefiles" [linux/arm64]="Ninja Multi-Config")
for platform in linux/amd64 linux/arm64; do
  suffix=${platform//\//-}
  configure "$work/src" "$work/job-$suffix" "${settings[@]}" -G "${generator[$platform]}" >/dev/null
  CMAKE_GENERATOR=${generator[$platform]} BUILD_DIR=$work/job-$suffix RECORDS_DIR=$work/artifacts/records-$suffix bash "$job" push "$platform" \
    >"$work/job-$suffix.log" 2>&1 || fail "the $platform job failed:\n$(tail -30 "$work/job-$suffix.log")"
  record=$work/artifacts/records-$suffix/greeting/push-$suffix.json
  [[ -f $record ]] || fail "the $platform job left no push record in its artifact"
  pushed[$platform]=$(jq -r .digest "$record")
  other=linux-amd64; [[ $suffix == linux-amd64 ]] && other=linux-arm64
  [[ ! -e $work/job-$suffix/multiarch-image/greeting/build-$other.json ]] || fail "the $platform job built $other"
  [[ ! -e $work/job-$suffix/multiarch-image/greeting/metadata.json ]] || fail "the $platform job published a list"
  echo "ok: $platform pushed as ${pushed[$platform]}"
done
assert_eq "$(engine_calls)" 0 "engine commands of the jobs"
skopeo inspect "${auth[@]}" --raw "docker://$repository:1.0.0" >/dev/null 2>&1 && fail "a job published the list under 1.0.0"
echo "ok: nothing at $repository:1.0.0 before the merge"

step "a job run again later moves the platform tag; the merge still takes the digest its record names"
cp -r "$work/src" "$work/src-later" && echo "a later greeting" >"$work/src-later/greeting.txt"
configure "$work/src-later" "$work/job-later" "${settings[@]}" >/dev/null
SOURCE_DIR=$work/src-later BUILD_DIR=$work/job-later RECORDS_DIR=$work/later bash "$job" push linux/arm64 \
  >"$work/job-later.log" 2>&1 || fail "the later job failed:\n$(tail -30 "$work/job-later.log")"
later=$(jq -r .digest "$work/later/greeting/push-linux-arm64.json")
[[ $later != "${pushed[linux/arm64]}" ]] || fail "the later job pushed the same digest"

step "records that do not fit are refused, with nothing published"
refuse() {  # refuse WHAT RECORDS_DIR REGEX
  rm -rf "$work/refuse"
  configure "$work/src" "$work/refuse" "${settings[@]}" >/dev/null
  if RECORDS_DIR=$2 BUILD_DIR=$work/refuse bash "$job" merge >"$work/refuse.log" 2>&1; then
    fail "$1: the merge succeeded"
  fi
  grep -qE "$3" "$work/refuse.log" || fail "$1: no message matching [$3]:\n$(tail -20 "$work/refuse.log")"
  [[ ! -e $work/refuse/multiarch-image/greeting/metadata.json ]] || fail "$1: a metadata.json was written"
  skopeo inspect "${auth[@]}" --raw "docker://$repository:1.0.0" >/dev/null 2>&1 && fail "$1: a list was published"
  echo "ok: $1 refused: $(grep -oE "$3" "$work/refuse.log" | head -1)"
}
refuse "a missing platform" "$work/artifacts/records-linux-amd64" "no push record of greeting for linux/arm64"
mkdir -p "$work/foreign/greeting" "$work/unknown/greeting"
cp -r "$work/artifacts/." "$work/foreign/" && cp -r "$work/artifacts/." "$work/unknown/"
f=$work/foreign/records-linux-arm64/greeting/push-linux-arm64.json
jq --arg r "$REGISTRY/ci/other" '.repository = $r' "$f" >"$f.new" && mv "$f.new" "$f"
refuse "another repository" "$work/foreign" "push of greeting to [^ ]*/ci/other, but the image's REPOSITORY is"
f=$work/unknown/records-linux-arm64/greeting/push-linux-arm64.json
jq '.digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"' "$f" >"$f.new" && mv "$f.new" "$f"
refuse "a digest the registry does not hold" "$work/unknown" "sha256:1{64} \(linux/arm64\) that .* records is not in the registry"
cp -r "$work/later" "$work/artifacts-twice" && cp -r "$work/artifacts/." "$work/artifacts-twice/"
refuse "two runs of one job" "$work/artifacts-twice" "two push records of greeting for linux/arm64 name other digests"

step "the merge job publishes the list over exactly the digests the jobs pushed"
configure "$work/src" "$work/merge" "${settings[@]}" >/dev/null
mark=$(registry_mark "$work/registry/registry.log")
BUILD_DIR=$work/merge RECORDS_DIR=$work/artifacts bash "$job" merge >"$work/merge.log" 2>&1 ||
  fail "the merge failed:\n$(tail -30 "$work/merge.log")"
registry_requests "$work/registry/registry.log" "$mark" '^(POST|PATCH|PUT .*/blobs/)' | grep . &&
  fail "the merge uploaded blobs"
index=$(skopeo inspect "${auth[@]}" --raw "docker://$repository:1.0.0")
assert_eq "$(jq '.manifests | length' <<<"$index")" 2 "entries of the list"
for platform in linux/amd64 linux/arm64; do
  os=${platform%/*} arch=${platform#*/}
  assert_eq "$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' <<<"$index")" \
    "${pushed[$platform]}" "$platform's digest in the list (the job's)"
  metadata_digest=$(jq -r --arg p "$platform" '.platforms[] | select(.platform == $p) | .digest' "$work/merge/multiarch-image/greeting/metadata.json")
  assert_eq "$metadata_digest" "${pushed[$platform]}" "$platform's digest in metadata.json"
  # Its SBOM and provenance, which the job attached, listed in the referrers tag of its digest.
  hex=${pushed[$platform]#sha256:}
  referrers=$(skopeo inspect "${auth[@]}" --raw "docker://$repository:sha256-$hex")
  record=$work/artifacts/records-${platform//\//-}/greeting/push-${platform//\//-}.json
  for kind in sbom provenance; do
    want=$(jq -r ".$kind" "$record")
    [[ $want == sha256:* ]] || fail "$platform's job recorded no $kind"
    jq -e --arg d "$want" '.manifests[] | select(.digest == $d)' <<<"$referrers" >/dev/null ||
      fail "$platform's $kind $want is not among its referrers: $referrers"
  done
  assert_eq "$(jq -r '[.manifests[].artifactType] | sort | join(" ")' <<<"$referrers")" \
    "application/vnd.cyclonedx+json application/vnd.in-toto+json" "$platform's referrers"
done
grep -q "published and verified $repository:1.0.0@" "$work/merge.log" || fail "the merge did not verify the list"

step "the merge run again with nothing changed is a no-op; a record replaced publishes again"
cmake --build "$work/merge" --target image-push >"$work/noop.log" 2>&1 || fail "the rerun failed"
grep -q "ninja: no work to do" "$work/noop.log" || fail "the rerun ran steps:\n$(cat "$work/noop.log")"
echo "ok: nothing ran"
cp "$work/later/greeting/push-linux-arm64.json" "$work/artifacts/records-linux-arm64/greeting/push-linux-arm64.json"
cmake --build "$work/merge" --target image-push >"$work/again.log" 2>&1 || fail "the merge of the new record failed:\n$(tail -20 "$work/again.log")"
assert_eq "$(skopeo inspect "${auth[@]}" --raw "docker://$repository:1.0.0" | jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')" \
  "$later" "arm64's digest after its record was replaced"
assert_eq "$(engine_calls)" 0 "engine commands in all"

stop_watching_processes
assert_secret_found "the password" "$password" "$DOCKER_CONFIG/config.json"
assert_no_secret "the password" "$password" "$work"/job-* "$work/merge" "$work/artifacts" "$work"/*.log "$work/ps.txt" "$work/registry"
