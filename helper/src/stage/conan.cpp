#include "stage/conan.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>

#include "base/error.hpp"
#include "base/json_file.hpp"
#include "base/text.hpp"

namespace fs = std::filesystem;

namespace mai {

namespace json = boost::json;

namespace {

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

// External reference types Conan writes (website), and the few others a recipe's fields could become.
bool known_reference_type(std::string_view type) {
  static constexpr std::array<std::string_view, 6> types{"website",       "vcs",           "distribution",
                                                         "issue-tracker", "documentation", "license"};
  return std::find(types.begin(), types.end(), type) != types.end();
}

}  // namespace

bool cyclonedx_hash_algorithm(std::string_view alg) {
  static constexpr std::array<std::string_view, 12> names{"MD5",         "SHA-1",       "SHA-256",     "SHA-384",
                                                          "SHA-512",     "SHA3-256",    "SHA3-384",    "SHA3-512",
                                                          "BLAKE2b-256", "BLAKE2b-384", "BLAKE2b-512", "BLAKE3"};
  return std::find(names.begin(), names.end(), alg) != names.end();
}

std::string conan_purl(const std::string& name, const std::string& version) {
  return "pkg:conan/" + percent_encode(name) + "@" + percent_encode(version);
}

std::vector<ConanComponent> conan_components(std::string_view text) {
  json::value doc;
  try {
    doc = json::parse(text);
  } catch (const std::exception& e) {
    throw Error(Exit::step_failed, std::string("not JSON: ") + e.what());
  }
  const auto* root = doc.if_object();
  const auto* list = root ? root->if_contains("components") : nullptr;
  if (!root || string_member(*root, "bomFormat") != "CycloneDX" || !list || !list->is_array())
    throw Error(Exit::step_failed, "not a CycloneDX document with components");
  std::vector<ConanComponent> out;
  for (const auto& item : list->as_array()) {
    const auto* o = item.if_object();
    if (!o) continue;
    ConanComponent c{string_member(*o, "bom-ref"),
                     string_member(*o, "name"),
                     string_member(*o, "version"),
                     string_member(*o, "purl"),
                     string_member(*o, "description"),
                     string_member(*o, "cpe"),
                     {},
                     {},
                     {}};
    if (c.name.empty() || c.version.empty()) continue;
    if (!c.purl.starts_with("pkg:conan/")) c.purl.clear();
    if (const auto* licenses = o->if_contains("licenses"); licenses && licenses->is_array())
      for (const auto& l : licenses->as_array()) {
        const auto* lo = l.if_object();
        if (!lo) continue;
        // {"license": {"id" | "name" | "expression": ...}} as Conan writes it, or {"expression": ...}.
        if (auto e = string_member(*lo, "expression"); !e.empty()) c.licenses.emplace_back("expression", std::move(e));
        const auto* inner = lo->if_contains("license");
        if (!inner || !inner->is_object()) continue;
        for (const char* field : {"id", "name", "expression"})
          if (auto v = string_member(inner->as_object(), field); !v.empty()) {
            c.licenses.emplace_back(field, std::move(v));
            break;
          }
      }
    if (const auto* hashes = o->if_contains("hashes"); hashes && hashes->is_array())
      for (const auto& h : hashes->as_array())
        if (const auto* ho = h.if_object()) {
          auto alg = string_member(*ho, "alg");
          auto content = lowercase(string_member(*ho, "content"));
          if (cyclonedx_hash_algorithm(alg) && is_hex(content)) c.hashes.emplace_back(std::move(alg), std::move(content));
        }
    if (const auto* refs = o->if_contains("externalReferences"); refs && refs->is_array())
      for (const auto& r : refs->as_array())
        if (const auto* ro = r.if_object()) {
          auto type = string_member(*ro, "type");
          auto url = without_userinfo(string_member(*ro, "url"));
          if (known_reference_type(type) && !url.empty()) c.references.emplace_back(std::move(type), std::move(url));
        }
    out.push_back(std::move(c));
  }
  return out;
}

std::optional<ConanPackage> conan_package_of(const fs::path& file, const std::vector<ConanPackage>& packages) {
  for (const auto& p : packages) {
    if (p.folder.empty() || !p.folder.is_absolute()) continue;
    const auto relative = file.lexically_relative(p.folder);
    if (!relative.empty() && *relative.begin() != ".." && relative != ".") return p;
  }
  return std::nullopt;
}

}  // namespace mai
