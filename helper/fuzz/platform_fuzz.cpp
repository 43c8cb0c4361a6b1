// Platform strings as a user, an index entry or an image config states them: refused with mai::Error or
// normalised, and the normal form is a fixed point.
#include "fuzz_support.hpp"
#include "oci/platform.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mai::fuzz::only_mai_errors([&] {
    const auto p = mai::parse_platform(text);
    MAI_FUZZ_CHECK(!p.os.empty() && !p.arch.empty(), "a platform without os or architecture");
    const auto again = mai::parse_platform(p.str());
    MAI_FUZZ_CHECK(again == p, "a normalised platform that normalises to another");
    MAI_FUZZ_CHECK(p.tag_suffix().find('/') == std::string::npos && p.target_suffix().find('/') == std::string::npos,
                   "a suffix with a slash");
  });
  return 0;
}
