// The SBOM of each pushed platform: a CycloneDX 1.6 JSON document, published beside the platform's
// manifest as an OCI 1.1 referrer (artifactType application/vnd.cyclonedx+json).
//
// What it lists comes from what the build knows, nothing guessed: the project (root component, its
// version and git commit), every file the stage step put in the image (the project's programs and
// libraries, the C/C++ runtime with the distribution package that ships each file, INSTALL's files)
// with its path and SHA-256, the base image by digest (pkg:oci), the DT_NEEDED edges between the staged
// ELF files, what the staged programs link (static libraries by the package that ships them, the
// project's own static libraries, the repositories and commits of fetched sources) with the edges from
// each program, and for Dockerfile images the bases of its FROM lines and its build arguments that are
// not secret.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "attest/provenance.hpp"
#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"
#include "oci/media_types.hpp"
#include "oci/platform.hpp"
#include "registry/referrers.hpp"
#include "stage/linked.hpp"
#include "stage/staged_files.hpp"

namespace mai {

// An image the SBOM names as a dependency: an assembled image's BASE or a Dockerfile's FROM.
struct SbomBase {
  std::string reference;   // as written (tag, digest or both)
  std::string repository;  // registry/path
  std::string digest;      // the platform's manifest; "" when it could not be resolved
};

struct SbomInput {
  const Spec& spec;
  Platform platform;
  std::string digest;  // the platform's pushed manifest: the SBOM's subject
  SourceRevision source;
  std::vector<StagedFile> files;
  std::vector<SbomBase> bases;
  Linked linked;  // what the staged files link (static libraries, fetched sources), from the stage step
};

// The document: the same input gives the same bytes (serialNumber derived from the content, the
// timestamp SOURCE_DATE_EPOCH's, and none without it: the clock would make each build's differ).
std::string sbom_document(const SbomInput& input);

// The annotation that marks the documents this helper attaches ("sbom"): an image that has an SBOM
// of ours keeps it, and a rebuild of the same image (another build tree, a later commit) attaches
// no second one.
inline constexpr const char* kDocumentAnnotation = "cmake-multiarch-image.document";
bool is_our_sbom(const Descriptor& referrer);

// The base images of a Dockerfile's FROM lines (stages and scratch left out), ${ARG}s substituted from
// `build_args`, then the ARG defaults before the first FROM. Exposed for tests.
std::vector<std::string> dockerfile_bases(const std::string& dockerfile, const std::vector<BuildArg>& build_args);

// Whether a build argument's name says it holds a secret (TOKEN, PASSWORD, SECRET, KEY, ...): such
// values are never written into an SBOM.
bool secret_name(std::string_view name);

// The platform's SBOM as an OCI artifact (artifactType application/vnd.cyclonedx+json), from the
// stage's file record in `state` and the bases resolved (an assembled image's `base_digest`, a
// Dockerfile's FROM lines through the registry), to be attached to repository@digest.
Artifact sbom_artifact(const Spec& spec, const Platform& platform, const std::string& digest, const std::string& base_digest,
                       const SourceRevision& source, const std::filesystem::path& state, Runner& runner, const Log& log);

}  // namespace mai
