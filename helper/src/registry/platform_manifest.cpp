#include "registry/platform_manifest.hpp"

#include "base/error.hpp"
#include "oci/index.hpp"
#include "oci/media_types.hpp"

namespace mai {

Manifest platform_manifest(RegistryClient& client, const ImageReference& reference, const Platform& platform,
                           const std::string& where) {
  auto manifest = client.get_manifest(reference.digest.empty() ? reference.tag : reference.digest);
  if (!manifest) throw Error(Exit::step_failed, where + ": " + reference.repository.str() + " has no such image");
  if (media::is_index(manifest->media_type)) {
    const auto index = parse_index(manifest->bytes, where);
    std::string found, have;
    for (const auto& e : index.entries) {
      if (e.platform == platform.str() && found.empty()) found = e.digest;
      if (e.platform != "unknown/unknown") have += (have.empty() ? "" : ", ") + e.platform;
    }
    if (found.empty()) throw Error(Exit::step_failed, where + " has no " + platform.str() + " image (it has " + have + ")");
    manifest = client.get_manifest(found);
    if (!manifest) throw Error(Exit::step_failed, where + ": its index lists " + found + ", which the registry does not have");
  }
  if (!media::is_image_manifest(manifest->media_type))
    throw Error(Exit::step_failed, where + " is a " + manifest->media_type + ", not an image");
  return *manifest;
}

}  // namespace mai
