#include "index.hpp"

#include <openssl/evp.h>

#include <boost/json.hpp>

#include "error.hpp"

namespace mai {
namespace json = boost::json;

ParsedIndex parse_index(const std::string& text) {
  boost::system::error_code ec;
  const auto v = json::parse(text, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* manifests = o ? o->if_contains("manifests") : nullptr;
  if (!manifests || !manifests->is_array())
    throw Error(Exit::verify_failed, "the registry did not return a manifest list or index:\n" + text.substr(0, 400));
  ParsedIndex out;
  if (const auto* mt = o->if_contains("mediaType"); mt && mt->is_string()) out.media_type = std::string(mt->get_string());
  if (out.media_type.empty()) out.media_type = "application/vnd.oci.image.index.v1+json";  // OCI allows it absent
  for (const auto& m : manifests->get_array()) {
    const auto& mo = m.as_object();
    IndexEntry e;
    e.digest = json::value_to<std::string>(mo.at("digest"));
    if (const auto* mt = mo.if_contains("mediaType"); mt && mt->is_string()) e.media_type = std::string(mt->get_string());
    if (const auto* sz = mo.if_contains("size"); sz && sz->is_number()) e.size = sz->to_number<std::int64_t>();
    e.platform = "unknown/unknown";
    if (const auto* p = mo.if_contains("platform"); p && p->is_object()) {
      const auto& po = p->get_object();
      auto field = [&](const char* k) {
        const auto* f = po.if_contains(k);
        return f && f->is_string() ? std::string(f->get_string()) : std::string();
      };
      const auto text = field("os") + "/" + field("architecture") + (field("variant").empty() ? "" : "/" + field("variant"));
      try {
        e.platform = parse_platform(text).str();
      } catch (const Error&) {
        e.platform = text;  // attestation manifests and the like: kept, never matched
      }
    }
    out.entries.push_back(std::move(e));
  }
  return out;
}

std::vector<IndexEntry> verify_index(const ParsedIndex& index, const std::vector<std::pair<std::string, std::string>>& expected,
                                     const std::string& where) {
  std::vector<IndexEntry> found;
  std::string problems;
  for (const auto& [platform, digest] : expected) {
    std::vector<const IndexEntry*> hits;
    for (const auto& e : index.entries)
      if (e.platform == platform) hits.push_back(&e);
    if (hits.empty()) {
      problems += "\n  " + platform + " is missing";
    } else if (hits.size() > 1) {
      problems += "\n  " + platform + " appears " + std::to_string(hits.size()) + " times";
    } else if (hits.front()->digest != digest) {
      problems += "\n  " + platform + " has " + hits.front()->digest + " but " + digest + " was pushed";
    } else {
      found.push_back(*hits.front());
    }
  }
  if (!problems.empty()) throw Error(Exit::verify_failed, "verification of " + where + " failed:" + problems);
  return found;
}

std::string sha256_digest(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}


std::string build_index(const std::string& media_type, const std::vector<ManifestDescriptor>& manifests,
                        const std::vector<std::pair<std::string, std::string>>& annotations) {
  json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = media_type;
  json::array list;
  for (const auto& m : manifests) {
    json::object platform;
    platform["architecture"] = m.architecture;
    platform["os"] = m.os;
    if (!m.variant.empty()) platform["variant"] = m.variant;
    json::object entry;
    entry["mediaType"] = m.media_type;
    entry["size"] = m.size;
    entry["digest"] = m.digest;
    entry["platform"] = std::move(platform);
    list.push_back(std::move(entry));
  }
  index["manifests"] = std::move(list);
  if (!annotations.empty() && media_type == "application/vnd.oci.image.index.v1+json") {
    json::object notes;
    for (const auto& [k, v] : annotations) notes[k] = v;
    index["annotations"] = std::move(notes);
  }
  return json::serialize(index);
}

bool same_index_apart_from_created(const std::string& a, const std::string& b) {
  auto load = [](const std::string& text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) return json::value();
    if (auto* o = v.if_object()) {
      if (auto* notes = o->if_contains("annotations"); notes && notes->is_object()) {
        notes->get_object().erase("org.opencontainers.image.created");
        if (notes->get_object().empty()) o->erase("annotations");
      }
    }
    return v;
  };
  const auto va = load(a), vb = load(b);
  return !va.is_null() && va == vb;
}

ManifestDescriptor platform_of_config(const std::string& config_json, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(config_json, ec);
  const auto* o = ec ? nullptr : v.if_object();
  auto field = [&](const char* key) {
    const auto* f = o ? o->if_contains(key) : nullptr;
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  ManifestDescriptor d;
  d.os = field("os");
  d.architecture = field("architecture");
  d.variant = field("variant");
  if (d.os.empty() || d.architecture.empty())
    throw Error(Exit::verify_failed, "the image config of " + what + " names no os and architecture");
  return d;
}

std::string config_digest_of(const std::string& manifest_json, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(manifest_json, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* config = o ? o->if_contains("config") : nullptr;
  const auto* digest = config && config->is_object() ? config->get_object().if_contains("digest") : nullptr;
  if (!digest || !digest->is_string()) throw Error(Exit::verify_failed, what + " is not an image manifest with a config");
  return std::string(digest->get_string());
}

}  // namespace mai
