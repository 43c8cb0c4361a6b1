#include "registry/url.hpp"

#include <algorithm>
#include <cctype>

#include "base/error.hpp"
#include "base/text.hpp"

namespace mai {

namespace {

std::string default_port(std::string_view scheme) { return scheme == "https" ? "443" : "80"; }

}  // namespace

Url Url::parse(std::string_view text, std::string_view what) {
  auto bad = [&](const std::string& why) {
    return Error(Exit::invalid_input, std::string(what) + " `" + without_userinfo(text) + "` is not an http(s) URL: " + why);
  };
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) throw bad("no scheme");
  Url u;
  u.scheme = lowercase(text.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") throw bad("the scheme must be http or https");
  auto rest = text.substr(sep + 3);
  const auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.empty()) throw bad("no host");
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw bad("unclosed [");
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') throw bad("junk after ]");
    u.port = authority.empty() ? "" : std::string(authority.substr(1));
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    u.port = colon == std::string_view::npos ? "" : std::string(authority.substr(colon + 1));
  }
  if (u.host.empty()) throw bad("no host");
  if (u.port.empty()) u.port = default_port(u.scheme);
  if (u.port.size() > 5 || !std::all_of(u.port.begin(), u.port.end(), [](unsigned char c) { return std::isdigit(c); }) ||
      std::stoi(u.port) < 1 || std::stoi(u.port) > 65535)
    throw bad("the port must be a number from 1 to 65535");
  if (const auto hash = u.target.find('#'); hash != std::string::npos) u.target.erase(hash);
  return u;
}

namespace {

// RFC 3986 section 5.2.4: the "." and ".." segments of a path removed.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./") || in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', in.front() == '/' ? 1 : 0);
      out += in.substr(0, next);
      in.remove_prefix(next == std::string_view::npos ? in.size() : next);
    }
  }
  return out;
}

// A reference that starts with a scheme ("https:", "x+y:") before any '/', '?' or '#'.
bool has_scheme(std::string_view ref) {
  const auto colon = ref.find(':');
  if (colon == std::string_view::npos || colon == 0 || ref.find_first_of("/?#") < colon) return false;
  return std::isalpha(static_cast<unsigned char>(ref.front())) &&
         std::all_of(ref.begin(), ref.begin() + static_cast<std::ptrdiff_t>(colon),
                     [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; });
}

}  // namespace

Url Url::resolve(std::string_view location) const {
  const auto ref = location.substr(0, location.find('#'));
  if (has_scheme(ref)) return parse(ref, "Location");
  if (ref.starts_with("//")) return parse(scheme + ":" + std::string(ref), "Location");
  Url u = *this;
  const auto path = target.substr(0, target.find('?'));
  if (ref.empty()) return u;  // the same resource, its query kept
  if (ref.front() == '?') {   // the same path, another query
    u.target = path + std::string(ref);
    return u;
  }
  const auto query_at = ref.find('?');
  const auto ref_path = ref.substr(0, query_at);
  const auto ref_query = query_at == std::string_view::npos ? std::string_view() : ref.substr(query_at);
  const auto merged =
      ref_path.front() == '/' ? std::string(ref_path) : path.substr(0, path.rfind('/') + 1) + std::string(ref_path);
  u.target = remove_dot_segments(merged) + std::string(ref_query);
  if (u.target.empty() || u.target.front() != '/') u.target.insert(0, "/");
  return u;
}

std::string Url::authority() const {
  const auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + (port == default_port(scheme) ? "" : ":" + port);
}

std::string Url::origin() const { return scheme + "://" + authority(); }

}  // namespace mai
