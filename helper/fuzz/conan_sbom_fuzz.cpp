// A CycloneDX document Conan's conan.tools.sbom wrote (a post_generate hook's, in the generators folder):
// the stage step takes over what it says of a linked Conan package. Input: the document.
#include <algorithm>
#include <cctype>

#include "fuzz_support.hpp"
#include "stage/conan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mai::fuzz::only_mai_errors([&] {
    for (const auto& c : mai::conan_components(text)) {
      MAI_FUZZ_CHECK(!c.name.empty() && !c.version.empty(), "a component without name or version");
      MAI_FUZZ_CHECK(c.purl.empty() || c.purl.starts_with("pkg:conan/"), "a purl that is not Conan's");
      for (const auto& [field, value] : c.licenses)
        MAI_FUZZ_CHECK((field == "id" || field == "name" || field == "expression") && !value.empty(), "a license of no form");
      for (const auto& [alg, content] : c.hashes) {
        MAI_FUZZ_CHECK(mai::cyclonedx_hash_algorithm(alg), "a hash algorithm CycloneDX does not name");
        MAI_FUZZ_CHECK(
            !content.empty() && std::all_of(content.begin(), content.end(),
                                            [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) != 0; }),
            "a hash that is not hex");
      }
      for (const auto& [type, url] : c.references) MAI_FUZZ_CHECK(!type.empty() && !url.empty(), "an empty reference");
    }
  });
  return 0;
}
