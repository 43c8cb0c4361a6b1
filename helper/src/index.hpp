// Manifest lists / OCI indexes read back from a registry, and the check that they hold exactly what
// was pushed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "platform.hpp"

namespace mai {

struct IndexEntry {
  std::string platform;  // normalised; "unknown/unknown" entries (attestations) are kept but never match
  std::string digest;
  std::string media_type;
  std::int64_t size = 0;
};

struct ParsedIndex {
  std::string media_type;
  std::vector<IndexEntry> entries;
};

ParsedIndex parse_index(const std::string& text);  // throws Error(verify_failed) when not an index

// Each expected platform (normalised platform -> pushed digest) must appear exactly once with its digest.
// Returns the matching entries in the order of `expected`; throws Error(verify_failed) naming every problem.
std::vector<IndexEntry> verify_index(const ParsedIndex& index, const std::vector<std::pair<std::string, std::string>>& expected,
                                     const std::string& where);

std::string sha256_digest(const std::string& bytes);  // "sha256:<hex>"

// One platform's manifest as an index lists it, read from the registry.
struct ManifestDescriptor {
  std::string media_type;
  std::string digest;
  std::int64_t size = 0;
  std::string os, architecture, variant;  // from the image's config
};

// The index (OCI image index or Docker manifest list, by `media_type`) over `manifests` in order,
// compact JSON; annotations only in an OCI index.
std::string build_index(const std::string& media_type, const std::vector<ManifestDescriptor>& manifests,
                        const std::vector<std::pair<std::string, std::string>>& annotations);

// True when two index documents say the same apart from the org.opencontainers.image.created
// annotation: republishing one over the other would change nothing but a timestamp.
bool same_index_apart_from_created(const std::string& a, const std::string& b);

// os/architecture/variant of an image config blob; throws Error(verify_failed) when it has none.
ManifestDescriptor platform_of_config(const std::string& config_json, const std::string& what);

// The config digest of an image manifest; throws Error(verify_failed) when it has none.
std::string config_digest_of(const std::string& manifest_json, const std::string& what);

}  // namespace mai
