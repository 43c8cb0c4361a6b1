#!/usr/bin/env bash
# Native builders with podman: linux/arm64 and linux/arm/v7 are built by a podman service with a
# store of its own (reached with --url), linux/amd64 by the local podman. Each image is only in its
# builder's store, and the published index holds all three with the recorded digests.
. "$(dirname "$0")/lib.sh"
service_dir=$(mktemp -d /tmp/mai-podman-XXXXXX)   # short: the socket path is limited to 108 bytes
podman --root "$service_dir/root" --runroot "$service_dir/run" system service --time=0 "unix://$service_dir/podman.sock" \
  >"$work/service.log" 2>&1 &
service_pid=$!
cleanup_service() {
  kill "$service_pid" 2>/dev/null || true; wait "$service_pid" 2>/dev/null || true
  podman --root "$service_dir/root" --runroot "$service_dir/run" system reset --force >/dev/null 2>&1 || true
  grep -E " $service_dir/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$service_dir"
}
on_exit cleanup_service
remote=unix://$service_dir/podman.sock
wait_for 10 "the podman service" podman --url "$remote" version || fail "the podman service did not start"
repository=$REGISTRY/e2e/builders-podman

configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE=podman -DHELLO_REPOSITORY="$repository" \
  -DHELLO_BUILDERS="linux/arm64=$remote;linux/arm/v7=$remote"
cmake --build "$work/build" --target image-push -j3

declare -A suffix=([linux/amd64]=amd64 [linux/arm64]=arm64 [linux/arm/v7]=armv7)
declare -A remote_built=([linux/amd64]=no [linux/arm64]=yes [linux/arm/v7]=yes)
for platform in "${!suffix[@]}"; do
  ref=$repository:1.0.0-${suffix[$platform]}
  if podman --url "$remote" image exists "$ref"; then in_remote=yes; else in_remote=no; fi
  if podman image exists "$ref"; then in_local=yes; else in_local=no; fi
  assert_eq "$in_remote" "${remote_built[$platform]}" "$platform image in the service's store"
  [[ ${remote_built[$platform]} == yes ]] && want_local=no || want_local=yes
  assert_eq "$in_local" "$want_local" "$platform image in the local store"
done
index=$(skopeo inspect --tls-verify=false --raw "docker://$repository:1.0.0")
assert_eq "$(jq -r '[.manifests[].digest] | sort | join(" ")' <<<"$index")" \
  "$(jq -r '[.platforms[].digest] | sort | join(" ")' "$work/build/multiarch-image/hello/metadata.json")" "index digests"
assert_eq "$(run_image podman "$repository:1.0.0" linux/arm64 2>/dev/null | head -1 | cut -d' ' -f1-3)" "hello from linux/arm64" \
  "podman run linux/arm64"
