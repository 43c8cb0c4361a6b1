// Image references (repository, tag, digest) validated against the distribution reference grammar.
#pragma once

#include <string>
#include <string_view>

namespace mai {

struct Repository {
  std::string registry;      // host[:port], "docker.io" when the name has none
  std::string path;          // namespace/package
  std::string str() const;   // as written by the user, normalised only by validation
  bool loopback() const;     // 127.0.0.0/8, ::1 or localhost: plain HTTP without configuration
  std::string host() const;  // the registry without its port (and without brackets for IPv6)
  std::string original;
};

// A whole image reference: <repository>[:<tag>][@<digest>]; neither: the tag latest.
struct ImageReference {
  Repository repository;
  std::string tag;     // empty when only a digest is given
  std::string digest;  // empty unless pinned
  std::string str() const;
};

// Each throws mai::Error(invalid_input) naming the input, the rule it broke and the valid form.
ImageReference parse_image_reference(std::string_view text);
Repository parse_repository(std::string_view text);
void validate_tag(std::string_view tag);
void validate_digest(std::string_view digest);  // sha256:<64 lowercase hex>

}  // namespace mai
