#include "base/digest.hpp"

#include <algorithm>
#include <openssl/evp.h>

#include "base/error.hpp"

namespace mai {

Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
    throw Error(Exit::step_failed, "SHA-256 is unavailable");
}

void Sha256::update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }

std::string Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

std::string sha256_digest(std::string_view bytes) {
  Sha256 hash;
  hash.update(bytes.data(), bytes.size());
  return hash.digest();
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
