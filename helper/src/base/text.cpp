#include "base/text.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <openssl/evp.h>

namespace mai {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  const auto clean = trim(text);
  if (clean.size() % 4 != 0) return std::nullopt;
  std::string out(clean.size() / 4 * 3 + 1, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n));
  // EVP_DecodeBlock counts padding as zero bytes.
  for (auto it = clean.rbegin(); it != clean.rend() && *it == '='; ++it) out.pop_back();
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

std::string without_userinfo(std::string_view text) {
  const auto scheme_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'; };
  std::string out;
  std::size_t from = 0;
  for (auto sep = text.find("://"); sep != std::string_view::npos; sep = text.find("://", from)) {
    auto scheme = sep;
    while (scheme > from && scheme_char(text[scheme - 1])) --scheme;
    const auto authority = sep + 3;
    // The authority ends where the path, query or fragment starts (RFC 3986), or the text's word does.
    const auto end = std::min(text.find_first_of("/?#\\ \t\r\n\"'<>`", authority), text.size());
    const auto at = text.substr(authority, end - authority).rfind('@');
    out.append(text.substr(from, authority - from));
    from = authority;
    if (scheme < sep && std::isalpha(static_cast<unsigned char>(text[scheme])) && at != std::string_view::npos)
      from = authority + at + 1;
  }
  out.append(text.substr(from));
  return out;
}

std::string url_without_credentials(std::string_view url) {
  auto out = without_userinfo(url);
  out.resize(std::min(out.find_first_of("?#"), out.size()));
  return out;
}

std::string rfc3339(std::int64_t epoch) {
  const auto t = static_cast<std::time_t>(epoch);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return out;
}

}  // namespace mai
