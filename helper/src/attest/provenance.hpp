// Build provenance: an in-toto Statement v1 whose predicate is SLSA Provenance v1, one per pushed
// platform, its subject the platform's pushed manifest, published beside it as an OCI 1.1 referrer
// (artifactType application/vnd.in-toto+json). What it says comes from the spec's provenance
// settings (configure time) and from git when the push step runs.
#pragma once

#include <filesystem>
#include <string>

#include "base/log.hpp"
#include "base/runner.hpp"
#include "model/spec.hpp"
#include "oci/media_types.hpp"
#include "oci/platform.hpp"
#include "registry/referrers.hpp"

namespace mai {

inline constexpr const char* kSlsaProvenanceV1 = "https://slsa.dev/provenance/v1";
// The buildType of the statements: what the external and internal parameters mean.
inline constexpr const char* kBuildType = "https://cmake-multiarch-image.invalid/add_multiarch_image/v1";

struct SourceRevision {
  std::string uri;     // git+<remote URL>, or git+file://<dir> without a remote; "" outside git
  std::string commit;  // HEAD; "" outside git
};

// HEAD and the origin remote of the spec's source directory, through git; empty outside a checkout.
// The remote's userinfo (a CI job's token) is left out. With `cache`, git is asked only when what its
// answer depends on changed since the cache was written: the checkout's HEAD (its content), and the
// identity (inode, size, modification time) of HEAD, the branch's ref, packed-refs and the config
// (the remote), all of which git replaces when a commit, a checkout, a fetch or a set-url changes them.
SourceRevision source_revision(const ProvenanceSpec& provenance, Runner& runner, const Log& log,
                               const std::filesystem::path& cache = {});

// What compiled a platform's staged files, as the build that staged them (this one, or a platform's
// sub-build) wrote when it configured: <state>/built-with-<suffix>.json. Empty for a platform nothing
// of this project's was compiled for (no stage, or one built under emulation from its Dockerfile).
struct BuiltWith {
  std::string compiler;                          // "GNU 12.2.0", "Clang 14.0.6"; "" none
  std::string toolchain_file, toolchain_sha256;  // "" none
};
BuiltWith read_built_with(const std::filesystem::path& state, const Platform& platform, const Log& log);

// The statement for `platform`'s manifest `digest` in the spec's repository. `base_digest`: an
// assembled image's base ("" none). Times are SOURCE_DATE_EPOCH's when it is set, and there are none
// otherwise, so the same inputs give the same bytes.
std::string provenance_statement(const Spec& spec, const Platform& platform, const std::string& digest,
                                 const std::string& base_digest, const SourceRevision& source, const BuiltWith& built);

// The statement as an OCI artifact (artifactType application/vnd.in-toto+json, annotated with its
// predicate type), to be attached to repository@digest.
Artifact provenance_artifact(const Spec& spec, const Platform& platform, const std::string& digest,
                             const std::string& base_digest, const SourceRevision& source, const BuiltWith& built);

}  // namespace mai
