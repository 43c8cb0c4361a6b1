// Manifest lists and OCI indexes as a registry serves them: parsed (parse_index), checked against what a
// step expects (verify_index), compared apart from their creation time; and what build_index writes
// from the entries read reads back as the same entries. Input: an index, the record separator, a
// second index to compare with.
#include <boost/json.hpp>

#include "fuzz_support.hpp"
#include "oci/index.hpp"
#include "oci/platform.hpp"

namespace {

bool normal_platform(const std::string& text) {
  try {
    return mai::parse_platform(text).str() == text;
  } catch (const mai::Error&) {
    return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = mai::fuzz::parts(data, size, 2);
  mai::fuzz::only_mai_errors([&] {
    const auto index = mai::parse_index(in[0], "the fuzzed index");
    MAI_FUZZ_CHECK(!index.media_type.empty(), "an index without a media type");
    std::vector<mai::Descriptor> descriptors;
    std::vector<mai::ExpectedPlatform> expected;
    for (const auto& e : index.entries) {
      MAI_FUZZ_CHECK(e.size >= 0, "a negative size");
      if (!normal_platform(e.platform)) continue;
      descriptors.push_back(e);
      expected.push_back({e.platform, e.digest, {}});
    }
    // Verification accepts what it was told to expect or names every problem: never anything else.
    mai::fuzz::only_mai_errors([&] { mai::verify_index(index, expected, "the fuzzed index"); });
    for (const auto& e : index.entries)
      if (e.platform == "unknown/unknown") mai::fuzz::only_mai_errors([&] { mai::is_attestation_for(e, e.digest); });

    const auto written = mai::build_index(index.media_type, descriptors, {});
    const auto back = mai::parse_index(written, "the index written back");
    MAI_FUZZ_CHECK(back.entries.size() == descriptors.size(), "an index written back has another number of entries");
    for (std::size_t i = 0; i < descriptors.size(); ++i) {
      const auto& b = back.entries[i];
      const auto& d = descriptors[i];
      MAI_FUZZ_CHECK(b.digest == d.digest && b.size == d.size && b.media_type == d.media_type, "an entry written back differs");
      MAI_FUZZ_CHECK(b.platform == d.platform, "an entry's platform written back differs");
    }
    MAI_FUZZ_CHECK(mai::same_index_apart_from_created(written, written), "an index differs from itself");
  });
  const bool same = mai::same_index_apart_from_created(in[0], in[1]);
  MAI_FUZZ_CHECK(same == mai::same_index_apart_from_created(in[1], in[0]), "the comparison is not symmetric");
  return 0;
}
