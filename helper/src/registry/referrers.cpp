#include "registry/referrers.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/retry.hpp"
#include "oci/media_types.hpp"

namespace mai {

namespace json = boost::json;

namespace {

json::object descriptor_json(const Descriptor& d) {
  json::object o{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.artifact_type.empty()) o["artifactType"] = d.artifact_type;
  if (!d.annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : d.annotations) a[k] = v;
    o["annotations"] = std::move(a);
  }
  return o;
}

// The string-valued annotations of a descriptor or a manifest.
std::map<std::string, std::string> string_annotations(const json::object& o) {
  std::map<std::string, std::string> out;
  if (const auto* a = o.if_contains("annotations"); a && a->is_object())
    for (const auto& [k, val] : a->as_object())
      if (val.is_string()) out[std::string(k)] = std::string(val.get_string());
  return out;
}

// The descriptors an index lists; `where` names it in errors.
std::vector<Descriptor> parse_descriptors(const std::string& bytes, const std::string& where) {
  boost::system::error_code ec;
  const auto v = json::parse(bytes, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* type = o ? o->if_contains("mediaType") : nullptr;
  const auto* manifests = o ? o->if_contains("manifests") : nullptr;
  if (!o || !type || !type->is_string() || type->get_string() != media::oci_index || !manifests || !manifests->is_array())
    throw Error(Exit::verify_failed, where + " is not an OCI image index of referrers; left as it is");
  std::vector<Descriptor> out;
  for (const auto& m : manifests->as_array()) {
    const auto* e = m.if_object();
    const auto text = [&](const char* name) {
      const auto* f = e ? e->if_contains(name) : nullptr;
      return f && f->is_string() ? std::string(f->get_string()) : std::string();
    };
    const auto* size = e ? e->if_contains("size") : nullptr;
    Descriptor d{
        text("mediaType"), text("digest"), size && size->is_int64() ? size->as_int64() : -1, "", text("artifactType"), {}};
    if (!is_sha256_digest(d.digest) || d.size < 0)
      throw Error(Exit::verify_failed, where + " lists an entry that is not a descriptor");
    d.annotations = string_annotations(*e);
    out.push_back(std::move(d));
  }
  return out;
}

// What an artifact manifest (read back by digest) says of itself; `what` names it in errors.
struct ParsedArtifact {
  std::string subject, artifact_type;
  std::map<std::string, std::string> annotations;
};
ParsedArtifact parse_artifact(const std::string& bytes, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(bytes, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* subject = o ? o->if_contains("subject") : nullptr;
  const auto* digest = subject && subject->is_object() ? subject->as_object().if_contains("digest") : nullptr;
  if (!digest || !digest->is_string()) throw Error(Exit::verify_failed, what + " is not an artifact manifest with a subject");
  ParsedArtifact out{std::string(digest->get_string()), "", {}};
  if (const auto* t = o->if_contains("artifactType"); t && t->is_string()) out.artifact_type = t->get_string();
  out.annotations = string_annotations(*o);
  return out;
}

std::string index_of(const std::vector<Descriptor>& descriptors) {
  json::array manifests;
  for (const auto& d : descriptors) manifests.push_back(descriptor_json(d));
  return json::serialize(
      json::object{{"schemaVersion", 2}, {"mediaType", media::oci_index}, {"manifests", std::move(manifests)}});
}

}  // namespace

std::string referrers_tag(const std::string& subject_digest) {
  if (!is_sha256_digest(subject_digest)) throw Error(Exit::invalid_input, "`" + subject_digest + "` is not a sha256 digest");
  return "sha256-" + subject_digest.substr(7);
}

std::string artifact_manifest(const Artifact& artifact, const Descriptor& subject) {
  json::object m{
      {"schemaVersion", 2},
      {"mediaType", media::oci_manifest},
      {"artifactType", artifact.artifact_type},
      {"config", descriptor_json({media::oci_empty, sha256_digest("{}"), 2, "", {}})},
      {"layers",
       json::array{descriptor_json({artifact.media_type,
                                    artifact.file.empty() ? sha256_digest(artifact.document) : artifact.digest,
                                    artifact.file.empty() ? static_cast<std::int64_t>(artifact.document.size()) : artifact.size,
                                    "",
                                    {},
                                    artifact.layer_annotations})}},
      {"subject", descriptor_json({subject.media_type, subject.digest, subject.size, "", {}})}};
  if (!artifact.annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : artifact.annotations) a[k] = v;
    m["annotations"] = std::move(a);
  }
  return json::serialize(m);
}

ArtifactManifest artifact_for(const Artifact& artifact, const Descriptor& subject) {
  auto bytes = artifact_manifest(artifact, subject);
  Descriptor self{media::oci_manifest,    sha256_digest(bytes), static_cast<std::int64_t>(bytes.size()), "",
                  artifact.artifact_type, artifact.annotations};
  return {std::move(bytes), std::move(self)};
}

namespace {

constexpr int kMergeRounds = 5;

bool listed_in(const std::vector<Descriptor>& list, const std::string& digest) {
  return std::any_of(list.begin(), list.end(), [&](const Descriptor& l) { return l.digest == digest; });
}

// What the referrers tag of `subject_digest` holds: nullopt when it is the subject itself (no index
// can be kept there), else its entries (none when there is no such tag).
std::optional<std::vector<Descriptor>> tag_entries(const std::string& subject_digest, const std::optional<Manifest>& current,
                                                   const std::string& where) {
  if (!current) return std::vector<Descriptor>();
  if (current->digest == subject_digest) return std::nullopt;
  return parse_descriptors(current->bytes, where);
}
std::optional<std::vector<Descriptor>> read_tag(RegistryClient& client, const std::string& subject_digest,
                                                const std::string& where) {
  return tag_entries(subject_digest, client.get_manifest(referrers_tag(subject_digest)), where);
}

// Lists `entries` in the referrers tag of `subject_digest`: read, add those not listed, write, read
// back. The schema has no compare-and-swap: another writer may replace the list between our read and
// write. A read-back that lacks one of ours is read, merged and written again, at most kMergeRounds
// times, after a pause of random length so that two writers fall out of step.
ReferrersIndex list_in_tag(RegistryClient& client, const std::string& subject_digest, const std::vector<Descriptor>& entries,
                           const Log& log, const std::optional<std::vector<Descriptor>>& first_read = std::nullopt) {
  const auto tag = referrers_tag(subject_digest);
  const auto where = "the referrers tag " + tag + " of " + client.base_url();
  std::minstd_rand jitter(std::random_device{}());
  for (int round = 1;; ++round) {
    auto listed = round == 1 && first_read ? first_read : read_tag(client, subject_digest, where);
    if (!listed) return ReferrersIndex::none;
    const auto merged = merged_referrers(*listed, entries);
    if (!merged) return ReferrersIndex::tag;  // all of ours listed already
    client.put_manifest(tag, media::oci_index, *merged);
    log.info("referrers of " + subject_digest.substr(0, 19) + " listed in " + tag);
    const auto back = read_tag(client, subject_digest, where);
    std::string missing;
    for (const auto& e : entries)
      if (!back || !listed_in(*back, e.digest)) missing += (missing.empty() ? "" : ", ") + e.digest;
    if (missing.empty()) return ReferrersIndex::tag;
    if (round == kMergeRounds)
      throw Error(Exit::verify_failed, where + " still does not list " + missing + " after " + std::to_string(kMergeRounds) +
                                           " writes (another writer keeps replacing it)");
    log.warn(where + " does not list " + missing + " after it was written (another writer replaced it); merging again");
    pause(std::chrono::milliseconds(50 + jitter() % 200));
  }
}

}  // namespace

std::optional<std::string> merged_referrers(std::vector<Descriptor> listed, const std::vector<Descriptor>& entries) {
  const auto before = listed.size();
  for (const auto& e : entries)
    if (!listed_in(listed, e.digest)) listed.push_back(e);
  if (listed.size() == before) return std::nullopt;
  return index_of(listed);
}

namespace {

const char* no_index_warning() {
  return "answers its referrers tag with the subject itself (no referrers API, and a reference sha256-<hex> read as "
         "the digest, as GitLab's registry does): nothing is written there, and no index lists ";
}

}  // namespace

const char* name_of(ReferrersIndex index) {
  switch (index) {
    case ReferrersIndex::api:
      return "api";
    case ReferrersIndex::tag:
      return "tag";
    case ReferrersIndex::none:
      return "none";
  }
  return "?";
}

void say_listed_nowhere(const RegistryClient& client, const std::string& subject_digest, const std::vector<Descriptor>& artifacts,
                        bool tag_is_subject, const Log& log) {
  std::string digests;
  for (const auto& a : artifacts) digests += (digests.empty() ? "" : ", ") + a.digest;
  if (!tag_is_subject)
    return log.info("no referrers tag written (PLATFORM_TAGS OFF) and " + client.base_url() +
                    " indexes no subjects: the artifacts of " + subject_digest.substr(0, 19) +
                    " are in the registry by digest: " + digests);
  log.warn(client.base_url() + " " + no_index_warning() + "the artifacts of " + subject_digest.substr(0, 19) + ": " + digests +
           " (in the registry by digest, each naming its subject)");
}

Attached attach(RegistryClient& client, const Descriptor& subject, const std::vector<Artifact>& artifacts, const Log& log,
                const Referrers* known, bool write_tag) {
  // The empty config is asked for (a repository has it after its first artifact); the documents, new
  // almost every time and small, are uploaded without asking.
  if (const auto empty = sha256_digest("{}"); !client.has_blob(empty)) client.put_blob_bytes(empty, "{}");
  std::set<std::string> uploaded;
  for (const auto& a : artifacts) {
    if (!a.file.empty()) {  // large: streamed from its file, and only when the repository lacks it
      if (uploaded.insert(a.digest).second && !client.has_blob(a.digest)) client.put_blob(a.digest, a.file);
      continue;
    }
    if (const auto digest = sha256_digest(a.document); uploaded.insert(digest).second) client.put_blob_bytes(digest, a.document);
  }
  Attached out;
  bool all_indexed = true;
  for (const auto& artifact : artifacts) {
    auto [manifest, self] = artifact_for(artifact, subject);
    bool indexed = false;
    const auto stated = client.put_manifest(self.digest, media::oci_manifest, manifest, &indexed);
    if (!stated.empty() && stated != self.digest)
      throw Error(Exit::verify_failed, "the registry stored the artifact " + self.digest + " as " + stated);
    all_indexed = all_indexed && indexed;
    out.artifacts.push_back(std::move(self));
  }
  if (out.artifacts.empty()) return out;
  if (all_indexed) {  // the registry's referrers API lists them
    out.index = ReferrersIndex::api;
    return out;
  }
  if (!write_tag) {
    say_listed_nowhere(client, subject.digest, out.artifacts, false, log);
    out.index = ReferrersIndex::none;
    return out;
  }
  if (known && known->index == ReferrersIndex::none) {
    out.index = ReferrersIndex::none;
  } else {
    std::optional<std::vector<Descriptor>> first_read;
    if (known && known->index == ReferrersIndex::tag) first_read = known->listed;
    out.index = list_in_tag(client, subject.digest, out.artifacts, log, first_read);
  }
  if (out.index == ReferrersIndex::none) say_listed_nowhere(client, subject.digest, out.artifacts, true, log);
  return out;
}

ReferrersIndex list_in_referrers_tag(RegistryClient& client, const std::string& subject_digest,
                                     const std::vector<Descriptor>& entries, const Log& log) {
  return list_in_tag(client, subject_digest, entries, log);
}

Referrers referrers(RegistryClient& client, const std::string& subject_digest) {
  if (const auto pages = client.get_referrers(subject_digest)) {
    Referrers out{ReferrersIndex::api, {}};
    for (const auto& page : *pages)
      for (auto& d : parse_descriptors(page.bytes, "the referrers API's answer for " + subject_digest))
        if (!listed_in(out.listed, d.digest)) out.listed.push_back(std::move(d));
    return out;
  }
  auto listed =
      read_tag(client, subject_digest, "the referrers tag " + referrers_tag(subject_digest) + " of " + client.base_url());
  if (!listed) return {ReferrersIndex::none, {}};
  return {ReferrersIndex::tag, std::move(*listed)};
}

Referrers referrers_from_tag(const std::string& subject_digest, const std::optional<Manifest>& tag,
                             const RegistryClient& client) {
  auto listed =
      tag_entries(subject_digest, tag, "the referrers tag " + referrers_tag(subject_digest) + " of " + client.base_url());
  if (!listed) return {ReferrersIndex::none, {}};
  return {ReferrersIndex::tag, std::move(*listed)};
}

ReferrersIndex ensure_listed(RegistryClient& client, const std::string& subject_digest,
                             const std::vector<std::pair<std::string, std::string>>& documents, const Log& log, bool write_tag,
                             const Referrers* known) {
  auto found = known ? *known : referrers(client, subject_digest);
  if (!write_tag && found.index == ReferrersIndex::tag) found = {ReferrersIndex::none, {}};  // by digest only
  std::vector<std::pair<std::string, std::string>> missing;
  for (const auto& document : documents)
    if (!listed_in(found.listed, document.second)) missing.push_back(document);
  if (missing.empty()) return found.index;
  std::vector<std::string> digests;
  digests.reserve(missing.size());
  for (const auto& m : missing) digests.push_back(checked_digest(m.second, "the " + m.first + " to list"));
  const auto manifests = client.get_manifests(digests);
  std::vector<Descriptor> entries;
  for (std::size_t i = 0; i < missing.size(); ++i) {
    const auto what = "the " + missing[i].first + " " + digests[i] + " of " + subject_digest.substr(0, 19);
    const auto& m = manifests[i];
    if (!m)
      throw Error(Exit::verify_failed, what +
                                           " is not in the registry (deleted since it was pushed?): push again (remove "
                                           "the platform's push record and build)");
    const auto parsed = parse_artifact(m->bytes, what);
    if (parsed.subject != subject_digest)
      throw Error(Exit::verify_failed, what + " names the subject " + parsed.subject + ", not " + subject_digest);
    entries.push_back(
        {m->media_type, m->digest, static_cast<std::int64_t>(m->bytes.size()), "", parsed.artifact_type, parsed.annotations});
  }
  if (found.index == ReferrersIndex::none) return found.index;  // there by digest, which is all such a registry keeps
  std::string listed;
  for (const auto& e : entries) listed += (listed.empty() ? "" : ", ") + e.digest;
  log.warn("the referrers of " + subject_digest.substr(0, 19) + " lacked " + listed +
           " (another writer of the referrers tag replaced it?); listing them again");
  if (found.index == ReferrersIndex::api) {
    // A registry with the API indexes a manifest with a subject when it is put.
    for (std::size_t i = 0; i < entries.size(); ++i)
      client.put_manifest(entries[i].digest, entries[i].media_type, manifests[i]->bytes);
    return found.index;
  }
  return list_in_tag(client, subject_digest, entries, log);
}

}  // namespace mai
