#!/usr/bin/env bash
# What docker 29's containerd image store pushes for one platform, made in the registry after the
# plain push: an OCI index under the pushed tag holding the image and BuildKit's default provenance,
# an attestation manifest (platform unknown/unknown, annotated with the image's digest) whose layer
# is an in-toto statement. Prints what `docker push` then prints: "<tag>: digest: <index> size: <n>".
#   provenance.sh <registry>/<path>:<tag>      (a plain-HTTP loopback registry without auth)
set -euo pipefail
reference=${1:?usage: provenance.sh <registry>/<path>:<tag>}
registry=${reference%%/*} rest=${reference#*/}
path=${rest%:*} tag=${rest##*:}
base=http://$registry/v2/$path
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT

digest_of() { printf 'sha256:%s' "$(sha256sum "$1" | cut -d' ' -f1)"; }
upload() {  # upload FILE: a monolithic blob upload; prints its digest
  local digest location
  digest=$(digest_of "$1")
  location=$(curl -fsS -X POST -D - -o /dev/null "$base/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ $location == http* ]] || location=http://$registry$location
  [[ $location == *\?* ]] && location+="&" || location+="?"
  curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$1" "${location}digest=$digest" -o /dev/null
  printf '%s' "$digest"
}
put_manifest() {  # put_manifest FILE MEDIA_TYPE REFERENCE
  curl -fsS -X PUT -H "Content-Type: $2" --data-binary @"$1" "$base/manifests/$3" -o /dev/null
}

curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
  "$base/manifests/$tag" -o "$scratch/image.json"
image_digest=$(digest_of "$scratch/image.json")
curl -fsS "$base/blobs/$(jq -r .config.digest "$scratch/image.json")" -o "$scratch/config.json"

# The same statement for every tag of the image: each push of it prints the same index digest.
jq -cn --arg d "${image_digest#sha256:}" '{_type: "https://in-toto.io/Statement/v0.1",
  predicateType: "https://slsa.dev/provenance/v0.2", subject: [{name: "image", digest: {sha256: $d}}],
  predicate: {builder: {id: "multiarch-image tests"}, buildType: "https://mobyproject.org/buildkit@v1"}}' >"$scratch/statement.json"
statement=$(upload "$scratch/statement.json")
jq -cn --arg s "$statement" '{architecture: "unknown", os: "unknown", config: {}, rootfs: {type: "layers", diff_ids: [$s]}}' \
  >"$scratch/att-config.json"
att_config=$(upload "$scratch/att-config.json")
jq -cn --arg c "$att_config" --argjson cs "$(stat -c %s "$scratch/att-config.json")" \
  --arg s "$statement" --argjson ss "$(stat -c %s "$scratch/statement.json")" '{schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
  layers: [{mediaType: "application/vnd.in-toto+json", digest: $s, size: $ss,
            annotations: {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}}]}' >"$scratch/attestation.json"
attestation=$(digest_of "$scratch/attestation.json")
put_manifest "$scratch/attestation.json" application/vnd.oci.image.manifest.v1+json "$attestation"

jq -cn --arg it "$(jq -r .mediaType "$scratch/image.json")" --arg id "$image_digest" \
  --argjson is "$(stat -c %s "$scratch/image.json")" --argjson platform "$(jq -c '{architecture, os} + (if .variant then {variant} else {} end)' "$scratch/config.json")" \
  --arg ad "$attestation" --argjson asize "$(stat -c %s "$scratch/attestation.json")" '{schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{mediaType: $it, digest: $id, size: $is, platform: $platform},
              {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $ad, size: $asize,
               annotations: {"vnd.docker.reference.digest": $id, "vnd.docker.reference.type": "attestation-manifest"},
               platform: {architecture: "unknown", os: "unknown"}}]}' >"$scratch/index.json"
put_manifest "$scratch/index.json" application/vnd.oci.image.index.v1+json "$tag"
printf '%s: digest: %s size: %s\n' "$tag" "$(digest_of "$scratch/index.json")" "$(stat -c %s "$scratch/index.json")"
