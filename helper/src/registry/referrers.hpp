// OCI 1.1 referrers: documents (a signature, an SBOM, provenance) published as artifact manifests
// whose `subject` is the manifest they describe. A registry with the referrers API indexes them
// itself (it answers the manifest's PUT with OCI-Subject); for one without it (distribution 2.8) the
// client keeps the referrers tag schema: an OCI index tagged `sha256-<hex of the subject's digest>`
// that lists them, read, added to, de-duplicated, written and read back. A registry with neither
// (GitLab's: it reads the reference `sha256-<hex>` as the digest, so the tag is the subject itself)
// keeps the artifact manifests by digest, and nothing lists them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
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
  // A document too large to hold in memory (debug symbols): its bytes are in `file`, with this digest
  // and size, uploaded streamed and only when the repository lacks them; `document` is then unused.
  std::filesystem::path file;
  std::string digest;
  std::int64_t size = 0;
  std::map<std::string, std::string> layer_annotations;  // on its one layer (org.opencontainers.image.title)
};

// Where a registry lists a subject's referrers.
enum class ReferrersIndex {
  api,   // its referrers API
  tag,   // the referrers tag schema, kept by its clients
  none,  // nowhere: the referrers tag answers with the subject itself (GitLab)
};
const char* name_of(ReferrersIndex index);  // "api", "tag", "none"

// The artifact manifest for `artifact` referring to `subject`: compact JSON, the same bytes for the
// same input.
std::string artifact_manifest(const Artifact& artifact, const Descriptor& subject);

// The artifact manifest for `artifact` and its descriptor, as an index of referrers lists it.
struct ArtifactManifest {
  std::string bytes;
  Descriptor descriptor;
};
ArtifactManifest artifact_for(const Artifact& artifact, const Descriptor& subject);

// The referrers tag's new content: `listed` with each of `entries` it lacks added; nullopt when it
// lists them all already.
std::optional<std::string> merged_referrers(std::vector<Descriptor> listed, const std::vector<Descriptor>& entries);

// Says that `artifacts` of `subject_digest` are in the registry by digest and listed nowhere: a
// warning when the referrers tag is the subject itself (`tag_is_subject`, GitLab's), else (no tag
// written: PLATFORM_TAGS OFF) a note.
void say_listed_nowhere(const RegistryClient& client, const std::string& subject_digest, const std::vector<Descriptor>& artifacts,
                        bool tag_is_subject, const Log& log);

// The tag the referrers tag schema gives the index of `subject_digest`'s referrers: sha256-<hex>.
std::string referrers_tag(const std::string& subject_digest);

// What publishing artifacts did: their manifests' descriptors, in order, and where they are listed.
struct Attached {
  std::vector<Descriptor> artifacts;
  ReferrersIndex index = ReferrersIndex::tag;
};

// Publishes `artifacts` as referrers of `subject` (a manifest in the client's repository): their
// blobs and manifests by digest, then, unless the registry said it indexes subjects, the referrers
// tag, read, written and read back once for all of them. A read-back that lacks one of ours (another
// writer replaced the list) is read, merged and written again, a few times at most. A tag that holds
// anything but an OCI index is reported, never overwritten; a tag that is the subject itself is never
// written (the artifacts stay, by digest, listed nowhere: a warning says so). Publishing the same
// artifacts again changes nothing. `known`, when given, is what referrers() answered for the subject
// moments ago: the tag is then not read again before it is written. Without `write_tag` (PLATFORM_TAGS
// OFF: a registry whose tags are immutable) no referrers tag is written: a registry without the
// referrers API keeps the artifacts by digest only, as GitLab's does.
struct Referrers;
Attached attach(RegistryClient& client, const Descriptor& subject, const std::vector<Artifact>& artifacts, const Log& log,
                const Referrers* known = nullptr, bool write_tag = true);

// The referrers of `subject_digest`: from the registry's referrers API when it has one (every page),
// else from the referrers tag (none when the tag does not exist, or is the subject itself). A tag
// holding something else is an error.
struct Referrers {
  ReferrersIndex index = ReferrersIndex::tag;
  std::vector<Descriptor> listed;
};
Referrers referrers(RegistryClient& client, const std::string& subject_digest);
// The same from the referrers tag's answer, read by the caller in a round of its own (`tag`: what
// get_manifest(referrers_tag(subject_digest)) answered).
Referrers referrers_from_tag(const std::string& subject_digest, const std::optional<Manifest>& tag, const RegistryClient& client);

// Makes sure the artifact manifests `documents` (what each is, its digest) are listed as referrers of
// `subject_digest`, as the manifest step checks what the push step attached: each one the index lacks
// is read by digest (its subject must be `subject_digest`) and listed again (the tag merged, or the
// manifest put again for a registry that indexes on PUT), with a warning. On a registry that lists
// nothing (or when `write_tag` is false and the registry has no referrers API), each must be there by
// digest. Throws when one is not in the registry at all. `known`, when given, is what the subject's
// referrers were moments ago (read in a round with other requests): they are not read again.
ReferrersIndex ensure_listed(RegistryClient& client, const std::string& subject_digest,
                             const std::vector<std::pair<std::string, std::string>>& documents, const Log& log,
                             bool write_tag = true, const Referrers* known = nullptr);

// Lists `entries` (artifact manifests already in the repository, each naming `subject_digest` as its
// subject) in the referrers tag of `subject_digest`: read, merged, written and read back, as attach()
// does (what a copy of artifacts from another repository needs). ReferrersIndex::none, with nothing
// written, when the tag is the subject itself (GitLab's).
ReferrersIndex list_in_referrers_tag(RegistryClient& client, const std::string& subject_digest,
                                     const std::vector<Descriptor>& entries, const Log& log);

}  // namespace mai
