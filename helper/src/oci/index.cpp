#include "oci/index.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "oci/media_types.hpp"

namespace mai {
namespace json = boost::json;

ParsedIndex parse_index(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(text, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* manifests = o ? o->if_contains("manifests") : nullptr;
  if (!manifests || !manifests->is_array()) {
    std::string shown;
    for (char c : text.substr(0, 400)) shown += (c >= 0x20 && c < 0x7f) || c == '\n' ? c : '?';
    throw Error(Exit::verify_failed, what + " is not a manifest list or index:\n" + shown);
  }
  ParsedIndex out;
  if (const auto* mt = o->if_contains("mediaType"); mt && mt->is_string()) out.media_type = std::string(mt->get_string());
  if (out.media_type.empty()) out.media_type = media::oci_index;  // OCI allows it absent
  std::size_t n = 0;
  for (const auto& m : manifests->get_array()) {
    const auto entry = what + ", entry " + std::to_string(++n) + " of its manifests";
    const auto* mo = m.if_object();
    if (!mo) throw Error(Exit::verify_failed, entry + " is not an object");
    Descriptor e;
    const auto* digest = mo->if_contains("digest");
    if (!digest || !digest->is_string()) throw Error(Exit::verify_failed, entry + " has no digest");
    e.digest = checked_digest(digest->get_string(), entry + "'s digest");
    if (const auto* mt = mo->if_contains("mediaType"); mt && mt->is_string()) e.media_type = std::string(mt->get_string());
    if (const auto* sz = mo->if_contains("size")) {
      if (!(sz->is_int64() && sz->get_int64() >= 0) && !sz->is_uint64())
        throw Error(Exit::verify_failed, entry + " has a size that is not a whole number of bytes");
      e.size = sz->is_int64() ? sz->get_int64() : static_cast<std::int64_t>(std::min<std::uint64_t>(sz->get_uint64(), INT64_MAX));
    }
    if (const auto* notes = mo->if_contains("annotations"); notes && notes->is_object())
      for (const auto& [k, value] : notes->get_object())
        if (value.is_string()) e.annotations.emplace(std::string(k), std::string(value.get_string()));
    e.platform = "unknown/unknown";
    if (const auto* p = mo->if_contains("platform"); p && p->is_object()) {
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

bool is_attestation_for(const Descriptor& entry, const std::string& image_digest) {
  const auto type = entry.annotations.find(attestation::type_key);
  const auto digest = entry.annotations.find(attestation::digest_key);
  return type != entry.annotations.end() && type->second == attestation::type && digest != entry.annotations.end() &&
         digest->second == image_digest;
}

std::vector<Descriptor> verify_index(const ParsedIndex& index, const std::vector<ExpectedPlatform>& expected,
                                     const std::string& where) {
  std::vector<Descriptor> found;
  std::vector<bool> accounted(index.entries.size(), false);
  std::string problems;
  for (const auto& want : expected) {
    std::vector<std::size_t> hits;
    for (std::size_t i = 0; i < index.entries.size(); ++i)
      if (index.entries[i].platform == want.platform) hits.push_back(i);
    for (auto i : hits) accounted[i] = true;
    if (hits.empty()) {
      problems += "\n  " + want.platform + " is missing";
    } else if (hits.size() > 1) {
      problems += "\n  " + want.platform + " appears " + std::to_string(hits.size()) + " times";
    } else if (index.entries[hits.front()].digest != want.digest) {
      problems += "\n  " + want.platform + " has " + index.entries[hits.front()].digest + " but " + want.digest + " was pushed";
    } else {
      found.push_back(index.entries[hits.front()]);
    }
    for (const auto& a : want.attestations) {
      std::size_t times = 0;
      for (std::size_t i = 0; i < index.entries.size(); ++i)
        if (index.entries[i].digest == a && is_attestation_for(index.entries[i], want.digest)) ++times, accounted[i] = true;
      if (times != 1)
        problems += "\n  the attestation manifest " + a + " of " + want.platform + " appears " + std::to_string(times) +
                    " times (annotated as describing " + want.digest + ")";
    }
  }
  for (std::size_t i = 0; i < index.entries.size(); ++i)
    if (!accounted[i])
      problems += "\n  " + index.entries[i].digest + " (" + index.entries[i].platform + ") was not published by this step";
  if (!problems.empty()) throw Error(Exit::verify_failed, "verification of " + where + " failed:" + problems);
  return found;
}

std::string build_index(const std::string& media_type, const std::vector<Descriptor>& manifests,
                        const std::vector<std::pair<std::string, std::string>>& annotations) {
  json::object index;
  index["schemaVersion"] = 2;
  index["mediaType"] = media_type;
  json::array list;
  for (const auto& m : manifests) {
    // "os/architecture[/variant]" back to its parts.
    const auto first = m.platform.find('/');
    const auto second = m.platform.find('/', first == std::string::npos ? first : first + 1);
    json::object platform;
    platform["architecture"] = m.platform.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    platform["os"] = m.platform.substr(0, first);
    if (second != std::string::npos) platform["variant"] = m.platform.substr(second + 1);
    json::object entry;
    entry["mediaType"] = m.media_type;
    entry["size"] = m.size;
    entry["digest"] = m.digest;
    entry["platform"] = std::move(platform);
    if (!m.annotations.empty() && media_type == media::oci_index) {
      json::object notes;
      for (const auto& [k, v] : m.annotations) notes[k] = v;
      entry["annotations"] = std::move(notes);
    }
    list.push_back(std::move(entry));
  }
  index["manifests"] = std::move(list);
  if (!annotations.empty() && media_type == media::oci_index) {
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

std::string platform_of_config(const std::string& config_json, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(config_json, ec);
  const auto* o = ec ? nullptr : v.if_object();
  auto field = [&](const char* key) {
    const auto* f = o ? o->if_contains(key) : nullptr;
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  const auto os = field("os"), architecture = field("architecture"), variant = field("variant");
  if (os.empty() || architecture.empty())
    throw Error(Exit::verify_failed, "the image config of " + what + " names no os and architecture");
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

std::string config_digest_of(const std::string& manifest_json, const std::string& what) {
  boost::system::error_code ec;
  const auto v = json::parse(manifest_json, ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* config = o ? o->if_contains("config") : nullptr;
  const auto* digest = config && config->is_object() ? config->get_object().if_contains("digest") : nullptr;
  if (!digest || !digest->is_string()) throw Error(Exit::verify_failed, what + " is not an image manifest with a config");
  return checked_digest(digest->get_string(), "the config digest of " + what);
}

}  // namespace mai
