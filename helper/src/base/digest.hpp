// Content digests: computed here from bytes, and checked before any digest a registry, an engine or a
// file hands us goes into a URL, a header or a record.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace mai {

// SHA-256 over bytes given in pieces (a layer streamed from disk).
class Sha256 {
 public:
  Sha256();
  void update(const void* data, std::size_t size);
  std::string digest();  // "sha256:<64 lowercase hex>"; the object is spent

 private:
  std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

std::string sha256_digest(std::string_view bytes);  // "sha256:<64 lowercase hex>"

// True for "sha256:" and 64 lowercase hex digits: the only algorithm whose digests this helper
// can verify, and what every engine and registry produces.
bool is_sha256_digest(std::string_view text);

// `text` when it is a sha256 digest; otherwise Error(verify_failed) naming `what` and showing a
// printable prefix of the text.
std::string checked_digest(std::string_view text, const std::string& what);

}  // namespace mai
