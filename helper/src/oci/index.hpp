// Manifest lists / OCI indexes read back from a registry, and the check that they hold exactly what
// was pushed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "oci/descriptor.hpp"
#include "oci/platform.hpp"

namespace mai {

// BuildKit's attestation manifests: an "unknown/unknown" entry of the index beside the image it
// describes, annotated with that image's digest.
namespace attestation {
inline constexpr const char* type_key = "vnd.docker.reference.type";
inline constexpr const char* type = "attestation-manifest";
inline constexpr const char* digest_key = "vnd.docker.reference.digest";
}  // namespace attestation
bool is_attestation_for(const Descriptor& entry, const std::string& image_digest);

struct ParsedIndex {
  std::string media_type;
  std::vector<Descriptor> entries;
};

// Throws Error(verify_failed) naming `what` when the text is not an index, or an entry is malformed
// (not an object, a digest that is not sha256:<hex>, a size that is not a whole number).
ParsedIndex parse_index(const std::string& text, const std::string& what = "the registry's answer");

// What a published list must hold for one platform: its image, and the attestation manifests the
// engine pushed beside it.
struct ExpectedPlatform {
  std::string platform;  // normalised
  std::string digest;
  std::vector<std::string> attestations;
};
// Each expected platform must appear exactly once with its digest, each of its attestations once,
// annotated as describing it, and nothing else. Returns the platforms' entries in the order of
// `expected`; throws Error(verify_failed) naming every problem.
std::vector<Descriptor> verify_index(const ParsedIndex& index, const std::vector<ExpectedPlatform>& expected,
                                     const std::string& where);

// The index (OCI image index or Docker manifest list, by `media_type`) over `manifests` in order,
// each with its platform, compact JSON; annotations only in an OCI index.
std::string build_index(const std::string& media_type, const std::vector<Descriptor>& manifests,
                        const std::vector<std::pair<std::string, std::string>>& annotations);

// True when two index documents say the same apart from the org.opencontainers.image.created
// annotation: republishing one over the other would change nothing but a timestamp.
bool same_index_apart_from_created(const std::string& a, const std::string& b);

// "os/architecture[/variant]" of an image config blob, as it states them; throws
// Error(verify_failed) when it names no os and architecture.
std::string platform_of_config(const std::string& config_json, const std::string& what);

// The config digest of an image manifest; throws Error(verify_failed) when it has none.
std::string config_digest_of(const std::string& manifest_json, const std::string& what);

}  // namespace mai
