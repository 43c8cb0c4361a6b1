// OCI 1.1 referrers: documents (a signature, an SBOM, provenance) published as artifact manifests
// whose `subject` is the manifest they describe. A registry with the referrers API indexes them
// itself (it answers the manifest's PUT with OCI-Subject); for one without it (distribution 2.8) the
// client keeps the referrers tag schema: an OCI index tagged `sha256-<hex of the subject's digest>`
// that lists them, read, added to, de-duplicated, written and read back.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "oci/descriptor.hpp"
#include "oci/media_types.hpp"
#include "registry/client.hpp"

namespace mai {

struct Artifact {
  std::string artifact_type;  // e.g. application/vnd.cyclonedx+json
  std::string media_type;     // of its one layer, the document
  std::string document;
  std::map<std::string, std::string> annotations;
};

// The artifact manifest for `artifact` referring to `subject`: compact JSON, the same bytes for the
// same input.
std::string artifact_manifest(const Artifact& artifact, const Descriptor& subject);

// The tag the referrers tag schema gives the index of `subject_digest`'s referrers: sha256-<hex>.
std::string referrers_tag(const std::string& subject_digest);

// Publishes `artifact` as a referrer of `subject` (a manifest in the client's repository): its blobs,
// its manifest by digest, and, unless the registry said it indexes subjects, the referrers tag (a tag
// that holds anything but an OCI index is reported, never overwritten; a descriptor already listed
// is not added twice). Returns the artifact manifest's descriptor. Publishing the same artifact again
// changes nothing.
Descriptor attach(RegistryClient& client, const Descriptor& subject, const Artifact& artifact, const Log& log);
// The same for several artifacts of one subject (a platform's SBOM and provenance): each published,
// then the referrers tag read, written and read back once for all. Their descriptors, in order.
std::vector<Descriptor> attach(RegistryClient& client, const Descriptor& subject, const std::vector<Artifact>& artifacts,
                               const Log& log);

// The referrers of `subject_digest`: from the registry's referrers API when it has one, else from the
// referrers tag (none when the tag does not exist). A tag holding something else is an error.
std::vector<Descriptor> referrers(RegistryClient& client, const std::string& subject_digest);

}  // namespace mai
