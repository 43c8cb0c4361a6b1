// The WWW-Authenticate grammar (RFC 7235): any header value a registry sends after a 401, read into
// challenges; what was read, written back in the canonical form, reads back the same.
#include "fuzz_support.hpp"
#include "registry/challenge.hpp"

namespace {

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header(reinterpret_cast<const char*>(data), size);
  const auto challenges = mai::parse_challenges(header);
  std::string written;
  for (const auto& c : challenges) {
    MAI_FUZZ_CHECK(!c.scheme.empty() && std::all_of(c.scheme.begin(), c.scheme.end(), token_char),
                   "a scheme that is not a token");
    MAI_FUZZ_CHECK(c.scheme == mai::lowercase(c.scheme), "a scheme not lower-cased");
    for (const auto& [name, value] : c.params) {
      MAI_FUZZ_CHECK(!name.empty() && std::all_of(name.begin(), name.end(), token_char), "a parameter name that is not a token");
      MAI_FUZZ_CHECK(name == mai::lowercase(name), "a parameter name not lower-cased");
    }
    written += (written.empty() ? "" : ", ") + c.scheme;
    bool first = true;
    for (const auto& [name, value] : c.params) {
      written += (first ? " " : ", ") + name + "=" + quoted(value);
      first = false;
    }
  }
  const auto again = mai::parse_challenges(written);
  MAI_FUZZ_CHECK(again.size() == challenges.size(), "challenges written back read as another number of challenges");
  for (std::size_t i = 0; i < again.size(); ++i)
    MAI_FUZZ_CHECK(again[i].scheme == challenges[i].scheme && again[i].params == challenges[i].params,
                   "a challenge written back reads otherwise");
  return 0;
}
