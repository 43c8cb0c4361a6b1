# Sourced by publish.sh and matrix-job.sh: log in to REGISTRY without the password on any command line.
# REGISTRY_LOGIN: docker, podman, or file (no engine: images the helper assembles, BASE, whose registry
# client reads $DOCKER_CONFIG/config.json as docker would); default: podman when
# MULTIARCH_IMAGE_ENGINE is podman, else docker when its client is installed, else file.
: "${REGISTRY:?set REGISTRY}" "${REGISTRY_USER:?set REGISTRY_USER}" "${REGISTRY_PASSWORD:?set REGISTRY_PASSWORD}"
login_with=${REGISTRY_LOGIN:-}
if [[ -z $login_with ]]; then
  if [[ ${MULTIARCH_IMAGE_ENGINE:-} == podman ]]; then login_with=podman
  elif command -v "${MULTIARCH_IMAGE_DOCKER:-docker}" >/dev/null; then login_with=docker
  else login_with=file
  fi
fi
case $login_with in
  docker) printf '%s' "$REGISTRY_PASSWORD" | "${MULTIARCH_IMAGE_DOCKER:-docker}" login --username "$REGISTRY_USER" --password-stdin "$REGISTRY" ;;
  podman) printf '%s' "$REGISTRY_PASSWORD" | "${MULTIARCH_IMAGE_PODMAN:-podman}" login --username "$REGISTRY_USER" --password-stdin "$REGISTRY" ;;
  file)   # printf is a shell builtin: the password reaches base64 on stdin, never an argv
    config_dir=${DOCKER_CONFIG:-$HOME/.docker}
    mkdir -p "$config_dir"
    auth=$(printf '%s:%s' "$REGISTRY_USER" "$REGISTRY_PASSWORD" | base64 -w0)
    (umask 077 && printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REGISTRY" "$auth" >"$config_dir/config.json")
    unset auth ;;
  *) echo "REGISTRY_LOGIN is '$login_with' (valid: docker, podman, file)" >&2; exit 2 ;;
esac
