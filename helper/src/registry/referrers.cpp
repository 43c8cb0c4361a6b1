#include "registry/referrers.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
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
    if (const auto* a = e->if_contains("annotations"); a && a->is_object())
      for (const auto& [k, val] : a->as_object())
        if (val.is_string()) d.annotations[std::string(k)] = std::string(val.get_string());
    out.push_back(std::move(d));
  }
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
  json::object m{{"schemaVersion", 2},
                 {"mediaType", media::oci_manifest},
                 {"artifactType", artifact.artifact_type},
                 {"config", descriptor_json({media::oci_empty, sha256_digest("{}"), 2, "", {}})},
                 {"layers", json::array{descriptor_json({artifact.media_type,
                                                         sha256_digest(artifact.document),
                                                         static_cast<std::int64_t>(artifact.document.size()),
                                                         "",
                                                         {}})}},
                 {"subject", descriptor_json({subject.media_type, subject.digest, subject.size, "", {}})}};
  if (!artifact.annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : artifact.annotations) a[k] = v;
    m["annotations"] = std::move(a);
  }
  return json::serialize(m);
}

std::vector<Descriptor> attach(RegistryClient& client, const Descriptor& subject, const std::vector<Artifact>& artifacts,
                               const Log& log) {
  // The empty config is asked for (a repository has it after its first artifact); the documents, new
  // almost every time and small, are uploaded without asking.
  if (const auto empty = sha256_digest("{}"); !client.has_blob(empty)) client.put_blob_bytes(empty, "{}");
  std::set<std::string> uploaded;
  for (const auto& a : artifacts)
    if (const auto digest = sha256_digest(a.document); uploaded.insert(digest).second) client.put_blob_bytes(digest, a.document);
  std::vector<Descriptor> selves;
  bool all_indexed = true;
  for (const auto& artifact : artifacts) {
    const auto manifest = artifact_manifest(artifact, subject);
    Descriptor self{media::oci_manifest,    sha256_digest(manifest), static_cast<std::int64_t>(manifest.size()), "",
                    artifact.artifact_type, artifact.annotations};
    bool indexed = false;
    const auto stated = client.put_manifest(self.digest, media::oci_manifest, manifest, &indexed);
    if (!stated.empty() && stated != self.digest)
      throw Error(Exit::verify_failed, "the registry stored the artifact " + self.digest + " as " + stated);
    all_indexed = all_indexed && indexed;
    selves.push_back(std::move(self));
  }
  if (all_indexed || selves.empty()) return selves;  // the registry's referrers API lists them
  // The tag schema, once for all of them: read, add those not listed, write, read back.
  const auto tag = referrers_tag(subject.digest);
  const auto where = "the referrers tag " + tag + " of " + client.base_url();
  const auto listed_in = [](const std::vector<Descriptor>& list, const Descriptor& d) {
    return std::any_of(list.begin(), list.end(), [&](const Descriptor& l) { return l.digest == d.digest; });
  };
  std::vector<Descriptor> listed;
  if (const auto current = client.get_manifest(tag)) listed = parse_descriptors(current->bytes, where);
  const auto before = listed.size();
  for (const auto& self : selves)
    if (!listed_in(listed, self)) listed.push_back(self);
  if (listed.size() != before) {
    client.put_manifest(tag, media::oci_index, index_of(listed));
    log.info("referrers of " + subject.digest.substr(0, 19) + ": " + std::to_string(listed.size()) + " in " + tag);
  }
  const auto back = client.get_manifest(tag);
  const auto now = back ? parse_descriptors(back->bytes, where) : std::vector<Descriptor>();
  for (const auto& self : selves)
    if (!listed_in(now, self))
      throw Error(Exit::verify_failed, where + " does not list " + self.digest + " after it was written (another writer?)");
  return selves;
}

Descriptor attach(RegistryClient& client, const Descriptor& subject, const Artifact& artifact, const Log& log) {
  return attach(client, subject, std::vector<Artifact>{artifact}, log).front();
}

std::vector<Descriptor> referrers(RegistryClient& client, const std::string& subject_digest) {
  if (const auto api = client.get_referrers(subject_digest))
    return parse_descriptors(api->bytes, "the referrers API's answer for " + subject_digest);
  const auto tag = referrers_tag(subject_digest);
  const auto current = client.get_manifest(tag);
  return current ? parse_descriptors(current->bytes, "the referrers tag " + tag + " of " + client.base_url())
                 : std::vector<Descriptor>();
}

}  // namespace mai
