#!/usr/bin/env bash
# The config fields people set (tests/projects/permissions, image bind80-service, amd64 and arm64 from
# a cross sub-build): VOLUMES and STOP_SIGNAL in every platform's config, as docker and podman read
# them after a pull; MANIFEST_ANNOTATIONS on every platform's manifest, not only the index; ENV
# extending the PATH (`PATH=/opt/bind80/bin:$PATH` on scratch: the default PATH after it). Then an
# image on that one from the registry (bind80-extended) whose ENV names what its base sets
# (`$PATH`, `${BIND80_HOME}`), its base's volumes and stop signal kept and its own volume added.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
repository=$REGISTRY/e2e/bind80
default_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cp -r "$repo_root/tests/projects/permissions" "$work/src"
configure "$work/src" "$work/b" "-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root" "-DBIND80_REPOSITORY=$repository" >/dev/null

step "bind80-service published"
cmake --build "$work/b" --target bind80-service-push -j2 >"$work/push.log" 2>&1 ||
  fail "publish failed:\n$(tail -30 "$work/push.log")"

# check IMAGE PLATFORM VOLUMES STOPSIGNAL ENV DESCRIPTION: the platform's config in the registry, and
# its manifest's description annotation ("null": none).
check() {
  local image=$1 platform=$2 arch=${2#linux/} config index digest
  config=$(skopeo inspect --tls-verify=false --config --override-arch "$arch" "docker://$image:latest")
  assert_eq "$(jq -cS '.config.Volumes' <<<"$config")" "$3" "$image $platform Volumes (keys sorted)"
  assert_eq "$(jq -r '.config.StopSignal' <<<"$config")" "$4" "$image $platform StopSignal"
  assert_eq "$(jq -r '.config.Env | join(" ")' <<<"$config")" "$5" "$image $platform Env"
  index=$(skopeo inspect --tls-verify=false --raw "docker://$image:latest")
  digest=$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' <<<"$index")
  assert_eq "$(skopeo inspect --tls-verify=false --raw "docker://$image@$digest" |
                 jq -r '.annotations["org.opencontainers.image.description"]')" \
    "$6" "$image $platform: the manifest's annotation"
}

step "every platform's config and manifest"
for platform in linux/amd64 linux/arm64; do
  check "$repository-service" $platform '{"/var/lib/bind80":{}}' SIGINT \
    "PATH=/opt/bind80/bin:$default_path BIND80_HOME=/var/lib/bind80" "bind80, a port 80 service"
done

step "docker and podman read them"
for platform in linux/amd64 linux/arm64; do
  "$MULTIARCH_TEST_DOCKER" pull -q --platform $platform "$repository-service:latest" >/dev/null
  assert_eq "$("$MULTIARCH_TEST_DOCKER" image inspect --format '{{json .Config.Volumes}} {{.Config.StopSignal}}' \
                 "$repository-service:latest")" '{"/var/lib/bind80":{}} SIGINT' "docker $platform"
  podman pull -q --tls-verify=false --platform $platform "$repository-service:latest" >/dev/null
  assert_eq "$(podman image inspect --format '{{json .Config.Volumes}} {{.Config.StopSignal}}' \
                 "$repository-service:latest")" '{"/var/lib/bind80":{}} SIGINT' "podman $platform"
done

step "an image on it: ENV names what the base sets, the base's volume and signal kept"
configure "$work/src" "$work/b" -DBIND80_ON_BASE=ON >/dev/null
cmake --build "$work/b" --target bind80-extended-push -j2 >"$work/extended.log" 2>&1 ||
  fail "publish failed:\n$(tail -30 "$work/extended.log")"
for platform in linux/amd64 linux/arm64; do
  check "$repository-extended" $platform '{"/srv/extra":{},"/var/lib/bind80":{}}' SIGINT \
    "BIND80_HOME=/var/lib/bind80 PATH=/opt/extra/bin:/opt/bind80/bin:$default_path BIND80_STATE=/var/lib/bind80/state" \
    null  # annotations are each image's own: the base's are not carried over
done
