#include "digest.hpp"

#include <algorithm>
#include <openssl/evp.h>

#include "error.hpp"

namespace mai {

std::string sha256_digest(std::string_view bytes) {
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

bool is_sha256_digest(std::string_view text) {
  return text.size() == 71 && text.starts_with("sha256:") &&
         std::all_of(text.begin() + 7, text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string checked_digest(std::string_view text, const std::string& what) {
  if (is_sha256_digest(text)) return std::string(text);
  std::string shown;
  for (char c : text.substr(0, 80)) shown += (c >= 0x20 && c < 0x7f) ? c : '?';
  throw Error(Exit::verify_failed,
              what + " is not a sha256 digest (sha256:<64 hex digits>): `" + shown + (text.size() > 80 ? "...`" : "`"));
}

}  // namespace mai
