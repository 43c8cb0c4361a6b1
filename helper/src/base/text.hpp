// Small text helpers shared by the engines and git: engine output ends in newlines and spaces.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mai {

inline std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace mai

namespace mai {

// ASCII lower case (header names, platform parts).
inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The pieces of `s` between `separator`s (lines of a command's output, tab-separated fields); a
// trailing separator adds no empty piece.
inline std::vector<std::string> split(std::string_view s, char separator) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto at = s.find(separator);
    out.emplace_back(s.substr(0, at));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

// The number in decimal digits that is all of `text` (no sign, blank or anything else around it), if
// it is one that fits `Unsigned`.
template <class Unsigned>
std::optional<Unsigned> whole_number(std::string_view text) {
  static_assert(std::is_unsigned_v<Unsigned>, "from_chars reads a minus sign into a signed type");
  Unsigned value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// RFC 3986 percent-encoding: every byte but the unreserved characters (letters, digits, - . _ ~).
std::string percent_encode(std::string_view text);

// `text` with the userinfo of every URL in it left out (`https://gitlab-ci-token:<token>@host/x` becomes
// `https://host/x`): CI systems put credentials there, and nothing the helper writes (a log line, a
// message, a document) may carry them.
std::string without_userinfo(std::string_view text);
// One URL as a record or document may name it: without its userinfo and without its query and
// fragment, where presigned URLs and `?private_token=` carry their secrets.
std::string url_without_credentials(std::string_view url);

// RFC 3339 in UTC with seconds, as every document and config writes its times: 2023-11-14T22:13:20Z.
std::string rfc3339(std::int64_t epoch);

// Standard base64 (RFC 4648 section 4, with padding). decode returns nullopt for malformed input.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace mai
