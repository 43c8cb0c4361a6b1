#include "base/text.hpp"

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

}  // namespace mai
