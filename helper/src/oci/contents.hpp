// What a manifest points at, as a copy of it between repositories needs it: an index's manifests, an
// image or artifact manifest's config and layers, and the subject an artifact names.
#pragma once

#include <string>
#include <vector>

#include "oci/descriptor.hpp"

namespace mai {

struct ManifestContents {
  std::vector<Descriptor> manifests;  // an index's entries
  std::vector<Descriptor> blobs;      // a manifest's config, then its layers (foreign ones, with `urls`, left out)
  std::string subject;                // the digest an artifact manifest's `subject` names; "" none
  std::string artifact_type;          // its `artifactType`, else its config's media type (the image spec's rule)
};

// Throws Error(verify_failed) naming `what` when `bytes` is not a manifest or index of `media_type`'s
// kind (an index: its `manifests`; else a `config` and `layers`), or a descriptor in it has no sha256
// digest or no whole, non-negative size.
ManifestContents manifest_contents(const std::string& bytes, const std::string& media_type, const std::string& what);

}  // namespace mai
