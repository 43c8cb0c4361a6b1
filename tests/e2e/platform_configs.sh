#!/usr/bin/env bash
# Every pushed image's config in the registry states exactly its own platform, even when another
# platform was built first from the same Dockerfile (podman 4.3's layer cache used to leak the
# arm variant into the amd64 image: linux/amd64/v7).
#   platform_configs.sh docker|podman
. "$(dirname "$0")/lib.sh"
engine=$1
repository=$REGISTRY/e2e/platform-configs-$engine
configure "$repo_root/examples/hello" "$work/build" \
  -DMULTIARCH_IMAGE_ENGINE="$engine" -DHELLO_REPOSITORY="$repository" \
  -DHELLO_PLATFORMS="linux/arm/v7;linux/arm64;linux/amd64"
cmake --build "$work/build" --target hello-build-linux-arm-v7 -j1   # arm/v7 first, alone
cmake --build "$work/build" --target image-push -j1
for platform in linux/arm/v7 linux/arm64 linux/amd64; do
  digest=$(jq -r '.digest' "$work/build/multiarch-image/hello/push-${platform//\//-}.json")
  config=$(skopeo inspect --tls-verify=false --config --raw "docker://$repository@$digest")
  stated=$(jq -r '[.os, .architecture, (.variant // empty)] | join("/")' <<<"$config")
  assert_eq "$stated" "$platform" "platform stated by the pushed config of $platform"
done
