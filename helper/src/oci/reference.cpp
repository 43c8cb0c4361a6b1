// Grammar from the distribution project's reference package: domain components, lowercase path
// components with ., _, __ or -+ separators, tags of at most 128 word characters, names of at most 255.
#include "oci/reference.hpp"

#include <cctype>
#include <vector>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/text.hpp"

namespace mai {
namespace {

[[noreturn]] void invalid(std::string_view what, std::string_view text, std::string_view why, std::string_view form) {
  throw Error(Exit::invalid_input, "invalid " + std::string(what) + " '" + std::string(text) + "': " + std::string(why) +
                                       " (valid: " + std::string(form) + ")");
}

constexpr std::string_view kRepositoryForm =
    "[<host>[:<port>]/]<path> with lowercase path components of letters, digits and single . _ or - separators, "
    "e.g. registry.example.com/team/hello or 127.0.0.1:5000/demo/hello, without a tag or digest";
constexpr std::string_view kTagForm = "1 to 128 characters of letters, digits, _ . -, not starting with . or -";

bool alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::vector<std::string_view> pieces(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

bool valid_domain_component(std::string_view c) {
  if (c.empty() || !alnum(c.front()) || !alnum(c.back())) return false;
  for (char ch : c)
    if (!alnum(ch) && ch != '-') return false;
  return true;
}

// [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool valid_path_component(std::string_view c) {
  if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
  for (std::size_t i = 0; i < c.size();) {
    if (lower_alnum(c[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < c.size() && !lower_alnum(c[j])) ++j;
    const auto sep = c.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

void validate_registry(std::string_view full, std::string_view registry) {
  std::string_view host = registry;
  std::string_view port;
  if (registry.starts_with('[')) {
    const auto close = registry.find(']');
    if (close == std::string_view::npos) invalid("repository", full, "unclosed '[' in registry host", kRepositoryForm);
    host = registry.substr(1, close - 1);
    const auto rest = registry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') invalid("repository", full, "unexpected text after ']'", kRepositoryForm);
      port = rest.substr(1);
    }
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
      invalid("repository", full, "bad IPv6 address in registry host", kRepositoryForm);
  } else {
    const auto colon = registry.find(':');
    if (colon != std::string_view::npos) {
      host = registry.substr(0, colon);
      port = registry.substr(colon + 1);
      if (port.empty()) invalid("repository", full, "':' without a port in the registry", kRepositoryForm);
    }
    for (auto c : pieces(host, '.'))
      if (!valid_domain_component(c))
        invalid("repository", full, "bad registry host '" + std::string(host) + "'", kRepositoryForm);
  }
  if (!port.empty() || registry.ends_with(':')) {
    const auto value = whole_number<unsigned>(port);
    if (!value || *value < 1 || *value > 65535)
      invalid("repository", full, "port '" + std::string(port) + "' is not a number from 1 to 65535", kRepositoryForm);
  }
}

}  // namespace

std::string Repository::str() const { return original; }

std::string Repository::host() const {
  std::string host = registry;
  if (host.starts_with('['))
    host = host.substr(1, host.find(']') - 1);
  else if (const auto colon = host.find(':'); colon != std::string::npos)
    host.resize(colon);
  return host;
}

bool Repository::loopback() const {
  const auto host = this->host();
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8 written as a dotted quad
  const auto parts = pieces(host, '.');
  if (parts.size() != 4 || parts[0] != "127") return false;
  for (auto p : parts)
    if (const auto v = whole_number<unsigned>(p); !v || *v > 255) return false;
  return true;
}

Repository parse_repository(std::string_view text) {
  if (text.empty()) invalid("repository", text, "empty", kRepositoryForm);
  if (text.size() > 255) invalid("repository", text, "longer than 255 characters", kRepositoryForm);
  if (text.find('@') != std::string_view::npos)
    invalid("repository", text, "contains a digest; give tags with TAGS instead", kRepositoryForm);

  Repository r;
  r.original = std::string(text);
  auto rest = text;
  const auto slash = text.find('/');
  if (slash != std::string_view::npos) {
    const auto first = text.substr(0, slash);
    const bool is_registry = first.find_first_of(".:[") != std::string_view::npos || first == "localhost" ||
                             first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
    if (is_registry) {
      validate_registry(text, first);
      r.registry = std::string(first);
      rest = text.substr(slash + 1);
    }
  }
  if (r.registry.empty()) r.registry = "docker.io";
  if (rest.find(':') != std::string_view::npos)
    invalid("repository", text, "contains a tag; give tags with TAGS instead", kRepositoryForm);
  for (auto c : pieces(rest, '/')) {
    if (c.empty()) invalid("repository", text, "empty path component", kRepositoryForm);
    if (c.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos)
      invalid("repository", text, "uppercase letters in '" + std::string(c) + "'", kRepositoryForm);
    if (!valid_path_component(c)) invalid("repository", text, "bad path component '" + std::string(c) + "'", kRepositoryForm);
  }
  r.path = std::string(rest);
  return r;
}

void validate_tag(std::string_view tag) {
  if (tag.empty()) invalid("tag", tag, "empty", kTagForm);
  if (tag.size() > 128) invalid("tag", tag, "longer than 128 characters", kTagForm);
  if (tag.front() == '.' || tag.front() == '-') invalid("tag", tag, "starts with '.' or '-'", kTagForm);
  for (char c : tag)
    if (!alnum(c) && c != '_' && c != '.' && c != '-')
      invalid("tag", tag, std::string("character '") + c + "' is not allowed", kTagForm);
}

void validate_digest(std::string_view digest) {
  if (!is_sha256_digest(digest)) invalid("digest", digest, "malformed", "sha256: followed by 64 lowercase hex digits");
}

ImageReference parse_image_reference(std::string_view text) {
  ImageReference r;
  auto rest = text;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    r.digest = std::string(rest.substr(at + 1));
    validate_digest(r.digest);
    rest = rest.substr(0, at);
  }
  const auto slash = rest.rfind('/');
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    r.tag = std::string(rest.substr(colon + 1));
    validate_tag(r.tag);
    rest = rest.substr(0, colon);
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  r.repository = parse_repository(rest);
  // Docker Hub's official images live under library/.
  if (r.repository.registry == "docker.io" && r.repository.path.find('/') == std::string::npos)
    r.repository.path = "library/" + r.repository.path;
  return r;
}

std::string ImageReference::str() const {
  return repository.str() + (tag.empty() ? "" : ":" + tag) + (digest.empty() ? "" : "@" + digest);
}

}  // namespace mai
