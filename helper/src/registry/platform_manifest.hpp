// A reference resolved to one platform's image manifest: a tag or digest read, and an index (an OCI
// index or a Docker manifest list) followed to the platform's entry. What BASE and the SBOM's FROM
// bases are resolved with.
#pragma once

#include <string>

#include "oci/platform.hpp"
#include "oci/reference.hpp"
#include "registry/client.hpp"

namespace mai {

// The manifest of `platform`'s image behind `reference` in `client`'s repository. Errors name
// `where` (e.g. "BASE debian:12") and, when an index lacks the platform, list the platforms it has.
Manifest platform_manifest(RegistryClient& client, const ImageReference& reference, const Platform& platform,
                           const std::string& where);

}  // namespace mai
