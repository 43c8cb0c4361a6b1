// An image copied from one repository to another without a byte changed (promotion): its manifests
// and their blobs, and the referrers of each manifest (SBOM, provenance, signatures, debug symbols),
// which keep naming their subjects since no digest changes. Blobs are mounted within a registry and
// streamed through a file across registries; what the destination holds already is left alone.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/log.hpp"
#include "oci/descriptor.hpp"
#include "registry/client.hpp"
#include "registry/referrers.hpp"

namespace mai {

struct CopyRequest {
  std::string digest;             // the manifest or index copied
  std::vector<std::string> tags;  // put on it in the destination
  // Referrers known by record, (subject digest, artifact manifest digest): copied even where the
  // source lists none (a registry that keeps them by digest only).
  std::vector<std::pair<std::string, std::string>> documents;
  std::string from_path;          // the source repository's path on its registry (a mount's `from`)
  std::filesystem::path scratch;  // a blob streamed across registries lies here meanwhile (one at a time)
  bool write_tag = true;          // false (PLATFORM_TAGS OFF): no referrers tag written in the destination
};

struct CopiedReferrer {
  std::string subject;
  Descriptor artifact;  // the artifact manifest, with its artifact type
};

struct CopyResult {
  std::string media_type;                      // the copied manifest's
  std::vector<std::string> manifests;          // every manifest below it, itself first
  std::vector<CopiedReferrer> referrers;       // subjects before their own referrers
  ReferrersIndex index = ReferrersIndex::tag;  // where the destination lists them (the weakest of its answers)
  int manifests_put = 0, manifests_present = 0;
  int blobs_mounted = 0, blobs_copied = 0, blobs_present = 0;
  std::int64_t bytes_copied = 0;
  int tags_put = 0;
};

struct CopyDestination {
  RegistryClient* client = nullptr;
  bool same_registry = false;  // on the source's registry: blobs mounted from it instead of uploaded
};

// Copies `request.digest` with everything below it and every referrer of each manifest (and their
// referrers) from `from` to each of `to`, then tags it there; the source is read once for all of
// them. Every manifest put is read back and its digest compared, and so is every tag. Throws when the
// source lacks something or a referrer names another subject (before anything is written), or a
// destination serves other bytes. Results in the order of `to`.
std::vector<CopyResult> copy_image(RegistryClient& from, const std::vector<CopyDestination>& to, const CopyRequest& request,
                                   const Log& log);

}  // namespace mai
