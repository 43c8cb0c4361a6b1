#include "oci/contents.hpp"

#include <boost/json.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/json_file.hpp"
#include "oci/media_types.hpp"

namespace mai {

namespace json = boost::json;

namespace {

Descriptor descriptor_of(const json::value& v, const std::string& what) {
  const auto* o = v.if_object();
  const auto* size = o ? o->if_contains("size") : nullptr;
  if (!o || !size || !size->is_int64() || size->get_int64() < 0 || !is_sha256_digest(string_member(*o, "digest")))
    throw Error(Exit::verify_failed, what + " holds a descriptor without a sha256 digest and a size");
  return {
      string_member(*o, "mediaType"), string_member(*o, "digest"), size->get_int64(), "", string_member(*o, "artifactType"), {}};
}

}  // namespace

ManifestContents manifest_contents(const std::string& bytes, const std::string& media_type, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(bytes, ec);
  const auto* o = ec ? nullptr : v.if_object();
  if (!o) throw Error(Exit::verify_failed, what + " is not a JSON object");
  ManifestContents out;
  if (media::is_index(media_type)) {
    const auto* manifests = o->if_contains("manifests");
    if (!manifests || !manifests->is_array()) throw Error(Exit::verify_failed, what + " is an index without `manifests`");
    for (const auto& m : manifests->as_array()) out.manifests.push_back(descriptor_of(m, what));
  } else {
    const auto* config = o->if_contains("config");
    const auto* layers = o->if_contains("layers");
    if (!config || !layers || !layers->is_array())
      throw Error(Exit::verify_failed, what + " is not a manifest with a `config` and `layers`");
    out.blobs.push_back(descriptor_of(*config, what));
    out.artifact_type = string_member(*o, "artifactType");
    if (out.artifact_type.empty() && out.blobs.front().media_type != media::oci_empty)
      out.artifact_type = out.blobs.front().media_type;
    for (const auto& l : layers->as_array()) {
      auto d = descriptor_of(l, what);
      // A foreign layer (Windows bases): its descriptor names where it lives; registries keep no copy.
      if (const auto* urls = l.as_object().if_contains("urls"); urls && urls->is_array() && !urls->as_array().empty()) continue;
      out.blobs.push_back(std::move(d));
    }
  }
  if (const auto* s = o->if_contains("subject")) out.subject = descriptor_of(*s, what + "'s subject").digest;
  return out;
}

}  // namespace mai
