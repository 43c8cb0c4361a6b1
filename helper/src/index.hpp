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

}  // namespace mai
